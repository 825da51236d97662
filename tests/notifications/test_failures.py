"""Failed attempts through the deliverer: when it tries again, and what `maskwatch_notifications_failed_total`
counts (a delivery given up on, once, under its own channel; never a failure that is still retried).

Deliverer-level (no runner): each attempt is one `deliver` call, so the test decides when the next try
happens and only reads what wait the deliverer asked for. On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from maskwatch.database.notifications import DEAD, PENDING, add_recipient
from maskwatch.database.schema import deliveries, notification_recipients
from services.notifier.channels.webhook import WebhookChannel, new_webhook_secret
from services.notifier.delivery import Deliverer, Outcome
from services.notifier.settings import RetryPolicy
from tests.notifications.conftest import opened_alert, planned_delivery
from tests.notifier.receiver import Receiver, Reply

pytestmark = pytest.mark.timeout(60)
POLICY = RetryPolicy(intervals_s=[0.05, 0.1, 0.2])


def failed_total(channel: str) -> float:
    """The counter's value for one channel, read from the registry the metrics endpoint serves."""
    value = REGISTRY.get_sample_value("maskwatch_notifications_failed_total", {"channel": channel})
    return value or 0.0


def test_only_the_last_try_counts_as_failed_and_only_once_under_its_channel(database, receiver, recipient):
    receiver.failures_left = 100
    deliverer = Deliverer(database, {"webhook": WebhookChannel()}, POLICY)
    delivery_id = planned_delivery(database, opened_alert(database))
    before = {channel: failed_total(channel) for channel in ("webhook", "email", "fcm", "webpush")}

    retried = [deliverer.deliver(delivery_id) for _ in range(POLICY.max_attempts - 1)]
    assert [(a.outcome, a.retry_in_s) for a in retried] == [
        (Outcome.RETRY, 0.05),
        (Outcome.RETRY, 0.1),
        (Outcome.RETRY, 0.2),
    ]
    assert failed_total("webhook") == before["webhook"]  # still being retried: not a failure yet

    assert deliverer.deliver(delivery_id).outcome is Outcome.DEAD
    assert failed_total("webhook") == before["webhook"] + 1
    assert deliverer.deliver(delivery_id).outcome is Outcome.DEAD  # a repeated job: counted once
    assert failed_total("webhook") == before["webhook"] + 1
    assert {c: failed_total(c) for c in ("email", "fcm", "webpush")} == {
        c: before[c] for c in ("email", "fcm", "webpush")
    }
    assert receiver.attempts == POLICY.max_attempts
    with database.connect() as c:
        row = c.execute(sa.select(deliveries)).one()
        assert c.execute(sa.select(notification_recipients.c.enabled)).scalar_one() is True
    assert (row.status, row.attempts) == (DEAD, POLICY.max_attempts)
    assert "500" in row.last_error


def test_a_permanent_failure_counts_at_once(database, receiver, recipient):
    receiver.failures_left, receiver.status_when_failing = 1, 410
    deliverer = Deliverer(database, {"webhook": WebhookChannel()}, POLICY)
    delivery_id = planned_delivery(database, opened_alert(database))
    before = failed_total("webhook")
    assert deliverer.deliver(delivery_id).outcome is Outcome.DEAD
    assert failed_total("webhook") == before + 1


def test_a_channel_nobody_configured_is_retried_then_counted_under_its_name(database):
    """A recipient on a channel the notifier's settings lack (sns here) is not dropped: the operator may
    be about to configure it; it dies after its tries like any other failure, counted as sns."""
    add_recipient(database, site_id="default", channel="sns", address="+821012345678")
    deliverer = Deliverer(database, {"webhook": WebhookChannel()}, POLICY)
    delivery_id = planned_delivery(database, opened_alert(database))
    before = failed_total("sns")
    outcomes = [deliverer.deliver(delivery_id).outcome for _ in range(POLICY.max_attempts)]
    assert outcomes == [Outcome.RETRY] * (POLICY.max_attempts - 1) + [Outcome.DEAD]
    assert failed_total("sns") == before + 1
    with database.connect() as c:
        assert "not configured" in c.execute(sa.select(deliveries.c.last_error)).scalar_one()
        assert c.execute(sa.select(notification_recipients.c.enabled)).scalar_one() is True


@pytest.fixture
def busy_receiver():
    """A webhook receiver that answers 503, with whatever Retry-After the test sets."""
    server = Receiver().start()
    yield server
    server.stop()


@pytest.mark.parametrize(
    ("retry_after", "wait_s"),
    [
        ("42", 42.0),  # longer than the schedule's 0.05 s: the receiver's wish wins
        ("0", 0.05),  # shorter: the schedule's own wait
        (None, 0.05),
    ],
)
def test_the_next_try_waits_for_the_receivers_retry_after_when_it_is_longer(
    database, busy_receiver, retry_after, wait_s
):
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    busy_receiver.answer = lambda _request: Reply(503, b"busy", headers)
    add_recipient(
        database,
        site_id="default",
        channel="webhook",
        address=f"{busy_receiver.url}/hook",
        secrets={"webhook_secret": new_webhook_secret()},
    )
    deliverer = Deliverer(database, {"webhook": WebhookChannel()}, POLICY)
    delivery_id = planned_delivery(database, opened_alert(database))
    before = failed_total("webhook")

    attempt = deliverer.deliver(delivery_id)

    assert (attempt.outcome, attempt.retry_in_s) == (Outcome.RETRY, wait_s)
    assert failed_total("webhook") == before
    with database.connect() as c:
        row = c.execute(sa.select(deliveries)).one()
    assert (row.status, row.attempts) == (PENDING, 1)
    assert row.last_error.startswith("webhook answered 503")
