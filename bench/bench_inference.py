"""How fast is the mask engine on this machine? Run from the repository root:

    python bench/bench_inference.py [--detector ultraface|yuface] [--runtime onnx|torch]
                                    [--precision int8|fp32] [--no-mirror] [--runs 300]
    python bench/bench_inference.py --device cuda [--half]      # the GPU setup of deploy/compose.gpu.yaml

Prints the median latency of one 640x480 frame with one face (decode + detect + classify), throughput for
batch sizes 1..32, and the resident memory after loading the engine. Needs no dataset: the face is a real
crop from the data directory when present, else the test fixture, else a drawn one.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from services.inference.engine import build_engine  # noqa: E402
from services.inference.model.config import (  # noqa: E402
    ClassifierConfig,
    ModelConfig,
    UltraFaceConfig,
    YuFaceConfig,
    with_stock_weights,
)
from services.inference.model.int8_support import default_precision  # noqa: E402
from services.inference.model.interface import FrameResult  # noqa: E402
from training.dataset import resolve_data_dir  # noqa: E402

FACE_SIDE = 140


def rss_mib() -> float:
    """Current resident set size (Linux /proc), falling back to the peak from getrusage."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def gpu_name(device: str) -> str:
    if device == "cpu":
        return ""
    import torch

    return f", {torch.cuda.get_device_name(torch.device(device))}"


def drawn_face() -> np.ndarray:
    """A cartoon face: enough for timing (the detector runs either way), not for accuracy."""
    img = np.full((FACE_SIDE, FACE_SIDE, 3), 150, np.uint8)
    c = FACE_SIDE // 2
    cv2.ellipse(img, (c, c), (c - 20, c - 8), 0, 0, 360, (140, 170, 220), -1)
    for dx in (-22, 22):
        cv2.circle(img, (c + dx, c - 12), 7, (40, 30, 30), -1)
    cv2.ellipse(img, (c, c + 28), (20, 8), 0, 0, 180, (60, 60, 150), 3)
    return img


def face_image() -> tuple[np.ndarray, str]:
    data = resolve_data_dir()
    crops = sorted((data / "crops" / "train" / "without_mask").glob("*.jpg"))
    candidates = [(crops[0], "data-dir crop")] if crops else []
    candidates.append((REPO / "tests" / "inference" / "fixtures" / "face_no_mask.jpg", "test fixture"))
    for path, source in candidates:
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is not None:
            scale = FACE_SIDE / max(img.shape[:2])
            return cv2.resize(
                img, (round(img.shape[1] * scale), round(img.shape[0] * scale))
            ), f"{source} {path.name}"
    return drawn_face(), "drawn face"


def frame_bytes(face: np.ndarray) -> bytes:
    frame = np.full((480, 640, 3), 128, np.uint8)
    y, x = 170, 250
    frame[y : y + face.shape[0], x : x + face.shape[1]] = face
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return buf.tobytes()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--detector",
        choices=["ultraface", "ultraface-stock", "yuface"],
        default="ultraface",
        help="ultraface-stock: the published weights (for int8, quantize them: `maskwatch quantize`).",
    )
    parser.add_argument("--runtime", choices=["onnx", "torch"], default="onnx", help="Classifier runtime.")
    parser.add_argument(
        "--detector-runtime", choices=["onnx", "torch"], default="onnx", help="UltraFace runtime."
    )
    parser.add_argument(
        "--device",
        default="cpu",
        help="cpu, or cuda[:N]: both stages on the GPU in torch, fp32 graphs, 32-frame detector batches.",
    )
    parser.add_argument("--half", action="store_true", help="fp16 on the GPU (both stages).")
    parser.add_argument(
        "--no-cuda-graphs", action="store_true", help="On the GPU, launch kernels one by one from Python."
    )
    parser.add_argument(
        "--frame-threads",
        type=int,
        default=None,
        help="Threads decoding and resizing a batch's frames (default: 8 with a cuda --device, else 1).",
    )
    parser.add_argument(
        "--precision",
        choices=["int8", "fp32"],
        default=default_precision(),
        help="ONNX graphs to serve (default: what this CPU serves, int8 with VNNI).",
    )
    parser.add_argument("--threads", type=int, default=2, help="Detector threads.")
    parser.add_argument("--classifier-threads", type=int, default=ClassifierConfig().threads)
    parser.add_argument(
        "--no-mirror", action="store_true", help="Classify each crop once, not also mirrored."
    )
    parser.add_argument("--detector-input", default="512x384", help="UltraFace input WxH (default 512x384).")
    parser.add_argument(
        "--classifier-model",
        type=Path,
        default=ClassifierConfig().model_path,
        help="Classifier ONNX file (from `maskwatch train --out`), to time another recipe.",
    )
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()

    rss_before = rss_mib()
    in_w, in_h = (int(v) for v in args.detector_input.lower().split("x"))
    on_gpu = args.device != "cpu"
    if on_gpu:
        args.runtime, args.detector_runtime, args.precision = "torch", "torch", "fp32"
    ultraface = UltraFaceConfig(
        threads=args.threads,
        input_size=(in_w, in_h),
        precision=args.precision,
        runtime=args.detector_runtime,
        device=args.device,
        half=args.half,
        cuda_graphs=not args.no_cuda_graphs,
        batch_frames=32 if on_gpu else UltraFaceConfig().batch_frames,
    )
    if args.detector == "ultraface-stock":
        ultraface = with_stock_weights(ultraface)
    detector = YuFaceConfig() if args.detector == "yuface" else ultraface
    classifier = ClassifierConfig(
        model_path=args.classifier_model,
        runtime=args.runtime,
        precision=args.precision,
        device=args.device,
        half=args.half,
        cuda_graphs=not args.no_cuda_graphs,
        threads=args.classifier_threads,
        mirror_average=not args.no_mirror,
    )
    frame_threads = args.frame_threads or (8 if on_gpu else 1)
    engine = build_engine(ModelConfig(detector=detector, classifier=classifier, frame_threads=frame_threads))
    face, source = face_image()
    data = frame_bytes(face)
    for _ in range(30):
        engine.analyze_batch([data])
    rss_loaded = rss_mib()

    totals, decode, detect, classify = [], [], [], []
    faces = 0
    for _ in range(args.runs):
        t0 = time.perf_counter()
        (result,) = engine.analyze_batch([data])
        totals.append((time.perf_counter() - t0) * 1000.0)
        assert isinstance(result, FrameResult)
        decode.append(result.decode_ms)
        detect.append(result.detect_ms)
        classify.append(result.classify_ms)
        faces += sum(1 for f in result.faces if f.score >= 0.5)

    detector_name = (
        args.detector if args.detector == "yuface" else f"ultraface {in_w}x{in_h} ({args.detector_runtime})"
    )
    mirror = "" if classifier.mirror_average else ", no mirror"
    graphs = ", no CUDA graphs" if on_gpu and args.no_cuda_graphs else ""
    print(
        f"machine: {os.cpu_count()} CPUs{gpu_name(args.device)}; detector {detector_name}, "
        f"classifier runtime {args.runtime}, {'fp16' if args.half else args.precision}{mirror}{graphs}, "
        f"{frame_threads} frame threads"
    )
    print(f"face: {source}; faces found at score >= 0.5 per frame: {faces / args.runs:.2f}")
    print(
        f"640x480 frame, one face: median {statistics.median(totals):.2f} ms "
        f"(decode {statistics.median(decode):.2f}, detect {statistics.median(detect):.2f}, "
        f"classify {statistics.median(classify):.2f}; p90 {statistics.quantiles(totals, n=10)[-1]:.2f} ms)"
    )
    # A shared machine's speed drifts from minute to minute: show the median of each tenth of the runs,
    # so a slow spell is visible as such rather than hidden in one number.
    tenth = max(1, len(totals) // 10)
    spells = [statistics.median(totals[i : i + tenth]) for i in range(0, len(totals) - tenth + 1, tenth)]
    print("  median of each tenth of the runs (ms): " + " ".join(f"{m:.1f}" for m in spells))
    for batch_size in (1, 2, 4, 8, 16, 32):
        batch = [data] * batch_size
        engine.analyze_batch(batch)
        rounds = max(3, 96 // batch_size)
        stages = np.zeros(3)
        t0 = time.perf_counter()
        for _ in range(rounds):
            for result in engine.analyze_batch(batch):
                assert isinstance(result, FrameResult)
                stages += (result.decode_ms, result.detect_ms, result.classify_ms)
        elapsed = time.perf_counter() - t0
        per_frame = stages / (rounds * batch_size)
        print(
            f"batch {batch_size:>2}: {rounds * batch_size / elapsed:7.1f} frames/s "
            f"(per frame: decode {per_frame[0]:.2f}, detect {per_frame[1]:.2f}, "
            f"classify {per_frame[2]:.2f} ms)"
        )
    print(
        f"resident memory: {rss_before:.0f} MiB before loading, {rss_loaded:.0f} MiB with the engine loaded"
    )
    if on_gpu:
        import torch

        peak = torch.cuda.max_memory_allocated(torch.device(args.device)) / 2**20
        print(f"GPU memory: {peak:.0f} MiB at most allocated by torch (batch 32 included)")


if __name__ == "__main__":
    main()
