"""Gate-framing validation: does the real gate policy give one person the right answer the first time?

Each gate frame (training/gate_framing.py) goes through the serving engine and then through the gate
controller's own `policy.decide` with a normal temperature, so what is measured is what a person at the
gate gets: masked people should be let in, everybody else refused for their mask. A wrong answer is
sorted by how it failed: no face, several faces, or one face with the wrong verdict on the mask.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import Any, Literal, TypeVar
from uuid import uuid4

import cv2
import numpy as np

from maskwatch.contracts import GateAnalysis, Reason
from maskwatch.contracts.gate_analysis import FrameQuality
from maskwatch.contracts.gate_check import TemperatureReading
from maskwatch.entry_rules import Enforcement
from services.gate_controller.guidance import NO_FACE_REASONS
from services.gate_controller.policy import RuleSet, decide
from services.inference.model.interface import FrameError, FrameResult
from services.inference.worker import analyzed_faces
from training.crop_review import load_people_review, load_review
from training.dataset import crop_key, load_crop_folder, load_voc_scenes, split_crops, split_scenes
from training.gate_framing import (
    GateFrame,
    Part,
    crop_faces,
    crop_frames,
    gate_part,
    pair_frames,
    scene_frames,
)

Outcome = Literal["right", "no_face", "several_faces", "wrong_label", "bad_image", "one_person_seen"]
FAILURES: tuple[Outcome, ...] = ("no_face", "several_faces", "wrong_label", "bad_image", "one_person_seen")
Analyze = Callable[[list[bytes]], Sequence[FrameResult | FrameError]]
_NORMAL = TemperatureReading(corrected_c=36.5)
_NO_PIXELS = np.zeros((0, 0, 3), dtype=np.uint8)
T = TypeVar("T")


def analysis_of(result: FrameResult) -> GateAnalysis:
    """The analysis the inference worker would hand the gate controller for this frame."""
    now = datetime.now(UTC)
    faces = analyzed_faces(result)
    return GateAnalysis(
        gate_id="gate-framing",
        check_id=uuid4(),
        captured_at=now,
        received_at=now,
        analyzed_at=now,
        temperature=_NORMAL,
        faces=faces,
        frame=FrameQuality(
            width=result.width,
            height=result.height,
            brightness=result.brightness or 0.0,
            sharpness=result.sharpness or 0.0,
        ),
    )


def outcome(label: str, result: FrameResult | FrameError, rules: RuleSet, people: int = 1) -> Outcome:
    """How the policy's decision on one frame compares with what the person in it should get; with two
    people in the frame, the right answer is "one person at a time" and any other is `one_person_seen`."""
    if isinstance(result, FrameError):
        return "bad_image"
    decision = decide(analysis_of(result), rules)
    if people > 1:
        return "right" if Reason.MULTIPLE_FACES in decision.reasons else "one_person_seen"
    if (label == "mask") == decision.open and (decision.open or _refused_for_the_mask(decision.reasons)):
        return "right"
    if NO_FACE_REASONS.intersection(decision.reasons):
        return "no_face"
    if Reason.MULTIPLE_FACES in decision.reasons:
        return "several_faces"
    return "wrong_label"


def _refused_for_the_mask(reasons: Sequence[Reason]) -> bool:
    return Reason.NO_MASK in reasons or Reason.INCORRECT_MASK in reasons


Judged = tuple[GateFrame, FrameResult | FrameError]


def run_gate_frames(
    frames: Iterable[GateFrame], analyze: Callable[[list[bytes]], Sequence[T]], batch_size: int = 8
) -> list[tuple[GateFrame, T]]:
    """Every frame (its pixels dropped once analysed: a run holds thousands) with what `analyze` made of
    it (the engine's result, or more beside it); frames are JPEG-encoded (quality 90) as a gate sends
    them."""
    done: list[tuple[GateFrame, T]] = []
    batch: list[GateFrame] = []

    def flush() -> None:
        data = [cv2.imencode(".jpg", f.image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes() for f in batch]
        done.extend((replace(f, image=_NO_PIXELS), r) for f, r in zip(batch, analyze(data), strict=True))
        batch.clear()

    for frame in frames:
        batch.append(frame)
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    return done


def outcomes_of(
    judged: Sequence[Judged], rules: RuleSet | None = None, reviewed_labels: bool = True
) -> list[tuple[GateFrame, Outcome]]:
    """Each frame's outcome under `rules`, against the reviewed labels or (each frame then carrying it
    as its label, so that tables group by it) the crop set's own."""
    rules = rules or RuleSet()
    if not reviewed_labels:
        judged = [(replace(f, label=f.label_in_folder, folder_label=None), r) for f, r in judged]
    return [(frame, outcome(frame.label, result, rules, frame.people)) for frame, result in judged]


def gate_table(outcomes: Sequence[tuple[GateFrame, Outcome]]) -> dict[str, Any]:
    """Per source set, class and face size: frames, share decided right, and the failures by kind."""
    groups: dict[tuple[str, str, str], Counter[Outcome]] = defaultdict(Counter)
    for frame, result in outcomes:
        source = {"photo": "crops", "close-up": "crops", "pair": "crops:pairs"}.get(
            frame.framing, f"scenes:{frame.framing}"
        )
        label: str = "two_people" if frame.people > 1 else frame.label
        for key in ((source, label, frame.size), (source, label, "all")):
            groups[key][result] += 1
    table: dict[str, Any] = {}
    for (source, label, size), counts in sorted(groups.items()):
        total = sum(counts.values())
        table.setdefault(source, {}).setdefault(label, {})[size] = {
            "frames": total,
            "right": round(counts["right"] / total, 4),
            "failures": {kind: counts[kind] for kind in FAILURES if counts[kind]},
        }
    return table


def gate_framing_report(
    data_dir: Path, analyze: Analyze, part: Part = "report", fold: int = 0
) -> dict[str, Any]:
    """The gate-framing table on one part of the held-out crops and scenes of `fold` (never trained on
    by the crop stage; the scenes are held out only for fold models, see docs/model-card.md), against
    the reviewed crop labels (training/crop_review.py) and, beside it, against the crop set's own."""
    crops = [
        item
        for item in split_crops(load_crop_folder(data_dir / "crops" / "train"), fold)[1]
        if gate_part(crop_key(item[0])) == part
    ]
    faces, left_out = crop_faces(crops, load_review(), load_people_review())
    scenes = [
        scene
        for scene in split_scenes(load_voc_scenes(data_dir / "scenes" / "dev"), fold)[1]
        if gate_part(scene.image_path.name) == part
    ]
    judged = run_gate_frames(chain(crop_frames(faces), pair_frames(faces), scene_frames(scenes)), analyze)
    return {
        "part": part,
        "crops": len(faces),
        "crops_left_out_as_several_people": left_out["several_people"],
        "crops_left_out_as_another_person_by_review": left_out["another_person_by_review"],
        "crops_left_out_face_under_32_px": left_out["face_under_32_px"],
        "crops_relabelled_by_review": sorted(
            f"{crop_key(f.path)}: {f.folder_label} -> {f.label}" for f in faces if f.folder_label
        ),
        "scenes": len(scenes),
        "table": gate_table(outcomes_of(judged)),
        "table_with_the_crop_sets_labels": gate_table(outcomes_of(judged, reviewed_labels=False)),
        # A site that asks for the mask over the nose (off by default: it costs masked people).
        "table_with_the_nose_rule": gate_table(outcomes_of(judged, RuleSet(mask_over_nose=Enforcement.HARD))),
    }
