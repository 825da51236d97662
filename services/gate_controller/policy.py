"""The entry policy: what a venue requires before a gate opens.

Pure functions over the analysis, so every rule is testable without a broker.
Each rule is either HARD (deny) or SOFT (let the person in, record the problem),
because a hospital and a cinema draw the line in different places.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from maskwatch.contracts import AnalyzedFace, GateAnalysis, Reason


class Enforcement(StrEnum):
    HARD = "hard"
    SOFT = "soft"
    OFF = "off"


class RuleSet(BaseModel):
    """The part of the policy that may differ per gate."""

    model_config = ConfigDict(extra="forbid")

    fever_threshold_c: float = Field(default=37.5, ge=35.0, le=42.0)
    plausible_min_c: float = 30.0
    plausible_max_c: float = 43.0
    mask: Enforcement = Enforcement.HARD
    temperature: Enforcement = Enforcement.HARD
    min_face_score: float = Field(default=0.5, ge=0, le=1)
    """Faces scored lower are ignored, so a poster behind the person is not counted. The score is the
    model's final one (detector and classifier together, docs/model-card.md), not the detector's alone:
    the detector is least sure of exactly the masked faces a gate must see."""


class PolicyConfig(RuleSet):
    """The installation's rules, with exceptions per site under `sites` and per gate under `gates`.

    Exceptions name only the fields that differ; a gate's own exceptions win over its site's.
    """

    sites: dict[str, dict[str, Any]] = Field(default_factory=dict)
    gates: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_overrides(self) -> Self:
        for site_id in self.sites:
            self.for_gate("", site_id)  # raises with the offending field named
        for gate_id in self.gates:
            self.for_gate(gate_id)
        return self

    def for_gate(self, gate_id: str, site_id: str | None = None) -> RuleSet:
        rules = self.model_dump(exclude={"sites", "gates"})
        if site_id is not None:
            rules |= self.sites.get(site_id, {})
        return RuleSet.model_validate(rules | self.gates.get(gate_id, {}))


MESSAGES: dict[Reason, str] = {
    Reason.NO_FACE: "Please step in front of the camera",
    Reason.MULTIPLE_FACES: "One person at a time, please",
    Reason.NO_MASK: "Please wear a mask",
    Reason.INCORRECT_MASK: "Please cover your nose and mouth with your mask",
    Reason.FEVER: "Elevated temperature: entry denied",
    Reason.REMEASURE_TEMPERATURE: "Please measure your temperature again",
    Reason.NO_TEMPERATURE: "Please measure your temperature",
}


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
        hard.append(Reason.NO_FACE)
    elif len(faces) > 1:
        hard.append(Reason.MULTIPLE_FACES)
    else:
        mask_reason = _mask_problem(faces[0])
        if mask_reason is not None:
            record(mask_reason, rules.mask)

    temperature_c = analysis.temperature.corrected_c if analysis.temperature else None
    temperature_reason = _temperature_problem(temperature_c, rules)
    if temperature_reason is not None:
        record(temperature_reason, rules.temperature)

    message = MESSAGES[hard[0]] if hard else "Welcome"
    return PolicyDecision(
        open=not hard, reasons=hard, flags=soft, message=message, temperature_c=temperature_c
    )


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
