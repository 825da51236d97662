"""Why no face could be judged, in words the person at the gate can act on.

"No face" alone leaves a visitor guessing. The detector's weak candidates (faces scored below the policy's
threshold, which the worker still reports) and the frame's light and focus say more: a candidate touching
the frame's edge is a face cut off, a small one is a person too far away, a dark frame is the light, a
blurred one around a candidate is movement, and a candidate the model doubts for none of these is most
often a face turned away. Light comes first: in a frame too dark to judge, the detector's weak candidates
are mostly sensor noise (a candidate at the edge of a black frame is no face cut off). Then a face visible
but cut off, the most specific thing to fix; blur last, because a dark frame also blurs. The thresholds
are set by eye on a few frames, not measured on gate footage: they pick which sentence to show, never
whether the gate opens.
"""

from __future__ import annotations

from maskwatch.contracts import AnalyzedFace, GateAnalysis, Reason

NO_FACE_REASONS = frozenset(
    {
        Reason.NO_FACE,
        Reason.FACE_NOT_FRONTAL,
        Reason.FACE_TOO_SMALL,
        Reason.FACE_CUT_OFF,
        Reason.TOO_DARK,
        Reason.TOO_BLURRED,
    }
)
"""Every answer to "no face could be judged": what figures count as no face."""
CANDIDATE_SCORE = 0.1
"""Weaker candidates are mostly not faces at all (walls, shirts): they say nothing about the person."""
MIN_FACE_WIDTH_SHARE = 0.12
"""A face narrower than this share of the frame's width (77 px at 640) is someone standing too far back;
at the gate the model is measured on faces 120 px and wider (docs/model-card.md, gate framing)."""
EDGE_PX = 2
DARK_BRIGHTNESS = 45.0
"""Mean luma below this (0-255) is a frame too dark to judge a face in."""
BLURRED_SHARPNESS = 15.0
"""Variance of the Laplacian below this is a frame smeared by movement or a dirty lens."""


def no_face_reason(analysis: GateAnalysis, min_face_score: float) -> Reason:
    """The most useful reason for a frame in which no face reached `min_face_score`."""
    candidates = [f for f in analysis.faces if CANDIDATE_SCORE <= f.score < min_face_score]
    frame = analysis.frame
    if frame is not None:
        if frame.brightness < DARK_BRIGHTNESS:
            return Reason.TOO_DARK
        if any(_touches_edge(face, frame.width, frame.height) for face in candidates):
            return Reason.FACE_CUT_OFF
        if candidates and max(face_width(f) for f in candidates) < MIN_FACE_WIDTH_SHARE * frame.width:
            return Reason.FACE_TOO_SMALL
        if candidates:
            # Blur is blamed only where something face-like was seen: an empty, plain wall is smooth too.
            return Reason.TOO_BLURRED if frame.sharpness < BLURRED_SHARPNESS else Reason.FACE_NOT_FRONTAL
    return Reason.NO_FACE


def face_width(face: AnalyzedFace) -> int:
    """A face's width in frame pixels: how near the camera its person stands."""
    return face.box[2] - face.box[0]


def _touches_edge(face: AnalyzedFace, width: int, height: int) -> bool:
    x1, y1, x2, y2 = face.box
    return x1 <= EDGE_PX or y1 <= EDGE_PX or x2 >= width - EDGE_PX or y2 >= height - EDGE_PX
