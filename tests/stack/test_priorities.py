"""Services no gate waits on run at a lower CPU priority than the gate path, so a busy minute of
figures, alerts or console requests does not stretch a verdict."""

from __future__ import annotations

import subprocess
import sys

import pytest

from stack.service_table import SERVICES

GIVE_WAY = {"stats", "monitoring", "device-health", "notifier", "notifier-worker", "api"}
"""Not the camera reader: it takes live video, which does not wait."""


def test_only_the_gate_path_and_live_video_keep_the_full_priority():
    lowered = {spec.name for spec in SERVICES if spec.nice > 0}
    assert lowered == GIVE_WAY
    assert {"ingest", "inference", "gate-controller"}.isdisjoint(lowered)


@pytest.mark.parametrize(("name", "lowered"), [("stats", True), ("inference", False)])
def test_a_service_process_takes_its_priority(name, lowered):
    """What `maskwatch run NAME` does before it starts the service, in a process of its own."""
    script = f"import os; from stack.launcher import _give_way; _give_way({name!r}); print(os.nice(0))"
    start = int(subprocess.run([sys.executable, "-c", "import os; print(os.nice(0))"], **RUN).stdout)
    after = int(subprocess.run([sys.executable, "-c", script], **RUN).stdout)
    assert (after > start) is lowered


RUN = {"capture_output": True, "text": True, "check": True, "timeout": 60}
