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


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's handler API
        self.messages.append(envelope.content)
        return "250 2.0.0 queued"


async def test_an_alert_reaches_an_smtp_relay_once_with_its_resolution(stack_settings, unique_id, tmp_path):
    """The e-mail channel configured as an operator would (notifier.channels.email), through the stack."""
    from email import message_from_bytes

    from aiosmtpd.controller import Controller

    from stack.in_process import Stack
    from tests.private_broker import free_port

    mailbox = Mailbox()
    relay = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    relay.start()
    email = {"host": "127.0.0.1", "port": relay.port, "security": "none", "from_address": "alerts@venue.test"}
    notifier = stack_settings.notifier.model_copy(update={"channels": {"email": email}})
    settings = stack_settings.model_copy(update={"notifier": notifier})
    stack = Stack(settings, ("stats", "notifier", "notifier-worker"))
    await stack.start(timeout=120)
    try:
        engine = create_engine(settings.database.url)
        with engine.begin() as c:
            c.execute(sa.update(notification_recipients).values(enabled=False))
        add_recipient(engine, site_id="default", channel="email", address=f"ops-{unique_id[:8]}@venue.test")
        engine.dispose()
        now = datetime.now(UTC)
        opened = AlertTransition(
            alert_id=uuid4(),
            transition=Transition.OPENED,
            at=now,
            kind=AlertKind.UNMASKED,
            site_id="default",
            device_id="hall-7",
            unmasked_since=now - timedelta(seconds=90),
        )
        closed = opened.model_copy(update={"transition": Transition.RESOLVED, "why": "left"})
        streams = Streams(settings.queue.prefix)
        for message in (opened, closed, opened):
            await append(stack.queue, streams.alerts, message)
        await wait_for(lambda: len(mailbox.messages) >= 2)
    finally:
        await stack.close()
        relay.stop()
    subjects = [message_from_bytes(m)["Subject"] for m in mailbox.messages]
    assert len(subjects) == 2
    assert subjects[0].startswith("Person unmasked for 1 min")
    assert subjects[1].startswith("Resolved: person left")
