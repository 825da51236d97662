from datetime import UTC, datetime
from uuid import uuid4

import pytest

from maskwatch.contracts import AnalyzedFace, GateAnalysis, Reason, TemperatureReading
from services.gate_controller.policy import Enforcement, PolicyConfig, RuleSet, decide


def face(label="mask", score=0.95, detector_score=0.9, box=(10, 10, 60, 70), nose_uncovered=None):
    return AnalyzedFace(
        box=box, label=label, score=score, detector_score=detector_score, nose_uncovered=nose_uncovered
    )


VISITOR = (200, 100, 400, 340)
"""A face 200 px wide: someone at arm's length."""


def analysis(faces=(), temperature=36.6, image_error=None):
    now = datetime.now(UTC)
    return GateAnalysis(
        gate_id="g1",
        check_id=uuid4(),
        captured_at=now,
        received_at=now,
        analyzed_at=now,
        temperature=TemperatureReading(corrected_c=temperature) if temperature is not None else None,
        faces=list(faces),
        image_error=image_error,
    )


@pytest.mark.parametrize(
    ("faces", "temperature", "opens", "reasons"),
    [
        ([face("mask")], 36.6, True, []),
        ([face("no_mask")], 36.6, False, [Reason.NO_MASK]),
        ([face("incorrect")], 36.6, False, [Reason.INCORRECT_MASK]),
        ([face("mask")], 37.5, False, [Reason.FEVER]),
        ([face("mask")], 37.4, True, []),
        ([face("mask")], 29.9, False, [Reason.REMEASURE_TEMPERATURE]),
        ([face("mask")], 43.1, False, [Reason.REMEASURE_TEMPERATURE]),
        ([face("mask")], None, False, [Reason.NO_TEMPERATURE]),
        ([], 36.6, False, [Reason.NO_FACE]),
        ([face(), face(box=(80, 10, 130, 70))], 36.6, False, [Reason.MULTIPLE_FACES]),
        ([face("no_mask")], 38.5, False, [Reason.NO_MASK, Reason.FEVER]),
        ([face(), face("mask", score=0.2)], 36.6, True, []),
        # A masked face the detector alone doubted, but the model is sure of, counts.
        ([face("mask", score=0.9, detector_score=0.2)], 36.6, True, []),
        ([face("mask", score=0.3, detector_score=0.99)], 36.6, False, [Reason.NO_FACE]),
    ],
)
def test_default_policy(faces, temperature, opens, reasons):
    decision = decide(analysis(faces, temperature), RuleSet())
    assert decision.open is opens
    assert decision.reasons == reasons


@pytest.mark.parametrize(
    ("faces", "opens", "reasons"),
    [
        # A second face only the classifier believes in (a patch of scarf, a poster) is no second person.
        ([face(box=VISITOR, detector_score=0.99), face(score=0.9, detector_score=0.2)], True, []),
        # Nor is a phone or a sheet of paper held up beside the face, which the detector half believes in.
        ([face(box=VISITOR), face(box=(450, 100, 570, 240), score=0.85, detector_score=0.4)], True, []),
        # Someone far behind (a face under 0.4 of the visitor's width) is queueing, not walking through.
        ([face(box=VISITOR), face(box=(500, 100, 570, 180), detector_score=0.99)], True, []),
        # Someone beside the visitor, or a step behind, is another person at the gate.
        (
            [face(box=VISITOR), face(box=(450, 100, 570, 240), detector_score=0.99)],
            False,
            [Reason.MULTIPLE_FACES],
        ),
        ([face(box=VISITOR), face(box=(420, 90, 620, 330))], False, [Reason.MULTIPLE_FACES]),
        # The visitor is the nearest face the detector is sure of: their mask is the one judged.
        ([face("no_mask", box=VISITOR), face("mask", box=(500, 100, 560, 170))], False, [Reason.NO_MASK]),
        ([face("mask", box=VISITOR), face("no_mask", box=(500, 100, 560, 170))], True, []),
        # A wide box the detector doubts does not push the sure face aside as "another person".
        (
            [face(box=(0, 0, 400, 400), detector_score=0.2), face("no_mask", box=VISITOR)],
            False,
            [Reason.NO_MASK],
        ),
    ],
)
def test_only_people_within_reach_of_the_gate_count_as_another_person(faces, opens, reasons):
    decision = decide(analysis(faces), RuleSet())
    assert (decision.open, decision.reasons) == (opens, reasons)


@pytest.mark.parametrize(
    ("other", "opens"),
    [
        # A mask's valve boxed apart, wholly on the visitor's face: the visitor, not a second person.
        ((300, 220, 390, 320), True),
        # The cheek and ear, a third of its box off the visitor's face: still the visitor.
        ((140, 150, 290, 330), True),
        # Someone just behind the visitor's shoulder, a fifth of their face behind the visitor's head.
        ((370, 60, 530, 240), False),
    ],
)
def test_a_box_lying_on_the_visitors_face_is_the_visitor(other, opens):
    decision = decide(analysis([face(box=VISITOR), face(box=other, detector_score=0.9)]), RuleSet())
    assert (decision.open, decision.reasons) == (opens, [] if opens else [Reason.MULTIPLE_FACES])


def test_overlap_one_counts_every_overlapping_face():
    valve = face(box=(300, 220, 390, 320), detector_score=0.9)
    assert decide(analysis([face(box=VISITOR), valve]), RuleSet(other_face_overlap=1)).reasons == [
        Reason.MULTIPLE_FACES
    ]


def test_a_strict_gate_counts_every_face_as_a_person():
    strict = RuleSet(other_face_detector_score=0, other_face_width_share=0, other_face_overlap=1)
    far_and_doubted = face(box=(500, 100, 530, 130), detector_score=0.1)
    assert decide(analysis([face(box=VISITOR), far_and_doubted]), strict).reasons == [Reason.MULTIPLE_FACES]
    assert decide(analysis([face(box=VISITOR), far_and_doubted]), RuleSet()).open


def test_soft_mask_rule_lets_in_and_flags():
    decision = decide(analysis([face("no_mask")]), RuleSet(mask=Enforcement.SOFT))
    assert decision.open
    assert decision.flags == [Reason.NO_MASK]
    assert decision.message == "Welcome"


@pytest.mark.parametrize(
    ("rule", "nose_uncovered", "opens", "reasons", "flags"),
    [
        # Off by default: a mask the probe finds under the nose is still a mask.
        (Enforcement.OFF, True, True, [], []),
        (Enforcement.HARD, True, False, [Reason.INCORRECT_MASK], []),
        (Enforcement.SOFT, True, True, [], [Reason.INCORRECT_MASK]),
        (Enforcement.HARD, False, True, [], []),
        # No probe answer (another model, an old worker): nothing to act on.
        (Enforcement.HARD, None, True, [], []),
    ],
)
def test_a_mask_under_the_nose_is_refused_only_where_the_site_asks(
    rule, nose_uncovered, opens, reasons, flags
):
    decision = decide(
        analysis([face("mask", box=VISITOR, nose_uncovered=nose_uncovered)]), RuleSet(mask_over_nose=rule)
    )
    assert (decision.open, decision.reasons, decision.flags) == (opens, reasons, flags)


def test_the_nose_rule_is_not_asked_twice_of_a_face_already_refused_for_its_mask():
    decision = decide(
        analysis([face("no_mask", box=VISITOR, nose_uncovered=True)]),
        RuleSet(mask_over_nose=Enforcement.HARD),
    )
    assert decision.reasons == [Reason.NO_MASK]


def test_per_gate_override_inherits_site_rules():
    policy = PolicyConfig(
        fever_threshold_c=37.8, mask=Enforcement.SOFT, gates={"icu": {"fever_threshold_c": 37.2}}
    )
    icu = policy.for_gate("icu")
    assert icu.fever_threshold_c == 37.2
    assert icu.mask is Enforcement.SOFT
    assert policy.for_gate("lobby").fever_threshold_c == 37.8


def test_invalid_gate_override_is_refused_at_load():
    with pytest.raises(ValueError, match="fever_threshold_c"):
        PolicyConfig(gates={"x": {"fever_threshold_c": 50}})


def test_site_rules_sit_between_installation_and_gate():
    policy = PolicyConfig(
        fever_threshold_c=37.5,
        sites={"hospital": {"fever_threshold_c": 37.3, "mask": "hard"}, "cinema": {"mask": "soft"}},
        gates={"icu-door": {"fever_threshold_c": 37.1}},
    )
    assert policy.for_gate("lobby").fever_threshold_c == 37.5
    assert policy.for_gate("ward-door", "hospital").fever_threshold_c == 37.3
    assert policy.for_gate("icu-door", "hospital").fever_threshold_c == 37.1
    assert policy.for_gate("screen-1", "cinema").mask is Enforcement.SOFT
    assert decide(analysis([face("no_mask")]), policy.for_gate("screen-1", "cinema")).open
    assert not decide(analysis([face("no_mask")]), policy.for_gate("ward-door", "hospital")).open
    with pytest.raises(ValueError, match="mask"):
        PolicyConfig(sites={"x": {"mask": "sometimes"}})


def test_directory_maps_registered_gates_to_sites(tmp_path):
    import asyncio
    from datetime import UTC, datetime

    import sqlalchemy as sa

    from maskwatch.database.engine import create_engine, migrate
    from maskwatch.database.schema import gates, sites
    from services.gate_controller.directory import GateDirectory

    url = f"sqlite:///{tmp_path}/d.db"
    migrate(url)
    engine = create_engine(url)
    now = datetime.now(UTC)
    with engine.begin() as c:
        c.execute(sa.insert(sites).values(site_id="hospital", name="H", time_zone="UTC", created_at=now))
        c.execute(sa.insert(gates).values(gate_id="ward-door", site_id="hospital", name="W", created_at=now))
    directory = GateDirectory(engine)
    asyncio.run(directory.refresh_if_stale())
    assert directory.site_of("ward-door") == "hospital"
    assert directory.site_of("unknown") is None
    engine.dispose()
