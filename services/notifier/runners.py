"""Who runs delivery attempts: rq workers on Redis, or, on the embedded defaults, this process.

Both follow the same rule, taken from `Deliverer`: try; on a retryable failure
wait the policy's delay (or the receiver's Retry-After, if longer) and try
again; stop at sent or dead. rq schedules the next try with `enqueue_in`, which
its worker's scheduler releases on time, rather than `rq.Retry`, whose fixed
intervals cannot honour a Retry-After the receiver sent.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import timedelta
from typing import Protocol

from redis import Redis
from rq import Queue, SimpleWorker
from rq.timeouts import TimerDeathPenalty

from maskwatch.streams import delivery_job_queue
from services.notifier.delivery import Deliverer

log = logging.getLogger(__name__)


class DeliveryRunner(Protocol):
    def submit(self, delivery_id: str) -> None:
        """Have the delivery attempted (now, and again until it is sent or dead)."""
        ...


class InProcessRunner:
    """Attempts in this process's event loop: the embedded setup's stand-in for rq."""

    def __init__(self, deliverer: Deliverer) -> None:
        self._deliverer = deliverer
        self._tasks: set[asyncio.Task[None]] = set()
        self._stop = asyncio.Event()

    def submit(self, delivery_id: str) -> None:
        task = asyncio.get_running_loop().create_task(self._attempts(delivery_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _attempts(self, delivery_id: str) -> None:
        while not self._stop.is_set():
            attempt = await asyncio.to_thread(self._deliverer.deliver, delivery_id)
            if not attempt.again:
                return
            try:
                await asyncio.wait_for(self._stop.wait(), attempt.retry_in_s)
            except TimeoutError:
                pass

    async def idle(self) -> None:
        """Wait until every submitted delivery is sent or dead (for tests and the demo)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        self._stop.set()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)


class RqRunner:
    """Enqueues one rq job per attempt; `deliver_job` runs it in an rq worker."""

    def __init__(self, redis_url: str, prefix: str) -> None:
        self.queue = Queue(delivery_job_queue(prefix), connection=Redis.from_url(redis_url))

    def submit(self, delivery_id: str) -> None:
        self.queue.enqueue(deliver_job, delivery_id, job_id=f"delivery-{delivery_id}", result_ttl=3600)


_deliverer: Deliverer | None = None


def use_deliverer(deliverer: Deliverer) -> None:
    """Set the deliverer the worker's jobs use (once, where the worker is composed)."""
    global _deliverer
    _deliverer = deliverer


def deliver_job(delivery_id: str) -> str:
    """The rq job: one attempt; a retryable failure schedules the next attempt after its delay."""
    if _deliverer is None:
        raise RuntimeError("no deliverer: start deliveries with `maskwatch run notifier-worker`")
    attempt = _deliverer.deliver(delivery_id)
    if attempt.again:
        from rq import get_current_job

        job = get_current_job()
        if job is not None and job.origin:
            queue = Queue(job.origin, connection=job.connection)
            queue.enqueue_in(timedelta(seconds=attempt.retry_in_s), deliver_job, delivery_id, result_ttl=3600)
    return attempt.outcome.value


class _ThreadedWorker(SimpleWorker):
    """An rq worker that runs jobs in its own thread of this process: it installs no signal handlers and
    times jobs out with a timer instead of SIGALRM (only a process's main thread may use signals); the
    service's own stop event ends it."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:
        return None

    def subscribe(self) -> None:
        """No command channel: each burst lives well under a second, the stop event ends the runner, and
        rq's listener thread (a Redis pub/sub reader that sleeps 60 s between reads) would make every
        burst's teardown wait for it, up to a minute with redis-py 8.2, whose thread stop waits."""
        return None


def work_until(stop: threading.Event, redis_url: str, prefix: str, poll_s: float = 0.5) -> None:
    """Run delivery jobs (and release scheduled ones) until `stop`: short burst runs, back to back."""
    connection = Redis.from_url(redis_url)
    queue = Queue(delivery_job_queue(prefix), connection=connection)
    while not stop.is_set():
        worker = _ThreadedWorker([queue], connection=connection)
        try:
            worker.work(burst=True, with_scheduler=True, logging_level="WARNING")
        except Exception:
            log.exception("notifier worker: a burst failed; trying again")
        stop.wait(poll_s)
