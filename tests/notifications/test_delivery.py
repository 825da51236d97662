"""Deliveries: planned once per transition and recipient, sent once, retried, dead-lettered, revived.

Every test runs on SQLite and on PostgreSQL; those that drive a runner run with the in-process runner and
with rq jobs on the real Redis (tests/notifications/conftest.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from maskwatch.database.notifications import DEAD, SENT, list_deliveries, revive
from maskwatch.database.schema import deliveries, notification_recipients, sites
from maskwatch.streams import Streams, append
from services.notifier.channels.webhook import WebhookChannel
from services.notifier.delivery import Deliverer, Outcome
from services.notifier.settings import RetryPolicy
from tests.notifications.conftest import notifier_service, opened_alert, planned_delivery, resolved

pytestmark = pytest.mark.timeout(60)
FAST = RetryPolicy(intervals_s=[0.05, 0.05, 0.05])


async def test_each_transition_reaches_the_webhook_once_however_often_it_arrives(
    database, receiver, recipient, runs, unique_id
):
    runner = runs.runner(Deliverer(database, {"webhook": WebhookChannel()}, FAST))
    queue, notifier = notifier_service(database, runner, f"test-{unique_id}")
    streams = Streams(f"test-{unique_id}")
    opened = opened_alert(database)
    for message in (opened, opened, resolved(opened)):  # the opening delivered twice by the stream
        await append(queue, streams.alerts, message)
    await notifier.run(burst=True)
    await runs.idle()

    got = receiver.accepted()
    assert [g["body"]["data"]["transition"] for g in got] == ["opened", "resolved"]
    assert len({g["id"] for g in got}) == 2
    body = got[0]["body"]["data"]
    assert body["alert_id"] == str(opened.alert_id)
    assert body["link"].startswith("https://console.example/alerts/")
    with database.connect() as c:
        assert [r.status for r in c.execute(sa.select(deliveries)).all()] == [SENT, SENT]


async def test_a_receiver_that_fails_three_times_gets_exactly_one_accepted_delivery(
    database, receiver, recipient, runs, unique_id
):
    receiver.failures_left = 3
    runner = runs.runner(
        Deliverer(database, {"webhook": WebhookChannel()}, RetryPolicy(intervals_s=[0.05] * 5))
    )
    queue, notifier = notifier_service(database, runner, f"test-{unique_id}")
    await append(queue, Streams(f"test-{unique_id}").alerts, opened_alert(database))
    await notifier.run(burst=True)
    await runs.idle()
    assert receiver.attempts == 4
    assert len(receiver.accepted()) == 1
    with database.connect() as c:
        row = c.execute(sa.select(deliveries)).one()
    assert (row.status, row.attempts) == (SENT, 4)


async def test_a_receiver_that_always_fails_ends_dead_and_a_revived_delivery_goes_out(
    database, receiver, recipient, runs, unique_id
):
    receiver.failures_left = 100
    deliverer = Deliverer(database, {"webhook": WebhookChannel()}, FAST)
    runner = runs.runner(deliverer)
    queue, notifier = notifier_service(database, runner, f"test-{unique_id}")
    await append(queue, Streams(f"test-{unique_id}").alerts, opened_alert(database))
    await notifier.run(burst=True)
    await runs.idle()
    assert receiver.attempts == FAST.max_attempts
    with database.connect() as c:
        (dead,) = list_deliveries(c, DEAD)
    assert "500" in dead.last_error

    receiver.failures_left = 0  # the receiver is fixed; an admin retries
    with database.begin() as c:
        assert revive(c, [dead.delivery_id]) == [dead.delivery_id]
    restarted = runs.runner(deliverer)
    _, again = notifier_service(database, restarted, f"test-{unique_id}")
    await again.run(burst=True)  # a starting notifier submits what is pending
    await runs.idle()
    assert len(receiver.accepted()) == 1
    assert deliverer.deliver(dead.delivery_id).outcome is Outcome.ALREADY_SENT  # and never twice


async def test_an_address_that_is_gone_is_dead_at_once_and_disabled(
    database, receiver, recipient, runs, unique_id
):
    receiver.failures_left, receiver.status_when_failing = 1, 410
    runner = runs.runner(Deliverer(database, {"webhook": WebhookChannel()}, FAST))
    queue, notifier = notifier_service(database, runner, f"test-{unique_id}")
    await append(queue, Streams(f"test-{unique_id}").alerts, opened_alert(database))
    await notifier.run(burst=True)
    await runs.idle()
    assert receiver.attempts == 1
    with database.connect() as c:
        assert c.execute(sa.select(deliveries.c.status)).scalar_one() == DEAD
        assert c.execute(sa.select(notification_recipients.c.enabled)).scalar_one() is False


async def test_recipients_hear_only_of_their_site_and_kinds(database, receiver, recipient, runs, unique_id):
    runner = runs.runner(Deliverer(database, {"webhook": WebhookChannel()}, FAST))
    queue, notifier = notifier_service(database, runner, f"test-{unique_id}")
    streams = Streams(f"test-{unique_id}")
    with database.begin() as c:
        c.execute(
            sa.insert(sites).values(site_id="b", name="B", time_zone="UTC", created_at=datetime.now(UTC))
        )
    await append(queue, streams.alerts, opened_alert(database, site_id="b"))
    await notifier.run(burst=True)
    await runs.idle()
    await asyncio.sleep(0.1)
    assert receiver.attempts == 0


def test_attempts_at_the_same_time_send_once(database, receiver, recipient):
    from concurrent.futures import ThreadPoolExecutor

    receiver.delay_s = 0.3
    opened = opened_alert(database)
    delivery_id = planned_delivery(database, opened)
    deliverer = Deliverer(database, {"webhook": WebhookChannel()}, FAST)
    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(lambda _: deliverer.deliver(delivery_id).outcome, range(4)))
    assert outcomes.count(Outcome.SENT) == 1
    assert set(outcomes) <= {Outcome.SENT, Outcome.BUSY, Outcome.ALREADY_SENT}
    assert len(receiver.accepted()) == 1


def test_a_users_own_device_stops_hearing_when_the_user_loses_the_site(database):
    from maskwatch.database.notifications import add_recipient, recipients_for
    from maskwatch.database.schema import user_sites, users

    with database.begin() as c:
        user_id = c.execute(
            sa.insert(users)
            .values(
                email="ops@venue.test",
                role="operator",
                all_sites=False,
                disabled=False,
                created_at=datetime.now(UTC),
            )
            .returning(users.c.user_id)
        ).scalar_one()
        c.execute(sa.insert(user_sites).values(user_id=user_id, site_id="default"))
    add_recipient(
        database, site_id="default", channel="webpush", address="https://push.example/1",
        secrets={"registered_by": str(user_id)},
    )  # fmt: skip
    add_recipient(database, site_id="default", channel="email", address="desk@venue.test")

    def hearing() -> list[str]:
        with database.connect() as c:
            return sorted(r.channel for r in recipients_for(c, "default", "unmasked"))

    assert hearing() == ["email", "webpush"]
    with database.begin() as c:
        c.execute(sa.delete(user_sites).where(user_sites.c.user_id == user_id))
    assert hearing() == ["email"]
    with database.begin() as c:
        c.execute(sa.update(users).values(all_sites=True, disabled=True))
    assert hearing() == ["email"]  # a disabled user hears nothing either
    with database.begin() as c:
        c.execute(sa.update(users).values(disabled=False))
    assert hearing() == ["email", "webpush"]
