"""What a venue requires before a gate opens: the rules, and where each one is set.

The installation's settings file gives the defaults and may name exceptions per site and per gate
(`PolicyConfig`); admins change the same fields per site and per gate from the console, and those
changes are kept in the database (`StoredRules`). A field is taken from the most specific place that
names it, in this order, the last one winning:

    settings defaults < settings for the site < console for the site
                      < settings for the gate < console for the gate

so a gate's own exception always beats its site's, and an admin's change beats the file at the same
level. This module is on the shared floor because the gate controller applies the rules and the API
edits and shows them: both must read them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Enforcement(StrEnum):
    """Each rule is HARD (deny), SOFT (let the person in, record the problem) or OFF, because a hospital
    and a cinema draw the line in different places."""

    HARD = "hard"
    SOFT = "soft"
    OFF = "off"


class RuleSet(BaseModel):
    """The part of the policy that may differ per site and per gate."""

    model_config = ConfigDict(extra="forbid")

    fever_threshold_c: float = Field(default=37.5, ge=35.0, le=42.0)
    plausible_min_c: float = 30.0
    plausible_max_c: float = 43.0
    mask: Enforcement = Enforcement.HARD
    temperature: Enforcement = Enforcement.HARD
    mask_over_nose: Enforcement = Enforcement.OFF
    """What to do with a visitor whose mask the model's nose probe finds pulled under the nose (a face
    called `mask`, `nose_uncovered`; services/inference/model/nose_probe.py): the "incorrect mask" reason.
    Off by default: the probe turns most such masks away but also about one masked visitor in two
    hundred (docs/model-card.md, "Masks under the nose"), so a hospital asks for it and a cinema need
    not."""
    min_face_score: float = Field(default=0.5, ge=0, le=1)
    """Faces scored lower are ignored, so a poster behind the person is not counted. The score is the
    model's final one (detector and classifier together, docs/model-card.md), not the detector's alone:
    the detector is least sure of exactly the masked faces a gate must see."""
    other_face_detector_score: float = Field(default=0.5, ge=0, le=1)
    """A second face counts as another person at the gate only when the detector alone is this sure of
    it: the classifier's half of the score is sure of a mask on a patch of scarf, a phone held up, a
    sheet of paper or a poster as readily as on a face, and a gate that refuses a lone visitor for "one
    person at a time" gets switched off. Chosen on the gate-framing validation's tune half
    (docs/model-card.md, "Who is another person"): the people beside a visitor there score 0.5 or more."""
    other_face_width_share: float = Field(default=0.4, ge=0, le=1)
    """A second face narrower than this share of the visitor's (the nearest, widest face) belongs to
    someone at least 2.5 times farther from the camera: queueing behind, not walking through with
    them."""
    other_face_overlap: float = Field(default=0.25, ge=0, le=1)
    """A second face with this share of its box or more lying on the visitor's box is a piece of the
    visitor (a cheek, a mask's valve, the forehead under a cap boxed apart), not someone else: two people
    within reach of the gate show two faces side by side, and a face hidden that far behind the
    visitor's head is not one the detector boxes. 1 counts every overlapping face. Chosen on the tune
    half (docs/model-card.md)."""

    @model_validator(mode="after")
    def _plausible_range(self) -> Self:
        if self.plausible_min_c >= self.plausible_max_c:
            raise ValueError("plausible_min_c must be below plausible_max_c")
        return self


class RuleOverrides(BaseModel):
    """The fields an admin sets for one site or one gate; a field left out (or null) is inherited."""

    model_config = ConfigDict(extra="forbid")

    fever_threshold_c: float | None = Field(default=None, ge=35.0, le=42.0)
    plausible_min_c: float | None = Field(default=None, ge=20.0, le=45.0)
    plausible_max_c: float | None = Field(default=None, ge=20.0, le=45.0)
    mask: Enforcement | None = None
    temperature: Enforcement | None = None
    mask_over_nose: Enforcement | None = None
    min_face_score: float | None = Field(default=None, ge=0, le=1)
    other_face_detector_score: float | None = Field(default=None, ge=0, le=1)
    other_face_width_share: float | None = Field(default=None, ge=0, le=1)
    other_face_overlap: float | None = Field(default=None, ge=0, le=1)

    def named(self) -> dict[str, Any]:
        """Only the fields this override sets, as stored and merged."""
        return self.model_dump(mode="json", exclude_none=True)


@dataclass(frozen=True)
class StoredRules:
    """The console's overrides as the database holds them: site id → fields, gate id → fields."""

    sites: dict[str, dict[str, Any]] = field(default_factory=dict)
    gates: dict[str, dict[str, Any]] = field(default_factory=dict)


NO_STORED_RULES = StoredRules()


class PolicyConfig(RuleSet):
    """The installation's rules from its settings, with exceptions per site under `sites` and per gate
    under `gates`. Exceptions name only the fields that differ."""

    sites: dict[str, dict[str, Any]] = Field(default_factory=dict)
    gates: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_overrides(self) -> Self:
        for site_id in self.sites:
            self.for_site(site_id)  # raises with the offending field named
        for gate_id in self.gates:
            self.for_gate(gate_id)
        return self

    def for_site(self, site_id: str, stored: StoredRules = NO_STORED_RULES) -> RuleSet:
        """The rules every gate of `site_id` follows unless it has its own exceptions."""
        return self._layered(site_id, None, stored)

    def for_gate(
        self, gate_id: str, site_id: str | None = None, stored: StoredRules = NO_STORED_RULES
    ) -> RuleSet:
        """The rules `gate_id` (at `site_id`, when known) follows now."""
        return self._layered(site_id, gate_id, stored)

    def _layered(self, site_id: str | None, gate_id: str | None, stored: StoredRules) -> RuleSet:
        """The defaults with each more specific layer over them, in the order the module names."""
        rules = self.model_dump(exclude={"sites", "gates"})
        if site_id is not None:
            rules |= self.sites.get(site_id, {})
            rules |= stored.sites.get(site_id, {})
        if gate_id is not None:
            rules |= self.gates.get(gate_id, {})
            rules |= stored.gates.get(gate_id, {})
        return RuleSet.model_validate(rules)
