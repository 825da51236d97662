"""The entry policy: what a venue requires before a gate opens.

Pure functions over the analysis, so every rule is testable without a broker. The rules themselves,
and where each is set (settings, console; site, gate), are in `maskwatch.entry_rules`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from maskwatch.contracts import AnalyzedFace, GateAnalysis, Reason
from maskwatch.contracts.reason_texts import REASON_TEXTS
from maskwatch.entry_rules import Enforcement, PolicyConfig, RuleSet
from services.gate_controller.guidance import face_width, no_face_reason

__all__ = ["Enforcement", "PolicyConfig", "PolicyDecision", "RuleSet", "decide"]


MESSAGES: dict[Reason, str] = {reason: texts["en"] for reason, texts in REASON_TEXTS.items()}
"""The verdict's `message` (English); gates show the reason in their own language (reason_texts.py)."""


@dataclass(frozen=True)
class PolicyDecision:
    open: bool
    reasons: list[Reason]
    flags: list[Reason]
    message: str
    temperature_c: float | None


def decide(analysis: GateAnalysis, rules: RuleSet) -> PolicyDecision:
    """Apply the rules; reasons come in the order a person should fix them.

    An analysis with an image error never reaches here: it is answered with a Rejection.
    """
    hard: list[Reason] = []
    soft: list[Reason] = []

    def record(reason: Reason, enforcement: Enforcement) -> None:
        if enforcement is Enforcement.HARD:
            hard.append(reason)
        elif enforcement is Enforcement.SOFT:
            soft.append(reason)

    faces = [f for f in analysis.faces if f.score >= rules.min_face_score]
    if not faces:
        hard.append(no_face_reason(analysis, rules.min_face_score))
    else:
        visitor = the_visitor(faces, rules)
        if others_at_the_gate(faces, visitor, rules):
            hard.append(Reason.MULTIPLE_FACES)
        else:
            mask_reason = _mask_problem(visitor)
            if mask_reason is not None:
                record(mask_reason, rules.mask)
            elif visitor.nose_uncovered:
                record(Reason.INCORRECT_MASK, rules.mask_over_nose)

    temperature_c = analysis.temperature.corrected_c if analysis.temperature else None
    temperature_reason = _temperature_problem(temperature_c, rules)
    if temperature_reason is not None:
        record(temperature_reason, rules.temperature)

    message = MESSAGES[hard[0]] if hard else "Welcome"
    return PolicyDecision(
        open=not hard, reasons=hard, flags=soft, message=message, temperature_c=temperature_c
    )


def the_visitor(faces: Sequence[AnalyzedFace], rules: RuleSet) -> AnalyzedFace:
    """The person at the gate: the widest (nearest) face the detector is sure of, or the widest face
    when it is sure of none."""
    sure = [f for f in faces if f.detector_score >= rules.other_face_detector_score]
    return max(sure or faces, key=face_width)


def others_at_the_gate(
    faces: Sequence[AnalyzedFace], visitor: AnalyzedFace, rules: RuleSet
) -> list[AnalyzedFace]:
    """The faces beside the visitor's that belong to someone else at the gate: ones the detector is
    sure of, near enough to be within reach of the gate (`RuleSet.other_face_width_share`) and not
    lying on the visitor's own face (`RuleSet.other_face_overlap`)."""
    return [
        f
        for f in faces
        if f is not visitor
        and f.detector_score >= rules.other_face_detector_score
        and face_width(f) >= rules.other_face_width_share * face_width(visitor)
        and (rules.other_face_overlap >= 1 or share_inside(f, visitor) < rules.other_face_overlap)
    ]


def share_inside(face: AnalyzedFace, other: AnalyzedFace) -> float:
    """The share of `face`'s box that lies inside `other`'s box (0 for an empty box)."""
    x1, y1, x2, y2 = face.box
    ox1, oy1, ox2, oy2 = other.box
    area = (x2 - x1) * (y2 - y1)
    if area <= 0:
        return 0.0
    inside = max(0.0, min(x2, ox2) - max(x1, ox1)) * max(0.0, min(y2, oy2) - max(y1, oy1))
    return inside / area


def _mask_problem(face: AnalyzedFace) -> Reason | None:
    if face.label == "mask":
        return None
    if face.label == "incorrect":
        return Reason.INCORRECT_MASK
    return Reason.NO_MASK


def _temperature_problem(celsius: float | None, rules: RuleSet) -> Reason | None:
    if celsius is None:
        return Reason.NO_TEMPERATURE
    if not rules.plausible_min_c <= celsius <= rules.plausible_max_c:
        return Reason.REMEASURE_TEMPERATURE
    if celsius >= rules.fever_threshold_c:
        return Reason.FEVER
    return None
