"""A gate's answer to an operator's command, published on `gates/{gate_id}/command_ack`.

Publishing a command only proves the broker took it; an operator standing at a
console wants to know the barrier really moved. The gate acknowledges each
command it receives, by its id, saying whether it acted on it (`opened`) or
ignored it because it arrived too late (`expired`, see COMMAND_TTL_S).
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import AwareDatetime

from maskwatch.contracts.common import DeviceId, Message


class CommandOutcome(StrEnum):
    OPENED = "opened"
    EXPIRED = "expired"


class GateCommandAck(Message):
    gate_id: DeviceId
    command_id: UUID
    outcome: CommandOutcome
    at: AwareDatetime
