"""Every gate outcome through the real Mosquitto, Redis and PostgreSQL, with the camera's view scripted.

The model's accuracy has its own tests; here the inference worker runs a scripted engine (the
Engine protocol, keyed by the photo's bytes) so that "an incorrectly worn mask" or "two people"
reach the gate controller exactly, and the test checks what the gate is told.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import pytest

from devices.gate_agent.client import GateClient
from maskwatch.contracts import Decision, Reason, TemperatureReading, Verdict
from services.inference.model.interface import Face, FaceBox, FrameError, FrameResult, MaskLabel
from stack.in_process import Stack
from stack.service_table import GATE_PATH

pytestmark = pytest.mark.timeout(120)

SCRIPT: dict[str, tuple[MaskLabel, ...]] = {
    "mask": ("mask",),
    "no_mask": ("no_mask",),
    "incorrect": ("incorrect",),
    "nobody": (),
    "two": ("mask", "mask"),
    "under_nose": ("mask",),
}
UNDER_THE_NOSE = "under_nose"
"""The photo whose mask the model's nose probe finds pulled under the nose."""


def photo(width: int) -> bytes:
    """A real (blank) JPEG, told apart by its width: ingest refuses what is not an image."""
    ok, encoded = cv2.imencode(".jpg", np.zeros((8, width, 3), np.uint8))
    assert ok
    return encoded.tobytes()


PHOTOS = {name: photo(16 + 8 * i) for i, name in enumerate(SCRIPT)}
SCENES: dict[bytes, tuple[MaskLabel, ...]] = {PHOTOS[name]: labels for name, labels in SCRIPT.items()}


class ScriptedEngine:
    def analyze_batch(self, images: Sequence[bytes]) -> list[FrameResult | FrameError]:
        results: list[FrameResult | FrameError] = []
        for image in images:
            if image not in SCENES:
                results.append(FrameError("not_an_image", "unknown scripted photo"))
                continue
            nose = True if image == PHOTOS[UNDER_THE_NOSE] else None
            faces = tuple(
                Face(FaceBox(10 + 100 * i, 10, 90 + 100 * i, 110, 0.99), label, 0.97, nose)
                for i, label in enumerate(SCENES[image])
            )
            results.append(FrameResult(faces, 640, 480, 1.0, 2.0, 0.5))
        return results


@pytest.fixture
async def scripted_stack(stack_settings, backend):
    if backend != "real":
        pytest.skip("the embedded path is covered by test_gate_path")
    running = Stack(stack_settings, GATE_PATH, engine=ScriptedEngine())
    await running.start(timeout=60)
    yield running
    await running.close()


CASES = [
    (PHOTOS["mask"], 36.6, Decision.OPEN, [], "Welcome"),
    (PHOTOS["no_mask"], 36.6, Decision.DENY, [Reason.NO_MASK], "Please wear a mask"),
    (PHOTOS["incorrect"], 36.6, Decision.DENY, [Reason.INCORRECT_MASK], "Please cover your nose and mouth"),
    (PHOTOS["mask"], 38.2, Decision.DENY, [Reason.FEVER], "Elevated temperature"),
    (
        PHOTOS["mask"],
        45.0,
        Decision.DENY,
        [Reason.REMEASURE_TEMPERATURE],
        "Please measure your temperature again",
    ),
    (
        PHOTOS["mask"],
        28.0,
        Decision.DENY,
        [Reason.REMEASURE_TEMPERATURE],
        "Please measure your temperature again",
    ),
    (PHOTOS["mask"], None, Decision.DENY, [Reason.NO_TEMPERATURE], "Please measure your temperature"),
    (PHOTOS["nobody"], 36.6, Decision.DENY, [Reason.NO_FACE], "Please step in front of the camera"),
    (PHOTOS["two"], 36.6, Decision.DENY, [Reason.MULTIPLE_FACES], "One person at a time"),
    # The nose rule is off unless a site asks for it.
    (PHOTOS[UNDER_THE_NOSE], 36.6, Decision.OPEN, [], "Welcome"),
]


async def test_every_outcome_reaches_the_gate(scripted_stack):
    async with GateClient(scripted_stack.settings.mqtt, "policy-gate") as gate:
        for photo, temperature, decision, reasons, message in CASES:
            reading = TemperatureReading(corrected_c=temperature) if temperature is not None else None
            answer = await gate.check(photo, reading, timeout=15)
            assert isinstance(answer, Verdict), (photo, temperature, answer)
            assert (answer.decision, answer.reasons) == (decision, reasons), (photo, temperature)
            assert answer.message.startswith(message)


async def checks_under(
    stack_settings, policy_update: dict[str, object], checks: list[tuple[str, str]]
) -> list[object]:
    """A scripted stack under the settings' policy with `policy_update`; each (gate, photo) checked in
    order, at a normal temperature; the answers."""
    policy = stack_settings.policy.model_copy(update=policy_update)
    settings = stack_settings.model_copy(update={"policy": policy})
    stack = Stack(settings, GATE_PATH, engine=ScriptedEngine())
    await stack.start(timeout=60)
    answers: list[object] = []
    try:
        for gate_id, name in checks:
            async with GateClient(settings.mqtt, gate_id) as gate:
                answers.append(
                    await gate.check(PHOTOS[name], TemperatureReading(corrected_c=36.6), timeout=15)
                )
    finally:
        await stack.close()
    return answers


async def test_site_rules_apply_to_the_gates_registered_there(stack_settings, backend):
    if backend != "real":
        pytest.skip("one backend is enough for the policy lookup")
    from datetime import UTC, datetime

    import sqlalchemy as sa

    from maskwatch.database.engine import create_engine, migrate
    from maskwatch.database.schema import gates, sites

    migrate(stack_settings.database.url)
    engine = create_engine(stack_settings.database.url)
    now = datetime.now(UTC)
    with engine.begin() as c:
        c.execute(sa.delete(gates).where(gates.c.gate_id == "screen-1"))
        c.execute(sa.delete(sites).where(sites.c.site_id == "cinema"))
        c.execute(sa.insert(sites).values(site_id="cinema", name="Cinema", time_zone="UTC", created_at=now))
        c.execute(
            sa.insert(gates).values(gate_id="screen-1", site_id="cinema", name="Screen 1", created_at=now)
        )
    engine.dispose()
    [soft, hard] = await checks_under(
        stack_settings,
        {"sites": {"cinema": {"mask": "soft"}}},
        [("screen-1", "no_mask"), ("lobby", "no_mask")],
    )
    assert isinstance(soft, Verdict)
    assert isinstance(hard, Verdict)
    assert (soft.decision, soft.reasons, soft.flags) == (Decision.OPEN, [], [Reason.NO_MASK])
    assert (hard.decision, hard.reasons) == (Decision.DENY, [Reason.NO_MASK])


async def test_a_mask_under_the_nose_is_refused_at_the_gates_that_ask(stack_settings, backend):
    """The probe's answer travels from the worker through the analysis to the controller, which acts on
    it only at a gate whose rules ask for the mask over the nose."""
    if backend != "real":
        pytest.skip("one backend is enough for the policy lookup")
    [refused, worn_right, let_in] = await checks_under(
        stack_settings,
        {"gates": {"ward-1": {"mask_over_nose": "hard"}}},
        [("ward-1", UNDER_THE_NOSE), ("ward-1", "mask"), ("lobby", UNDER_THE_NOSE)],
    )
    assert isinstance(refused, Verdict)
    assert (refused.decision, refused.reasons) == (Decision.DENY, [Reason.INCORRECT_MASK])
    assert refused.message.startswith("Please cover your nose and mouth")
    assert [f.nose_uncovered for f in refused.faces] == [None]  # gates of earlier versions read it
    assert isinstance(worn_right, Verdict)
    assert worn_right.decision is Decision.OPEN
    assert isinstance(let_in, Verdict)
    assert let_in.decision is Decision.OPEN
