"""Quiet hours, rate limits and severities: held messages arrive once each, in one digest.

The deliverer runs on a clock the test steps, against the real webhook receiver
(signatures verified) and the rate windows in memory and in the real Redis, on SQLite and on
PostgreSQL; the burst through the running notifier runs on both runners.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from maskwatch.database.notifications import SENT, add_recipient, plan_deliveries, recipients_for
from maskwatch.database.schema import deliveries
from maskwatch.notification_rules import QuietHours, RateLimit, Severity
from maskwatch.queue import QueueSettings, open_queue
from maskwatch.streams import Streams, append
from services.notifier.channels.webhook import WebhookChannel
from services.notifier.delivery import LONGEST_HOLD_S, Deliverer, Outcome
from services.notifier.rate_limits import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from services.notifier.service import NotifierService
from services.notifier.settings import NotifierSettings, RateLimits, RetryPolicy
from tests.notifications.conftest import opened_alert, resolved

pytestmark = pytest.mark.timeout(60)
FAST = RetryPolicy(intervals_s=[0.05, 0.05, 0.05])


class SteppedClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def step(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(params=["memory", "redis"])
def limiter(request, redis_url, unique_id) -> Iterator[RateLimiter]:
    if request.param == "memory":
        yield MemoryRateLimiter()
        return
    shared = RedisRateLimiter(redis_url, f"test-{unique_id}")
    yield shared
    shared.close()


def webhook_recipient(database, receiver, **rules: Any) -> int:
    return add_recipient(
        database,
        site_id="default",
        channel="webhook",
        address=receiver.url,
        secrets={"webhook_secret": receiver.secret},
        **rules,
    )


def plan(database, transition) -> str:
    """The delivery a transition owes the site's one recipient, as the notifier plans it."""
    with database.begin() as c:
        (delivery_id,) = plan_deliveries(
            c,
            alert_key=str(transition.alert_id),
            transition=transition.transition.value,
            notification={
                "alert_id": str(transition.alert_id),
                "transition": transition.transition.value,
                "kind": transition.kind.value,
                "site_id": "default",
                "device_id": transition.device_id,
                "at": transition.at.isoformat(),
                "unmasked_since": transition.unmasked_since.isoformat()
                if transition.unmasked_since
                else None,
                "why": transition.why,
                "link": "https://console.example/alerts/7",
            },
            recipients=recipients_for(c, "default", transition.kind.value),
        )
    return str(delivery_id)


def transitions_received(receiver) -> list[tuple[str, str]]:
    """Every (alert, transition) the receiver got, whether alone or inside a digest."""
    got = []
    for message in receiver.accepted():
        body = message["body"]
        items = body["data"]["items"] if body["type"] == "alert.digest" else [body["data"]]
        got += [(item["alert_id"], item["transition"]) for item in items]
    return got


def test_past_the_rate_limit_messages_are_held_and_go_out_as_one_digest(database, receiver, limiter):
    webhook_recipient(database, receiver, rate_limit=RateLimit(count=2, per_s=60))
    clock = SteppedClock(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    deliverer = Deliverer(database, {"webhook": WebhookChannel()}, FAST, limiter=limiter, clock=clock)
    alerts = [opened_alert(database, device_id=f"hall-{i}") for i in range(6)]
    ids = [plan(database, alert) for alert in alerts]

    outcomes = [deliverer.deliver(i) for i in ids]
    assert [o.outcome for o in outcomes] == [Outcome.SENT] * 2 + [Outcome.HELD] * 4
    assert {o.retry_in_s for o in outcomes[2:]} == {60}  # when the first slot frees
    assert len(receiver.accepted()) == 2

    clock.step(60)
    assert deliverer.deliver(ids[3]).outcome is Outcome.SENT  # whichever held one runs first carries all
    assert [deliverer.deliver(i).outcome for i in ids] == [Outcome.ALREADY_SENT] * 6

    messages = receiver.accepted()
    assert len(messages) == 3
    digest = messages[2]["body"]
    assert digest["type"] == "alert.digest"
    assert digest["data"]["count"] == 4
    assert [item["device_id"] for item in digest["data"]["items"]] == ["hall-2", "hall-3", "hall-4", "hall-5"]
    assert digest["data"]["title"] == "4 alert updates at default"
    assert "hall-2" in digest["data"]["body"]
    assert digest["data"]["body"].endswith("All alerts: https://console.example/alerts")
    assert sorted(transitions_received(receiver)) == sorted((str(a.alert_id), "opened") for a in alerts)
    with database.connect() as c:
        rows = c.execute(sa.select(deliveries)).all()
    assert {r.status for r in rows} == {SENT}
    assert {r.answer.get("digest") for r in rows if r.held_since is not None} == {messages[2]["id"]}


def test_quiet_hours_hold_everything_until_they_end_then_one_digest_in_order(database, receiver, limiter):
    webhook_recipient(
        database,
        receiver,
        language="ko",
        time_zone="Asia/Seoul",
        quiet_hours=QuietHours(start="22:00", end="07:00"),
    )
    clock = SteppedClock(datetime(2026, 12, 2, 14, 30, tzinfo=UTC))  # 23:30 in Seoul
    deliverer = Deliverer(database, {"webhook": WebhookChannel()}, FAST, limiter=limiter, clock=clock)
    opened = opened_alert(database)
    opening, resolution = plan(database, opened), plan(database, resolved(opened))

    held = deliverer.deliver(resolution)
    assert held.outcome is Outcome.HELD
    assert held.retry_in_s == LONGEST_HOLD_S  # 7.5 hours away: it looks again every so often
    assert deliverer.deliver(opening).outcome is Outcome.HELD
    clock.step(6 * 3600)  # 05:30: still quiet, and exactly when it ends is known
    assert deliverer.deliver(opening).retry_in_s == LONGEST_HOLD_S
    clock.step(5400)  # 07:00
    assert receiver.accepted() == []

    assert deliverer.deliver(resolution).outcome is Outcome.SENT
    assert deliverer.deliver(opening).outcome is Outcome.ALREADY_SENT
    (message,) = receiver.accepted()
    data = message["body"]["data"]
    assert [item["transition"] for item in data["items"]] == ["opened", "resolved"]  # never out of order
    assert data["title"] == "default: 알림 2건"
    assert "오래된 순" in data["body"]


def test_quiet_hours_that_end_while_held_need_no_rate_slot_for_each(database, receiver, limiter):
    """Many alerts in the night are one message in the morning, even under a tight rate limit."""
    webhook_recipient(
        database,
        receiver,
        quiet_hours=QuietHours(start="00:00", end="06:00"),
        rate_limit=RateLimit(count=1, per_s=3600),
    )
    clock = SteppedClock(datetime(2026, 12, 2, 1, 0, tzinfo=UTC))
    deliverer = Deliverer(database, {"webhook": WebhookChannel()}, FAST, limiter=limiter, clock=clock)
    ids = [plan(database, opened_alert(database)) for _ in range(10)]
    assert {deliverer.deliver(i).outcome for i in ids} == {Outcome.HELD}
    clock.step(5 * 3600)
    assert [deliverer.deliver(i).outcome for i in ids] == [Outcome.SENT] + [Outcome.ALREADY_SENT] * 9
    (message,) = receiver.accepted()
    assert message["body"]["data"]["count"] == 10


def test_a_digest_that_fails_is_retried_with_everything_it_carries(database, receiver, limiter):
    webhook_recipient(database, receiver, rate_limit=RateLimit(count=1, per_s=60))
    clock = SteppedClock(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    deliverer = Deliverer(database, {"webhook": WebhookChannel()}, FAST, limiter=limiter, clock=clock)
    ids = [plan(database, opened_alert(database)) for _ in range(3)]
    assert [deliverer.deliver(i).outcome for i in ids] == [Outcome.SENT, Outcome.HELD, Outcome.HELD]
    clock.step(60)
    receiver.failures_left = 1
    assert deliverer.deliver(ids[1]).outcome is Outcome.RETRY
    clock.step(60)
    assert deliverer.deliver(ids[2]).outcome is Outcome.SENT  # the other held one now carries both
    assert deliverer.deliver(ids[1]).outcome is Outcome.ALREADY_SENT
    assert len(receiver.accepted()) == 2
    assert receiver.accepted()[1]["body"]["data"]["count"] == 2


def test_the_channel_limit_counts_every_recipient_together(database, receiver, limiter):
    for n in range(3):
        add_recipient(
            database,
            site_id="default",
            channel="webhook",
            address=f"{receiver.url}?n={n}",
            secrets={"webhook_secret": receiver.secret},
        )
    clock = SteppedClock(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    limits = RateLimits(per_recipient={}, per_channel={"webhook": RateLimit(count=2, per_s=60)})
    deliverer = Deliverer(
        database, {"webhook": WebhookChannel()}, FAST, rate_limits=limits, limiter=limiter, clock=clock
    )
    opened = opened_alert(database)
    with database.begin() as c:
        ids = plan_deliveries(
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
    assert sorted(deliverer.deliver(i).outcome.value for i in ids) == ["held", "sent", "sent"]


def test_recipients_hear_only_alerts_as_severe_as_they_asked(database, receiver):
    night_guard = webhook_recipient(database, receiver, min_severity=Severity.CRITICAL)
    with database.connect() as c:
        assert recipients_for(c, "default", "unmasked") == []
        assert [r.recipient_id for r in recipients_for(c, "default", "device_offline")] == [night_guard]


async def test_a_burst_through_the_running_notifier_is_delivered_once_each_in_fewer_messages(
    database, receiver, runs, unique_id
):
    """The held deliveries come back on the runner's own schedule, on the real clock (in this process,
    or as rq jobs the worker's scheduler releases)."""
    webhook_recipient(database, receiver, rate_limit=RateLimit(count=2, per_s=1))
    runner = runs.runner(Deliverer(database, {"webhook": WebhookChannel()}, FAST))
    queue = open_queue("memory://")
    settings = NotifierSettings(block_ms=20)
    notifier = NotifierService(
        queue,
        database,
        runner,
        queue_settings=QueueSettings(prefix=f"test-{unique_id}"),
        consumer=settings,
        dashboard_url=settings.dashboard_url,
    )
    alerts = [opened_alert(database, device_id=f"hall-{i}") for i in range(12)]
    for alert in alerts:
        await append(queue, Streams(f"test-{unique_id}").alerts, alert)
    await notifier.run(burst=True)
    await runs.idle()

    assert sorted(transitions_received(receiver)) == sorted((str(a.alert_id), "opened") for a in alerts)
    messages = receiver.accepted()
    assert len(messages) < len(alerts)
    assert any(m["body"]["type"] == "alert.digest" for m in messages)
