"""The gate says what to do when no face could be judged, in its own language, on the real services.

The in-process stack runs the committed model; the photos are frames whose answer does not depend on
the model's accuracy: a black frame (too dark) and an empty grey wall (nobody there).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from maskwatch.contracts import Reason
from maskwatch.contracts.reason_texts import REASON_TEXTS
from maskwatch.mqtt import MqttSettings
from stack.in_process import Stack
from stack.service_table import GATE_PATH
from stack.settings import DatabaseSettings, IngestSettings, QueueSettings, Settings, WorkerSettings
from tests.agent.conftest import RunningAgent, agent_settings
from tests.ports import free_port

pytestmark = pytest.mark.timeout(180)


def frames(folder: Path) -> Path:
    folder.mkdir()
    noise = np.random.default_rng(0).normal(0.0, 6.0, size=(480, 640, 3))
    cv2.imwrite(str(folder / "1-dark.jpg"), np.clip(8 + noise / 3, 0, 255).astype(np.uint8))
    cv2.imwrite(str(folder / "2-wall.jpg"), np.clip(150 + noise, 0, 255).astype(np.uint8))
    return folder


async def test_the_gate_says_too_dark_and_step_in_front_in_korean(tmp_path: Path, unique_id: str):
    settings = Settings(
        mqtt=MqttSettings(port=free_port(), topic_root=f"test/{unique_id}"),
        queue=QueueSettings(url="memory://"),
        database=DatabaseSettings(url=f"sqlite:///{tmp_path}/s.db"),
        worker=WorkerSettings(block_ms=50, check_deadline_s=30),  # a loaded test machine is not "too late"
        ingest=IngestSettings(http_port=None),
        allow_unregistered_gates=True,
    )
    stack = Stack(settings, GATE_PATH)
    await stack.start(timeout=120)
    try:
        config = agent_settings(
            settings.mqtt, frames(tmp_path / "photos"), [36.6, 36.6], tmp_path / "spool", language="ko"
        )
        async with RunningAgent(config) as gate:
            await gate.wait_connected()
            outcomes = [await gate.check() for _ in range(2)]
    finally:
        await stack.close()
    assert [o.result for o in outcomes] == ["denied", "denied"]
    assert outcomes[0].message == REASON_TEXTS[Reason.TOO_DARK]["ko"]
    assert outcomes[1].message == REASON_TEXTS[Reason.NO_FACE]["ko"]
