"""Is a classifier recipe better, or was the last run lucky? Run from the repository root:

    python -m training.research.classifier_out_of_fold \
        --pretrained mobilenet_v2-b0353104.pth --out /tmp/oof-96
    python -m training.research.classifier_out_of_fold \
        ... --input-size 128 --out /tmp/oof-128 --device cuda --jobs 5

Trains the classifier five times (`--fold 0..4`, as `maskwatch train` does) and scores each fold's model on
its own held-out fifth of the dev scenes, behind the stock detector, which never trained on a dev scene, so
only the classifier differs between recipes. Prints the pooled scene metrics over all 427 scenes (600
large faces) and each fold's held-out crop balanced accuracy, as the model card's "Out of fold, behind one
fixed detector" table reports them. About 35 minutes on 2 CPU cores at 96x96 and an hour at 128x128;
`--jobs` trains folds side by side where there are cores (and a GPU) to spare: on an H100 with 16 cores,
both inputs at once took 5 minutes. With `--fold-detectors` it scores the whole model out of fold instead
(each fold's detector trained first with `maskwatch train-detector --fold k`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import sys
from pathlib import Path
from typing import Any

from services.inference.engine import build_engine
from services.inference.model.config import (
    ClassifierConfig,
    ModelConfig,
    Precision,
    UltraFaceConfig,
    with_stock_weights,
)
from training.dataset import (
    load_crop_folder,
    load_voc_scenes,
    resolve_data_dir,
    split_crops,
    split_scenes,
)
from training.evaluation import (
    ScenePredictions,
    crop_metrics,
    predict_scenes,
    scene_metrics,
)
from training.settings import TrainSettings


def train_fold(job: tuple[Path, Path | None, Path, TrainSettings, int]) -> Path:
    from training.classifier_pipeline import run_training

    data_dir, pretrained, out, settings, fold = job
    # Training reports its epochs on stdout; keep stdout for the JSON report.
    with contextlib.redirect_stdout(sys.stderr):
        return run_training(data_dir, pretrained, out / f"fold-{fold}", settings, fold)


def score(
    data_dir: Path, out: Path, precision: Precision, fold_detectors: bool, folds: list[int]
) -> dict[str, Any]:
    scenes = load_voc_scenes(data_dir / "scenes" / "dev")
    crops = load_crop_folder(data_dir / "crops" / "train")
    pooled = ScenePredictions([], [])
    crop_accuracy = []
    for fold in folds:
        model = out / f"fold-{fold}" / "mask_classifier.onnx"
        detector = with_stock_weights(UltraFaceConfig(precision="fp32"))
        if fold_detectors:
            detector = UltraFaceConfig(model_path=out / f"fold-{fold}" / "detector.onnx", precision="fp32")
        engine = build_engine(
            ModelConfig(
                detector=detector,
                classifier=ClassifierConfig(model_path=model, precision=precision),
            )
        )
        held_out = predict_scenes(split_scenes(scenes, fold)[1], engine.analyze_batch)
        pooled.truths.extend(held_out.truths)
        pooled.predictions.extend(held_out.predictions)
        result = crop_metrics(split_crops(crops, fold)[1], engine.classifier.classify)
        crop_accuracy.append(result["balanced_accuracy"])
    return {
        "classifier_precision": precision,
        "scenes_pooled_over_folds": scene_metrics(pooled),
        "crop_balanced_accuracy_by_fold": crop_accuracy,
        "crop_balanced_accuracy_mean": round(sum(crop_accuracy) / len(crop_accuracy), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--pretrained", type=Path, default=None)
    parser.add_argument("--out", type=Path, required=True, help="Where each fold's model is written.")
    parser.add_argument("--input-size", type=int, default=TrainSettings.input_size)
    parser.add_argument("--seed", type=int, default=TrainSettings.seed)
    parser.add_argument("--epochs", type=int, default=TrainSettings.epochs)
    parser.add_argument("--samples-per-epoch", type=int, default=TrainSettings.samples_per_epoch)
    parser.add_argument("--device", default="cpu", help="Training device (cpu, cuda, cuda:N).")
    parser.add_argument("--jobs", type=int, default=1, help="Folds trained at the same time.")
    parser.add_argument(
        "--folds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="Which folds (all five by default)."
    )
    parser.add_argument("--score-only", action="store_true", help="Score the models already under --out.")
    parser.add_argument(
        "--fold-detectors",
        action="store_true",
        help=(
            "Score behind each fold's own detector, OUT/fold-k/detector.onnx from `maskwatch "
            "train-detector --fold k` (fp32), instead of the stock one: the whole model out of fold."
        ),
    )
    args = parser.parse_args()

    data_dir = resolve_data_dir(args.data_dir)
    if not args.score_only:
        threads = 1 if args.jobs > 1 else TrainSettings.threads
        settings = TrainSettings(
            epochs=args.epochs,
            samples_per_epoch=args.samples_per_epoch,
            input_size=args.input_size,
            seed=args.seed,
            device=args.device,
            threads=threads,
        )
        jobs = [(data_dir, args.pretrained, args.out, settings, fold) for fold in args.folds]
        if args.jobs > 1:
            # Spawned, not forked: a forked child cannot use CUDA once the parent has.
            with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
                pool.map(train_fold, jobs)
        else:
            for job in jobs:
                train_fold(job)
    report = {
        "input_size": args.input_size,
        "seed": args.seed,
        "epochs": args.epochs,
        "device": args.device,
        "detector": "each fold's own" if args.fold_detectors else "stock",
        "folds": args.folds,
        "int8": score(data_dir, args.out, "int8", args.fold_detectors, args.folds),
        "fp32": score(data_dir, args.out, "fp32", args.fold_detectors, args.folds),
    }
    text = json.dumps(report, indent=2)
    (args.out / "report.json").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
