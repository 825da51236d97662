"""The GPU gauges the operations dashboard plots: set from torch when a GPU is present, absent otherwise.

No GPU here: a stand-in `torch` module answers as torch.cuda does on a GPU
host, so what the inference worker and the API export from it is checked.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import REGISTRY

from maskwatch import metrics

GIB = 1024**3


@pytest.fixture(autouse=True)
def clean_gauges() -> Iterator[None]:
    metrics.GPU_MEMORY_BYTES.clear()
    metrics.GPU_UTILIZATION.clear()
    yield
    metrics.GPU_MEMORY_BYTES.clear()
    metrics.GPU_UTILIZATION.clear()


def _fake_torch(utilization: Any) -> SimpleNamespace:
    cuda = SimpleNamespace(
        is_available=lambda: True,
        device_count=lambda: 2,
        memory_allocated=lambda i: (i + 1) * GIB,
        memory_reserved=lambda i: (i + 2) * GIB,
        get_device_properties=lambda i: SimpleNamespace(total_memory=80 * GIB),
        utilization=utilization,
    )
    return SimpleNamespace(cuda=cuda)


def _value(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def test_memory_and_utilisation_of_each_gpu(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "torch", _fake_torch(lambda i: 40 + 10 * i))
    assert metrics.update_gpu_memory()
    assert _value("maskwatch_gpu_memory_bytes", device="1", kind="allocated") == 2 * GIB
    assert _value("maskwatch_gpu_memory_bytes", device="0", kind="reserved") == 2 * GIB
    assert _value("maskwatch_gpu_memory_bytes", device="0", kind="total") == 80 * GIB
    assert _value("maskwatch_gpu_utilization_ratio", device="0") == pytest.approx(0.4)
    assert _value("maskwatch_gpu_utilization_ratio", device="1") == pytest.approx(0.5)


def test_without_nvml_memory_is_still_reported(monkeypatch: pytest.MonkeyPatch):
    def no_nvml(index: int) -> int:
        raise ModuleNotFoundError("pynvml does not seem to be installed")

    monkeypatch.setitem(sys.modules, "torch", _fake_torch(no_nvml))
    assert metrics.update_gpu_memory()
    assert _value("maskwatch_gpu_memory_bytes", device="0", kind="total") == 80 * GIB
    assert _value("maskwatch_gpu_utilization_ratio", device="0") is None


def test_on_a_cpu_the_gauges_stay_absent(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delitem(sys.modules, "torch", raising=False)  # the ONNX Runtime worker never loads torch
    assert not metrics.update_gpu_memory()
    cpu_torch = SimpleNamespace(cuda=SimpleNamespace(is_available=lambda: False))
    monkeypatch.setitem(sys.modules, "torch", cpu_torch)
    assert not metrics.update_gpu_memory()
    assert _value("maskwatch_gpu_memory_bytes", device="0", kind="total") is None
    assert _value("maskwatch_gpu_utilization_ratio", device="0") is None
