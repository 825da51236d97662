"""Unmasked time and the alert lifecycle, on scripted rooms whose clock is the frame timestamps."""

from __future__ import annotations

import pytest

from services.monitoring.alerting import AlertEvent
from services.monitoring.dwell import Dwell
from services.monitoring.monitor import CameraMonitor
from services.monitoring.settings import CameraSettings
from tests.monitoring.scenes import Person, Room, frame_times, still, straight

FPS = 2.0


def run(room: Room, duration: float, settings: CameraSettings) -> list[AlertEvent]:
    monitor = CameraMonitor(settings)
    events: list[AlertEvent] = []
    times = frame_times(duration, FPS)
    for t in times:
        events += monitor.step(room.detections_at(t)[0], t)
    return events + monitor.finish(times[-1])


def test_one_alert_once_the_threshold_passes_and_it_resolves_when_the_person_masks_up():
    room = Room([Person("a", still((320, 240)), unmasked=[(2.0, 40.0)])])
    events = run(room, 60.0, CameraSettings(unmasked_after_s=20, grace_s=5))
    assert [(e.event, e.why) for e in events] == [("opened", None), ("resolved", "masked")]
    opened, resolved = events
    assert opened.t == pytest.approx(22.0)  # unmasked from 2.0 s, threshold 20 s
    assert opened.unmasked_since == pytest.approx(2.0)
    assert opened.box is not None
    assert abs((opened.box[0] + opened.box[2]) / 2 - 320) < 5
    assert resolved.t == pytest.approx(45.0)  # masked from 40 s, for the 5 s grace


def test_an_alert_resolves_when_the_person_leaves():
    room = Room([Person("a", still((320, 240)), unmasked=[(0.0, 99.0)], present=(0.0, 30.0))])
    events = run(room, 45.0, CameraSettings(unmasked_after_s=10))
    assert [(e.event, e.why) for e in events] == [("opened", None), ("resolved", "left")]
    assert 29.5 < events[1].t < 29.5 + 5.0


def test_the_video_ending_resolves_the_alert_of_someone_already_gone_but_not_of_someone_there():
    room = Room(
        [
            Person("stays", still((100, 240)), unmasked=[(0.0, 99.0)]),
            Person("goes", still((500, 240)), unmasked=[(0.0, 99.0)], present=(0.0, 14.0)),
        ]
    )
    events = run(room, 15.0, CameraSettings(unmasked_after_s=5))
    assert sorted((e.event, e.why) for e in events) == [
        ("opened", None),
        ("opened", None),
        ("resolved", "left"),
    ]


def test_one_unmasked_frame_starts_nothing_and_one_masked_frame_resets_nothing():
    room = Room(
        [Person("a", still((320, 240)), unmasked=[(5.0, 40.0)])],
        flips={("a", 1.0): "no_mask", ("a", 20.0): "mask", ("a", 20.5): "no_mask"},
    )
    events = run(room, 44.0, CameraSettings(unmasked_after_s=30, grace_s=5))
    assert [e.event for e in events] == ["opened"]
    assert events[0].t == pytest.approx(35.0)  # counted from 5 s, not from the stray frame at 1 s


def test_a_missed_frame_does_not_reset_the_unmasked_time():
    room = Room([Person("a", still((320, 240)), unmasked=[(0.0, 99.0)], hidden=[(10.0, 11.5)])])
    events = run(room, 25.0, CameraSettings(unmasked_after_s=20))
    assert [e.event for e in events] == ["opened"]
    assert events[0].t == pytest.approx(20.0)


def test_no_second_alert_for_the_same_person_within_the_cooldown():
    room = Room([Person("a", still((320, 240)), unmasked=[(0.0, 20.0), (30.0, 60.0), (130.0, 200.0)])])
    events = run(room, 200.0, CameraSettings(unmasked_after_s=10, grace_s=5, cooldown_s=60))
    # Opens at 10, resolves at 25 (masked at 20, plus the grace); unmasked again over 30-60 (40 s after
    # 30 would be over the threshold) but quiet until 85; unmasked again from 130: opens at 140.
    assert [(e.event, round(e.t)) for e in events] == [("opened", 10), ("resolved", 25), ("opened", 140)]


def test_two_people_each_get_their_own_alert():
    room = Room(
        [
            Person("a", straight((100, 200), (10, 0)), unmasked=[(0.0, 99.0)]),
            Person("b", still((500, 240)), unmasked=[(5.0, 99.0)]),
            Person("masked", still((320, 400))),
        ]
    )
    events = run(room, 30.0, CameraSettings(unmasked_after_s=15))
    opened = [e for e in events if e.event == "opened"]
    assert [round(e.t) for e in opened] == [15, 20]
    assert len({e.person for e in opened}) == 2


def test_incorrect_counts_as_unmasked_unless_the_camera_says_otherwise():
    def room() -> Room:
        return Room([Person("a", still((320, 240)), unmasked=[(0.0, 99.0)])])

    def as_incorrect(r: Room) -> Room:
        r.flips = {("a", t): "incorrect" for t in frame_times(40.0, FPS)}
        return r

    assert [e.event for e in run(as_incorrect(room()), 40.0, CameraSettings(unmasked_after_s=10))] == [
        "opened"
    ]
    settings = CameraSettings(unmasked_after_s=10, incorrect_counts=False)
    assert run(as_incorrect(room()), 40.0, settings) == []


def test_faces_in_an_ignore_zone_are_not_people():
    room = Room([Person("poster", still((320, 240)), unmasked=[(0.0, 99.0)])])
    zone = [(250.0, 170.0), (390.0, 170.0), (390.0, 310.0), (250.0, 310.0)]
    assert run(room, 40.0, CameraSettings(unmasked_after_s=10, ignore_zones=[zone])) == []


def test_the_label_is_a_score_weighted_vote_not_the_last_frame():
    dwell = Dwell(frozenset({"no_mask"}), grace_s=5)
    dwell.observe(0.0, "no_mask", 0.95)
    dwell.observe(0.5, "no_mask", 0.9)
    dwell.observe(1.0, "mask", 0.55)  # one unsure masked frame after two sure unmasked ones
    assert dwell.label == "no_mask"
    assert dwell.unmasked_for(1.0) == pytest.approx(1.0)


def test_how_long_a_person_may_vanish_without_leaving_is_a_camera_setting():
    room = Room([Person("a", still((320, 240)), unmasked=[(0.0, 99.0)], hidden=[(20.0, 26.0)])])
    patient = run(room, 40.0, CameraSettings(unmasked_after_s=10, lost_after_s=8))
    assert [e.event for e in patient] == ["opened"]  # hidden for 6 s, then the same person again
    hasty = run(room, 40.0, CameraSettings(unmasked_after_s=10, lost_after_s=3))
    assert [(e.event, e.why) for e in hasty] == [("opened", None), ("resolved", "left"), ("opened", None)]
