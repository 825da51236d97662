"""A simulated gate talks to the whole stack: verdicts on its own topic, one stats row per check."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime
from uuid import uuid4

import pytest
import sqlalchemy as sa

from devices.gate_agent.client import GateClient
from maskwatch.contracts import Decision, Reason, Rejection, RejectionCode, TemperatureReading, Verdict
from maskwatch.database.engine import create_engine
from maskwatch.database.schema import checks, rejections
from services.gate_controller.policy import RuleSet
from stack.demo.sample_faces import sample_jpeg
from tests.contracts.test_image_header import claiming, png

pytestmark = pytest.mark.timeout(240)


async def wait_for_rows(settings, table, where, expected: int, timeout: float = 15.0) -> int:
    engine = create_engine(settings.database.url)
    try:
        count = -1
        for _ in range(int(timeout / 0.2)):
            with engine.connect() as c:
                count = c.execute(sa.select(sa.func.count()).select_from(table).where(where)).scalar_one()
            if count >= expected:
                await asyncio.sleep(0.5)  # and no more arrive
                with engine.connect() as c:
                    return int(
                        c.execute(sa.select(sa.func.count()).select_from(table).where(where)).scalar_one()
                    )
            await asyncio.sleep(0.2)
        return int(count)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("photo", "temperature", "decision", "reasons"),
    [
        ("mask", 36.6, Decision.OPEN, []),
        ("no_mask", 36.6, Decision.DENY, [Reason.NO_MASK]),
        ("mask", 38.6, Decision.DENY, [Reason.FEVER]),
        ("no_mask", 38.6, Decision.DENY, [Reason.NO_MASK, Reason.FEVER]),
    ],
)
async def test_each_check_gets_its_verdict_and_one_stats_row(stack, photo, temperature, decision, reasons):
    settings = stack.settings
    async with GateClient(settings.mqtt, "gate-a") as gate_a, GateClient(settings.mqtt, "gate-b") as gate_b:
        check_id = uuid4()
        answer = await gate_a.check(
            sample_jpeg(photo), TemperatureReading(corrected_c=temperature), timeout=20, check_id=check_id
        )
        # The other gate's topic carries nothing for this check.
        other = await gate_b.check(sample_jpeg("mask"), TemperatureReading(corrected_c=36.5), timeout=20)
    assert isinstance(answer, Verdict), answer
    assert answer.check_id == check_id
    assert answer.gate_id == "gate-a"
    assert answer.decision is decision
    assert answer.reasons == reasons
    # The verdict also lists doubtful boxes (score under the policy's threshold); one face was counted.
    assert len([f for f in answer.faces if f.score >= RuleSet().min_face_score]) == 1
    assert isinstance(other, Verdict)
    assert other.gate_id == "gate-b"
    assert await wait_for_rows(settings, checks, checks.c.check_id == check_id, 1) == 1


def raw_check(**overrides) -> bytes:
    body = {
        "v": 1,
        "gate_id": "gate-x",
        "check_id": str(uuid4()),
        "captured_at": datetime.now(UTC).isoformat(),
        "image_jpeg": base64.b64encode(sample_jpeg("mask")).decode(),
        "temperature": {"corrected_c": 36.6},
    }
    body.update(overrides)
    return json.dumps(body).encode()


MALFORMED = {
    "not_json": (b"\x89PNG this is not json", RejectionCode.NOT_JSON),
    "wrong_schema": (json.dumps({"hello": "world"}).encode(), RejectionCode.SCHEMA),
    "nan_temperature": (raw_check(temperature={"corrected_c": "NaN"}), RejectionCode.SCHEMA),
    "temperature_as_text": (raw_check(temperature={"corrected_c": "36.6"}), RejectionCode.SCHEMA),
    "corrupt_jpeg": (
        raw_check(image_jpeg=base64.b64encode(sample_jpeg("mask")[:600]).decode()),
        RejectionCode.BAD_IMAGE,
    ),
    "not_an_image": (
        raw_check(image_jpeg=base64.b64encode(b"GIF89a" + bytes(500)).decode()),
        RejectionCode.BAD_IMAGE,
    ),
    "payload_20mb": (b"{" + b" " * (20 * 1024 * 1024) + b"}", RejectionCode.PAYLOAD_TOO_LARGE),
    "jpeg_bomb": (
        raw_check(image_jpeg=base64.b64encode(claiming(sample_jpeg("mask"), 20_000, 20_000)).decode()),
        RejectionCode.BAD_IMAGE,
    ),
    "png_bomb": (
        raw_check(image_jpeg=base64.b64encode(png(50_000, 50_000)).decode()),
        RejectionCode.BAD_IMAGE,
    ),
}


async def test_malformed_checks_are_rejected_recorded_and_the_stack_keeps_running(stack, caplog):
    settings = stack.settings
    async with GateClient(settings.mqtt, "gate-x") as gate:
        for name, (payload, code) in MALFORMED.items():
            answer = await gate.send_raw(payload, None, timeout=20)
            assert isinstance(answer, Rejection), name
            assert answer.code is code, (name, answer)
            assert answer.gate_id == "gate-x"
            assert answer.detail
        after = await gate.check(sample_jpeg("mask"), TemperatureReading(corrected_c=36.6), timeout=20)
    assert isinstance(after, Verdict)
    assert after.decision is Decision.OPEN
    assert await wait_for_rows(settings, rejections, rejections.c.gate_id == "gate-x", len(MALFORMED)) == len(
        MALFORMED
    )
    logged = [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()]
    assert len(logged) >= len(MALFORMED)
    assert all("gate-x" in line for line in logged)
    assert all(not t.done() for t in stack._tasks), "a service stopped"


async def test_a_burst_of_image_bombs_is_refused_from_headers_and_the_next_check_answered(stack):
    """Each bomb is a few hundred bytes claiming 400 million pixels: refused at ingest before the queue,
    so the worker never decodes one and a real person's check behind them is answered as usual."""
    bomb = base64.b64encode(claiming(sample_jpeg("mask"), 20_000, 20_000)).decode()
    async with GateClient(stack.settings.mqtt, "gate-bombed") as gate:
        ids = [uuid4() for _ in range(25)]
        answers = await asyncio.gather(
            *(
                gate.send_raw(
                    raw_check(gate_id="gate-bombed", check_id=str(i), image_jpeg=bomb), i, timeout=30
                )
                for i in ids
            )
        )
        after = await gate.check(sample_jpeg("mask"), TemperatureReading(corrected_c=36.6), timeout=20)
    assert all(isinstance(a, Rejection) for a in answers)
    assert {a.code for a in answers if isinstance(a, Rejection)} == {RejectionCode.BAD_IMAGE}
    assert all("20000x20000" in a.detail for a in answers if isinstance(a, Rejection))
    assert isinstance(after, Verdict)
    assert after.decision is Decision.OPEN


async def test_an_unregistered_gate_is_rejected_until_it_is_registered(stack_settings, unique_id):
    """The default: only registered gates are answered; one registered a moment ago is, at once."""
    from maskwatch.database.gates import register_gate
    from stack.in_process import Stack
    from stack.service_table import GATE_PATH

    settings = stack_settings.model_copy(update={"allow_unregistered_gates": False})
    stack = Stack(settings, GATE_PATH)
    await stack.start(timeout=60)
    gate_id = f"door-{unique_id[:8]}"
    try:
        async with GateClient(settings.mqtt, gate_id) as gate:
            stranger = await gate.check(sample_jpeg("mask"), TemperatureReading(corrected_c=36.6), timeout=20)
            assert isinstance(stranger, Rejection)
            assert stranger.code is RejectionCode.UNKNOWN_GATE
            assert f"maskwatch device add {gate_id}" in stranger.detail
            database = create_engine(settings.database.url)
            register_gate(database, gate_id, site_id="default")
            database.dispose()
            answer = None
            for _ in range(10):  # the controller looks the gate up again within a few seconds
                answer = await gate.check(
                    sample_jpeg("mask"), TemperatureReading(corrected_c=36.6), timeout=20
                )
                if isinstance(answer, Verdict):
                    break
                await asyncio.sleep(0.5)
    finally:
        await stack.close()
    assert isinstance(answer, Verdict)
    assert answer.decision is Decision.OPEN


def test_production_never_answers_unregistered_gates(monkeypatch):
    from stack.settings import load_settings

    for key, value in {
        "MASKWATCH_ENVIRONMENT": "production",
        "MASKWATCH_SECRET_KEY": "s3cr3t-long-random-0123456789",
        "MASKWATCH_MQTT__EMBEDDED": "false",
        "MASKWATCH_MQTT__PASSWORD": "broker-password-0123456789",
        "MASKWATCH_ALLOW_UNREGISTERED_GATES": "true",
    }.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValueError, match="registered gates only"):
        load_settings()


async def test_a_check_past_its_deadline_is_answered_try_again(stack_settings):
    """With a deadline no check can meet, the gate is told at once to try again, and it is recorded."""
    from stack.in_process import Stack
    from stack.service_table import GATE_PATH

    worker = stack_settings.worker.model_copy(update={"check_deadline_s": 0.000001})
    settings = stack_settings.model_copy(update={"worker": worker})
    stack = Stack(settings, GATE_PATH)
    await stack.start(timeout=60)
    try:
        async with GateClient(settings.mqtt, "gate-busy") as gate:
            answer = await gate.check(sample_jpeg("mask"), TemperatureReading(corrected_c=36.6), timeout=20)
    finally:
        await stack.close()
    assert isinstance(answer, Rejection)
    assert answer.code is RejectionCode.TOO_LATE
    assert "try again" in answer.detail
    assert await wait_for_rows(settings, rejections, rejections.c.check_id == answer.check_id, 1) == 1
