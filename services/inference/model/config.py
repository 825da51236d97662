"""Settings for the mask model: which face detector, which classifier runtime, what input is refused.

Defaults point at the weights committed beside this module, so a fresh clone
builds a working engine with `build_engine(ModelConfig())`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from services.inference.model.int8_support import default_precision
from services.inference.model.scoring import ScoreFusion

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DEFAULT_CLASSIFIER_PATH = WEIGHTS_DIR / "mask_classifier.onnx"
STOCK_ULTRAFACE_PATH = WEIGHTS_DIR / "ultraface_rfb_640.onnx"
"""The published UltraFace RFB-640 graph: where `maskwatch train-detector` starts from."""
DEFAULT_ULTRAFACE_PATH = WEIGHTS_DIR / "ultraface_rfb_640_finetuned.onnx"
"""UltraFace fine-tuned on every dev scene (`maskwatch train-detector --all-scenes`): what serves."""
STOCK_BOX_ADJUST = (0.02, 0.14, 1.05, 0.92)
"""The stock graph's boxes sit higher than annotated faces (forehead in, chin out); this is the median
offset on the dev scenes' training split, and lifts held-out boxes at IoU >= 0.5 from 92% to 96%. The
fine-tuned graph learnt the annotated boxes and needs no adjusting."""

Precision = Literal["int8", "fp32"]


def int8_path(model_path: Path) -> Path:
    """Where the int8 copy of an fp32 ONNX graph lives: `name.int8.onnx` beside `name.onnx`."""
    return model_path.with_suffix(".int8.onnx")


def training_record_path(model_path: Path) -> Path:
    """The JSON beside a fine-tuned graph that says what it was trained from, on what, and how."""
    return model_path.with_suffix(".json")


def onnx_file(model_path: Path, precision: Precision) -> Path:
    """The graph ONNX Runtime loads for `model_path` at `precision`; a missing int8 copy is named clearly."""
    if precision == "fp32":
        return model_path
    path = int8_path(model_path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: make it with `maskwatch quantize`, or set precision to fp32"
        )
    return path


class YuFaceConfig(BaseModel):
    """libfacedetection through the `yuface` wheel: the best recall on masked faces, but slow at full size."""

    type: Literal["yuface"] = "yuface"
    min_score: float = Field(
        0.3, ge=0.0, le=1.0, description="Detector confidence below which a box is dropped."
    )
    max_side: int | None = Field(
        None,
        ge=64,
        description="Downscale so the longer side is at most this before detecting; None keeps full size.",
    )


class UltraFaceConfig(BaseModel):
    """UltraFace RFB-640: fast on CPU (ONNX Runtime), batched on a GPU (torch), good on 16-31 px faces."""

    @model_validator(mode="before")
    @classmethod
    def _fp32_unless_told_on_a_gpu_or_torch(cls, data: Any) -> Any:
        """Without a precision, a GPU or the torch runtime gets the fp32 graph it needs (on the CPU the
        default follows the CPU: `default_precision`)."""
        needs_fp32 = isinstance(data, dict) and (
            data.get("device", "cpu") != "cpu" or data.get("runtime", "onnx") == "torch"
        )
        if needs_fp32 and "precision" not in data:
            return {**data, "precision": "fp32"}
        return data

    @model_validator(mode="after")
    def _runtime_fits_precision_and_device(self) -> UltraFaceConfig:
        if self.device != "cpu" and self.precision == "int8":
            raise ValueError("the int8 detector runs on CPU kernels only: use precision 'fp32' with a GPU")
        if self.runtime == "torch" and self.precision == "int8":
            raise ValueError("the torch runtime runs the fp32 graph: set precision 'fp32'")
        if self.half and self.runtime != "torch":
            raise ValueError("half (fp16) is for the torch runtime: set runtime 'torch'")
        return self

    type: Literal["ultraface"] = "ultraface"
    runtime: Literal["onnx", "torch"] = Field(
        "onnx",
        description=(
            "onnx: ONNX Runtime, the fastest on CPU. torch: the same graph run by torch, for a GPU; it "
            "needs the packages `onnx` and torch but not onnxruntime-gpu."
        ),
    )
    model_path: Path = Field(
        DEFAULT_ULTRAFACE_PATH, description="The fp32 graph (the int8 copy sits beside it)."
    )
    precision: Precision = Field(
        default_factory=default_precision,
        description=(
            "int8 (the copy `maskwatch quantize` makes; 0.6-1.0x the fp32 time, by CPU) or fp32. By "
            "default int8 where the CPU has VNNI, fp32 elsewhere (services/inference/model/int8_support.py)."
        ),
    )
    min_score: float = Field(
        0.1,
        ge=0.0,
        le=1.0,
        description=(
            "Detector score below which a box is dropped. Low on purpose: the final score also weighs the "
            "classifier (see ScoreFusion); 0.15 lost 1 in 60 large faces on the dev scenes."
        ),
    )
    max_candidates: int = Field(
        1000,
        ge=1,
        description=(
            "At most this many highest-scoring boxes go into non-maximum suppression (a crowded dev scene "
            "has up to 825 at score 0.1); bounds the cost of a frame that is all noise."
        ),
    )
    input_size: tuple[int, int] = Field(
        (512, 384),
        description=(
            "Network input (width, height); every frame is resized to it. Trained at 640x480; 512x384 keeps "
            "held-out mask AP50 within 0.01 and 32 px recall at least as high, for 0.64x the compute."
        ),
    )
    nms_iou: float = Field(0.3, gt=0.0, le=1.0)
    nested_overlap: float = Field(
        0.6,
        gt=0.0,
        le=1.0,
        description=(
            "After NMS, a box with more than this share of the smaller of it and a better-scored box inside "
            "the other is dropped: an eye inside a face, one face at two scales (detectors/suppression.py)."
        ),
    )
    box_adjust: tuple[float, float, float, float] = Field(
        (0.0, 0.0, 1.0, 1.0),
        description=(
            "Centre shift (dx, dy, in box widths/heights) and size scale (sx, sy) applied to every box. "
            "The identity (no adjustment) for the fine-tuned graph; `with_stock_weights` sets "
            "STOCK_BOX_ADJUST for the stock one."
        ),
    )
    whole_face_ratio: float = Field(
        0.5,
        ge=0.0,
        description=(
            "A larger box holding nested faces replaces them when it scores at least this times the best "
            "of them: a large face found whole and in pieces is reported once, whole."
        ),
    )
    coarse_input_size: tuple[int, int] | None = Field(
        (320, 240),
        description=(
            "The coarse pass's canvas (width, height), or None for no coarse pass: the frame shrunk into it "
            "lets the network find faces up to the whole frame, which the main pass splits or misses "
            "(detectors/coarse_pass.py)."
        ),
    )
    coarse_frame_share: float = Field(
        0.8, gt=0.0, le=1.0, description="The shrunk frame's share of the coarse canvas; grey around it."
    )
    coarse_min_height: float = Field(
        0.3,
        ge=0.0,
        le=1.0,
        description="Coarse-pass boxes lower than this share of the frame's height are left to the main one.",
    )
    main_max_height: float = Field(
        0.6,
        ge=0.0,
        le=1.0,
        description=(
            "With the coarse pass on, main-pass boxes taller than this share of the frame's height are "
            "dropped: the coarse pass finds such faces whole, where the main pass splits them."
        ),
    )
    threads: int = Field(2, ge=1, description="CPU threads for the network (either runtime).")
    device: str = Field(
        "cpu",
        pattern=r"^(cpu|cuda(:\d+)?)$",
        description=(
            "'cpu', or 'cuda' / 'cuda:N' (precision fp32; runtime torch, or onnx with onnxruntime-gpu)."
        ),
    )
    half: bool = Field(False, description="fp16 on a CUDA device (torch runtime only).")
    cuda_graphs: bool = Field(
        True, description="On a CUDA device, replay each batch size's kernels as one CUDA graph (torch)."
    )
    batch_frames: int = Field(
        8,
        ge=1,
        description=(
            "Frames per network call. On a GPU the batch is where the speed is; on 2 CPU cores batches of "
            "1-8 run at the same frames/s, so the worker's batches pass through unchanged."
        ),
    )
    spin_wait: bool = Field(
        True,
        description=(
            "Let ONNX Runtime's worker threads spin between kernels instead of sleeping: about 1.3 ms less "
            "per 512x384 frame on 2 cores, for CPU time burnt while waiting."
        ),
    )


def with_stock_weights(config: UltraFaceConfig) -> UltraFaceConfig:
    """`config` running the published UltraFace graph, with the box adjustment that graph needs. Only its
    fp32 file is committed: for int8, make the copy first (`maskwatch quantize --detector-model`)."""
    return config.model_copy(update={"model_path": STOCK_ULTRAFACE_PATH, "box_adjust": STOCK_BOX_ADJUST})


DetectorConfig = Annotated[YuFaceConfig | UltraFaceConfig, Field(discriminator="type")]


class ClassifierConfig(BaseModel):
    """The mask classifier; the ONNX file's JSON sidecar carries labels, input size and normalisation."""

    model_path: Path = DEFAULT_CLASSIFIER_PATH
    runtime: Literal["onnx", "torch"] = "onnx"
    precision: Precision = Field(
        default_factory=default_precision,
        description=(
            "For the onnx runtime: int8 (the copy `maskwatch quantize` makes) or fp32. By default int8 "
            "where the CPU has VNNI, fp32 elsewhere (services/inference/model/int8_support.py)."
        ),
    )
    device: str = Field(
        "cpu", description="Torch device ('cpu', 'cuda', 'cuda:1'); the onnx runtime is CPU only."
    )
    half: bool = Field(False, description="fp16 on a CUDA device (torch runtime only).")
    cuda_graphs: bool = Field(
        True, description="On a CUDA device, replay each batch size's kernels as one CUDA graph (torch)."
    )
    threads: int = Field(
        1,
        ge=1,
        description=(
            "CPU threads for either runtime. One is fastest for the few crops of a gate frame: waking a "
            "second thread costs more than it saves on a 64 px crop."
        ),
    )
    mirror_average: bool = Field(
        True,
        description="Average each crop's probabilities with its mirror image's (one extra crop per face).",
    )
    nose_probe: bool = Field(
        True,
        description=(
            "Ask the probe beside the weights (`<name>.nose.json`, where there is one) whether each face "
            "called `mask` has its nose uncovered; sites act on the answer only where they ask for it."
        ),
    )


class ModelConfig(BaseModel):
    """Everything `build_engine` needs; the defaults are the measured best CPU setup."""

    detector: DetectorConfig = Field(default_factory=UltraFaceConfig)
    classifier: ClassifierConfig = Field(default_factory=ClassifierConfig)
    max_pixels: int = Field(
        40_000_000, ge=1, description="Frames with more pixels are refused as too_large before decoding."
    )
    min_face_score: float = Field(
        0.05, ge=0.0, le=1.0, description="Faces whose combined score is below this are not reported."
    )
    frame_threads: int = Field(
        1,
        ge=1,
        description=(
            "Threads for each frame's own CPU work: decoding, and resizing to UltraFace's input. 1 on a "
            "small CPU server, whose cores the detector already uses; on a GPU server that work is the "
            "limit, and its spare cores share it (compose.gpu.yaml: 8)."
        ),
    )
    fusion: ScoreFusion = Field(
        default_factory=ScoreFusion, description="How detector and classifier scores make a face's score."
    )
