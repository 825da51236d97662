"""Gates under load during a drill, and the count that says whether anything was lost.

A check is *sent* once the broker acknowledged it (QoS 1 PUBACK): from then on it is the system's to
keep. One the broker never acknowledged (it was down) was never taken, and the gate's person tries
again, as at a real gate. *Answered*: the gate heard its verdict or rejection. *Stored*: a row for it
in the database (a verdict in `checks`, or a recorded rejection, e.g. `too_late` after an outage).
*Lost*: sent and never stored. *Duplicates*: a check stored twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID, uuid4

import aiomqtt
import sqlalchemy as sa

from maskwatch.contracts import GateCheck, TemperatureReading
from maskwatch.database.schema import checks, rejections
from maskwatch.mqtt import MqttSettings, mqtt_client
from maskwatch.topics import Topics
from stack.demo.sample_faces import sample_jpeg

ANSWER_WAIT_S = 8.0
"""How long a gate waits for its answer before the next person steps up (the real gate: 5 s)."""
RETRY_S = 0.3


@dataclass
class DrillGate:
    """One gate sending `checks` checks, one after another, reconnecting when the broker drops."""

    mqtt: MqttSettings
    gate_id: str
    sent: list[UUID] = field(default_factory=list)
    answers: Counter[UUID] = field(default_factory=Counter)
    going: asyncio.Event = field(default_factory=asyncio.Event)
    """Cleared, the gate sends nothing more until it is set again (nobody at the door)."""

    def __post_init__(self) -> None:
        self.going.set()

    async def run(self, checks: int, pace_s: float = 0.1) -> None:
        topics = Topics(self.mqtt.topic_root)
        photo = sample_jpeg("mask")
        while len(self.sent) < checks:
            try:
                identifier = f"drill-{self.gate_id}-{uuid4().hex[:6]}"
                async with mqtt_client(self.mqtt, identifier=identifier) as client:
                    for template in (topics.gate_verdict, topics.gate_rejected):
                        await client.subscribe(template.format(gate_id=self.gate_id), qos=1)
                    listener = asyncio.create_task(self._listen(client))
                    try:
                        while len(self.sent) < checks:
                            await self.going.wait()
                            await self._one(client, topics, photo)
                            await asyncio.sleep(pace_s)
                    finally:
                        listener.cancel()
                        with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                            await listener
            except aiomqtt.MqttError:
                await asyncio.sleep(RETRY_S)  # the broker is away: the next person tries again

    async def _one(self, client: aiomqtt.Client, topics: Topics, photo: bytes) -> None:
        check = GateCheck(
            gate_id=self.gate_id,
            check_id=uuid4(),
            captured_at=datetime.now(UTC),
            image_jpeg=photo,
            temperature=TemperatureReading(corrected_c=36.6),
        )
        await client.publish(topics.gate_check.format(gate_id=self.gate_id), check.to_json(), qos=1)
        self.sent.append(check.check_id)
        for _ in range(int(ANSWER_WAIT_S / 0.05)):
            if self.answers[check.check_id]:
                return
            await asyncio.sleep(0.05)

    async def _listen(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload
            if isinstance(payload, bytes | str):
                with contextlib.suppress(ValueError, KeyError):
                    self.answers[UUID(json.loads(payload)["check_id"])] += 1


@dataclass(frozen=True)
class Tally:
    sent: int
    answered: int
    stored: int
    lost: int
    duplicates: int

    def line(self, drill: str) -> str:
        return (
            f"{drill}: sent {self.sent}, answered {self.answered}, stored {self.stored}, "
            f"lost {self.lost}, duplicates {self.duplicates}"
        )


def stored_rows(database_url: str, gate_ids: list[str]) -> Counter[UUID]:
    """Rows per check id, verdicts and rejections together."""
    from maskwatch.database.engine import create_engine

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            found: Counter[UUID] = Counter()
            for table in (checks, rejections):
                query = sa.select(table.c.check_id).where(table.c.gate_id.in_(gate_ids))
                found.update(row.check_id for row in connection.execute(query) if row.check_id is not None)
            return found
    finally:
        engine.dispose()


async def all_stored(database_url: str, gates: list[DrillGate], wait_s: float = 120.0) -> bool:
    """Whether every check sent so far is stored, waiting up to `wait_s` for it."""
    sent = {check_id for gate in gates for check_id in gate.sent}
    for _ in range(int(wait_s / 0.5)):
        rows = await asyncio.to_thread(stored_rows, database_url, [gate.gate_id for gate in gates])
        if sent <= rows.keys():
            return True
        await asyncio.sleep(0.5)
    return False


async def tally(database_url: str, gates: list[DrillGate], wait_s: float = 120.0) -> Tally:
    """The counts, once every sent check is stored (or `wait_s` has passed: then some were lost)."""
    sent = {check_id for gate in gates for check_id in gate.sent}
    ids = [gate.gate_id for gate in gates]
    rows: Counter[UUID] = Counter()
    for _ in range(int(wait_s / 0.5)):
        rows = await asyncio.to_thread(stored_rows, database_url, ids)
        if sent <= rows.keys():
            break
        await asyncio.sleep(0.5)
    answered = sum(1 for gate in gates for check_id in gate.sent if gate.answers[check_id])
    return Tally(
        sent=len(sent),
        answered=answered,
        stored=len(sent & rows.keys()),
        lost=len(sent - rows.keys()),
        duplicates=sum(count - 1 for count in rows.values() if count > 1),
    )
