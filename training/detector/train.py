"""Fine-tuning the face detector on the dev scenes' training split: augmentation, batches, the loop.

The held-out fifth of the scenes is never trained on (the split is the one the classifier uses), and
its loss is reported every epoch (None in a final fit, where nothing is held out). Each image is resized
to the serving input size without keeping its aspect, exactly as `ultraface_input` does when serving.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import torch

from services.inference.model.crops import read_bgr
from services.inference.model.detectors.ultraface_backend import ultraface_input, ultraface_priors
from services.inference.model.onnx_torch_graph import OnnxConvGraph
from training.dataset import Scene
from training.detector.gate_samples import BoxedCrop, gate_sample
from training.detector.targets import anchor_targets, detection_loss
from training.settings import DetectorTrainSettings


@dataclass
class DetectorTrainResult:
    history: list[dict[str, float | None]] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class _Image:
    pixels: np.ndarray
    faces: np.ndarray
    """Pixel corner boxes, N x 4 float32."""


def _load(scenes: Sequence[Scene]) -> list[_Image]:
    loaded: list[_Image] = []
    for scene in scenes:
        image = read_bgr(scene.image_path)
        if image is None:
            continue
        faces = np.array([(b.x1, b.y1, b.x2, b.y2) for b in scene.boxes], dtype=np.float32).reshape(-1, 4)
        loaded.append(_Image(image, faces))
    return loaded


def augment(image: _Image, rng: random.Random, min_crop: float) -> _Image:
    """A random crop (faces whose centre falls outside are dropped), a mirror, and light/colour jitter."""
    pixels, faces = image.pixels, image.faces.copy()
    h, w = pixels.shape[:2]
    if rng.random() < 0.7:
        cw, ch = int(w * rng.uniform(min_crop, 1.0)), int(h * rng.uniform(min_crop, 1.0))
        x0, y0 = rng.randint(0, w - cw), rng.randint(0, h - ch)
        centres = (faces[:, :2] + faces[:, 2:]) / 2
        inside = np.all((centres > (x0, y0)) & (centres < (x0 + cw, y0 + ch)), axis=1)
        faces = faces[inside] - np.array([x0, y0, x0, y0], dtype=np.float32)
        faces = np.clip(faces, 0, np.array([cw, ch, cw, ch], dtype=np.float32))
        pixels, w, h = pixels[y0 : y0 + ch, x0 : x0 + cw], cw, ch
    if rng.random() < 0.5:
        pixels = pixels[:, ::-1]
        faces = np.stack([w - faces[:, 2], faces[:, 1], w - faces[:, 0], faces[:, 3]], axis=1)
    contrast, brightness = rng.uniform(0.7, 1.3), rng.uniform(-30, 30)
    jittered = cv2.convertScaleAbs(np.ascontiguousarray(pixels), alpha=contrast, beta=brightness)
    if rng.random() < 0.3:
        jittered = cv2.cvtColor(cv2.cvtColor(jittered, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    return _Image(jittered, faces.reshape(-1, 4).astype(np.float32))


def _gate_image(crops: Sequence[BoxedCrop], rng: random.Random, canvas: tuple[int, int]) -> _Image:
    pixels, faces = gate_sample(crops, rng, canvas)
    return _Image(pixels, faces)


def _batch(
    images: Sequence[_Image], input_size: tuple[int, int], priors: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    blobs, labels, offsets = [], [], []
    for image in images:
        h, w = image.pixels.shape[:2]
        blobs.append(ultraface_input(image.pixels, input_size))
        relative = image.faces / np.array([w, h, w, h], dtype=np.float32)
        keep = (relative[:, 2] > relative[:, 0]) & (relative[:, 3] > relative[:, 1])
        anchor_labels, anchor_offsets = anchor_targets(relative[keep], priors)
        labels.append(anchor_labels)
        offsets.append(anchor_offsets)
    return (
        torch.from_numpy(np.concatenate(blobs)),
        torch.from_numpy(np.stack(labels)),
        torch.from_numpy(np.stack(offsets)),
    )


def _held_out_loss(
    model: OnnxConvGraph, images: Sequence[_Image], settings: DetectorTrainSettings
) -> float | None:
    if not images:
        return None
    priors = ultraface_priors(*settings.input_size)
    total, batches = 0.0, 0
    with torch.inference_mode():
        for start in range(0, len(images), settings.batch_size):
            chunk = images[start : start + settings.batch_size]
            x, labels, offsets = _batch(chunk, settings.input_size, priors)
            logits, predicted = model(x)
            classification, boxes = detection_loss(logits, predicted, labels, offsets)
            total += float(classification + boxes)
            batches += 1
    return round(total / max(batches, 1), 4)


def train_detector(
    model: OnnxConvGraph,
    train_scenes: Sequence[Scene],
    holdout_scenes: Sequence[Scene],
    settings: DetectorTrainSettings,
    progress: Any = None,
    gate_crops: Sequence[BoxedCrop] = (),
) -> DetectorTrainResult:
    """Fine-tune `model` in place with Adam and a cosine learning-rate decay; returns per-epoch losses.

    Each epoch shows every training scene and `settings.gate_samples` gate-sized frames per scene, drawn
    from `gate_crops`, in one shuffled order. `progress` wraps the batch iterator (tqdm in the command);
    None runs silently.
    """
    torch.manual_seed(settings.seed)
    torch.set_num_threads(settings.threads)
    rng = random.Random(settings.seed)
    train_images, holdout_images = _load(train_scenes), _load(holdout_scenes)
    if not train_images:
        raise ValueError("no readable training scenes")
    priors = ultraface_priors(*settings.input_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    gate_draws = round(settings.gate_samples * len(train_images)) if gate_crops else 0
    steps = settings.epochs * math.ceil((len(train_images) + gate_draws) / settings.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    result = DetectorTrainResult()
    started = time.perf_counter()
    result.history.append({"epoch": 0, "held_out_loss": _held_out_loss(model, holdout_images, settings)})
    for epoch in range(1, settings.epochs + 1):
        order: list[_Image | None] = [*train_images, *([None] * gate_draws)]  # None: a gate frame
        rng.shuffle(order)
        starts = range(0, len(order), settings.batch_size)
        sums = {"classification": 0.0, "boxes": 0.0}
        for start in progress(starts, desc=f"epoch {epoch}") if progress else starts:
            picked = order[start : start + settings.batch_size]
            chunk = [
                augment(image or _gate_image(gate_crops, rng, settings.input_size), rng, settings.min_crop)
                for image in picked
            ]
            x, labels, offsets = _batch(chunk, settings.input_size, priors)
            logits, predicted = model(x)
            classification, boxes = detection_loss(logits, predicted, labels, offsets)
            optimizer.zero_grad()
            torch.autograd.backward(classification + boxes)
            optimizer.step()
            schedule.step()
            sums["classification"] += float(classification.detach())
            sums["boxes"] += float(boxes.detach())
        batches = len(starts)
        result.history.append(
            {
                "epoch": epoch,
                "classification_loss": round(sums["classification"] / batches, 4),
                "box_loss": round(sums["boxes"] / batches, 4),
                "held_out_loss": _held_out_loss(model, holdout_images, settings),
            }
        )
    result.seconds = time.perf_counter() - started
    return result
