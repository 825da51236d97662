"""Prometheus metrics shared by every service, defined once so names and labels never drift.

Each service updates the ones that concern it and exposes them with
`start_metrics_server(port)` (the API serves them on its own `/metrics`).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from prometheus_client import Counter, Gauge, Histogram, start_http_server

log = logging.getLogger(__name__)

CHECKS_RECEIVED = Counter(
    "maskwatch_checks_received_total", "Gate checks received from MQTT, by outcome of validation", ["outcome"]
)
"""outcome: accepted | rejected."""

VERDICT_LATENCY = Histogram(
    "maskwatch_verdict_latency_seconds",
    "From the server receiving a check to its verdict being published",
    ["decision"],
    buckets=(0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0),
)

QUEUE_DEPTH = Gauge("maskwatch_queue_depth", "Entries in a stream", ["stream"])
QUEUE_PENDING = Gauge(
    "maskwatch_queue_pending", "Entries delivered to a consumer group and not yet acknowledged", ["stream"]
)
DEAD_LETTERS = Counter("maskwatch_dead_letters_total", "Entries moved to a dead-letter stream", ["stream"])

BATCH_SIZE = Histogram(
    "maskwatch_batch_size",
    "Entries handled together in one batch",
    ["service"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)

MODEL_SECONDS = Histogram(
    "maskwatch_model_seconds",
    "Time in the model per batch, by stage",
    ["stage"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
"""stage: decode | detect | classify."""

NOTIFICATIONS_SENT = Counter("maskwatch_notifications_sent_total", "Notifications delivered", ["channel"])
NOTIFICATIONS_FAILED = Counter(
    "maskwatch_notifications_failed_total", "Notifications that failed after their retries", ["channel"]
)
NOTIFICATIONS_HELD = Counter(
    "maskwatch_notifications_held_total",
    "Notifications held for a later digest, by why (quiet hours, rate limit)",
    ["channel", "why"],
)

CHECKS_TOO_LATE = Counter(
    "maskwatch_checks_too_late_total",
    "Gate checks past their deadline when a worker took them: answered try again, not analysed",
    ["gate"],
)

CHECKS_ANSWERED_ALREADY = Counter(
    "maskwatch_checks_answered_already_total",
    "Second analyses of a gate check the controller dropped: the gate had its answer from the first",
    ["gate"],
)

OUTAGE_RETRIES = Counter(
    "maskwatch_outage_retries_total",
    "Batches tried again because Redis, the database or the network was away, by consumer",
    ["consumer"],
)

STATS_ROWS_WRITTEN = Counter(
    "maskwatch_stats_rows_written_total", "Rows written by the stats writer", ["table"]
)

GPU_MEMORY_BYTES = Gauge(
    "maskwatch_gpu_memory_bytes", "GPU memory, when a GPU is present", ["device", "kind"]
)
"""kind: allocated | reserved | total."""

GPU_UTILIZATION = Gauge(
    "maskwatch_gpu_utilization_ratio",
    "Share of the last sample period the GPU was busy (0-1), when a GPU and NVML are present",
    ["device"],
)
"""Read through torch from NVML (the `nvidia-ml-py` package, in the GPU image); absent without either."""

API_REQUESTS = Counter("maskwatch_api_requests_total", "API requests", ["method", "route", "status"])
API_LATENCY = Histogram("maskwatch_api_request_seconds", "API request duration", ["method", "route"])
SIGNIN_FAILURES = Counter(
    "maskwatch_api_signin_failures_total", "Failed sign-ins, including rate-limited ones"
)


def update_gpu_memory() -> bool:
    """Refresh GPU_MEMORY_BYTES (and GPU_UTILIZATION) from torch when CUDA is available; False (and
    nothing set) otherwise, so a CPU-only service exports the gauges' names and no samples.

    Only when torch is already loaded (the torch runtime): importing it just to find no GPU would
    cost the ONNX Runtime worker seconds and a few hundred MB.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        return False
    if not torch.cuda.is_available():
        return False
    for index in range(torch.cuda.device_count()):
        device = str(index)
        GPU_MEMORY_BYTES.labels(device, "allocated").set(torch.cuda.memory_allocated(index))
        GPU_MEMORY_BYTES.labels(device, "reserved").set(torch.cuda.memory_reserved(index))
        GPU_MEMORY_BYTES.labels(device, "total").set(torch.cuda.get_device_properties(index).total_memory)
        busy = _gpu_utilization(torch, index)
        if busy is not None:
            GPU_UTILIZATION.labels(device).set(busy)
    return True


def _gpu_utilization(torch: Any, index: int) -> float | None:
    """The GPU's busy share (0-1), or None where NVML cannot say (no `nvidia-ml-py`, an old driver):
    memory is still worth reporting then, so this never fails the refresh."""
    try:
        return float(torch.cuda.utilization(index)) / 100
    except Exception:  # pynvml missing or NVML refusing: the gauge stays absent
        return None


def start_metrics_server(port: int, addr: str = "0.0.0.0") -> None:
    """Serve /metrics for this process on `port` (a thread of prometheus_client)."""
    start_http_server(port, addr=addr)
    log.info("metrics on http://%s:%d/metrics", addr, port)


CAMERA_FRAMES = Counter(
    "maskwatch_camera_frames_total", "Camera frames by what became of them", ["camera", "outcome"]
)
"""outcome: analysed | stale (dropped: waited longer than the worker's frame_max_age_s) | rejected."""

ALERT_TRANSITIONS = Counter(
    "maskwatch_alert_transitions_total", "Alert transitions published", ["kind", "transition"]
)

NOTIFICATION_LATENCY = Histogram(
    "maskwatch_notification_latency_seconds",
    "From an alert transition to its delivery, per channel",
    ["channel"],
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600),
)
