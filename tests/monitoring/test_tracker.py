"""The tracker keeps each person's id through crossings, occlusions, misses and low frame rates."""

from __future__ import annotations

from collections import defaultdict

from services.monitoring.track import Tracker, TrackerSettings
from tests.monitoring.scenes import Person, Room, frame_times, still, straight


def identities(room: Room, duration: float, fps: float, settings: TrackerSettings | None = None):
    """Ground-truth name → the set of person ids the tracker gave them (one each when tracking is right)."""
    tracker = Tracker(settings)
    given: dict[str, set[int]] = defaultdict(set)
    for t in frame_times(duration, fps):
        detections, owners = room.detections_at(t)
        update = tracker.update(detections, t)
        for track in update.seen:
            owner = owners[[id(d) for d in detections].index(id(track.detection))]
            given[owner].add(track.person_id)
    return dict(given)


def test_two_people_crossing_paths_keep_their_ids():
    room = Room(
        [
            Person("left-to-right", straight((100, 200), (60, 0))),
            Person("right-to-left", straight((500, 210), (-60, 0))),
        ]
    )
    ids = identities(room, 8.0, 5.0)
    assert len(ids["left-to-right"]) == 1
    assert len(ids["right-to-left"]) == 1
    assert ids["left-to-right"] != ids["right-to-left"]


def test_a_face_hidden_for_a_second_behind_another_keeps_its_id():
    room = Room(
        [
            Person("walker", straight((100, 200), (50, 0)), hidden=[(3.0, 4.0)]),
            Person("stander", still((300, 205)), size=70),
        ]
    )
    ids = identities(room, 8.0, 5.0)
    assert len(ids["walker"]) == 1
    assert len(ids["stander"]) == 1


def test_a_face_lost_for_a_few_frames_comes_back_as_the_same_person():
    room = Room([Person("turns-away", still((320, 240)), hidden=[(2.0, 5.0)])])
    ids = identities(room, 10.0, 2.0)
    assert len(ids["turns-away"]) == 1


def test_a_face_gone_longer_than_the_relink_window_is_a_new_person():
    room = Room([Person("leaves-and-returns", still((320, 240)), hidden=[(2.0, 12.0)])])
    ids = identities(room, 15.0, 2.0, TrackerSettings(relink_s=4.0))
    assert len(ids["leaves-and-returns"]) == 2


def test_a_walking_face_at_two_frames_a_second_keeps_its_id():
    """At 2 fps the face moves 1.2 face widths between frames: IoU is zero, distance still matches."""
    room = Room([Person("fast", straight((60, 240), (144, 0)))])
    ids = identities(room, 3.5, 2.0)
    assert len(ids["fast"]) == 1


def test_a_single_detection_does_not_become_a_person():
    tracker = Tracker()
    room = Room([Person("ghost", still((100, 100)), present=(0.0, 0.1))])
    seen = []
    for t in frame_times(3.0, 2.0):
        seen += tracker.update(room.detections_at(t)[0], t).seen
    assert seen == []


def test_a_departed_person_is_reported_once_after_the_relink_window():
    tracker = Tracker(TrackerSettings(relink_s=3.0))
    room = Room([Person("visitor", still((100, 100)), present=(0.0, 2.0))])
    departures = []
    for t in frame_times(8.0, 2.0):
        update = tracker.update(room.detections_at(t)[0], t)
        departures += [(t, p) for p in update.departed]
    assert len(departures) == 1
    t, _ = departures[0]
    assert 1.5 + 3.0 < t <= 1.5 + 3.0 + 0.5  # last seen at 1.5 s, gone for more than 3 s
