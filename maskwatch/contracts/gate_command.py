"""An operator's command to a gate, published on `gates/{gate_id}/command`.

The server records who issued it and why (the audit log) before publishing;
the gate acts on it only while it is fresh, so a command queued while the gate
was offline cannot open it minutes later.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from maskwatch.contracts.common import Message

COMMAND_TTL_S = 30.0


class GateCommand(Message):
    command: Literal["open"]
    command_id: UUID
    by: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=500)
    issued_at: AwareDatetime | None = None
