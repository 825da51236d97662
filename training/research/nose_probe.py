"""Can the mask classifier's own features tell a mask under the nose from one worn right? Run from the
repository root:

    python -m training.research.nose_probe [--data-dir ../shared/data]

The crop set files masks under the nose under "with mask", so the classifier learnt to call them masks
and the gate lets most of them in (docs/model-card.md, "Gate framing"). Retraining it on the reviewed
labels fixed that but cost masked and unmasked people; this measures a cheaper route that leaves the
classifier as it is: a linear probe on its frozen features (the 1280 pooled features of the face and its
mirror image, averaged), asked only about faces the classifier calls `mask`.

- **Trained** on gate frames cut from the crop set's *training* split, masked crops only (faces 120,
  220 and 320 px wide and close-ups, as `training/gate_framing.py` makes them), each through the serving
  engine, the probe reading the crop the engine's own box gives; a crop is "nose uncovered" where the
  one-look review of the training split says so (`training/crop_label_review.csv`). The weight decay is
  picked by the area under the ROC curve, cross-validated with every frame of a crop in one fold.
- **Measured** on the gate validation's *tune* half (never the report half): for each threshold, the
  wrong frames per class when a `mask` face whose probe probability reaches it is relabelled
  `incorrect`, through the gate's own `policy.decide` (training/gate_validation.py).

About 8 minutes on 2 CPU cores. It prints; it writes nothing.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from itertools import chain
from pathlib import Path

import cv2
import numpy as np
import torch

from services.gate_controller.policy import RuleSet
from services.inference.engine import MaskEngine, build_engine
from services.inference.model.config import ModelConfig
from services.inference.model.crops import CROP_MARGIN, as_bgr, square_crop, to_input_tensor
from services.inference.model.interface import FrameError, FrameResult
from services.inference.model.mobilenet_v2 import MobileNetV2
from services.inference.model.sidecar import read_sidecar
from training.crop_review import load_people_review, load_review
from training.dataset import (
    crop_key,
    load_crop_folder,
    load_voc_scenes,
    resolve_data_dir,
    split_crops,
    split_scenes,
)
from training.gate_framing import CLOSE_UP, GateFrame, crop_faces, crop_frames, gate_part, scene_frames
from training.gate_validation import outcome, run_gate_frames

WEIGHTS = Path(__file__).resolve().parents[2] / "services" / "inference" / "model" / "weights"
TRAINING_SIZES = frozenset({"120", "220", "320", CLOSE_UP})
WEIGHT_DECAYS = (1e-3, 1e-2, 1e-1, 1.0)
THRESHOLDS = (1.01, 0.999, 0.995, 0.99, 0.98, 0.97, 0.95, 0.9)
"""1.01: the probe never speaks (today's gate)."""
BATCH = 16
FEATURES = 1280
"""MobileNetV2's pooled features, what its last layer sees."""

Analysed = tuple[GateFrame, FrameResult | FrameError, np.ndarray]
"""A frame (pixels dropped), what the engine made of it, and the probe features of each face it found."""


class FrozenFeatures:
    """The served classifier's weights in torch, read up to the pooled features its last layer sees."""

    def __init__(self) -> None:
        sidecar = read_sidecar(WEIGHTS / "mask_classifier.onnx")
        self.size, self.mean, self.std = sidecar.input_size, sidecar.mean, sidecar.std
        self.model = MobileNetV2(num_classes=len(sidecar.labels))
        state = torch.load(WEIGHTS / "mask_classifier.pt", map_location="cpu", weights_only=True)
        self.model.load_state_dict({name: value.float() for name, value in state.items()})
        self.model.eval()

    def __call__(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        batch = torch.from_numpy(to_input_tensor(list(crops), self.size, self.mean, self.std))
        with torch.inference_mode():
            views = (batch, torch.flip(batch, dims=[3]))
            pooled = [
                torch.flatten(torch.nn.functional.adaptive_avg_pool2d(self.model.features(v), 1), 1)
                for v in views
            ]
        return ((pooled[0] + pooled[1]) / 2).numpy()


def analysed(engine: MaskEngine, features: FrozenFeatures, frames: Iterable[GateFrame]) -> list[Analysed]:
    """Each frame through the engine as the gate validation sends it (`run_gate_frames`), with the
    features of the crop the classifier took around each face found."""

    def analyze(data: list[bytes]) -> list[tuple[FrameResult | FrameError, np.ndarray]]:
        done = []
        for jpeg, result in zip(data, engine.analyze_batch(data), strict=True):
            if isinstance(result, FrameError) or not result.faces:
                done.append((result, np.zeros((0, FEATURES), dtype=np.float32)))
                continue
            image = as_bgr(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR))
            boxes = [(f.box.x1, f.box.y1, f.box.x2, f.box.y2) for f in result.faces]
            done.append((result, features([square_crop(image, box, CROP_MARGIN) for box in boxes])))
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


def training_set(
    data_dir: Path, engine: MaskEngine, features: FrozenFeatures
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Features of the visitor's face (the widest face called `mask` at the operating point) in gate
    frames of the training split's masked crops, labelled by the review (`incorrect`: the nose
    uncovered), grouped by crop."""
    train = split_crops(load_crop_folder(data_dir / "crops" / "train"))[0]
    faces, _ = crop_faces([item for item in train if item[1] == "mask"], load_review())
    frames = (f for f in crop_frames(faces) if f.size in TRAINING_SIZES)
    operating_point = RuleSet().min_face_score
    rows, labels, groups = [], [], []
    for frame, result, found in analysed(engine, features, frames):
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


def tune_half(data_dir: Path, engine: MaskEngine, features: FrozenFeatures) -> list[Analysed]:
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
    return list(analysed(engine, features, chain(crop_frames(faces), scene_frames(scenes))))


def wrong_frames(
    frames: list[Analysed], probe: Callable[[np.ndarray], np.ndarray], threshold: float
) -> Counter[str]:
    """Wrong frames per class (scene faces apart) when the probe relabels `mask` faces at `threshold`."""
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    data_dir = resolve_data_dir(args.data_dir)
    torch.set_num_threads(2)
    engine, features = build_engine(ModelConfig()), FrozenFeatures()
    x, y, groups = training_set(data_dir, engine, features)
    print(
        f"training frames: {len(y)} ({int(y.sum())} with the nose uncovered, from {len(set(groups))} crops)"
    )
    areas = {wd: grouped_cv_area(x, y, groups, wd) for wd in WEIGHT_DECAYS}
    for wd, area in areas.items():
        print(f"  weight decay {wd:g}: ROC area, cross-validated by crop, {area:.3f}")
    chosen = max(areas, key=lambda wd: areas[wd])
    probe = fit_probe(x, y, chosen)
    frames = tune_half(data_dir, engine, features)
    print(
        f"tune half (weight decay {chosen:g}): wrong frames when a `mask` face at or above the threshold"
        " is relabelled `incorrect`:"
    )
    for threshold in THRESHOLDS:
        wrong = wrong_frames(frames, probe, threshold)
        kinds = sorted(k for k in wrong if not k.endswith("(frames)"))
        print(f"  {threshold:>6}: " + ", ".join(f"{k} {wrong[k]}/{wrong[k + ' (frames)']}" for k in kinds))


if __name__ == "__main__":
    main()
