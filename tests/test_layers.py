"""The layering rule, enforced: each floor imports only the floors below it.

training/  stack/        the composition root and the training package: may import anything below
services/  devices/      each service imports the shared floor only (never another service)
maskwatch/               the shared floor: imports nothing above it
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = {"maskwatch", "services", "devices", "stack", "training"}
ALLOWED: dict[str, set[str]] = {
    "maskwatch": {"maskwatch"},
    "devices": {"maskwatch", "devices"},
    "services": {"maskwatch", "services"},
    "stack": {"maskwatch", "services", "devices", "stack", "training"},
    "training": {"maskwatch", "services", "training"},
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def violations(package: str) -> list[str]:
    wrong = []
    for path in sorted((ROOT / package).rglob("*.py")):
        own_service = path.relative_to(ROOT).parts[1] if package == "services" else None
        for line, module in imported_modules(path):
            top = module.split(".")[0]
            if top not in FIRST_PARTY:
                continue
            where = f"{path.relative_to(ROOT)}:{line} imports {module}"
            if top not in ALLOWED[package]:
                wrong.append(where)
            elif package == "services" and top == "services":
                parts = module.split(".")
                if len(parts) > 1 and parts[1] != own_service:
                    wrong.append(where + " (another service: share it through the floor)")
    return wrong


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_floor_imports_only_what_lies_below_it(package):
    assert violations(package) == []


def test_the_check_finds_an_upward_import(tmp_path, monkeypatch):
    """The rule can fail: a floor module that imports a service is reported."""
    floor = tmp_path / "maskwatch"
    floor.mkdir()
    (floor / "bad.py").write_text("from services.api.config import ApiSettings\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert violations("maskwatch") == ["maskwatch/bad.py:1 imports services.api.config"]


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def test_importing_the_whole_floor_loads_no_service():
    code = """
import importlib, pkgutil, sys
import maskwatch
for info in pkgutil.walk_packages(maskwatch.__path__, "maskwatch."):
    if ".migrations" not in info.name:
        importlib.import_module(info.name)
above = sorted(m for m in sys.modules if m.split(".")[0] in {"services", "stack", "training", "devices"})
print(above)
"""
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


BLOCK_TRAINING = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"torch", "training", "tqdm", "onnx"}:
            raise ImportError(f"{name} is not installed on a serving host")
        return None
sys.meta_path.insert(0, Block())
"""


def test_serving_needs_no_torch_and_no_training_code():
    """The serving install (`.[server]`, the CPU image) runs every service and the CLI without them."""
    code = (
        BLOCK_TRAINING
        + """
import numpy as np, cv2
from stack.cli import app
from stack.service_table import SERVICES
from services.inference.engine import build_engine
from services.inference.model.config import ModelConfig
from services.api.app import create_app
from services.ingest.bridge import IngestBridge
from services.gate_controller.controller import GateController
from services.stats.writer import StatsWriter
engine = build_engine(ModelConfig())
ok, jpeg = cv2.imencode(".jpg", np.full((480, 640, 3), 128, np.uint8))
(result,) = engine.analyze_batch([jpeg.tobytes()])
loaded = sorted({m.split(".")[0] for m in sys.modules} & {"torch", "training", "onnx", "tqdm"})
print(type(result).__name__, loaded, len(SERVICES) > 0)
"""
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["FrameResult", "[]", "True"]
