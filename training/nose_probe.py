"""Train the nose probe the gate serves beside the mask classifier (services/inference/model/nose_probe.py):

    maskwatch train-nose-probe [--data-dir ../shared/data]

The crop set files masks under the nose under "with mask", so the classifier learnt to call them masks
and the gate lets most of them in (docs/model-card.md, "Gate framing"). Retraining it on the reviewed
labels fixed that but cost masked and unmasked people; the probe leaves the classifier as it is: a
logistic regression on the 1280 pooled features its last layer sees (the graphs' `features` output, the
face and its mirror image averaged, as served), asked only about faces the classifier calls `mask`.

- **Trained** on gate frames cut from the crop set's *training* split, masked crops only (faces 120,
  220 and 320 px wide and close-ups, as `training/gate_framing.py` makes them), each through the serving
  engine, the probe reading the served features of the face the engine found; a crop is "nose
  uncovered" where the one-look review of the training split says so (`training/crop_label_review.csv`).
  The weight decay is picked by the area under the ROC curve, cross-validated with every frame of a crop
  in one fold.
- **Threshold** chosen on the gate validation's *tune* half (never the report half): the lowest of
  `THRESHOLDS` at which relabelling a `mask` face `incorrect` costs at most one masked frame in
  `MASKED_COST` more than the gate without the probe, through the gate's own `policy.decide`.

About 10 minutes on 2 CPU cores. Writes `<classifier>.nose.json` beside the weights and adds the
`features` output to both graphs where they lack it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from itertools import chain
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from services.gate_controller.policy import RuleSet
from services.inference.engine import MaskEngine, build_engine
from services.inference.model.config import ClassifierConfig, ModelConfig, int8_path
from services.inference.model.crops import CROP_MARGIN, as_bgr, square_crop
from services.inference.model.interface import FrameError, FrameResult
from services.inference.model.nose_probe import NoseProbe, write_nose_probe
from training.crop_review import load_people_review, load_review
from training.dataset import (
    crop_key,
    load_crop_folder,
    load_voc_scenes,
    split_crops,
    split_scenes,
)
from training.feature_output import expose_features
from training.gate_framing import CLOSE_UP, GateFrame, crop_faces, crop_frames, gate_part, scene_frames
from training.gate_validation import outcome, run_gate_frames

TRAINING_SIZES = frozenset({"120", "220", "320", CLOSE_UP})
WEIGHT_DECAYS = (1e-3, 1e-2, 1e-1, 1.0)
THRESHOLDS = (0.999, 0.995, 0.99, 0.98, 0.97, 0.95, 0.9)
MASKED_COST = 200
"""The probe may cost at most one masked frame in this many (on the tune half) at its threshold."""
BATCH = 16
Analysed = tuple[GateFrame, FrameResult | FrameError, np.ndarray]
"""A frame (pixels dropped), what the engine made of it, and the probe features of each face it found."""


def analysed(engine: MaskEngine, frames: Iterable[GateFrame]) -> list[Analysed]:
    """Each frame through the engine as the gate validation sends it (`run_gate_frames`), with the
    served features of the crop the classifier took around each face found."""

    def analyze(data: list[bytes]) -> list[tuple[FrameResult | FrameError, np.ndarray]]:
        done = []
        for jpeg, result in zip(data, engine.analyze_batch(data), strict=True):
            if isinstance(result, FrameError) or not result.faces:
                done.append((result, np.zeros((0, 0), dtype=np.float32)))
                continue
            image = as_bgr(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR))
            boxes = [(f.box.x1, f.box.y1, f.box.x2, f.box.y2) for f in result.faces]
            crops = [square_crop(image, box, CROP_MARGIN) for box in boxes]
            done.append((result, engine.classifier.features(crops)))
        return done

    return [(frame, result, found) for frame, (result, found) in run_gate_frames(frames, analyze, BATCH)]


@dataclass(frozen=True)
class Probe:
    mean: np.ndarray
    std: np.ndarray
    weights: np.ndarray
    bias: float

    def __call__(self, features: np.ndarray) -> np.ndarray:
        logits = ((features - self.mean) / self.std) @ self.weights + self.bias
        return np.asarray(1.0 / (1.0 + np.exp(-logits)))

    def served(self, threshold: float, training: dict[str, Any], metrics: dict[str, Any]) -> NoseProbe:
        """The probe as serving reads it: the standardisation folded into the weights and bias."""
        weights = self.weights / self.std
        bias = self.bias - float(self.mean @ weights)
        return NoseProbe(
            weights=[float(w) for w in weights],
            bias=bias,
            threshold=threshold,
            training=training,
            metrics=metrics,
        )


def fit_probe(features: np.ndarray, labels: np.ndarray, weight_decay: float) -> Probe:
    """Logistic regression, both classes weighted alike (the positives are one frame in twenty)."""
    mean, std = features.mean(0), features.std(0) + 1e-6
    x = torch.tensor((features - mean) / std, dtype=torch.float32)
    y = torch.tensor(labels, dtype=torch.float32)
    positives = float(y.sum())
    weight = torch.where(y > 0, 0.5 / positives, 0.5 / (len(y) - positives)) * len(y)
    w = torch.zeros(x.shape[1], requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    optimiser = torch.optim.LBFGS([w, b], max_iter=300, line_search_fn="strong_wolfe")

    def loss() -> torch.Tensor:
        optimiser.zero_grad()
        value = torch.nn.functional.binary_cross_entropy_with_logits(x @ w + b, y, weight=weight)
        value = value + weight_decay * (w * w).sum()
        value.backward()  # type: ignore[no-untyped-call]
        return value

    optimiser.step(loss)  # type: ignore[no-untyped-call]
    return Probe(mean, std, w.detach().numpy(), float(b.item()))


def roc_area(scores: np.ndarray, labels: np.ndarray) -> float:
    positive, negative = scores[labels > 0], scores[labels == 0]
    return float((positive[:, None] > negative[None, :]).mean())


def grouped_cv_area(
    features: np.ndarray, labels: np.ndarray, groups: Sequence[str], weight_decay: float
) -> float:
    """ROC area of out-of-fold probabilities, every frame of one crop in the same of five folds."""
    names = {name: i for i, name in enumerate(sorted(set(groups)))}
    folds = np.array([names[g] % 5 for g in groups])
    scores = np.zeros(len(labels))
    for k in range(5):
        probe = fit_probe(features[folds != k], labels[folds != k], weight_decay)
        scores[folds == k] = probe(features[folds == k])
    return roc_area(scores, labels)


def training_set(data_dir: Path, engine: MaskEngine) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Features of the visitor's face (the widest face called `mask` at the operating point) in gate
    frames of the training split's masked crops, labelled by the review (`incorrect`: the nose
    uncovered), grouped by crop."""
    train = split_crops(load_crop_folder(data_dir / "crops" / "train"))[0]
    faces, _ = crop_faces([item for item in train if item[1] == "mask"], load_review())
    frames = (f for f in crop_frames(faces) if f.size in TRAINING_SIZES)
    operating_point = RuleSet().min_face_score
    rows, labels, groups = [], [], []
    for frame, result, found in analysed(engine, frames):
        if isinstance(result, FrameError):
            continue
        masked = [i for i, f in enumerate(result.faces) if f.label == "mask" and f.score >= operating_point]
        if not masked:
            continue
        visitor = max(masked, key=lambda i: result.faces[i].box.x2 - result.faces[i].box.x1)
        rows.append(found[visitor])
        labels.append(float(frame.label == "incorrect"))
        groups.append(frame.source)
    return np.asarray(rows), np.asarray(labels, dtype=np.float32), groups


def tune_half(data_dir: Path, engine: MaskEngine) -> list[Analysed]:
    """The tune half's one-person gate frames, crops and scene faces, as the gate validation builds them."""
    held_out = split_crops(load_crop_folder(data_dir / "crops" / "train"))[1]
    faces, _ = crop_faces(
        [item for item in held_out if gate_part(crop_key(item[0])) == "tune"],
        load_review(),
        load_people_review(),
    )
    scenes = [
        s
        for s in split_scenes(load_voc_scenes(data_dir / "scenes" / "dev"))[1]
        if gate_part(s.image_path.name) == "tune"
    ]
    return list(analysed(engine, chain(crop_frames(faces), scene_frames(scenes))))


def wrong_frames(
    frames: list[Analysed], probe: Callable[[np.ndarray], np.ndarray], threshold: float
) -> Counter[str]:
    """Wrong frames per class (scene faces apart) when the probe relabels `mask` faces at `threshold`;
    above 1 the probe never speaks (the gate without it)."""
    wrong: Counter[str] = Counter()
    for frame, result, found in frames:
        if isinstance(result, FrameResult) and len(found):
            chances = probe(found)
            result = replace(
                result,
                faces=tuple(
                    replace(f, label="incorrect") if f.label == "mask" and p >= threshold else f
                    for f, p in zip(result.faces, chances, strict=True)
                ),
            )
        kind = ("scene " if frame.framing in ("tight", "context") else "crops ") + frame.label
        wrong[kind] += outcome(frame.label, result, RuleSet()) != "right"
        wrong[kind + " (frames)"] += 1
    return wrong


def pick_threshold(table: dict[float, Counter[str]], without: Counter[str]) -> float | None:
    """The lowest threshold costing at most one masked frame in `MASKED_COST` (crops and scene faces
    together) over the gate without the probe; None where every threshold costs more."""

    def masked_wrong(wrong: Counter[str]) -> int:
        return wrong["crops mask"] + wrong["scene mask"]

    frames = without["crops mask (frames)"] + without["scene mask (frames)"]
    allowed = frames / MASKED_COST
    fitting = [t for t, wrong in table.items() if masked_wrong(wrong) - masked_wrong(without) <= allowed]
    return min(fitting) if fitting else None


def train_nose_probe(data_dir: Path, model_path: Path) -> tuple[NoseProbe, list[str]]:
    """Fit the probe on the served features of the classifier at `model_path`, pick its threshold on the
    tune half, and write it beside the weights; returns the probe and the lines of its report."""
    report = [
        f"added the features output to {graph}"
        for graph in (model_path, int8_path(model_path))
        if graph.is_file() and expose_features(graph)
    ]
    torch.set_num_threads(2)
    classifier = ClassifierConfig(model_path=model_path, nose_probe=False)
    engine = build_engine(ModelConfig(classifier=classifier))
    x, y, groups = training_set(data_dir, engine)
    if not 0 < y.sum() < len(y):
        raise ValueError(
            f"{len(y)} training frames, {int(y.sum())} with the nose uncovered: the probe needs both "
            "(masked crops of the training split, some reviewed as `incorrect`)"
        )
    report.append(
        f"training frames: {len(y)} ({int(y.sum())} with the nose uncovered, from {len(set(groups))} crops)"
    )
    areas = {wd: grouped_cv_area(x, y, groups, wd) for wd in WEIGHT_DECAYS}
    report += [
        f"  weight decay {wd:g}: ROC area, cross-validated by crop, {a:.3f}" for wd, a in areas.items()
    ]
    chosen = max(areas, key=lambda wd: areas[wd])
    probe = fit_probe(x, y, chosen)
    frames = tune_half(data_dir, engine)
    without = wrong_frames(frames, probe, 1.01)
    table = {t: wrong_frames(frames, probe, t) for t in THRESHOLDS}
    threshold = pick_threshold(table, without)
    report.append(
        "tune half: wrong frames / frames when a `mask` face at or above the threshold is relabelled:"
    )
    for t, wrong in [("off", without), *table.items()]:
        kinds = sorted(k for k in wrong if not k.endswith("(frames)"))
        report.append(f"  {t:>6}: " + ", ".join(f"{k} {wrong[k]}/{wrong[k + ' (frames)']}" for k in kinds))
    if threshold is None:
        raise ValueError("every threshold costs more masked frames than allowed: no probe written")
    report.append(f"threshold: {threshold} (at most one masked frame in {MASKED_COST} more)")
    served = probe.served(
        threshold,
        training={
            "data": "gate frames of the training split's masked crops (120, 220, 320 px, close-ups)",
            "frames": len(y),
            "nose_uncovered": int(y.sum()),
            "crops": len(set(groups)),
            "labels": "training/crop_label_review.csv",
            "features": f"{model_path.name} at {classifier.precision}, mirror-averaged as served",
            "weight_decay": chosen,
            "torch": torch.__version__,
        },
        metrics={
            "roc_area_cross_validated": round(areas[chosen], 4),
            "tune_half_wrong_frames": {
                str(t): dict(sorted(w.items())) for t, w in [("off", without), *table.items()]
            },
        },
    )
    write_nose_probe(model_path, served)
    return served, report
