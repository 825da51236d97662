"""An alert reaches a webhook through the whole stack, once per transition: on the embedded stand-ins
(deliveries in-process) and on the real Mosquitto, Redis (deliveries as rq jobs) and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
import sqlalchemy as sa

from maskwatch.contracts import AlertKind, AlertTransition, Transition
from maskwatch.database.engine import create_engine
from maskwatch.database.notifications import add_recipient
from maskwatch.database.schema import alerts, notification_recipients
from maskwatch.streams import Streams, append

pytestmark = pytest.mark.timeout(120)


async def wait_for(predicate, timeout: float = 30.0) -> None:
    for _ in range(int(timeout / 0.2)):
        if predicate():
            await asyncio.sleep(1.0)  # and nothing more arrives
            return
        await asyncio.sleep(0.2)


async def test_an_alert_and_its_resolution_reach_the_webhook_once_each(stack, stack_settings, receiver):
    engine = create_engine(stack_settings.database.url)
    with engine.begin() as c:  # recipients of earlier tests on the shared database are not ours
        c.execute(sa.update(notification_recipients).values(enabled=False))
    add_recipient(
        engine,
        site_id="default",
        channel="webhook",
        address=receiver.url,
        secrets={"webhook_secret": receiver.secret},
    )
    now = datetime.now(UTC)
    opened = AlertTransition(
        alert_id=uuid4(),
        transition=Transition.OPENED,
        at=now,
        kind=AlertKind.UNMASKED,
        site_id="default",
        device_id="hall-9",
        track=1,
        unmasked_since=now - timedelta(seconds=70),
    )
    closed = opened.model_copy(update={"transition": Transition.RESOLVED, "why": "masked"})
    streams = Streams(stack_settings.queue.prefix)
    for message in (opened, opened, closed):  # the opening twice: a redelivery
        await append(stack.queue, streams.alerts, message)

    await wait_for(lambda: len(receiver.accepted()) >= 2)
    got = [g["body"]["data"]["transition"] for g in receiver.accepted()]
    assert sorted(got) == ["opened", "resolved"]
    with engine.connect() as c:  # the database writer read the same stream
        row = c.execute(sa.select(alerts).where(alerts.c.alert_key == str(opened.alert_id))).one()
    engine.dispose()
    assert row.resolution == "masked"
