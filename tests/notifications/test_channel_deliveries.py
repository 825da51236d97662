"""Real channels behind the deliverer, against loopback stand-ins for their services.

E-mail: an alert's stored snapshot goes from the alert, through the notifier's plan and the deliverer's
notification, to a JPEG attached to the message an SMTP server (aiosmtpd) receives. FCM and Web Push: a
device token or subscription the service says is gone is dropped at once (the delivery dead, the recipient
disabled, nothing retried), while a busy service is retried after the wait it asked for.

The push tests are deliverer-level (one `deliver` call per attempt, no runner); the e-mail test drives the
running notifier, on both runners. Everything runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from uuid import uuid4

import cv2
import httpx
import numpy as np
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives.asymmetric import rsa
from prometheus_client import REGISTRY

from maskwatch.database.notifications import DEAD, PENDING, SENT, add_recipient, recipients_for
from maskwatch.database.schema import deliveries, notification_recipients
from maskwatch.snapshots import SnapshotSettings, SnapshotStore
from maskwatch.streams import Streams, append
from services.notifier.channels.email import EmailChannel, EmailSettings
from services.notifier.channels.fcm import FcmChannel
from services.notifier.channels.webpush import WebPushChannel, WebPushSettings, generate_vapid_keys
from services.notifier.delivery import Deliverer, Outcome
from services.notifier.settings import RetryPolicy
from tests.notifications.conftest import notifier_service, opened_alert, planned_delivery, resolved
from tests.notifier.receiver import Receiver, Reply
from tests.notifier.test_fcm import Google, fake_google, fcm_channel, fcm_code, fcm_error
from tests.notifier.test_webpush import SUBJECT, Browser
from tests.ports import free_port
from tests.smtp_mailbox import Mailbox

pytestmark = pytest.mark.timeout(60)
POLICY = RetryPolicy(intervals_s=[0.05, 0.05, 0.05])


def failed_total(channel: str) -> float:
    return REGISTRY.get_sample_value("maskwatch_notifications_failed_total", {"channel": channel}) or 0.0


def recipient_row(database: sa.Engine, recipient_id: int) -> sa.Row:
    with database.connect() as c:
        return c.execute(
            sa.select(notification_recipients).where(notification_recipients.c.recipient_id == recipient_id)
        ).one()


def delivery_row(database: sa.Engine, delivery_id: str) -> sa.Row:
    with database.connect() as c:
        return c.execute(sa.select(deliveries).where(deliveries.c.delivery_id == delivery_id)).one()


def still_hearing(database: sa.Engine) -> list[int]:
    """Who a new unmasked alert at the default site would be planned for."""
    with database.connect() as c:
        return [r.recipient_id for r in recipients_for(c, "default", "unmasked")]


@pytest.fixture
def push_service() -> Iterator[Receiver]:
    """A loopback HTTP server playing FCM (and Google's token endpoint) or a Web Push service."""
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """Ignores proxy settings from the environment: the services are on loopback."""
    with httpx.Client(trust_env=False, timeout=5) as client:
        yield client


# --- FCM ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def google(push_service, signing_key) -> Google:
    return fake_google(push_service, signing_key)


@pytest.fixture
def fcm(push_service, google, signing_key, http) -> FcmChannel:
    return fcm_channel(push_service, google, signing_key, http)


@pytest.mark.parametrize(
    "reply",
    [
        fcm_error(404, "NOT_FOUND", "Requested entity was not found.", [fcm_code("UNREGISTERED")]),
        fcm_error(
            400,
            "INVALID_ARGUMENT",
            "The registration token is not a valid FCM registration token",
            [fcm_code("INVALID_ARGUMENT")],
        ),
    ],
    ids=["unregistered", "invalid-token"],
)
def test_a_phone_fcm_no_longer_knows_is_dead_at_once_and_stops_hearing(database, google, fcm, reply):
    phone = add_recipient(database, site_id="default", channel="fcm", address=f"token-{uuid4().hex}")
    deliverer = Deliverer(database, {"fcm": fcm}, POLICY)
    delivery_id = planned_delivery(database, opened_alert(database))
    google.fcm_replies = [reply]
    before = failed_total("fcm")

    assert deliverer.deliver(delivery_id).outcome is Outcome.DEAD
    assert deliverer.deliver(delivery_id).outcome is Outcome.DEAD  # a repeated job sends nothing more

    assert len(google.sends) == 1
    row = delivery_row(database, delivery_id)
    assert (row.status, row.attempts) == (DEAD, 1)
    assert row.last_error.startswith("unregistered")
    assert recipient_row(database, phone).enabled is False
    assert still_hearing(database) == []  # the next alert plans nothing for the dropped token
    assert failed_total("fcm") == before + 1


def test_a_busy_fcm_is_retried_after_its_retry_after_and_the_phone_is_kept(database, google, fcm):
    phone = add_recipient(database, site_id="default", channel="fcm", address=f"token-{uuid4().hex}")
    deliverer = Deliverer(database, {"fcm": fcm}, POLICY)
    delivery_id = planned_delivery(database, opened_alert(database))
    google.fcm_replies = [fcm_error(503, "UNAVAILABLE", "The service is currently unavailable.")]
    google.fcm_replies[0].headers["Retry-After"] = "30"
    before = failed_total("fcm")

    attempt = deliverer.deliver(delivery_id)
    assert (attempt.outcome, attempt.retry_in_s) == (Outcome.RETRY, 30.0)
    assert (delivery_row(database, delivery_id).status, recipient_row(database, phone).enabled) == (
        PENDING,
        True,
    )
    assert deliverer.deliver(delivery_id).outcome is Outcome.SENT  # the next try, once it is due
    assert len(google.sends) == 2
    sent = json.loads(google.sends[1].body)["message"]
    assert sent["token"] == recipient_row(database, phone).address
    assert failed_total("fcm") == before


# --- Web Push ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vapid_private_key() -> str:
    return generate_vapid_keys()[0]


@pytest.fixture
def webpush(vapid_private_key, http) -> WebPushChannel:
    settings = WebPushSettings(vapid_private_key=vapid_private_key, subject=SUBJECT, ttl_s=600, timeout_s=2)
    return WebPushChannel(settings, client=http)


def subscribe(database: sa.Engine, browser: Browser, endpoint: str) -> int:
    """The browser's subscription, stored as the API stores one: the endpoint and its keys."""
    return add_recipient(
        database,
        site_id="default",
        channel="webpush",
        address=endpoint,
        secrets=browser.subscription(endpoint).secrets,
    )


@pytest.mark.parametrize("status", [404, 410])
def test_a_browser_subscription_the_push_service_calls_gone_is_dropped(
    database, push_service, webpush, status
):
    """The first alert reaches the browser; then the user unsubscribes (or the subscription expires) and
    the next alert's push is answered 404/410: dead at once, and the subscription hears no more."""
    browser = Browser()
    subscription = subscribe(database, browser, f"{push_service.url}/push/{uuid4().hex}")
    deliverer = Deliverer(database, {"webpush": webpush}, POLICY)
    first = opened_alert(database)
    push_service.answer = lambda _request: Reply(201)
    assert deliverer.deliver(planned_delivery(database, first)).outcome is Outcome.SENT
    assert browser.decrypt(push_service.requests[0].body)["alert_id"] == str(first.alert_id)

    push_service.answer = lambda _request: Reply(status, b"subscription gone")
    gone = planned_delivery(database, opened_alert(database, device_id="hall-2"))
    before = failed_total("webpush")
    assert deliverer.deliver(gone).outcome is Outcome.DEAD
    assert deliverer.deliver(gone).outcome is Outcome.DEAD

    assert len(push_service.requests) == 2
    row = delivery_row(database, gone)
    assert (row.status, row.attempts) == (DEAD, 1)
    assert f"push service answered {status}" in row.last_error
    assert recipient_row(database, subscription).enabled is False
    assert still_hearing(database) == []
    assert failed_total("webpush") == before + 1


def test_a_push_service_asking_to_slow_down_is_retried_after_its_wait(database, push_service, webpush):
    subscription = subscribe(database, Browser(), f"{push_service.url}/push/{uuid4().hex}")
    deliverer = Deliverer(database, {"webpush": webpush}, POLICY)
    delivery_id = planned_delivery(database, opened_alert(database))
    push_service.answer = lambda _request: Reply(429, b"slow down", {"Retry-After": "60"})
    before = failed_total("webpush")

    attempt = deliverer.deliver(delivery_id)

    assert (attempt.outcome, attempt.retry_in_s) == (Outcome.RETRY, 60.0)
    assert delivery_row(database, delivery_id).status == PENDING
    assert recipient_row(database, subscription).enabled is True
    assert failed_total("webpush") == before


# --- E-mail ------------------------------------------------------------------------------------------


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    """A plain SMTP server on loopback and what it received."""
    box = Mailbox()
    relay = Controller(box, hostname="127.0.0.1", port=free_port())
    relay.start()
    yield box, relay.port
    relay.stop()


def snapshot_jpeg() -> bytes:
    """A real JPEG, as the monitoring service stores one (its content does not matter here)."""
    image = np.zeros((120, 160, 3), np.uint8)
    cv2.rectangle(image, (40, 20), (120, 100), (60, 140, 220), -1)
    ok, encoded = cv2.imencode(".jpg", image)
    assert ok
    return encoded.tobytes()


async def test_an_alerts_stored_snapshot_is_attached_to_its_email(
    database, mailbox, runs, tmp_path, unique_id
):
    """The opening names the snapshot (as the monitoring service sends it); the resolution does not, and
    takes the one stored with the alert. Each message arrives once, with the stored JPEG attached."""
    box, port = mailbox
    store = SnapshotStore(SnapshotSettings(directory=tmp_path / "snapshots"))
    alert_id = uuid4()
    jpeg = snapshot_jpeg()
    name = store.save(str(alert_id), "snapshot", jpeg)
    opened = opened_alert(database, alert_id=alert_id, device_id="hall-5", snapshot=name)
    add_recipient(database, site_id="default", channel="email", address="desk@venue.test")
    email = EmailChannel(
        EmailSettings(host="127.0.0.1", port=port, security="none", from_address="alerts@venue.test")
    )
    runner = runs.runner(Deliverer(database, {"email": email}, POLICY, store))
    prefix = f"test-{unique_id}"
    queue, notifier = notifier_service(database, runner, prefix)
    for message in (opened, opened, resolved(opened)):
        await append(queue, Streams(prefix).alerts, message)
    await notifier.run(burst=True)
    await runs.idle()

    messages = [message_from_bytes(raw, policy=policy.default) for raw in box.messages]
    assert len(messages) == 2
    for message in messages:
        assert isinstance(message, EmailMessage)
        assert message["To"] == "desk@venue.test"
        (attachment,) = list(message.iter_attachments())
        assert attachment.get_content_type() == "image/jpeg"
        assert attachment.get_filename() == "snapshot-hall-5.jpg"
        assert attachment.get_content() == jpeg
    assert messages[0]["Subject"].startswith("Person unmasked")
    assert messages[1]["Subject"].startswith("Resolved")
    with database.connect() as c:
        rows = c.execute(sa.select(deliveries).order_by(deliveries.c.created_at)).all()
    assert [(r.transition, r.status) for r in rows] == [("opened", SENT), ("resolved", SENT)]
    assert {r.notification["snapshot"] for r in rows} == {name}  # the name is stored, never the image
