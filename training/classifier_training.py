"""Fine-tuning MobileNetV2 (ImageNet) into the mask classifier, reproducibly from a seed.

Scene faces are few and `incorrect` is rare (about 50 training boxes), so batches are drawn with fixed
class shares and every draw is re-augmented; the crop set adds variety but is close-up, so it is shrunk.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from services.inference.model.crops import CROP_MARGIN, read_bgr, to_input_tensor
from services.inference.model.interface import MASK_LABELS, MaskLabel
from services.inference.model.mobilenet_v2 import MobileNetV2, load_imagenet_backbone
from services.inference.model.sidecar import BACKGROUND
from training.dataset import Scene
from training.settings import TrainSettings
from training.training_data import (
    Sample,
    augment,
    crop_set_sample,
    scene_sample,
    sort_detections,
    synthetic_incorrect,
)

LABELS: tuple[str, ...] = (*MASK_LABELS, BACKGROUND)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CLASS_SHARES = (0.32, 0.28, 0.15, 0.25)
"""Share of each class (LABELS order) in a batch: `incorrect` is oversampled about 15x."""


@dataclass
class TrainedClassifier:
    model: MobileNetV2
    settings: TrainSettings
    sample_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    history: list[dict[str, float | None]] = field(default_factory=list)
    seconds: float = 0.0


def seed_everything(seed: int) -> np.random.Generator:
    random.seed(seed)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def build_samples(
    crop_items: list[tuple[Path, MaskLabel]],
    scenes: list[Scene],
    detect: Callable[[np.ndarray], list],  # type: ignore[type-arg]
    synthetic: int = 0,
    seed: int = 0,
    detector_positives: bool = False,
) -> tuple[list[Sample], dict[str, dict[str, int]]]:
    """All training samples: crop-set faces, annotated scene faces, mined detector false positives,
    `synthetic` made-up `incorrect` close-ups built from the crop-set faces (seeded), and with
    `detector_positives` the detector's boxes on annotated faces."""
    index = {name: i for i, name in enumerate(LABELS)}
    samples: list[Sample] = []
    counts: dict[str, Counter[str]] = {"crops": Counter(), "scene_boxes": Counter(), "background": Counter()}
    for path, label in crop_items:
        image = read_bgr(path)
        if image is not None:
            samples.append(crop_set_sample(image, index[label]))
            counts["crops"][label] += 1
    if synthetic > 0:
        close = [s for s in samples if s.close_up]
        made = synthetic_incorrect(
            [s.patch for s in close if s.label == index["mask"]],
            [s.patch for s in close if s.label == index["no_mask"]],
            synthetic,
            index["incorrect"],
            seed,
        )
        samples.extend(made)
        counts["synthetic"] = Counter({"incorrect": len(made)})
    background: list[Sample] = []
    positives: list[Sample] = []
    for scene in scenes:
        image = read_bgr(scene.image_path)
        if image is None:
            continue
        for b in scene.boxes:
            samples.append(scene_sample(image, (b.x1, b.y1, b.x2, b.y2), index[b.label]))
            counts["scene_boxes"][b.label] += 1
        found, false_positives = sort_detections(detect(image), scene.boxes)
        background += [scene_sample(image, box, index[BACKGROUND]) for box in false_positives]
        if detector_positives:
            positives += [scene_sample(image, box, index[face_label]) for box, face_label in found]
    # Kept in this order (annotated faces, background, detector boxes): epochs draw by index.
    samples += background
    counts["background"].update(BACKGROUND for _ in background)
    if detector_positives:
        samples += positives
        counts["detector_boxes"] = Counter(LABELS[s.label] for s in positives)
    return samples, {k: dict(v) for k, v in counts.items()}


def _draw_epoch(
    samples: list[Sample],
    n: int,
    scene_share: float,
    rng: np.random.Generator,
    incorrect_scene_share: float | None = None,
) -> np.ndarray:
    """Indices for one epoch: classes by CLASS_SHARES; within a class, scene faces `scene_share` of the time
    (`incorrect_scene_share` for `incorrect`, whose close-ups are synthetic).

    The scenes are the target domain but hold fewer faces than the crop set; without this the close-ups
    would dominate the mask and no_mask draws.
    """
    incorrect = LABELS.index("incorrect")
    pools: list[tuple[np.ndarray, np.ndarray]] = []
    for c in range(len(LABELS)):
        members = [i for i, s in enumerate(samples) if s.label == c]
        scene = np.array([i for i in members if not samples[i].close_up], dtype=np.int64)
        close = np.array([i for i in members if samples[i].close_up], dtype=np.int64)
        pools.append((scene, close))
    shares = np.array([CLASS_SHARES[c] if sum(map(len, pools[c])) else 0.0 for c in range(len(LABELS))])
    classes = rng.choice(len(LABELS), size=n, p=shares / shares.sum())
    picks = []
    for c in classes:
        scene, close = pools[c]
        share = scene_share
        if c == incorrect and incorrect_scene_share is not None:
            share = incorrect_scene_share
        use_scene = len(close) == 0 or (len(scene) > 0 and rng.random() < share)
        picks.append(rng.choice(scene if use_scene else close))
    return np.array(picks, dtype=np.int64)


def evaluate_samples(
    model: MobileNetV2, samples: list[Sample], size: int, device: torch.device | None = None
) -> float | None:
    """Accuracy on un-augmented crops of annotated faces (a per-epoch signal, not a reported metric);
    None when nothing is held out (a final fit)."""
    if not samples:
        return None
    from services.inference.model.crops import square_crop

    model.eval()
    crops = [square_crop(s.patch, s.box) for s in samples]
    right = 0
    with torch.inference_mode():
        for start in range(0, len(crops), 256):
            batch = torch.from_numpy(
                to_input_tensor(crops[start : start + 256], size, IMAGENET_MEAN, IMAGENET_STD)
            ).to(device or torch.device("cpu"))
            pred = model(batch).argmax(1).cpu().numpy()
            right += int(
                sum(int(p) == s.label for p, s in zip(pred, samples[start : start + 256], strict=True))
            )
    return right / len(samples)


def train_classifier(
    samples: list[Sample],
    holdout: list[Sample],
    pretrained: Path | None,
    settings: TrainSettings,
) -> TrainedClassifier:
    """Train with AdamW and a one-cycle schedule; BatchNorm stays in training mode (batches are mixed).

    Crops are augmented on the CPU; on a GPU only the network runs there. The model comes back on the CPU.
    """
    rng = seed_everything(settings.seed)
    torch.set_num_threads(settings.threads)
    device = torch.device(settings.device)
    model = MobileNetV2(num_classes=len(LABELS))
    if pretrained is not None:
        load_imagenet_backbone(model, str(pretrained))
    model = model.to(device, memory_format=torch.channels_last)  # type: ignore[call-overload]
    steps = settings.epochs * (settings.samples_per_epoch // settings.batch_size)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay
    )
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, settings.learning_rate, total_steps=steps, pct_start=0.15
    )
    loss_fn = nn.CrossEntropyLoss(label_smoothing=settings.label_smoothing)
    result = TrainedClassifier(model, settings)
    started = time.perf_counter()
    for epoch in range(settings.epochs):
        model.train()
        order = _draw_epoch(
            samples, settings.samples_per_epoch, settings.scene_share, rng, settings.incorrect_scene_share
        )
        n_batches = len(order) // settings.batch_size
        running = 0.0
        bar = tqdm(range(n_batches), desc=f"epoch {epoch + 1}/{settings.epochs}", unit="batch", leave=False)
        for b in bar:
            idx = order[b * settings.batch_size : (b + 1) * settings.batch_size]
            crops = [
                augment(samples[i], settings.input_size, CROP_MARGIN, rng, settings.shrink_close_ups)
                for i in idx
            ]
            x = torch.from_numpy(to_input_tensor(crops, settings.input_size, IMAGENET_MEAN, IMAGENET_STD))
            x = x.to(device).contiguous(memory_format=torch.channels_last)
            y = torch.tensor([samples[i].label for i in idx], device=device)
            loss = loss_fn(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            running += loss.item()
            bar.set_postfix(loss=f"{running / (b + 1):.3f}")
        accuracy = evaluate_samples(model, holdout, settings.input_size, device)
        result.history.append(
            {"epoch": epoch + 1, "loss": running / max(n_batches, 1), "holdout_box_accuracy": accuracy}
        )
        held_out = "none held out" if accuracy is None else f"{accuracy:.3f}"
        tqdm.write(
            f"epoch {epoch + 1}: loss {running / max(n_batches, 1):.3f}, held-out box accuracy {held_out}"
        )
    result.model = model.eval().cpu()
    result.seconds = time.perf_counter() - started
    return result
