"""Deliveries as rq jobs on the real Redis: a failing receiver is retried by the worker's scheduler.

Runner-specific by design: it drives `RqRunner`, `deliver_job` and `work_until` by hand, with no harness
between them (the `runs` fixture runs the rest of the suite on this runner too)."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from maskwatch.database.notifications import SENT
from maskwatch.database.schema import deliveries
from services.notifier import runners
from services.notifier.channels.webhook import WebhookChannel
from services.notifier.delivery import Deliverer
from services.notifier.runners import RqRunner, use_deliverer, work_until
from services.notifier.settings import RetryPolicy
from tests.notifications.conftest import opened_alert, planned_delivery

pytestmark = pytest.mark.timeout(90)


def test_an_rq_worker_retries_until_the_receiver_accepts(database, receiver, recipient, redis_url, unique_id):
    prefix = f"test-{unique_id}"
    receiver.failures_left = 2
    use_deliverer(Deliverer(database, {"webhook": WebhookChannel()}, RetryPolicy(intervals_s=[1, 1, 1])))
    opened = opened_alert(database)
    delivery_id = planned_delivery(database, opened)
    RqRunner(redis_url, prefix).submit(delivery_id)
    stop = threading.Event()
    worker = threading.Thread(target=work_until, args=(stop, redis_url, prefix, 0.2), daemon=True)
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while not receiver.accepted() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop.set()
        worker.join(10)
        use_deliverer(None)  # type: ignore[arg-type]
    assert receiver.attempts == 3
    assert len(receiver.accepted()) == 1
    with database.connect() as c:
        assert c.execute(sa.select(deliveries.c.status)).scalar_one() == SENT
    assert runners._deliverer is None
