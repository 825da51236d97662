"""How long a person has been unmasked, counted so one bad frame neither starts nor ends it.

A person's label is a vote over their recent frames, each weighted by how sure
the classifier was, not the last frame's guess. An unmasked spell starts once
the vote has said unmasked for `START_OBSERVATIONS` frames in a row, and is
dated from the first frame of the unbroken unmasked run that led to it (the
vote lags the truth by a second or two; the dating does not). It ends when the
person has been seen masked, without a break, for the grace period; a masked
frame in between is forgiven, and so is a frame in which they were not seen.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

VOTE_WINDOW_S = 3.0
"""Frames older than this no longer vote."""
START_OBSERVATIONS = 2


@dataclass
class Dwell:
    unmasked_labels: frozenset[str]
    grace_s: float
    votes: deque[tuple[float, str, float]] = field(default_factory=deque)
    unmasked_since: float | None = None
    """When the current unmasked spell began; None while masked."""
    label: str = ""
    """The current vote."""
    _unmasked_votes: int = 0
    _run_start: float = 0.0
    """When the unbroken run of frames with the latest frame's kind (masked or not) began."""
    _run_unmasked: bool | None = None

    def observe(self, t: float, label: str, score: float) -> bool:
        """Count one frame of this person; True when it ended an unmasked spell (masked for the grace)."""
        frame_unmasked = label in self.unmasked_labels
        if frame_unmasked != self._run_unmasked:
            self._run_unmasked, self._run_start = frame_unmasked, t
        self.votes.append((t, label, max(score, 1e-3)))
        while self.votes and self.votes[0][0] < t - VOTE_WINDOW_S:
            self.votes.popleft()
        weights: dict[str, float] = {}
        for _, vote, weight in self.votes:
            weights[vote] = weights.get(vote, 0.0) + weight
        self.label = max(weights, key=lambda k: weights[k])
        vote_unmasked = self.label in self.unmasked_labels
        self._unmasked_votes = self._unmasked_votes + 1 if vote_unmasked else 0
        if self.unmasked_since is None:
            if self._unmasked_votes >= START_OBSERVATIONS:
                self.unmasked_since = self._run_start if frame_unmasked else t
            return False
        if not vote_unmasked and not frame_unmasked and t - self._run_start >= self.grace_s:
            self.unmasked_since = None
            return True
        return False

    def unmasked_for(self, t: float) -> float:
        return 0.0 if self.unmasked_since is None else max(0.0, t - self.unmasked_since)
