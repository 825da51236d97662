"""Hostile MQTT input against the services as deployed (separate processes, Mosquitto with the shipped
ACL, each gate signed in with its own account): 30 cases, then a burst of decompression bombs. Each is
refused (a rejection answered and recorded, or dropped by the broker's ACL), no service dies, and the
next real check is answered as usual. The bombs are about memory, not time: the inference worker's
resident memory, and its peak, are read before and after the burst and must stay bounded.

The in-process suite (tests/e2e/test_gate_path.py) checks the first nine cases on both backends; here
they run with the rest against the real thing.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import aiomqtt
import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from devices.gate_agent.client import GateClient
from maskwatch.broker_accounts import new_password, write_password
from maskwatch.contracts import Decision, Rejection, RejectionCode, TemperatureReading, Verdict
from maskwatch.database.engine import create_engine
from maskwatch.database.schema import checks, rejections
from maskwatch.mqtt import mqtt_client
from maskwatch.topics import Topics
from stack.demo.sample_faces import sample_jpeg
from tests.contracts.test_image_header import claiming
from tests.e2e.test_gate_path import MALFORMED, raw_check

pytestmark = pytest.mark.timeout(420)

GATE = "gate-1"
ANSWER_WAIT_S = 20.0
"""Generous for a shared machine; a real gate gives up after 5 s and says "try again"."""
BOMBS = 25
BOMB_GROWTH_LIMIT_MIB = 300
"""How much the inference worker's peak resident memory may grow over the burst: far more than the next
real check costs, far less than one 20000x20000 bomb decoded (about 1.2 GB of pixels)."""


def _check(**overrides: object) -> bytes:
    return raw_check(**({"gate_id": GATE} | overrides))


def _as_gate_1(payload: bytes) -> bytes:
    """The in-process suite's payloads speak for gate-x: here they come from gate-1's account."""
    return payload.replace(b'"gate_id": "gate-x"', b'"gate_id": "gate-1"')


def _without(field: str) -> bytes:
    body = json.loads(_check())
    del body[field]
    return json.dumps(body).encode()


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


JPEG = sample_jpeg("mask")
HOSTILE: dict[str, tuple[bytes, RejectionCode]] = {
    **{name: (_as_gate_1(payload), code) for name, (payload, code) in MALFORMED.items()},
    "random_bytes": (random.Random(16).randbytes(4096), RejectionCode.NOT_JSON),
    "empty_payload": (b"", RejectionCode.NOT_JSON),
    "truncated_json": (_check()[:300], RejectionCode.NOT_JSON),
    "json_array": (b"[1, 2, 3]", RejectionCode.SCHEMA),
    "json_null": (b"null", RejectionCode.SCHEMA),
    "json_string": (b'"open the gate"', RejectionCode.SCHEMA),
    "deeply_nested_json": (_nested(100_000), RejectionCode.NOT_JSON),
    "missing_image": (_without("image_jpeg"), RejectionCode.SCHEMA),
    "missing_check_id": (_without("check_id"), RejectionCode.SCHEMA),
    "check_id_not_a_uuid": (_check(check_id="'; DROP TABLE checks; --"), RejectionCode.SCHEMA),
    "captured_at_not_a_time": (_check(captured_at="yesterday"), RejectionCode.SCHEMA),
    "wrong_version": (_check(v=99), RejectionCode.SCHEMA),
    "infinite_temperature": (_check(temperature={"corrected_c": 1e999}), RejectionCode.SCHEMA),
    "temperature_as_object": (_check(temperature={"corrected_c": {"value": 36.6}}), RejectionCode.SCHEMA),
    "image_not_base64": (_check(image_jpeg="!!! not base64 !!!"), RejectionCode.SCHEMA),
    "empty_image": (_check(image_jpeg=""), RejectionCode.SCHEMA),
    "truncated_image": (_check(image_jpeg=_b64(JPEG[: len(JPEG) // 2])), RejectionCode.BAD_IMAGE),
    "huge_image_header": (_check(image_jpeg=_b64(claiming(JPEG, 5000, 4000))), RejectionCode.BAD_IMAGE),
    "another_gates_id_in_payload": (_check(gate_id="gate-2"), RejectionCode.GATE_MISMATCH),
}
"""Payload on gate-1's own check topic → the rejection it gets. With the two cases below: 30."""


async def test_hostile_input_and_a_burst_of_bombs_are_refused_and_the_next_check_answered(drill):
    await drill.start()
    topics = Topics(drill.mqtt.topic_root)
    async with GateClient(drill.account(GATE), GATE) as gate:
        codes: dict[str, str] = {}
        for name, (payload, expected) in HOSTILE.items():
            answer = await gate.send_raw(payload, None, timeout=ANSWER_WAIT_S)
            assert isinstance(answer, Rejection), (name, answer)
            assert answer.code is expected, (name, answer)
            codes[name] = answer.code.value
        codes["cross_gate_publish"] = await _cross_gate_publish(drill, topics)
        codes["unregistered_gate"] = await _unregistered_gate(drill)
        assert len(codes) == len(HOSTILE) + 2 == 30
        worker = drill.services["inference"]
        before_bombs = _memory_mib(worker)
        bombs = await _bombs(gate)
        after = await gate.check(JPEG, TemperatureReading(corrected_c=36.6), timeout=ANSWER_WAIT_S)
        after_bombs = _memory_mib(worker)
    assert isinstance(after, Verdict)
    assert after.decision is Decision.OPEN
    recorded = await _recorded(drill, expected=len(HOSTILE) + bombs)
    peak_growth = after_bombs.peak - before_bombs.peak
    print(
        f"hostile input: {len(codes)} cases refused, {bombs} bombs refused, {recorded} rejections of "
        f"{GATE} recorded; the next check: {after.decision.value}; inference worker memory: "
        f"{before_bombs.resident:.0f} MiB resident before the bombs, {after_bombs.resident:.0f} MiB after, "
        f"peak {before_bombs.peak:.0f} → {after_bombs.peak:.0f} MiB (+{peak_growth:.0f}, "
        f"limit {BOMB_GROWTH_LIMIT_MIB})"
    )
    assert recorded == len(HOSTILE) + bombs
    assert peak_growth < BOMB_GROWTH_LIMIT_MIB, (before_bombs, after_bombs)
    assert after_bombs.resident - before_bombs.resident < BOMB_GROWTH_LIMIT_MIB, (before_bombs, after_bombs)
    _nothing_crashed(drill)


@dataclass(frozen=True)
class Memory:
    resident: float
    """MiB resident now (VmRSS)."""
    peak: float
    """The most it has ever had resident, in MiB (VmHWM): a bomb decoded and freed again still shows."""


def _memory_mib(service) -> Memory:
    """A service process's resident memory, from Linux's /proc (the drills run on Linux)."""
    assert service.process is not None
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{service.process.pid}/status").read_text().splitlines()
    )

    def mib(name: str) -> float:
        value, unit = fields[name].split()
        assert unit == "kB", fields[name]
        return int(value) / 1024

    return Memory(resident=mib("VmRSS"), peak=mib("VmHWM"))


async def _bombs(gate: GateClient) -> int:
    """A burst of JPEGs of a few hundred bytes whose header claims 20000x20000 pixels: each refused at
    ingest from its header (no worker decodes one), so the real check behind them is answered as usual."""
    bomb = _b64(claiming(JPEG, 20_000, 20_000))
    ids = [uuid4() for _ in range(BOMBS)]
    answers = await asyncio.gather(
        *(gate.send_raw(_check(check_id=str(i), image_jpeg=bomb), i, timeout=ANSWER_WAIT_S) for i in ids)
    )
    assert all(isinstance(a, Rejection) and a.code is RejectionCode.BAD_IMAGE for a in answers), answers
    return len(answers)


async def _cross_gate_publish(drill, topics: Topics) -> str:
    """gate-1 publishes a check on gate-2's topic: the broker's ACL drops it, nothing is stored for gate-2
    (checked once gate-2's own next check, behind it, has been stored)."""
    forged = raw_check(gate_id="gate-2")
    async with mqtt_client(drill.account(GATE), identifier=f"forger-{uuid4().hex[:6]}") as forger:
        await forger.publish(topics.gate_check.format(gate_id="gate-2"), forged, qos=1)
    async with GateClient(drill.account("gate-2"), "gate-2") as honest:
        answer = await honest.check(JPEG, TemperatureReading(corrected_c=36.6), timeout=ANSWER_WAIT_S)
    assert isinstance(answer, Verdict)
    forged_id = json.loads(forged)["check_id"]
    stored = await asyncio.to_thread(_rows_for_check, drill.direct_database_url, forged_id)
    assert stored == 0
    return "dropped by the broker"


async def _unregistered_gate(drill) -> str:
    """A broker account whose gate nobody registered: answered `unknown_gate`, never a verdict."""
    password = new_password()
    write_password(drill.folder / "passwd", "gate-stranger", password)
    drill.broker.reload()
    stranger = drill.mqtt.model_copy(update={"username": "gate-stranger", "password": SecretStr(password)})
    answer = None
    for _ in range(40):  # the broker reads its password file at the reload
        try:
            async with GateClient(stranger, "gate-stranger") as gate:
                answer = await gate.check(JPEG, TemperatureReading(corrected_c=36.6), timeout=ANSWER_WAIT_S)
            break
        except aiomqtt.MqttCodeError:  # refused until the reload is done
            await asyncio.sleep(0.25)
    assert isinstance(answer, Rejection)
    assert answer.code is RejectionCode.UNKNOWN_GATE
    return answer.code


async def _recorded(drill, *, expected: int, wait_s: float = 60.0) -> int:
    """gate-1's rejections in the database, once `expected` are there (the stats service writes them a
    moment after the gate heard them) or `wait_s` has passed."""
    recorded = 0
    for _ in range(int(wait_s / 0.25)):
        recorded = await asyncio.to_thread(_rejections_of, drill.direct_database_url, GATE)
        if recorded >= expected:
            break
        await asyncio.sleep(0.25)
    return recorded


def _rejections_of(url: str, gate_id: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            query = sa.select(sa.func.count()).select_from(rejections).where(rejections.c.gate_id == gate_id)
            return int(connection.execute(query).scalar_one())
    finally:
        engine.dispose()


def _rows_for_check(url: str, check_id: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            found = 0
            for table in (checks, rejections):
                query = sa.select(sa.func.count()).select_from(table).where(table.c.check_id == check_id)
                found += int(connection.execute(query).scalar_one())
            return found
    finally:
        engine.dispose()


def _nothing_crashed(drill) -> None:
    for service in drill.services.values():
        assert service.process is not None
        assert service.process.poll() is None, service.tail()
        assert service.starts == 1
        assert service.ready(), service.name
