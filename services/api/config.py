"""API settings, meant to sit under `Settings.api` (`MASKWATCH_API__*`)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    cookie_secure: bool = False
    """Send the session cookie over HTTPS only; turn on behind TLS (production always should)."""
    session_hours: float = Field(default=12.0, gt=0)
    login_attempts: int = Field(default=5, ge=1)
    """Failed sign-ins allowed per client address and email within `login_window_s`."""
    login_window_s: float = Field(default=300.0, gt=0)
    events_poll_s: float = Field(default=0.5, gt=0)
    """How often the live stream looks for new checks and alerts in the database."""
