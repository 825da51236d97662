"""Drawing what the monitor saw on a frame: each person's box, id, label and unmasked time."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from services.monitoring.monitor import PersonView

GREEN, AMBER, RED = (60, 180, 60), (0, 170, 255), (40, 40, 230)


def draw_people(image: npt.NDArray[np.uint8], people: Sequence[PersonView]) -> npt.NDArray[np.uint8]:
    """A copy of `image` (BGR) annotated: green masked, amber unmasked, red once alerted."""
    out = image.copy()
    scale = max(0.4, min(out.shape[:2]) / 900)
    for person in people:
        x1, y1, x2, y2 = (round(v) for v in person.box)
        colour = RED if person.alerted else AMBER if person.unmasked_for > 0 else GREEN
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, max(1, round(2 * scale)))
        text = f"#{person.person} {person.label or '?'}"
        if person.unmasked_for > 0:
            text += f" {person.unmasked_for:.0f}s"
        (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        top = max(0, y1 - h - base - 4)
        cv2.rectangle(out, (x1, top), (x1 + w + 4, top + h + base + 4), colour, -1)
        cv2.putText(
            out, text, (x1 + 2, top + h + 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA
        )
    return out
