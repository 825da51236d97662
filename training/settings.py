"""The knobs of both training recipes, apart from the training code so the CLI can show their defaults
without importing torch: `maskwatch train` and `maskwatch train-detector` take their option defaults
from here, and the records beside the weights store these fields."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 16
    samples_per_epoch: int = 6000
    batch_size: int = 64
    input_size: int = 128
    """Crop side in pixels. Out of fold, 96 beat 64 (crop balanced accuracy up in all five folds) and 128
    beat 96 (six more of 600 large faces labelled right, crops up in four folds of five), for about 0.3
    and then 0.5 ms more per frame on CPU (docs/model-card.md, "Retraining")."""
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.05
    seed: int = 0
    threads: int = 2
    scene_share: float = 0.5
    """Within mask/no_mask, how often a draw takes a scene face rather than a crop-set close-up."""
    shrink_close_ups: float = 0.5
    """How often a crop-set close-up is shrunk to 14-48 px and scaled back up, to look like a CCTV face."""
    synthetic_incorrect: int = 0
    """Synthetic `incorrect` close-ups (masks moved or painted below the nose of crop-set faces); 0: none."""
    incorrect_scene_share: float = 0.6
    """Within `incorrect`, how often a draw takes a real scene face rather than a synthetic one."""
    detector_positives: bool = False
    """Also train on the detector's own boxes around annotated faces (see `sort_detections`)."""
    crop_review: bool = False
    """Train on the reviewed crop labels (training/crop_review.py): masks worn under the nose, which the
    crop set files under "with mask", as `incorrect`. Off: on the gate validation's tune half it refused
    94% of masks under the nose instead of 34%, but let fewer masked people in and refused fewer unmasked
    ones (docs/model-card.md, "Gate framing")."""
    device: str = "cpu"
    """Torch device to train on ('cpu', 'cuda', 'cuda:N'). The committed weights were trained on CPU, where
    a seed gives the same weights on a rerun; CUDA kernels are not bit-reproducible."""


@dataclass(frozen=True)
class DetectorTrainSettings:
    epochs: int = 30
    batch_size: int = 8
    learning_rate: float = 1e-4
    input_size: tuple[int, int] = (512, 384)
    seed: int = 0
    threads: int = 2
    min_crop: float = 0.6
    """Random crops keep at least this share of each side (zooming in shows the network larger faces)."""
    gate_samples: float = 1.0
    """Gate-sized frames cut from the crop set's training split, per training scene and epoch
    (training/detector/gate_samples.py); 0 trains on the scenes alone, as the detector did before."""
