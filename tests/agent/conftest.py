"""Helpers to drive a gate agent with simulated hardware and a manual trigger."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from devices.gate_agent.agent import GateAgent
from devices.gate_agent.settings import AgentSettings
from devices.hardware.config import HardwareConfig, build_hardware
from maskwatch.mqtt import MqttSettings
from stack.demo.sample_faces import sample_image


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    sample_image("mask").save(folder / "1-masked.jpg")
    sample_image("no_mask").save(folder / "2-bare.jpg")
    sample_image("mask").save(folder / "3-masked.jpg")
    return folder


def agent_settings(mqtt: MqttSettings, photos, temperatures, spool, **extra) -> AgentSettings:
    return AgentSettings(
        gate_id=extra.pop("gate_id", "door-1"),
        mqtt=mqtt.model_copy(update={"embedded": False}),
        hardware=HardwareConfig.model_validate(
            {
                "camera": {"type": "file", "path": str(photos)},
                "thermometer": {"type": "simulated", "readings_c": temperatures},
                "trigger": {"type": "manual"},
            }
        ),
        spool_dir=spool,
        **(
            {"verdict_timeout_s": 15.0, "open_s": 0.2, "result_display_s": 0.05, "reconnect_cap_s": 0.5}
            | extra
        ),
    )


class RunningAgent:
    """An agent running in the background; `check()` presses the button and returns the outcome."""

    def __init__(self, settings: AgentSettings) -> None:
        self.hardware = build_hardware(settings.hardware)
        self.agent = GateAgent(settings, self.hardware)
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RunningAgent:
        self.task = asyncio.create_task(self.agent.run(self.stop))
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        if self.task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.task, 20)
        self.hardware.close()

    async def wait_connected(self, timeout: float = 20) -> None:
        await asyncio.wait_for(self.agent.connected.wait(), timeout)

    async def check(self, timeout: float = 30):
        before = len(self.agent.outcomes)
        self.hardware.trigger.fire()  # type: ignore[attr-defined]
        for _ in range(int(timeout / 0.05)):
            if len(self.agent.outcomes) > before:
                return self.agent.outcomes[-1]
            await asyncio.sleep(0.05)
        raise AssertionError("the agent did not finish a check")
