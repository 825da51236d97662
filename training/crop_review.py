"""Reviewed labels for the crop set: masks worn under the nose, filed under "with mask".

The crop set has two folders, with and without a mask, and no "worn badly" class: a mask pulled under the
nose sits in `with_mask`. The gate, rightly, refuses it as `incorrect` (the scenes' own definition: "nose
or mouth uncovered"), so scored against the folder each such crop counts as a masked person refused; and
a classifier trained on the folder learns that a mask under the nose is a mask.

`crop_label_review.csv` beside this module lists every crop whose label a review by eye changed (folder/
name, the folder's label, the reviewed label, how many looks agreed, what was seen):

- **Held-out crops (fold 0, all 816; `looks` 2)**, which the gate-framing validation reports on, were
  reviewed twice, blind to what the model says of them: first every crop, unlabelled and shuffled; then
  every crop where that look disagreed with the folder, shuffled among as many where it agreed. A label
  is changed only where both looks named the same other class; where either called it unclear (a
  drawing, a balaclava, a crowd), the folder's label stays.
- **Training crops of `with_mask` (1698; `looks` 1)** were looked at once, for the classifier to learn
  the difference (`maskwatch train --crop-review`; measured and not adopted, docs/model-card.md).

The gate-framing report gives its table both ways (`table` and `table_with_the_crop_sets_labels`).

`crop_people_review.csv` lists the held-out crops a second review found to show **another person**: a
gate frame made from one of them is not one person at the gate, whatever its label. The independent
detector already leaves out a crop where it finds two faces at 0.7 (`gate_framing.crop_faces`); it
misses crowds of small or masked faces and finds faces that are not there, so every held-out crop where
it finds two faces even at 0.1 (76 beyond those it leaves out) was looked at, shuffled among as many
random held-out crops where it finds fewer, blind to label and model: another person counts where a
second face shows at least about 0.4 of the main face's width (the policy's own line for a second
person, so a passer-by far behind does not). Every crop that look named, and the unclear ones, were
looked at again, shuffled among as many it did not name; a crop is listed only where both looks named
another person (6: 5 in the tune half, 1 in the report half; a statue, a mannequin, a printed skull and
faces cut too far by the edge to tell stayed in).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import cast, get_args

from services.inference.model.interface import MaskLabel
from training.dataset import crop_key

REVIEW_PATH = Path(__file__).with_name("crop_label_review.csv")
PEOPLE_REVIEW_PATH = Path(__file__).with_name("crop_people_review.csv")


def load_review(path: Path = REVIEW_PATH) -> dict[str, MaskLabel]:
    """Crop key → reviewed label, for the crops whose label the review changed."""
    labels = get_args(MaskLabel)
    review: dict[str, MaskLabel] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            if row["reviewed"] not in labels:
                raise ValueError(f"{path}:{line}: unknown label {row['reviewed']!r}")
            review[row["crop"]] = cast(MaskLabel, row["reviewed"])
    return review


def load_people_review(path: Path = PEOPLE_REVIEW_PATH) -> dict[str, str]:
    """Crop key → what was seen, for the crops the review found to show another person."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for line, row in enumerate(rows, start=2):
        if not row["crop"] or row["looks"] != "2":
            raise ValueError(f"{path}:{line}: a crop needs a name and two looks naming another person")
    return {row["crop"]: row["seen"] for row in rows}


def relabelled(
    items: Sequence[tuple[Path, MaskLabel]], review: dict[str, MaskLabel]
) -> list[tuple[Path, MaskLabel]]:
    """`items` with the reviewed label wherever the review changed one."""
    return [(path, review.get(crop_key(path), label)) for path, label in items]
