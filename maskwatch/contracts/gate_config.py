"""Settings the server pushes to a gate, retained on `gates/{gate_id}/config`.

Retained, so a gate that (re)connects receives its current configuration at
once; applied without a restart, and the gate reports the `version` it runs in
its status.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from maskwatch.contracts.common import Message


class GateConfig(Message):
    version: str = Field(min_length=1, max_length=64)
    verdict_timeout_s: float | None = Field(default=None, gt=0, le=60)
    open_s: float | None = Field(default=None, gt=0, le=120)
    offline_policy: Literal["deny", "allow"] | None = None
    heartbeat_s: float | None = Field(default=None, ge=5, le=3600)
