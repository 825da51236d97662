"""`maskwatch detect`, `maskwatch train` and `maskwatch evaluate`: plain functions, annotated for typer."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from services.inference.model.config import (
    DEFAULT_CLASSIFIER_PATH,
    DEFAULT_ULTRAFACE_PATH,
    STOCK_ULTRAFACE_PATH,
    ClassifierConfig,
    ModelConfig,
    UltraFaceConfig,
    YuFaceConfig,
    with_stock_weights,
)
from training.dataset import (
    IMAGE_SUFFIXES,
    Scene,
    list_images,
    load_crop_folder,
    load_voc_scenes,
    resolve_data_dir,
    split_crops,
    split_scenes,
)
from training.settings import DetectorTrainSettings, TrainSettings

if TYPE_CHECKING:
    from services.inference.engine import MaskEngine
    from services.inference.model.interface import Face

DETECTORS = ("ultraface", "ultraface-stock", "yuface")
CLASSIFIER_RECIPE = TrainSettings()
DETECTOR_RECIPE = DetectorTrainSettings()
Split = Literal["holdout", "train", "all"]

DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (default: $MASKWATCH_DATA_DIR, else ../shared/data)."),
]
ModelOption = Annotated[
    Path, typer.Option("--model", help="Classifier ONNX file (its .json sidecar beside it).")
]
DetectorOption = Annotated[
    str,
    typer.Option(
        "--detector",
        help=(
            "Face detector: ultraface (fine-tuned, served), ultraface-stock (the published weights, to "
            "compare against) or yuface."
        ),
    ),
]
RuntimeOption = Annotated[str, typer.Option("--runtime", help="Classifier runtime: onnx or torch.")]
DeviceOption = Annotated[
    str,
    typer.Option(
        "--device",
        help=(
            "cpu, or cuda / cuda:N: UltraFace and the classifier both run in torch on that GPU (fp32 "
            "graphs, 32-frame detector batches), as deploy/compose.gpu.yaml serves."
        ),
    ),
]
HalfOption = Annotated[
    bool, typer.Option("--half", help="With a cuda --device: fp16, as deploy/compose.gpu.yaml serves.")
]
FoldOption = Annotated[
    int,
    typer.Option(
        "--fold",
        min=0,
        max=4,
        help="Which fifth of the data is held out: 0 (reported) or 1-4 (cross-validation).",
    ),
]
AllScenesOption = Annotated[
    bool,
    typer.Option(
        "--all-scenes",
        help=(
            "Train on every dev scene, holding none out: the final fit of a recipe already measured "
            "fold by fold. The crop set keeps its --fold split."
        ),
    ),
]


def _model_config(
    model: Path,
    detector: str,
    runtime: str,
    device: str,
    detector_model: Path | None = None,
    half: bool = False,
) -> ModelConfig:
    if detector not in DETECTORS:
        raise typer.BadParameter(f"unknown detector {detector!r}", param_hint="--detector")
    if runtime not in ("onnx", "torch"):
        raise typer.BadParameter(f"unknown runtime {runtime!r}", param_hint="--runtime")
    on_gpu = device != "cpu"
    if half and not on_gpu:
        raise typer.BadParameter("--half needs a cuda --device", param_hint="--half")
    det: YuFaceConfig | UltraFaceConfig = UltraFaceConfig()
    if detector_model is not None:
        det = UltraFaceConfig(model_path=detector_model)
    elif detector == "yuface":
        det = YuFaceConfig()
    elif detector == "ultraface-stock":
        det = with_stock_weights(UltraFaceConfig(precision="fp32"))
    try:
        if on_gpu and isinstance(det, UltraFaceConfig):
            det = UltraFaceConfig.model_validate(
                det.model_dump()
                | {
                    "runtime": "torch",
                    "precision": "fp32",
                    "device": device,
                    "half": half,
                    "batch_frames": 32,
                }
            )
        classifier = ClassifierConfig(
            model_path=model, runtime="torch" if on_gpu else runtime, device=device, half=half
        )
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--device") from error
    return ModelConfig(detector=det, classifier=classifier)


def _engine(config: ModelConfig) -> MaskEngine:
    """The engine, or a usage error naming the weights file that is missing (an int8 copy not made yet)."""
    from services.inference.engine import build_engine

    try:
        return build_engine(config)
    except FileNotFoundError as error:
        raise typer.BadParameter(str(error)) from error


def detect_command(
    paths: Annotated[list[Path], typer.Argument(help="Image files or folders (searched recursively).")],
    crops: Annotated[
        bool, typer.Option("--crops", help="Each image is one face crop: classify it whole.")
    ] = False,
    model: ModelOption = DEFAULT_CLASSIFIER_PATH,
    detector: DetectorOption = "ultraface",
    runtime: RuntimeOption = "onnx",
    device: DeviceOption = "cpu",
    half: HalfOption = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 8,
) -> None:
    """Print one JSON line per image with every face found: box (pixels), label and score (0..1).

    A file found in a folder that cannot be read gets a line with its error; a path that does not
    exist, a named file that is not an image or a folder without images stops the command (exit 2).
    """
    from services.inference.model.crops import read_bgr
    from services.inference.model.interface import FrameError

    config = _model_config(model, detector, runtime, device, half=half)
    files = _images_or_exit(paths)
    engine = _engine(config)
    for start in range(0, len(files), batch_size):
        chunk = files[start : start + batch_size]
        if crops:
            readable = [(p, read_bgr(p)) for p in chunk]
            good = [(p, img) for p, img in readable if img is not None]
            faces = dict(
                zip([p for p, _ in good], engine.classify_images([img for _, img in good]), strict=True)
            )
            for path in chunk:
                if path in faces:
                    line: dict[str, Any] = {"image": str(path), "faces": [_face(faces[path])]}
                else:
                    line = {"image": str(path), "faces": [], "error": "not_an_image"}
                print(json.dumps(line), flush=True)
            continue
        data = [_read(p) for p in chunk]
        for path, result in zip(chunk, engine.analyze_batch(data), strict=True):
            if isinstance(result, FrameError):
                line = {"image": str(path), "faces": [], "error": result.code, "message": result.message}
            else:
                line = {
                    "image": str(path),
                    "faces": [_face(f) for f in result.faces],
                }
            print(json.dumps(line), flush=True)


def _images_or_exit(paths: list[Path]) -> list[Path]:
    """The image files to read, or exit 2 on the first path that cannot give any.

    Checked before the model loads, so a mistyped path costs no wait and cannot pass for an image
    with no faces in it.
    """
    files: list[Path] = []
    for path in paths:
        found = list_images([path])
        problem = _path_problem(path, found)
        if problem is not None:
            typer.echo(problem, err=True)
            raise typer.Exit(2)
        files += found
    return files


def _path_problem(path: Path, found: list[Path]) -> str | None:
    from maskwatch.image_files import NotAnImageError, check_image_file

    if not path.exists():
        return f"{path} does not exist: give image files, or folders holding them"
    if path.is_dir():
        if found:
            return None
        return f"{path} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))}, searched in its subfolders too)"
    try:
        check_image_file(path)
    except NotAnImageError as exc:
        return str(exc)
    return None


def _face(face: Face) -> dict[str, Any]:
    """A face as `detect` prints it; `nose_uncovered` only where the nose probe answered."""
    b = face.box
    line: dict[str, Any] = {
        "box": [b.x1, b.y1, b.x2, b.y2],
        "label": face.label,
        "score": round(face.score, 4),
    }
    if face.nose_uncovered is not None:
        line["nose_uncovered"] = face.nose_uncovered
    return line


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def train_command(
    data_dir: DataDirOption = None,
    pretrained: Annotated[
        Path | None,
        typer.Option(
            "--pretrained", help="torchvision MobileNetV2 ImageNet state dict (mobilenet_v2-b0353104.pth)."
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Where to write mask_classifier.{onnx,pt,json}.")] = (
        DEFAULT_CLASSIFIER_PATH.parent
    ),
    epochs: Annotated[int, typer.Option(min=1)] = CLASSIFIER_RECIPE.epochs,
    samples_per_epoch: Annotated[
        int, typer.Option("--samples-per-epoch", min=64)
    ] = CLASSIFIER_RECIPE.samples_per_epoch,
    batch_size: Annotated[int, typer.Option("--batch-size", min=2)] = CLASSIFIER_RECIPE.batch_size,
    input_size: Annotated[
        int, typer.Option("--input-size", min=32, help="Crop side in pixels.")
    ] = CLASSIFIER_RECIPE.input_size,
    learning_rate: Annotated[float, typer.Option("--lr")] = CLASSIFIER_RECIPE.learning_rate,
    seed: Annotated[
        int, typer.Option(help="Seeds sampling, augmentation and initialisation.")
    ] = CLASSIFIER_RECIPE.seed,
    threads: Annotated[int, typer.Option(min=1, help="Torch CPU threads.")] = CLASSIFIER_RECIPE.threads,
    train_device: Annotated[
        str,
        typer.Option(
            "--device",
            help="cpu (reproducible from the seed), or cuda / cuda:N: minutes instead of tens of minutes.",
        ),
    ] = CLASSIFIER_RECIPE.device,
    synthetic_incorrect: Annotated[
        int,
        typer.Option(
            "--synthetic-incorrect",
            min=0,
            help="Synthetic `incorrect` close-ups (masks moved or painted below the nose); 0 for none.",
        ),
    ] = CLASSIFIER_RECIPE.synthetic_incorrect,
    incorrect_scene_share: Annotated[
        float,
        typer.Option(
            "--incorrect-scene-share",
            min=0.0,
            max=1.0,
            help="Within `incorrect` draws, the share of real scene faces (the rest synthetic).",
        ),
    ] = CLASSIFIER_RECIPE.incorrect_scene_share,
    detector_positives: Annotated[
        bool,
        typer.Option(
            "--detector-positives/--no-detector-positives",
            help="Also train on the detector's own boxes around annotated scene faces.",
        ),
    ] = CLASSIFIER_RECIPE.detector_positives,
    crop_review: Annotated[
        bool,
        typer.Option(
            "--crop-review/--no-crop-review",
            help="Train on the reviewed crop labels (masks under the nose as incorrect; "
            "training/crop_label_review.csv).",
        ),
    ] = CLASSIFIER_RECIPE.crop_review,
    evaluate: Annotated[
        bool,
        typer.Option(help="Evaluate the held-out splits afterwards and record the metrics in the sidecar."),
    ] = True,
    fold: FoldOption = 0,
    all_scenes: AllScenesOption = False,
) -> None:
    """Fine-tune the mask classifier on the crop set and the dev scenes' training split (every dev scene
    with --all-scenes), then export it."""
    from training.classifier_pipeline import run_training

    root = resolve_data_dir(data_dir)
    if not (root / "scenes" / "dev").is_dir():
        raise typer.BadParameter(f"no scenes/dev under {root}", param_hint="--data-dir")
    if pretrained is None:
        typer.echo("warning: no --pretrained weights; training from scratch needs far more data", err=True)
    settings = TrainSettings(
        epochs=epochs,
        samples_per_epoch=samples_per_epoch,
        batch_size=batch_size,
        input_size=input_size,
        learning_rate=learning_rate,
        seed=seed,
        threads=threads,
        synthetic_incorrect=synthetic_incorrect,
        incorrect_scene_share=incorrect_scene_share,
        detector_positives=detector_positives,
        crop_review=crop_review,
        device=train_device,
    )
    onnx_path = run_training(root, pretrained, out, settings, fold, all_scenes)
    typer.echo(f"wrote {onnx_path}", err=True)
    if evaluate:
        # With every scene trained on, only the crop set still has a held-out split to record.
        target = root / "crops" / "train" if all_scenes else None
        evaluate_command(target, data_dir=root, split="holdout", model=onnx_path, record=True, fold=fold)


def train_detector_command(
    data_dir: DataDirOption = None,
    base: Annotated[
        Path, typer.Option("--base", help="The graph to start from: the stock UltraFace RFB-640.")
    ] = STOCK_ULTRAFACE_PATH,
    out: Annotated[
        Path,
        typer.Option("--out", help="The fine-tuned graph to write (its .int8.onnx and .json beside it)."),
    ] = DEFAULT_ULTRAFACE_PATH,
    epochs: Annotated[int, typer.Option(min=1)] = DETECTOR_RECIPE.epochs,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = DETECTOR_RECIPE.batch_size,
    learning_rate: Annotated[float, typer.Option("--lr")] = DETECTOR_RECIPE.learning_rate,
    seed: Annotated[int, typer.Option(help="Seeds shuffling and augmentation.")] = DETECTOR_RECIPE.seed,
    threads: Annotated[int, typer.Option(min=1, help="Torch CPU threads.")] = DETECTOR_RECIPE.threads,
    gate_samples: Annotated[
        float,
        typer.Option(
            "--gate-samples",
            min=0,
            help="Gate-sized frames from the crop set's training split per scene and epoch (0: scenes only).",
        ),
    ] = DETECTOR_RECIPE.gate_samples,
    fold: FoldOption = 0,
    all_scenes: AllScenesOption = False,
) -> None:
    """Fine-tune the face detector on the dev scenes' training split (every dev scene with --all-scenes),
    then write it and its int8 copy."""
    from tqdm import tqdm

    from training.detector.pipeline import run_detector_training

    root = resolve_data_dir(data_dir)
    if not (root / "scenes" / "dev").is_dir():
        raise typer.BadParameter(f"no scenes/dev under {root}", param_hint="--data-dir")
    if base.resolve() == out.resolve():
        raise typer.BadParameter("--out must differ from --base: training always starts from the base graph")
    settings = DetectorTrainSettings(
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        input_size=UltraFaceConfig().input_size,
        seed=seed,
        threads=threads,
        gate_samples=gate_samples,
    )
    written = run_detector_training(
        root, base, out, settings, progress=tqdm, fold=None if all_scenes else fold
    )
    typer.echo(f"wrote {written}", err=True)


def evaluate_command(
    path: Annotated[
        Path | None,
        typer.Argument(
            help="A VOC scene set (annotations/, images/) or a folder of class subfolders (crops)."
        ),
    ] = None,
    data_dir: DataDirOption = None,
    split: Annotated[
        str, typer.Option(help="For the dev scenes and the crop set: holdout (reported), train or all.")
    ] = "holdout",
    model: ModelOption = DEFAULT_CLASSIFIER_PATH,
    detector: DetectorOption = "ultraface",
    runtime: RuntimeOption = "onnx",
    device: DeviceOption = "cpu",
    half: HalfOption = False,
    record: Annotated[bool, typer.Option(help="Write the metrics into the classifier's sidecar.")] = False,
    fold: FoldOption = 0,
    detector_model: Annotated[
        Path | None,
        typer.Option(
            "--detector-model",
            help="An UltraFace graph from `maskwatch train-detector --out` (its int8 copy beside it).",
        ),
    ] = None,
    gate_framing: Annotated[
        bool,
        typer.Option(
            "--gate-framing/--no-gate-framing",
            help="Without PATH, also run the gate-framing validation (one person per 640x480 frame).",
        ),
    ] = True,
    gate_part: Annotated[
        str,
        typer.Option(
            "--gate-part", help="Which half of the held-out items builds the gate frames: report or tune."
        ),
    ] = "report",
) -> None:
    """Print scene metrics (AP50 per class, recall and label accuracy of faces >= 32 px) and crop metrics.

    Without PATH both dev sets of the data directory are evaluated on the chosen split, and the
    gate-framing validation runs on the held-out items of the fold (training/gate_validation.py).
    """
    from services.inference.model.sidecar import read_sidecar, write_sidecar
    from training.evaluation import (
        crop_metrics,
        predict_scenes,
        scene_metrics,
        stages_trained_on_every_dev_scene,
    )

    if split not in ("holdout", "train", "all"):
        raise typer.BadParameter(f"unknown split {split!r}", param_hint="--split")
    if gate_part not in ("report", "tune"):
        raise typer.BadParameter(f"unknown part {gate_part!r}", param_hint="--gate-part")
    config = _model_config(model, detector, runtime, device, detector_model, half)
    engine = _engine(config)
    root = resolve_data_dir(data_dir)
    targets = [path] if path is not None else [root / "scenes" / "dev", root / "crops" / "train"]
    report: dict[str, Any] = {
        "detector": config.detector.model_dump(mode="json", exclude={"model_path"}),
        "runtime": config.classifier.runtime,
        "device": device,
        "half": half,
        "split": split,
        "fold": fold,
    }
    for target in targets:
        if not target.is_dir():
            raise typer.BadParameter(f"{target} is not a directory")
        is_dev = target.resolve() in (
            (root / "scenes" / "dev").resolve(),
            (root / "crops" / "train").resolve(),
        )
        if (target / "annotations").is_dir():
            scenes = load_voc_scenes(target)
            if is_dev and split != "all":
                scenes = split_scenes(scenes, fold)[0 if split == "train" else 1]
            if is_dev and (seen := stages_trained_on_every_dev_scene(config)):
                report["trained_on_these_scenes"] = seen
                print(
                    f"warning: the {' and the '.join(seen)} trained on every dev scene, so these scene "
                    "figures are not held out (docs/model-card.md gives out-of-fold ones)",
                    file=sys.stderr,
                )
            report[f"scenes:{target.name}"] = scene_metrics(predict_scenes(scenes, engine.analyze_batch))
        else:
            items = load_crop_folder(target)
            if is_dev and split != "all":
                items = split_crops(items, fold)[0 if split == "train" else 1]
            report[f"crops:{target.name}"] = crop_metrics(items, engine.classifier.classify)
    if path is None and gate_framing:
        from training.gate_validation import gate_framing_report

        report["gate_framing"] = gate_framing_report(
            root, engine.analyze_batch, "tune" if gate_part == "tune" else "report", fold
        )
    print(json.dumps(report, indent=2))
    if record:
        sidecar = read_sidecar(model)
        sidecar.metrics = report
        write_sidecar(model, sidecar)
        print(f"recorded in {model.with_suffix('.json')}", file=sys.stderr)


def quantize_command(
    data_dir: DataDirOption = None,
    model: ModelOption = DEFAULT_CLASSIFIER_PATH,
    detector_model: Annotated[
        Path, typer.Option("--detector-model", help="The fp32 UltraFace graph.")
    ] = DEFAULT_ULTRAFACE_PATH,
    scenes: Annotated[
        int, typer.Option("--scenes", min=1, help="Calibration scenes, from the dev scenes' training split.")
    ] = 100,
) -> None:
    """Write the int8 copies (`NAME.int8.onnx`) of the face detector and the classifier that serve on CPU."""
    from services.inference.model.config import int8_path
    from training.quantize import quantize_classifier, quantize_detector

    picked = _calibration_scenes(data_dir, scenes)
    kept = quantize_detector(detector_model, int8_path(detector_model), picked, UltraFaceConfig().input_size)
    typer.echo(f"wrote {int8_path(detector_model)} (kept in fp32: {', '.join(kept)})", err=True)
    quantize_classifier(model, int8_path(model), picked)
    typer.echo(f"wrote {int8_path(model)} (calibrated on the faces of {len(picked)} scenes)", err=True)


def train_nose_probe_command(
    data_dir: DataDirOption = None, model: ModelOption = DEFAULT_CLASSIFIER_PATH
) -> None:
    """Train the probe that tells a mask under the nose from one worn right (`NAME.nose.json`, read by
    the classifier for sites with the `mask_over_nose` rule); prints its tune-half table."""
    from training.nose_probe import train_nose_probe

    root = resolve_data_dir(data_dir)
    if not (root / "crops" / "train").is_dir() or not (root / "scenes" / "dev").is_dir():
        raise typer.BadParameter(f"no crops/train and scenes/dev under {root}", param_hint="--data-dir")
    try:
        probe, report = train_nose_probe(root, model)
    except ValueError as exc:
        typer.echo(f"no probe written: {exc}", err=True)
        raise typer.Exit(1) from None
    for line in report:
        typer.echo(line)
    typer.echo(f"wrote {model.with_suffix('.nose.json')} (threshold {probe.threshold})", err=True)


def _calibration_scenes(data_dir: Path | None, count: int) -> list[Scene]:
    from training.quantize import calibration_scenes

    root = resolve_data_dir(data_dir)
    scenes_dir = root / "scenes" / "dev"
    if not scenes_dir.is_dir():
        raise typer.BadParameter(f"no scenes/dev under {root}", param_hint="--data-dir")
    return calibration_scenes(load_voc_scenes(scenes_dir), 0, count)
