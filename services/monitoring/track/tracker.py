"""ByteTrack-style association of face boxes to tracks, with re-linking of a person whose track broke.

Every frame: predict each track to the frame's time, then match in stages,
most trustworthy first (as ByteTrack does): confident detections to live and
recently lost tracks by IoU; doubtful detections to the live tracks left, by a
stricter IoU (a half-hidden face keeps its track instead of starting a new one);
confident detections still unmatched by centre distance (at 2 fps a walking
face moves more than its own width, where IoU is zero); then to tentative
tracks. A new track must be seen twice before it counts.

A track lost for longer than `max_lost_s` stops being matched; if a new track
is confirmed near where it was within `relink_s`, the new track takes over its
`person_id`, so a person who turned away or walked behind a pillar keeps the
unmasked time and the alert they had. A person is reported departed once their
track has been lost for `relink_s` and nothing took it over.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from services.monitoring.track.association import assign, distance_matrix, iou_matrix
from services.monitoring.track.detection import Box, Detection
from services.monitoring.track.kalman import BoxFilter


@dataclass(frozen=True)
class TrackerSettings:
    high_score: float = 0.5
    """Detections at least this sure are matched first and may start tracks."""
    low_score: float = 0.1
    """Detections below this are ignored; between the two they only keep live tracks going."""
    new_track_score: float = 0.6
    match_iou: float = 0.2
    low_match_iou: float = 0.5
    max_distance: float = 1.5
    """Centre distance, in face sizes, within which an unmatched face may still continue a track."""
    confirm_hits: int = 2
    max_lost_s: float = 2.0
    """A track not seen for this long is no longer matched (a person hidden behind another, say)."""
    relink_s: float = 4.0
    """A new track confirmed within this long of a lost one, nearby, is the same person."""
    relink_distance: float = 3.0
    """How near, in face sizes, a new track must start to a lost one to be re-linked to it."""


class TrackState(Enum):
    TENTATIVE = "tentative"
    CONFIRMED = "confirmed"
    LOST = "lost"


@dataclass
class Track:
    track_id: int
    person_id: int
    """Stable across re-links: what unmasked time and alerts are counted against."""
    filter: BoxFilter
    born_at: float
    last_seen: float
    last_box: Box
    state: TrackState = TrackState.TENTATIVE
    hits: int = 1
    detection: Detection | None = None
    """The detection matched in the latest frame; None when the track was not seen in it."""
    first_detection: Detection | None = None
    """The detection the track was born from (before it was confirmed)."""
    predicted_at: float = field(default=0.0)

    @property
    def box(self) -> Box:
        return self.last_box if self.detection is not None else self.filter.box


@dataclass(frozen=True)
class TrackerUpdate:
    seen: list[Track]
    """Confirmed tracks matched in this frame, each with its detection."""
    departed: list[int]
    """Person ids whose track was lost for `relink_s` without being taken over."""
    relinked: list[tuple[int, int]]
    """(new track id, person id) for each track that took over a lost person in this frame."""


class Tracker:
    def __init__(self, settings: TrackerSettings | None = None) -> None:
        self.settings = settings or TrackerSettings()
        self._tracks: list[Track] = []
        self._ids = itertools.count(1)

    @property
    def tracks(self) -> Sequence[Track]:
        return tuple(self._tracks)

    def update(self, detections: Sequence[Detection], t: float) -> TrackerUpdate:
        s = self.settings
        for track in self._tracks:
            track.filter.predict(t - track.predicted_at)
            track.predicted_at = t
            track.detection = None
        high = [d for d in detections if d.score >= s.high_score]
        low = [d for d in detections if s.low_score <= d.score < s.high_score]
        pool = [
            tr
            for tr in self._tracks
            if tr.state is TrackState.CONFIRMED
            or (tr.state is TrackState.LOST and t - tr.last_seen <= s.max_lost_s)
        ]
        tentative = [tr for tr in self._tracks if tr.state is TrackState.TENTATIVE]

        # 1. confident detections to live and recently lost tracks, by IoU
        pairs, pool_left, high_left = _match_iou(pool, high, s.match_iou)
        self._apply(pool, high, pairs, t)
        # 2. doubtful detections to the live tracks left, by a stricter IoU
        live_left = [pool[i] for i in pool_left if pool[i].state is TrackState.CONFIRMED]
        pairs_low, _, _ = _match_iou(live_left, low, s.low_match_iou)
        self._apply(live_left, low, pairs_low, t)
        # 3. confident detections left to tracks left, by centre distance
        tracks_left = [pool[i] for i in pool_left if pool[i].detection is None]
        dets_left = [high[i] for i in high_left]
        pairs_far, _, dets_left_idx = _match_distance(tracks_left, dets_left, s.max_distance)
        self._apply(tracks_left, dets_left, pairs_far, t)
        dets_left = [dets_left[i] for i in dets_left_idx]
        # 4. tentative tracks: by IoU, then by distance
        pairs_new, tent_left, new_left = _match_iou(tentative, dets_left, s.match_iou)
        self._apply(tentative, dets_left, pairs_new, t)
        tent_rest = [tentative[i] for i in tent_left]
        dets_rest = [dets_left[i] for i in new_left]
        pairs_new_far, _, born_idx = _match_distance(tent_rest, dets_rest, s.max_distance)
        self._apply(tent_rest, dets_rest, pairs_new_far, t)

        relinked: list[tuple[int, int]] = []
        for track in list(self._tracks):
            if track.detection is not None:
                if track.state is TrackState.TENTATIVE and track.hits >= s.confirm_hits:
                    track.state = TrackState.CONFIRMED
                    person = self._relink(track, t)
                    if person is not None:
                        relinked.append((track.track_id, person))
                elif track.state is TrackState.LOST:
                    track.state = TrackState.CONFIRMED
            elif track.state is TrackState.TENTATIVE:
                self._tracks.remove(track)  # a face seen once and not again: noise
            else:
                track.state = TrackState.LOST
        for i in born_idx:
            det = dets_rest[i]
            if det.score >= s.new_track_score:
                self._birth(det, t)

        departed = []
        for track in list(self._tracks):
            if track.state is TrackState.LOST and t - track.last_seen > s.relink_s:
                self._tracks.remove(track)
                departed.append(track.person_id)
        seen = [tr for tr in self._tracks if tr.state is TrackState.CONFIRMED and tr.detection is not None]
        return TrackerUpdate(seen=seen, departed=departed, relinked=relinked)

    def _birth(self, detection: Detection, t: float) -> None:
        track_id = next(self._ids)
        track = Track(
            track_id=track_id,
            person_id=track_id,
            filter=BoxFilter(detection.box),
            born_at=t,
            last_seen=t,
            last_box=detection.box,
            detection=detection,
            first_detection=detection,
            predicted_at=t,
        )
        if self.settings.confirm_hits <= 1:
            track.state = TrackState.CONFIRMED
        self._tracks.append(track)

    def _apply(
        self, tracks: Sequence[Track], detections: Sequence[Detection], pairs: list[tuple[int, int]], t: float
    ) -> None:
        for ti, di in pairs:
            track, det = tracks[ti], detections[di]
            track.filter.update(det.box)
            track.detection = det
            track.last_box = det.box
            track.last_seen = t
            track.hits += 1

    def _relink(self, track: Track, t: float) -> int | None:
        """Hand `track` the person of the nearest lost track it could be, and drop that track."""
        s = self.settings
        candidates = [
            tr
            for tr in self._tracks
            if tr.state is TrackState.LOST and tr is not track and t - tr.last_seen <= s.relink_s
        ]
        if not candidates:
            return None
        first_box = track.last_box
        nearest: tuple[float, Track] | None = None
        for lost in candidates:
            d = float(
                min(
                    distance_matrix([lost.last_box], [first_box])[0, 0],
                    distance_matrix([lost.filter.box], [first_box])[0, 0],
                )
            )
            if d <= s.relink_distance and (nearest is None or d < nearest[0]):
                nearest = (d, lost)
        if nearest is None:
            return None
        lost = nearest[1]
        track.person_id = lost.person_id
        self._tracks.remove(lost)
        return lost.person_id


def _match_iou(
    tracks: Sequence[Track], detections: Sequence[Detection], min_iou: float
) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    cost = 1.0 - iou_matrix([tr.filter.box for tr in tracks], [d.box for d in detections])
    return assign(cost, 1.0 - min_iou)


def _match_distance(
    tracks: Sequence[Track], detections: Sequence[Detection], max_distance: float
) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    if not tracks or not detections:
        return [], list(range(len(tracks))), list(range(len(detections)))
    predicted = distance_matrix([tr.filter.box for tr in tracks], [d.box for d in detections])
    last = distance_matrix([tr.last_box for tr in tracks], [d.box for d in detections])
    return assign(np.minimum(predicted, last), max_distance)
