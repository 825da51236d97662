"""The whole server stack, on the real services or on the embedded stand-ins: one suite for both."""

from __future__ import annotations

import pytest

from maskwatch.mqtt import MqttSettings
from maskwatch.snapshots import SnapshotSettings
from services.api.config import ApiSettings
from stack.in_process import Stack
from stack.settings import DatabaseSettings, IngestSettings, QueueSettings, Settings, WorkerSettings
from tests.ports import free_port


@pytest.fixture(params=["real", "embedded"])
def backend(request) -> str:
    return str(request.param)


@pytest.fixture
def stack_settings(backend, unique_id, tmp_path, request) -> Settings:
    # A generous deadline: on a loaded test machine a check must not come back "too late".
    worker = WorkerSettings(batch_size=8, block_ms=50, check_deadline_s=30)
    if backend == "real":
        host, port = request.getfixturevalue("mosquitto")
        return Settings(
            mqtt=MqttSettings(
                host=host,
                port=port,
                embedded=False,
                topic_root=f"test/{unique_id}",
                persistent_sessions=False,
            ),
            queue=QueueSettings(
                url=request.getfixturevalue("redis_url"), prefix=f"test-{unique_id}", claim_idle_ms=3000
            ),
            database=DatabaseSettings(url=request.getfixturevalue("postgres_url")),
            worker=worker,
            ingest=IngestSettings(http_port=free_port()),
            api=ApiSettings(port=free_port()),
            snapshots=SnapshotSettings(directory=tmp_path / "snapshots"),
            allow_unregistered_gates=True,  # a test bench: gates with made-up ids
        )
    return Settings(
        mqtt=MqttSettings(host="127.0.0.1", port=free_port(), embedded=True, topic_root=f"test/{unique_id}"),
        queue=QueueSettings(url="memory://", prefix=f"test-{unique_id}", claim_idle_ms=3000),
        database=DatabaseSettings(url=f"sqlite:///{tmp_path}/stats.db"),
        worker=worker,
        ingest=IngestSettings(http_port=free_port()),
        api=ApiSettings(port=free_port()),
        snapshots=SnapshotSettings(directory=tmp_path / "snapshots"),
        allow_unregistered_gates=True,
    )


@pytest.fixture
async def stack(stack_settings):
    running = Stack(stack_settings)
    await running.start(timeout=120)
    yield running
    await running.close()
