"""A frame in which no face could be judged is answered with what the person can do about it."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from maskwatch.contracts import AnalyzedFace, GateAnalysis, Reason, TemperatureReading
from maskwatch.contracts.gate_analysis import FrameQuality
from maskwatch.contracts.reason_texts import LANGUAGES, REASON_TEXTS, reason_text
from services.gate_controller.policy import RuleSet, decide


def weak(box: tuple[int, int, int, int], score: float = 0.3) -> AnalyzedFace:
    """A candidate the model doubts: below the policy's 0.5."""
    return AnalyzedFace(box=box, label="mask", score=score, detector_score=0.2)


def analysis(faces: list[AnalyzedFace], brightness: float = 120.0, sharpness: float = 300.0) -> GateAnalysis:
    now = datetime.now(UTC)
    return GateAnalysis(
        gate_id="g1",
        check_id=uuid4(),
        captured_at=now,
        received_at=now,
        analyzed_at=now,
        temperature=TemperatureReading(corrected_c=36.6),
        faces=faces,
        frame=FrameQuality(width=640, height=480, brightness=brightness, sharpness=sharpness),
    )


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (analysis([]), Reason.NO_FACE),
        (analysis([weak((500, 100, 640, 300))]), Reason.FACE_CUT_OFF),
        (analysis([weak((300, 200, 350, 260))]), Reason.FACE_TOO_SMALL),
        (analysis([], brightness=20.0), Reason.TOO_DARK),
        (analysis([weak((200, 100, 400, 340))], sharpness=3.0), Reason.TOO_BLURRED),
        # A smooth frame with nothing face-like in it is an empty (or plain) view, not a blurred person.
        (analysis([], sharpness=3.0), Reason.NO_FACE),
        (analysis([weak((200, 100, 400, 340))]), Reason.FACE_NOT_FRONTAL),
        # A candidate too weak to be a face says nothing about the person: the light does.
        (analysis([weak((300, 200, 350, 260), score=0.05)], brightness=20.0), Reason.TOO_DARK),
        # In a frame too dark to judge, candidates are noise: the light is what to fix, even at the edge.
        (analysis([weak((500, 100, 640, 300))], brightness=20.0), Reason.TOO_DARK),
        (analysis([weak((300, 200, 350, 260))], brightness=20.0), Reason.TOO_DARK),
    ],
)
def test_no_face_is_answered_with_what_to_do(frame: GateAnalysis, reason: Reason):
    decision = decide(frame, RuleSet())
    assert not decision.open
    assert decision.reasons == [reason]
    assert decision.message == REASON_TEXTS[reason]["en"]


def test_a_judged_face_is_never_second_guessed_by_the_light():
    face = AnalyzedFace(box=(200, 100, 400, 340), label="mask", score=0.9, detector_score=0.9)
    assert decide(analysis([face], brightness=20.0, sharpness=3.0), RuleSet()).open


def test_every_reason_has_a_sentence_in_every_language():
    for reason in Reason:
        for language in LANGUAGES:
            assert reason_text(reason, language), (reason, language)
    assert reason_text(Reason.FACE_TOO_SMALL, "en") == "Please step closer"
    assert reason_text(Reason.TOO_DARK, "ko") == "너무 어둡습니다. 밝은 곳에 서 주세요"
    assert reason_text("a_reason_from_a_newer_server", "ko") is None
