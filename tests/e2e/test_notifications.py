"""An alert reaches a webhook through the whole stack, once per transition: on the embedded stand-ins
(deliveries in-process) and on the real Mosquitto, Redis (deliveries as rq jobs) and PostgreSQL. Most tests
inject the alert on the alerts stream; one starts from a camera's frames, through the monitoring service."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import cv2
import numpy as np
import pytest
import sqlalchemy as sa

from maskwatch.contracts import AlertKind, AlertTransition, Transition
from maskwatch.database.engine import create_engine
from maskwatch.database.notifications import add_recipient
from maskwatch.database.schema import alerts, notification_recipients
from maskwatch.streams import Streams, append
from services.inference.model.interface import Face, FaceBox, FrameError, FrameResult

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


async def test_an_alert_reaches_an_smtp_relay_once_with_its_resolution(stack_settings, unique_id, tmp_path):
    """The e-mail channel configured as an operator would (notifier.channels.email), through the stack."""
    from email import message_from_bytes

    from aiosmtpd.controller import Controller

    from stack.in_process import Stack
    from tests.ports import free_port
    from tests.smtp_mailbox import Mailbox

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


async def test_a_dead_delivery_retried_by_an_admin_through_the_api_is_delivered_once(
    stack_settings, receiver, unique_id
):
    """Dead after its last try; the receiver is fixed; an admin signs in and retries it from the API,
    and the running notifier delivers it (rq workers on Redis, its own loop on the embedded defaults)."""
    import httpx

    from maskwatch.database.notifications import DEAD, SENT
    from maskwatch.database.schema import deliveries
    from services.api.accounts import create_account
    from services.api.security import Role
    from stack.in_process import Stack

    notifier = stack_settings.notifier.model_copy(update={"retry_intervals_s": [0.1, 0.1]})
    settings = stack_settings.model_copy(update={"notifier": notifier})
    stack = Stack(settings, ("stats", "notifier", "notifier-worker", "api"))
    await stack.start(timeout=120)
    engine = create_engine(settings.database.url)
    try:
        email, password = f"admin-{unique_id[:12]}@venue.test", "a long enough password"
        with engine.begin() as c:
            c.execute(sa.update(notification_recipients).values(enabled=False))
            create_account(c, email, password, Role.ADMIN, all_sites=True, site_ids=[])
        add_recipient(
            engine,
            site_id="default",
            channel="webhook",
            address=receiver.url,
            secrets={"webhook_secret": receiver.secret},
        )
        receiver.failures_left = 1_000
        now = datetime.now(UTC)
        opened = AlertTransition(
            alert_id=uuid4(),
            transition=Transition.OPENED,
            at=now,
            kind=AlertKind.UNMASKED,
            site_id="default",
            device_id="hall-3",
            unmasked_since=now - timedelta(seconds=80),
        )
        await append(stack.queue, Streams(settings.queue.prefix).alerts, opened)

        def status() -> str | None:
            with engine.connect() as c:
                return c.execute(
                    sa.select(deliveries.c.status).where(deliveries.c.alert_key == str(opened.alert_id))
                ).scalar()

        await wait_for(lambda: status() == DEAD)
        assert status() == DEAD
        assert receiver.attempts == 3
        assert receiver.accepted() == []
        with engine.connect() as c:
            delivery_id = c.execute(
                sa.select(deliveries.c.delivery_id).where(deliveries.c.alert_key == str(opened.alert_id))
            ).scalar_one()

        receiver.failures_left = 0  # the receiver is fixed
        api = f"http://127.0.0.1:{settings.api.port}"
        # As a browser on the API's page: changes made with the session cookie carry its Origin.
        async with httpx.AsyncClient(base_url=api, timeout=10, headers={"Origin": api}) as client:
            signed_in = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
            assert signed_in.status_code == 200, signed_in.text
            listed = (await client.get("/api/v1/deliveries?status=dead")).json()["_embedded"]["items"]
            assert delivery_id in [d["delivery_id"] for d in listed]
            retried = await client.post(f"/api/v1/deliveries/{delivery_id}/retry")
            assert retried.status_code == 202, retried.text
            assert retried.json()["queued"] is True
        await wait_for(lambda: len(receiver.accepted()) >= 1)
    finally:
        await stack.close()
    (got,) = receiver.accepted()
    assert got["id"] == delivery_id  # the same webhook-id as every earlier try
    assert got["body"]["data"]["alert_id"] == str(opened.alert_id)
    assert status() == SENT
    engine.dispose()


async def test_a_receiver_failing_three_times_gets_exactly_one_accepted_delivery(
    stack_settings, receiver, unique_id
):
    from stack.in_process import Stack

    notifier = stack_settings.notifier.model_copy(update={"retry_intervals_s": [0.1, 0.2, 0.3, 0.4, 0.5]})
    settings = stack_settings.model_copy(update={"notifier": notifier})
    stack = Stack(settings, ("stats", "notifier", "notifier-worker"))
    await stack.start(timeout=120)
    try:
        engine = create_engine(settings.database.url)
        with engine.begin() as c:
            c.execute(sa.update(notification_recipients).values(enabled=False))
        add_recipient(
            engine,
            site_id="default",
            channel="webhook",
            address=receiver.url,
            secrets={"webhook_secret": receiver.secret},
        )
        engine.dispose()
        receiver.failures_left = 3
        now = datetime.now(UTC)
        opened = AlertTransition(
            alert_id=uuid4(),
            transition=Transition.OPENED,
            at=now,
            kind=AlertKind.UNMASKED,
            site_id="default",
            device_id="hall-4",
            unmasked_since=now - timedelta(seconds=65),
        )
        await append(stack.queue, Streams(settings.queue.prefix).alerts, opened)
        await wait_for(lambda: len(receiver.accepted()) >= 1)
    finally:
        await stack.close()
    assert receiver.attempts == 4
    (got,) = receiver.accepted()
    assert got["body"]["data"]["alert_id"] == str(opened.alert_id)


async def test_a_gate_gone_offline_is_delivered_and_so_is_its_return(stack_settings, receiver, unique_id):
    """The gate drops off without a goodbye (its last will), is offline longer than allowed, and comes back:
    the device-health service raises the alert and resolves it, and both reach the webhook."""
    import sys

    from stack.in_process import Stack

    settings = stack_settings.model_copy(update={"device_offline_after_s": 0.5})
    stack = Stack(settings, ("stats", "device-health", "notifier", "notifier-worker"))
    await stack.start(timeout=120)
    door = f"door-{unique_id[:8]}"  # client ids are global on the broker
    password = settings.mqtt.password.get_secret_value() if settings.mqtt.password else None
    account = settings.mqtt.model_dump(mode="json") | {"password": password}  # in clear, for the child
    script = (
        "import asyncio, sys\n"
        "from devices.gate_agent.client import GateClient\n"
        "from maskwatch.mqtt import MqttSettings\n"
        f"mqtt = MqttSettings.model_validate({account!r})\n"
        "async def main():\n"
        f"    async with GateClient(mqtt, {door!r}):\n"
        "        print('online', flush=True)\n"
        "        await asyncio.sleep(float(sys.argv[1]))\n"
        "asyncio.run(main())\n"
    )
    try:
        engine = create_engine(settings.database.url)
        with engine.begin() as c:
            c.execute(sa.update(notification_recipients).values(enabled=False))
        add_recipient(
            engine,
            site_id="default",
            channel="webhook",
            address=receiver.url,
            secrets={"webhook_secret": receiver.secret},
            kinds=["device_offline"],
        )
        engine.dispose()
        gate = await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, "60", stdout=asyncio.subprocess.PIPE
        )
        assert gate.stdout is not None
        assert (await asyncio.wait_for(gate.stdout.readline(), 30)).strip() == b"online"
        gate.kill()  # no goodbye: the broker publishes its last will
        await gate.wait()
        await wait_for(lambda: len(receiver.accepted()) >= 1)
        back = await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, "3", stdout=asyncio.subprocess.PIPE
        )
        assert back.stdout is not None
        assert (await asyncio.wait_for(back.stdout.readline(), 30)).strip() == b"online"
        await wait_for(lambda: len(receiver.accepted()) >= 2)
        await back.wait()
    finally:
        await stack.close()
    got = [g["body"]["data"] for g in receiver.accepted()]
    assert [(g["device_id"], g["kind"], g["transition"]) for g in got[:2]] == [
        (door, "device_offline", "opened"),
        (door, "device_offline", "resolved"),
    ]
    assert got[1]["why"] == "back_online"
    assert got[0]["title"].startswith(f"{door} offline for")


class CameraScript:
    """The model's part, scripted: one face in the middle of the frame, unmasked or masked by the frame's
    bytes (the inference worker still decodes nothing itself; the monitor tracks what this reports)."""

    BOX = (260, 150, 360, 280)

    def __init__(self) -> None:
        self.frames = {label: _blank_jpeg(colour) for label, colour in (("no_mask", 40), ("mask", 200))}
        self._labels = {jpeg: label for label, jpeg in self.frames.items()}

    def analyze_batch(self, images: Sequence[bytes]) -> list[FrameResult | FrameError]:
        results: list[FrameResult | FrameError] = []
        for image in images:
            label = self._labels.get(image)
            if label is None:
                results.append(FrameError("not_an_image", "not a scripted frame"))
                continue
            face = Face(FaceBox(*self.BOX, 0.99), label, 0.95)
            results.append(FrameResult((face,), 640, 480, 1.0, 2.0, 0.5))
        return results


def _blank_jpeg(grey: int) -> bytes:
    ok, encoded = cv2.imencode(".jpg", np.full((480, 640, 3), grey, np.uint8))
    assert ok
    return encoded.tobytes()


async def test_a_person_unmasked_too_long_on_camera_reaches_the_webhook_once_and_so_does_masking_up(
    stack_settings, receiver, unique_id
):
    """Frames from a camera go through ingest, the inference worker (a scripted engine stands in for the
    model), and the monitoring service, which opens an unmasked-too-long alert and resolves it when the
    person masks up; the notifier delivers each transition to the webhook exactly once.

    The monitor runs on the camera's clock: the frames carry capture times the test chooses (half a
    second apart, already in the past), so the thresholds are crossed at known camera times however fast
    the machine sends them. On the real backend (rq jobs) and on the embedded stand-ins (in-process)."""
    from devices.camera_agent.client import CameraClient
    from maskwatch.contracts.common import utc_now
    from maskwatch.database.cameras import register_camera
    from maskwatch.database.notifications import SENT
    from maskwatch.database.schema import deliveries, sites
    from services.monitoring.settings import CameraSettings
    from stack.in_process import Stack

    script = CameraScript()
    services = ("ingest", "inference", "monitoring", "stats", "notifier", "notifier-worker")
    stack = Stack(stack_settings, services, engine=script)
    await stack.start(timeout=120)
    site_id, camera_id = f"site-{unique_id[:8]}", f"lobby-{unique_id[:8]}"  # ids global on the broker
    engine = create_engine(stack_settings.database.url)
    try:
        with engine.begin() as c:  # a site of its own: no other test's alerts or recipients reach it
            c.execute(
                sa.insert(sites).values(site_id=site_id, name="Lobby", time_zone="UTC", created_at=utc_now())
            )
        camera = CameraSettings(fps=2, unmasked_after_s=2.0, grace_s=1.0, cooldown_s=600)
        register_camera(engine, camera_id, site_id=site_id, settings=camera.model_dump(mode="json"))
        add_recipient(
            engine,
            site_id=site_id,
            channel="webhook",
            address=receiver.url,
            secrets={"webhook_secret": receiver.secret},
            kinds=["unmasked"],
        )
        start = utc_now().replace(microsecond=0) - timedelta(minutes=5)
        unmasked = [start + timedelta(seconds=0.5 * i) for i in range(13)]  # 0 to 6 s: unmasked
        masked = [unmasked[-1] + timedelta(seconds=0.5 * i) for i in range(1, 14)]  # 6.5 to 12.5 s
        async with CameraClient(stack_settings.mqtt, camera_id) as client:
            for at in unmasked:
                assert await client.offer(script.frames["no_mask"], at)
                await asyncio.sleep(0.05)  # a gentle pace; the monitor reads only the capture times
            for at in masked:
                assert await client.offer(script.frames["mask"], at)
                await asyncio.sleep(0.05)

        def ours() -> list[dict[str, Any]]:
            return [g for g in receiver.accepted() if g["body"]["data"]["device_id"] == camera_id]

        def recorded() -> tuple[list[sa.Row[Any]], list[sa.Row[Any]]]:
            """The camera's alerts as the database writer recorded them, and their deliveries."""
            with engine.connect() as c:
                rows = c.execute(sa.select(alerts).where(alerts.c.device_id == camera_id)).all()
                sent = c.execute(
                    sa.select(deliveries.c.transition, deliveries.c.status, deliveries.c.delivery_id)
                    .join(alerts, alerts.c.alert_key == deliveries.c.alert_key)
                    .where(alerts.c.device_id == camera_id)
                ).all()
            return list(rows), list(sent)

        def settled() -> bool:
            rows, sent = recorded()
            return (
                len(ours()) >= 2
                and any(r.resolved_at is not None for r in rows)
                and len(sent) >= 2
                and all(s.status == SENT for s in sent)
            )

        await wait_for(settled, timeout=60)
        rows, sent = recorded()
    finally:
        await stack.close()
        engine.dispose()

    got = ours()
    assert [g["body"]["data"]["transition"] for g in got] == ["opened", "resolved"]
    opened, closed = (g["body"]["data"] for g in got)
    assert opened["alert_id"] == closed["alert_id"]
    assert (opened["kind"], opened["site_id"], closed["why"]) == ("unmasked", site_id, "masked")
    # On the camera's clock: unmasked from its first frame, alerted once past the threshold while still
    # unmasked, resolved once masked for the grace period.
    unmasked_since = datetime.fromisoformat(opened["unmasked_since"])
    opened_at, resolved_at = datetime.fromisoformat(opened["at"]), datetime.fromisoformat(closed["at"])
    assert unmasked_since in unmasked
    assert opened_at in unmasked
    assert opened_at - unmasked_since >= timedelta(seconds=camera.unmasked_after_s)
    assert resolved_at in masked
    assert resolved_at >= masked[0] + timedelta(seconds=camera.grace_s)
    (row,) = rows
    assert (str(row.alert_key), row.resolution) == (opened["alert_id"], "masked")
    assert sorted((t, s) for t, s, _ in sent) == [("opened", SENT), ("resolved", SENT)]
    assert sorted(g["id"] for g in got) == sorted(str(i) for _, _, i in sent)  # one webhook-id each
