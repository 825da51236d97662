"""The notifier's suite, run on both backends: each test gets a fresh database of each kind (an SQLite file,
and a PostgreSQL database copied from a migrated template), and each test that drives a runner runs once
with the in-process runner and once with rq jobs on the real Redis. Plus a webhook recipient on the
loopback receiver, and alerts to notify about."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa
from redis import Redis
from rq import Queue

from maskwatch.contracts import AlertKind, AlertTransition, Transition
from maskwatch.database.alerts import record_transition
from maskwatch.database.engine import create_engine
from maskwatch.database.notifications import add_recipient
from maskwatch.queue import QueueSettings, WorkQueue, open_queue
from maskwatch.streams import delivery_job_queue
from services.notifier.delivery import Deliverer
from services.notifier.runners import DeliveryRunner, InProcessRunner, RqRunner, use_deliverer, work_until
from services.notifier.service import NotifierService
from services.notifier.settings import NotifierSettings
from tests.api.databases import database_url, new_postgres, postgres_template

__all__ = ["database_url", "new_postgres", "postgres_template"]  # fixtures

IN_PROCESS, RQ = "in-process", "rq"


@pytest.fixture
def database(database_url: str) -> Iterator[sa.Engine]:
    """A fresh migrated database: SQLite, then PostgreSQL (`database_url` is parametrised over both)."""
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def recipient(database, receiver) -> int:
    return add_recipient(
        database,
        site_id="default",
        channel="webhook",
        address=receiver.url,
        secrets={"webhook_secret": receiver.secret},
        kinds=["unmasked"],
    )


class Runs:
    """Who attempts the test's deliveries: the in-process runner (the embedded setup), or rq jobs on the
    real Redis taken by a worker thread running `work_until`, as `maskwatch run notifier-worker` does."""

    WORKER_POLL_S = 0.1

    def __init__(self, kind: str, redis_url: str | None, prefix: str) -> None:
        self.kind = kind
        self._redis_url = redis_url
        self._prefix = prefix
        self._in_process: list[InProcessRunner] = []
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None

    def runner(self, deliverer: Deliverer) -> DeliveryRunner:
        """A runner for `deliverer` (another call: another runner, as after a restart)."""
        if self.kind == IN_PROCESS:
            runner = InProcessRunner(deliverer)
            self._in_process.append(runner)
            return runner
        assert self._redis_url is not None
        use_deliverer(deliverer)
        if self._worker is None:
            self._worker = threading.Thread(
                target=work_until,
                args=(self._stop, self._redis_url, self._prefix, self.WORKER_POLL_S),
                daemon=True,
            )
            self._worker.start()
        return RqRunner(self._redis_url, self._prefix)

    async def idle(self, timeout_s: float = 60.0) -> None:
        """Until every submitted delivery is sent or dead: no attempt left running (in-process), or no job
        queued, scheduled or running (rq). Fails after `timeout_s`, far above what any test needs."""
        for runner in self._in_process:
            await asyncio.wait_for(runner.idle(), timeout_s)
        if self.kind != RQ or self._worker is None:
            return
        deadline = time.monotonic() + timeout_s
        quiet = 0
        while quiet < 2:  # twice in a row, to be sure nothing was on its way between two of them
            quiet = quiet + 1 if await asyncio.to_thread(self._rq_idle) else 0
            if time.monotonic() > deadline:
                raise TimeoutError(f"rq deliveries still running after {timeout_s}s")
            await asyncio.sleep(self.WORKER_POLL_S)

    def _rq_idle(self) -> bool:
        assert self._redis_url is not None
        with Redis.from_url(self._redis_url) as connection:
            queue = Queue(delivery_job_queue(self._prefix), connection=connection)
            waiting = queue.count + connection.llen(queue.intermediate_queue_key)
            return not (waiting or queue.scheduled_job_registry.count or queue.started_job_registry.count)

    def failed_jobs(self) -> int:
        """rq jobs that raised (a deliverer's bug, never a channel's failure)."""
        if self.kind != RQ:
            return 0
        assert self._redis_url is not None
        with Redis.from_url(self._redis_url) as connection:
            return Queue(delivery_job_queue(self._prefix), connection=connection).failed_job_registry.count

    async def close(self) -> None:
        for runner in self._in_process:
            await runner.close()
        if self._worker is not None:
            self._stop.set()
            await asyncio.to_thread(self._worker.join, 10)
            use_deliverer(None)  # type: ignore[arg-type]
            assert self._redis_url is not None
            with Redis.from_url(self._redis_url) as connection:
                keys = list(connection.scan_iter(f"*{self._prefix}*"))
                if keys:
                    connection.delete(*keys)


@pytest.fixture(params=[IN_PROCESS, RQ])
async def runs(request: pytest.FixtureRequest, unique_id: str) -> AsyncIterator[Runs]:
    """Each test that drives a runner, once per runner (rq on the real Redis, its own queue per test)."""
    redis_url = request.getfixturevalue("redis_url") if request.param == RQ else None
    harness = Runs(request.param, redis_url, f"test-{unique_id}")
    yield harness
    failed = harness.failed_jobs()
    await harness.close()
    assert failed == 0, "an rq delivery job raised"


def opened_alert(database: sa.Engine, **overrides: Any) -> AlertTransition:
    now = datetime.now(UTC)
    fields: dict[str, Any] = {
        "alert_id": uuid4(),
        "transition": Transition.OPENED,
        "at": now,
        "kind": AlertKind.UNMASKED,
        "site_id": "default",
        "device_id": "hall-1",
        "track": 3,
        "box": (10, 10, 60, 70),
        "unmasked_since": now - timedelta(seconds=75),
    }
    transition = AlertTransition(**(fields | overrides))
    with database.begin() as connection:
        record_transition(connection, transition)
    return transition


def resolved(opened: AlertTransition) -> AlertTransition:
    return opened.model_copy(
        update={"transition": Transition.RESOLVED, "why": "masked", "at": opened.at + timedelta(seconds=30)}
    )


def planned_delivery(database: sa.Engine, opened: AlertTransition) -> str:
    """The one delivery an opened alert owes the site's recipient, created as the notifier would."""
    from maskwatch.database.notifications import plan_deliveries, recipients_for

    with database.begin() as c:
        (delivery_id,) = plan_deliveries(
            c,
            alert_key=str(opened.alert_id),
            transition="opened",
            notification={
                "alert_id": str(opened.alert_id),
                "transition": "opened",
                "kind": "unmasked",
                "site_id": "default",
                "device_id": "hall-1",
                "at": opened.at.isoformat(),
            },
            recipients=recipients_for(c, "default", "unmasked"),
        )
    return str(delivery_id)


def notifier_service(
    database: sa.Engine, runner: DeliveryRunner, prefix: str
) -> tuple[WorkQueue, NotifierService]:
    """The notifier on an in-process alerts stream of its own, handing deliveries to `runner`."""
    queue = open_queue("memory://")
    settings = NotifierSettings(block_ms=20, dashboard_url="https://console.example")
    notifier = NotifierService(
        queue,
        database,
        runner,
        queue_settings=QueueSettings(prefix=prefix),
        consumer=settings,
        dashboard_url=settings.dashboard_url,
    )
    return queue, notifier
