"""Ingest's own settings (`MASKWATCH_INGEST__*`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class IngestSettings(BaseModel):
    http_host: str = "127.0.0.1"
    http_port: int | None = 8081
    """The HTTP check endpoint for devices without MQTT; None turns it off."""
    http_verdict_timeout_s: float = Field(default=10.0, gt=0, le=120)
    max_image_pixels: int = Field(default=16_000_000, ge=1)
    """Checks and frames whose image header claims more pixels are refused before they are queued (a
    4K camera frame is 8.3 million; a few hundred bytes can claim 400 million)."""


class HttpDeviceAuth(BaseModel):
    """Who may use the HTTP door: gates with a broker account in `passwd_file`, each signing in with its
    own id and password (HTTP Basic), always: the door never takes anonymous checks."""

    passwd_file: Path
