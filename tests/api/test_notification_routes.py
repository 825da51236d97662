"""Notifications through the API: a site's recipients (for its admins only, a webhook's secret shown once),
the deliveries and the retry of a dead one (announced to the notifier on its stream), the devices people
register for themselves, and the VAPID key browsers subscribe with (the same one the notifier signs with).
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from pydantic import SecretStr

from maskwatch.contracts import DeliveryRetry, decode
from maskwatch.database import server_keys
from maskwatch.database.notifications import (
    DEAD,
    PENDING,
    add_recipient,
    plan_deliveries,
    recipients_for,
    record_failure,
)
from maskwatch.database.schema import audit_log, deliveries, notification_recipients
from maskwatch.notification_keys import VAPID_KEY_NAME, generate_vapid_keys, new_webhook_secret
from maskwatch.queue import open_queue
from maskwatch.streams import Group, Streams
from services.api.app import create_app
from services.api.config import ApiSettings
from services.api.routes import notifications as routes
from services.api.security import Role
from tests.api.conftest import PEOPLE, SECRET, World, build_world

CALLERS = [None, "root", "admin_a", "operator_a", "viewer_a", "operator_b"]
Request = tuple[str, str, dict[str, object] | None]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def push_keys() -> dict[str, str]:
    """Keys as a browser's `PushSubscription.toJSON()` gives them."""
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return {"p256dh": b64url(point), "auth": b64url(os.urandom(16))}


def endpoint() -> str:
    return f"https://push.example.org/wpush/v2/{uuid4().hex}"


def new_recipient(world: World, site: str, channel: str = "email", **fields: object) -> int:
    address = fields.pop("address", f"{uuid4().hex[:10]}@example.org")
    return add_recipient(world.engine, site_id=site, channel=channel, address=str(address), **fields)  # type: ignore[arg-type]


def dead_delivery(
    world: World, site: str, recipient_id: int | None = None, alert_key: str | None = None
) -> str:
    """A delivery the notifier gave up on, made as the notifier makes one."""
    recipient_id = recipient_id or new_recipient(world, site)
    key = alert_key or str(uuid4())
    with world.engine.begin() as conn:
        recipient = conn.execute(
            sa.select(notification_recipients).where(notification_recipients.c.recipient_id == recipient_id)
        ).one()
        (delivery_id,) = plan_deliveries(
            conn,
            alert_key=key,
            transition="opened",
            notification={"alert_id": key, "transition": "opened", "kind": "unmasked", "site_id": site},
            recipients=[recipient],
        )
        for _ in range(3):
            record_failure(conn, delivery_id, "webhook answered 500", dead=False)
        record_failure(conn, delivery_id, "webhook answered 500", dead=True)
    return delivery_id


def audit_entries(world: World, action: str) -> list[sa.Row[Any]]:
    with world.engine.connect() as conn:
        return list(conn.execute(sa.select(audit_log).where(audit_log.c.action == action)).all())


def stored(world: World, recipient_id: int) -> sa.Row[Any]:
    with world.engine.connect() as conn:
        return conn.execute(
            sa.select(notification_recipients).where(notification_recipients.c.recipient_id == recipient_id)
        ).one()


def assert_problem(response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status


# --- Who may do what ---

# name: (success status, request builder(world, site)); every one is for admins of the site only.
ADMIN_ROUTES: dict[str, tuple[int, Callable[[World, str], Request]]] = {
    "list recipients": (200, lambda w, s: ("GET", f"/api/v1/sites/{s}/recipients", None)),
    "add recipient": (
        201,
        lambda w, s: (
            "POST",
            f"/api/v1/sites/{s}/recipients",
            {"channel": "email", "address": f"{uuid4().hex[:8]}@example.org"},
        ),
    ),
    "recipient": (200, lambda w, s: ("GET", f"/api/v1/recipients/{new_recipient(w, s)}", None)),
    "change recipient": (
        200,
        lambda w, s: ("PATCH", f"/api/v1/recipients/{new_recipient(w, s)}", {"enabled": False}),
    ),
    "remove recipient": (204, lambda w, s: ("DELETE", f"/api/v1/recipients/{new_recipient(w, s)}", None)),
    "deliveries of site": (200, lambda w, s: ("GET", f"/api/v1/deliveries?site={s}", None)),
    "delivery": (200, lambda w, s: ("GET", f"/api/v1/deliveries/{dead_delivery(w, s)}", None)),
    "retry delivery": (202, lambda w, s: ("POST", f"/api/v1/deliveries/{dead_delivery(w, s)}/retry", None)),
}

# name: (success status, request builder(world, site)); any user of the site.
USER_ROUTES: dict[str, tuple[int, Callable[[World, str], Request]]] = {
    "register push subscription": (
        201,
        lambda w, s: (
            "POST",
            "/api/v1/me/push-subscriptions",
            {"site_id": s, "endpoint": endpoint(), "keys": push_keys()},
        ),
    ),
    "register fcm token": (
        201,
        lambda w, s: ("POST", "/api/v1/me/fcm-tokens", {"site_id": s, "token": f"fcm:{uuid4().hex}"}),
    ),
}


def expected(who: str | None, site: str, ok: int, *, admins_only: bool) -> int:
    if who is None:
        return 401
    role, all_sites, sites = PEOPLE[who]
    if not (all_sites or site in sites):
        return 404
    if admins_only and role != Role.ADMIN:
        return 403
    return ok


def call(world: World, who: str | None, request: Request):
    method, url, body = request
    return world.client(who).request(method, url, json=body)


@pytest.mark.parametrize("site", ["a", "b"])
@pytest.mark.parametrize("route", list(ADMIN_ROUTES))
@pytest.mark.parametrize("who", CALLERS)
def test_only_admins_of_the_site_manage_its_notifications(shared_world, who, route, site):
    ok, build = ADMIN_ROUTES[route]
    response = call(shared_world, who, build(shared_world, site))
    want = expected(who, site, ok, admins_only=True)
    assert response.status_code == want, response.text
    if want >= 400:
        assert_problem(response, want)


@pytest.mark.parametrize("site", ["a", "b"])
@pytest.mark.parametrize("route", list(USER_ROUTES))
@pytest.mark.parametrize("who", CALLERS)
def test_every_user_registers_devices_for_their_own_sites(shared_world, who, route, site):
    ok, build = USER_ROUTES[route]
    response = call(shared_world, who, build(shared_world, site))
    want = expected(who, site, ok, admins_only=False)
    assert response.status_code == want, response.text
    if want >= 400:
        assert_problem(response, want)


@pytest.mark.parametrize("who", CALLERS)
def test_the_deliveries_of_every_site_one_administers(shared_world, who):
    response = shared_world.client(who).get("/api/v1/deliveries?limit=500")
    if who is None:
        assert_problem(response, 401)
        return
    role, all_sites, sites = PEOPLE[who]
    if role != Role.ADMIN:
        assert_problem(response, 403)
        return
    assert response.status_code == 200
    seen = {item["site_id"] for item in response.json()["_embedded"]["items"]}
    if not all_sites:
        assert seen <= set(sites)


def test_the_root_links_to_notifications(world):
    admin = world.client("admin_a").get("/api/v1/").json()["_links"]
    assert admin["deliveries"]["href"] == "/api/v1/deliveries"
    assert admin["vapid_public_key"]["href"] == "/api/v1/push/vapid-public-key"
    assert admin["push_subscriptions"] == {
        "href": "/api/v1/me/push-subscriptions",
        "method": "POST",
        "title": "Register this browser for a site's alerts",
    }
    viewer = world.client("viewer_a").get("/api/v1/").json()["_links"]
    assert "deliveries" not in viewer
    assert {"vapid_public_key", "push_subscriptions", "fcm_tokens"} <= set(viewer)


# --- Recipients ---


def test_admins_see_which_channels_are_set_up(world):
    admin = world.client("admin_a")
    root = admin.get("/api/v1/").json()["_links"]
    listed = admin.get(root["notification_channels"]["href"])
    assert listed.status_code == 200, listed.text
    items = {i["name"]: i for i in listed.json()["_embedded"]["items"]}
    assert list(items) == ["webhook", "email", "sns", "fcm", "webpush"]
    # Webhooks and Web Push need no settings; the others only once the notifier has theirs.
    assert {name for name, item in items.items() if item["configured"]} == {"webhook", "webpush"}
    assert items["sns"]["address"].startswith("An SNS topic ARN")
    one = admin.get(items["email"]["_links"]["self"]["href"])
    assert (one.status_code, one.json()["name"]) == (200, "email")
    world.app.state.maskwatch.notification_channels = frozenset({"webhook", "webpush", "email"})
    assert admin.get("/api/v1/notification-channels/email").json()["configured"] is True
    assert_problem(admin.get("/api/v1/notification-channels/pager"), 422)
    assert_problem(world.client("operator_a").get("/api/v1/notification-channels"), 403)
    assert "notification_channels" not in world.client("operator_a").get("/api/v1/").json()["_links"]
    assert_problem(world.client(None).get("/api/v1/notification-channels"), 401)


def test_a_webhooks_secret_is_shown_once_and_the_change_audited(world):
    admin = world.client("admin_a")
    url = "https://chat.example.org/hooks/T000/B000/XXXX"
    created = admin.post(
        "/api/v1/sites/a/recipients",
        json={"channel": "webhook", "address": url, "language": "ko", "time_zone": "Asia/Seoul"},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    secret = body["webhook_secret"]
    assert secret.startswith("whsec_")
    assert created.headers["cache-control"] == "no-store"
    href = created.headers["location"]
    assert href == f"/api/v1/recipients/{body['recipient_id']}" == body["_links"]["self"]["href"]
    assert (body["channel"], body["address"], body["language"], body["time_zone"]) == (
        "webhook",
        url,
        "ko",
        "Asia/Seoul",
    )
    assert body["enabled"] is True
    assert body["registered_by"] is None
    assert {"edit", "delete", "site", "collection", "deliveries"} <= set(body["_links"])

    assert stored(world, body["recipient_id"]).secrets == {"webhook_secret": secret}
    for response in (
        admin.get(href),
        admin.get("/api/v1/sites/a/recipients"),
        admin.patch(href, json={"language": "en"}),
        world.client("root").get(href),
    ):
        assert response.status_code == 200
        assert secret not in response.text
        assert "webhook_secret" not in response.text
    (entry,) = audit_entries(world, "recipient.create")
    assert entry.user_id == world.user_ids["admin_a"]
    assert entry.site_id == "a"
    assert entry.details["channel"] == "webhook"
    assert secret not in str(entry.details)
    assert url not in str(entry.details), "a webhook URL may carry its receiver's credentials"


def test_other_channels_get_no_secret(world):
    created = world.client("admin_a").post(
        "/api/v1/sites/a/recipients",
        json={"channel": "sns", "address": "+821012345678", "kinds": ["unmasked", "unmasked"]},
    )
    assert created.status_code == 201, created.text
    assert created.json()["webhook_secret"] is None
    assert created.json()["kinds"] == ["unmasked"]
    assert stored(world, created.json()["recipient_id"]).secrets == {}


def test_a_webpush_recipient_keeps_its_keys_secret(world):
    keys = push_keys()
    created = world.client("admin_a").post(
        "/api/v1/sites/a/recipients", json={"channel": "webpush", "address": endpoint(), "keys": keys}
    )
    assert created.status_code == 201, created.text
    assert stored(world, created.json()["recipient_id"]).secrets == keys
    assert keys["auth"] not in created.text
    assert keys["p256dh"] not in world.client("admin_a").get(created.headers["location"]).text


def test_the_same_address_twice_on_a_channel_is_a_conflict(world):
    admin = world.client("admin_a")
    body = {"channel": "email", "address": "ops@example.org"}
    assert admin.post("/api/v1/sites/a/recipients", json=body).status_code == 201
    assert_problem(admin.post("/api/v1/sites/a/recipients", json=body), 409)
    assert world.client("root").post("/api/v1/sites/b/recipients", json=body).status_code == 201
    other = admin.post("/api/v1/sites/a/recipients", json={"channel": "email", "address": "x@example.org"})
    assert_problem(admin.patch(other.headers["location"], json={"address": "ops@example.org"}), 409)


@pytest.mark.parametrize(
    "body",
    [
        {"channel": "pager", "address": "x"},
        {"channel": "email", "address": "not an address"},
        {"channel": "email", "address": "ops@example.org", "language": "de"},
        {"channel": "email", "address": "ops@example.org", "time_zone": "Mars/Olympus"},
        {"channel": "email", "address": "ops@example.org", "kinds": ["everything"]},
        {"channel": "webhook", "address": "ftp://example.org/hook"},
        {"channel": "sns", "address": "012345"},
        {"channel": "fcm", "address": "a token with spaces"},
        {"channel": "webpush", "address": "https://push.example.org/x"},
        {"channel": "webpush", "address": "http://push.example.org/x", "keys": push_keys()},
        {
            "channel": "webpush",
            "address": "https://push.example.org/x",
            "keys": {"p256dh": "AAAA", "auth": "x"},
        },
        {"channel": "email", "address": "ops@example.org", "keys": push_keys()},
        {"channel": "email", "address": "ops@example.org", "min_severity": "urgent"},
        {"channel": "email", "address": "ops@example.org", "quiet_hours": {"start": "22:00"}},
        {"channel": "email", "address": "ops@example.org", "quiet_hours": {"start": "25:00", "end": "07:00"}},
        {"channel": "email", "address": "ops@example.org", "quiet_hours": {"start": "07:00", "end": "07:00"}},
        {"channel": "email", "address": "ops@example.org", "rate_limit": "lots"},
        {"channel": "email", "address": "ops@example.org", "rate_limit": "0/min"},
    ],
)
def test_invalid_recipients_are_refused_as_problems(world, body):
    response = world.client("admin_a").post("/api/v1/sites/a/recipients", json=body)
    assert_problem(response, 422)
    assert response.json()["errors"]


def test_an_admin_changes_a_recipient_with_if_match(world):
    admin = world.client("admin_a")
    created = admin.post("/api/v1/sites/a/recipients", json={"channel": "email", "address": "a@example.org"})
    href = created.headers["location"]
    etag = admin.get(href).headers["etag"]
    changed = admin.patch(
        href,
        json={
            "enabled": False,
            "language": "ko",
            "time_zone": "Asia/Seoul",
            "kinds": ["device_offline"],
            "address": "b@example.org",
        },
        headers={"If-Match": etag},
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["enabled"], body["language"], body["time_zone"], body["kinds"], body["address"]) == (
        False,
        "ko",
        "Asia/Seoul",
        ["device_offline"],
        "b@example.org",
    )
    assert_problem(admin.patch(href, json={"enabled": True}, headers={"If-Match": etag}), 412)
    assert_problem(admin.patch(href, json={"time_zone": "Nowhere/Else"}), 422)
    assert_problem(admin.patch(href, json={"address": "https://example.org/hook"}), 422)
    assert_problem(admin.patch(href, json={"keys": push_keys()}), 422)
    (entry,) = audit_entries(world, "recipient.update")
    assert entry.details["changes"] == {
        "enabled": False,
        "language": "ko",
        "time_zone": "Asia/Seoul",
        "kinds": ["device_offline"],
        "address_changed": True,
    }


def test_a_recipients_rules_are_set_shown_changed_and_cleared(world):
    admin = world.client("admin_a")
    created = admin.post(
        "/api/v1/sites/a/recipients",
        json={
            "channel": "sns",
            "address": "+821012345678",
            "min_severity": "critical",
            "quiet_hours": {"start": "22:00", "end": "07:00"},
            "rate_limit": "3 / 60 min",
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["min_severity"], body["quiet_hours"], body["rate_limit"]) == (
        "critical",
        {"start": "22:00", "end": "07:00"},
        "3/h",  # written the one way the notifier reads it
    )
    row = stored(world, body["recipient_id"])
    assert (row.min_severity, row.quiet_hours, row.rate_limit) == (
        "critical",
        {"start": "22:00", "end": "07:00"},
        "3/h",
    )
    href = created.headers["location"]
    changed = admin.patch(href, json={"quiet_hours": None, "min_severity": "warning"})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["quiet_hours"], changed.json()["min_severity"]) == (None, "warning")
    assert changed.json()["rate_limit"] == "3/h"  # untouched when not sent
    cleared = admin.patch(href, json={"rate_limit": None}).json()
    assert cleared["rate_limit"] is None
    assert_problem(admin.patch(href, json={"rate_limit": "often"}), 422)
    changes = [e.details["changes"] for e in audit_entries(world, "recipient.update")]
    assert changes == [{"min_severity": "warning", "quiet_hours": None}, {"rate_limit": None}]
    with world.engine.connect() as conn:
        assert [r.recipient_id for r in recipients_for(conn, "a", "unmasked")] == [body["recipient_id"]]


def test_a_phone_keeps_quiet_hours_of_its_own(world):
    operator = world.client("operator_a")
    token = "dGVzdA:APA91bH" + "q" * 140
    created = operator.post(
        "/api/v1/me/fcm-tokens",
        json={
            "site_id": "a",
            "token": token,
            "time_zone": "Asia/Seoul",
            "quiet_hours": {"start": "23:00", "end": "06:30"},
            "min_severity": "critical",
        },
    )
    assert created.status_code == 201, created.text
    device = created.json()
    assert (device["quiet_hours"], device["min_severity"], device["rate_limit"]) == (
        {"start": "23:00", "end": "06:30"},
        "critical",
        None,
    )
    with world.engine.connect() as conn:
        assert recipients_for(conn, "a", "unmasked") == []  # below what this phone asked for
        assert [r.recipient_id for r in recipients_for(conn, "a", "device_offline")] == [
            device["recipient_id"]
        ]


def test_removing_a_recipient_removes_its_deliveries(world):
    recipient_id = new_recipient(world, "a")
    dead_delivery(world, "a", recipient_id)
    admin = world.client("admin_a")
    assert admin.delete(f"/api/v1/recipients/{recipient_id}").status_code == 204
    assert_problem(admin.get(f"/api/v1/recipients/{recipient_id}"), 404)
    with world.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(deliveries)).scalar_one() == 0
    (entry,) = audit_entries(world, "recipient.delete")
    assert entry.target == f"recipient:{recipient_id}"


def test_another_sites_recipients_do_not_exist_for_its_admin(world):
    b_recipient = new_recipient(world, "b")
    admin_a = world.client("admin_a")
    assert_problem(admin_a.get(f"/api/v1/recipients/{b_recipient}"), 404)
    assert_problem(admin_a.patch(f"/api/v1/recipients/{b_recipient}", json={"enabled": False}), 404)
    assert_problem(admin_a.get("/api/v1/sites/b/recipients"), 404)
    assert world.client("root").get("/api/v1/sites/b/recipients").json()["total"] == 1


# --- Deliveries ---


def test_deliveries_link_their_alert_and_recipient(world):
    alert_id, alert_key = world.unmasked_alert("a")
    recipient_id = new_recipient(world, "a", channel="webhook", address="https://example.org/hook")
    delivery_id = dead_delivery(world, "a", recipient_id, alert_key=str(alert_key))
    dead_delivery(world, "b")
    listed = world.client("admin_a").get("/api/v1/deliveries?status=dead").json()
    assert listed["total"] == 1
    (item,) = listed["_embedded"]["items"]
    assert (item["delivery_id"], item["site_id"], item["channel"], item["status"]) == (
        delivery_id,
        "a",
        "webhook",
        "dead",
    )
    assert (item["attempts"], item["last_error"], item["alert_id"]) == (4, "webhook answered 500", alert_id)
    links = item["_links"]
    assert links["alert"]["href"] == f"/api/v1/alerts/{alert_id}"
    assert links["recipient"]["href"] == f"/api/v1/recipients/{recipient_id}"
    assert links["retry"] == {
        "href": f"/api/v1/deliveries/{delivery_id}/retry",
        "method": "POST",
        "title": "Try it again (after fixing the receiver)",
    }
    assert world.client("admin_a").get(links["self"]["href"]).json()["delivery_id"] == delivery_id
    root = world.client("root")
    assert root.get("/api/v1/deliveries").json()["total"] == 2
    assert root.get("/api/v1/deliveries?status=pending").json()["total"] == 0
    assert root.get("/api/v1/deliveries?site=b").json()["total"] == 1
    assert root.get(f"/api/v1/deliveries?recipient={recipient_id}").json()["total"] == 1
    assert_problem(root.get("/api/v1/deliveries?status=lost"), 422)


def test_retrying_a_dead_delivery_without_redis_leaves_it_for_the_notifiers_start(world):
    delivery_id = dead_delivery(world, "a")
    admin = world.client("admin_a")
    retried = admin.post(f"/api/v1/deliveries/{delivery_id}/retry")
    assert retried.status_code == 202, retried.text
    body = retried.json()
    assert body["queued"] is False
    assert (body["status"], body["attempts"]) == (PENDING, 0)
    assert "retry" not in body["_links"]
    with world.engine.connect() as conn:
        assert (
            conn.execute(
                sa.select(deliveries.c.status).where(deliveries.c.delivery_id == delivery_id)
            ).scalar_one()
            == PENDING
        )
    again = admin.post(f"/api/v1/deliveries/{delivery_id}/retry")
    assert_problem(again, 409)
    (entry,) = audit_entries(world, "delivery.retry")
    assert (entry.user_id, entry.site_id, entry.details["attempts_before"]) == (
        world.user_ids["admin_a"],
        "a",
        4,
    )


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_a_retry_is_announced_to_the_running_notifier_on_its_stream(
    new_postgres, password_hash, redis_url, unique_id, backend
):
    queue = open_queue("memory://" if backend == "memory" else redis_url)
    prefix = "maskwatch" if backend == "memory" else f"test-{unique_id}"
    world = build_world(new_postgres(), password_hash, queue=queue)
    world.app.state.maskwatch.queue_prefix = prefix
    try:
        delivery_id = dead_delivery(world, "a")
        retried = world.client("admin_a").post(f"/api/v1/deliveries/{delivery_id}/retry")
        assert retried.status_code == 202, retried.text
        assert retried.json()["queued"] is True
        assert retried.json()["status"] == PENDING

        async def read():
            # The API's Redis connections belong to its own event loop: read through a queue of this one.
            reader = queue if backend == "memory" else open_queue(redis_url)
            try:
                stream = Streams(prefix).delivery_retries.read_by(Group.NOTIFIER)
                await reader.ensure_group(stream)  # from the stream's start, as the notifier makes it
                return await reader.read(stream, "test", 10, 50)
            finally:
                if reader is not queue:
                    await reader.close()

        (entry,) = asyncio.run(read())
        message = decode(DeliveryRetry, entry.data)
        assert (message.delivery_ids, message.via, message.by_user) == (
            [delivery_id],
            "api",
            world.user_ids["admin_a"],
        )
    finally:
        world.engine.dispose()


def test_an_unreachable_queue_is_reported_not_raised(new_postgres, password_hash):
    queue = open_queue("redis://127.0.0.1:1/0")  # nothing listens there
    world = build_world(new_postgres(), password_hash, queue=queue)
    try:
        delivery_id = dead_delivery(world, "a")
        retried = world.client("admin_a").post(f"/api/v1/deliveries/{delivery_id}/retry")
        assert retried.status_code == 202
        assert retried.json()["queued"] is False
        assert retried.json()["status"] == PENDING
    finally:
        world.engine.dispose()


def test_only_a_dead_delivery_is_retried(world):
    recipient_id = new_recipient(world, "a")
    with world.engine.begin() as conn:
        recipient = conn.execute(
            sa.select(notification_recipients).where(notification_recipients.c.recipient_id == recipient_id)
        ).one()
        (pending,) = plan_deliveries(
            conn, alert_key=str(uuid4()), transition="opened", notification={}, recipients=[recipient]
        )
    assert_problem(world.client("admin_a").post(f"/api/v1/deliveries/{pending}/retry"), 409)
    assert_problem(world.client("admin_a").post(f"/api/v1/deliveries/{uuid4()}/retry"), 404)
    assert not audit_entries(world, "delivery.retry")


# --- The signed-in user's devices ---


def test_a_viewer_registers_this_browser_and_removes_it_again(world):
    viewer = world.client("viewer_a")
    keys = push_keys()
    url = endpoint()
    body = {"site_id": "a", "endpoint": url, "expirationTime": None, "keys": keys, "language": "ko"}
    created = viewer.post("/api/v1/me/push-subscriptions", json=body | {"time_zone": "Asia/Seoul"})
    assert created.status_code == 201, created.text
    device = created.json()
    href = created.headers["location"]
    assert (
        href == device["_links"]["self"]["href"] == f"/api/v1/me/push-subscriptions/{device['recipient_id']}"
    )
    assert (device["channel"], device["address"], device["language"], device["time_zone"]) == (
        "webpush",
        url,
        "ko",
        "Asia/Seoul",
    )
    assert keys["auth"] not in created.text
    row = stored(world, device["recipient_id"])
    assert row.secrets == keys | {"registered_by": str(world.user_ids["viewer_a"])}
    assert row.site_id == "a"

    # The browser sends its subscription again on every start, maybe with new keys: the same device.
    new_keys = push_keys()
    again = viewer.post("/api/v1/me/push-subscriptions", json=body | {"keys": new_keys})
    assert again.status_code == 200, again.text
    assert again.json()["recipient_id"] == device["recipient_id"]
    assert stored(world, device["recipient_id"]).secrets["p256dh"] == new_keys["p256dh"]

    admin_view = world.client("admin_a").get(f"/api/v1/recipients/{device['recipient_id']}").json()
    assert admin_view["registered_by"] == world.user_ids["viewer_a"]
    assert new_keys["auth"] not in str(admin_view)

    assert viewer.get(href).status_code == 200
    for other in ("operator_a", "admin_a", "operator_b"):
        assert_problem(world.client(other).get(href), 404)
        assert_problem(world.client(other).delete(href), 404)
    assert viewer.delete(href).status_code == 204
    assert_problem(viewer.get(href), 404)
    actions = [e.details["channel"] for e in audit_entries(world, "device.register")]
    assert actions == ["webpush", "webpush"]
    (removed,) = audit_entries(world, "device.unregister")
    assert removed.user_id == world.user_ids["viewer_a"]


def test_a_user_finds_this_browsers_subscriptions_and_only_their_own(world):
    viewer, root = world.client("viewer_a"), world.client("root")
    mine, other = endpoint(), endpoint()
    body = {"site_id": "a", "endpoint": mine, "keys": push_keys()}
    device = viewer.post("/api/v1/me/push-subscriptions", json=body).json()
    assert root.post("/api/v1/me/push-subscriptions", json=body | {"site_id": "b"}).status_code == 201
    assert root.post("/api/v1/me/push-subscriptions", json=body | {"endpoint": other}).status_code == 201

    listed = viewer.get("/api/v1/me/push-subscriptions", params={"endpoint": mine})
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert [d["recipient_id"] for d in page["_embedded"]["items"]] == [device["recipient_id"]]
    assert page["total"] == 1
    assert page["_links"]["create"]["method"] == "POST"
    unregister = page["_embedded"]["items"][0]["_links"]["unregister"]
    assert unregister == {"href": device["_links"]["self"]["href"], "method": "DELETE"}

    everywhere = root.get("/api/v1/me/push-subscriptions").json()["_embedded"]["items"]
    assert sorted((d["site_id"], d["address"]) for d in everywhere) == sorted([("b", mine), ("a", other)])
    assert root.get("/api/v1/me/push-subscriptions", params={"endpoint": other}).json()["total"] == 1
    assert world.client("operator_b").get("/api/v1/me/push-subscriptions").json()["total"] == 0


@pytest.mark.parametrize(
    "change",
    [
        {"endpoint": "http://push.example.org/x"},
        {"endpoint": "not a url"},
        {"keys": {"p256dh": b64url(b"\x04" + bytes(64)), "auth": b64url(bytes(16))}},  # not on the curve
        {"keys": {"p256dh": b64url(b"\x02" + bytes(32)), "auth": b64url(bytes(16))}},  # compressed
        {"keys": {"auth": b64url(bytes(16))}},
        {"time_zone": "Nowhere/Else"},
        {"site_id": "Not A Site"},
    ],
)
def test_unusable_subscriptions_are_refused(world, change):
    body = {"site_id": "a", "endpoint": endpoint(), "keys": push_keys()} | change
    assert_problem(world.client("viewer_a").post("/api/v1/me/push-subscriptions", json=body), 422)


def test_a_phone_registers_its_fcm_token(world):
    operator = world.client("operator_a")
    token = "dGVzdA:APA91bH" + "x" * 140
    created = operator.post(
        "/api/v1/me/fcm-tokens", json={"site_id": "a", "token": token, "kinds": ["unmasked"]}
    )
    assert created.status_code == 201, created.text
    device = created.json()
    assert (device["channel"], device["address"], device["kinds"]) == ("fcm", token, ["unmasked"])
    assert device["_links"]["self"]["href"] == f"/api/v1/me/fcm-tokens/{device['recipient_id']}"
    assert stored(world, device["recipient_id"]).secrets == {
        "registered_by": str(world.user_ids["operator_a"])
    }
    assert_problem(operator.post("/api/v1/me/fcm-tokens", json={"site_id": "a", "token": "has spaces"}), 422)
    # Not a push subscription, whatever its id.
    assert_problem(operator.get(f"/api/v1/me/push-subscriptions/{device['recipient_id']}"), 404)
    assert operator.delete(device["_links"]["unregister"]["href"]).status_code == 204


# --- The VAPID key ---


def decoded_point(text: str) -> bytes:
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)  # raises unless on P-256
    return raw


def test_the_vapid_public_key_is_made_once_and_stays(world):
    first = world.client("viewer_a").get("/api/v1/push/vapid-public-key")
    assert first.status_code == 200, first.text
    key = first.json()["application_server_key"]
    raw = decoded_point(key)
    assert len(raw) == 65
    assert raw[0] == 0x04
    assert "=" not in key
    assert (
        world.client("operator_b").get("/api/v1/push/vapid-public-key").json()["application_server_key"]
        == key
    )
    assert first.json()["_links"]["push_subscriptions"]["method"] == "POST"
    assert_problem(world.client().get("/api/v1/push/vapid-public-key"), 401)
    with world.engine.connect() as conn:
        assert server_keys.get(conn, VAPID_KEY_NAME) is not None


def test_the_notifier_signs_with_the_key_browsers_were_given(world):
    from stack.service_table import _deliverer
    from stack.settings import Settings

    key = world.client("viewer_a").get("/api/v1/push/vapid-public-key").json()["application_server_key"]
    deliverer = _deliverer(Settings(), world.engine)
    webpush = deliverer._channels["webpush"]
    assert webpush.public_key == key  # type: ignore[attr-defined]
    assert webpush.settings.subject == "mailto:admin@localhost"  # type: ignore[attr-defined]

    subject_only = Settings(notifier={"channels": {"webpush": {"subject": "mailto:ops@example.org"}}})
    signing = _deliverer(subject_only, world.engine)._channels["webpush"]
    assert signing.public_key == key  # type: ignore[attr-defined]
    assert signing.settings.subject == "mailto:ops@example.org"  # type: ignore[attr-defined]

    configured_pem, configured_public = generate_vapid_keys()
    settings = Settings(
        notifier={
            "channels": {
                "webpush": {"vapid_private_key": configured_pem, "subject": "mailto:ops@example.org"}
            }
        }
    )
    assert _deliverer(settings, world.engine)._channels["webpush"].public_key == configured_public  # type: ignore[attr-defined]
    app = create_app(
        ApiSettings(),
        secret_key=SecretStr(SECRET),
        engine=world.engine,
        commander=world.commander,
        vapid_private_key=SecretStr(configured_pem),
    )
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {world.tokens['viewer_a']}"
        served = client.get("/api/v1/push/vapid-public-key").json()["application_server_key"]
    assert served == configured_public


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_server_key_is_made_once(kind, tmp_path, new_postgres):
    from maskwatch.database.engine import create_engine
    from tests.api.databases import fresh_sqlite

    url = fresh_sqlite(tmp_path) if kind == "sqlite" else new_postgres()
    engine = create_engine(url)
    made: list[str] = []

    def make() -> str:
        made.append(f"key-{len(made)}")
        return made[-1]

    try:
        with engine.begin() as conn:
            first = server_keys.get_or_create(conn, "test", make)
        with engine.begin() as conn:
            second = server_keys.get_or_create(conn, "test", make)
    finally:
        engine.dispose()
    assert first == second == "key-0"
    assert made == ["key-0"]


# --- What the API repeats from the notifier, which it may not import ---


def test_the_api_knows_the_notifiers_address_shapes():
    from services.notifier.channels import sns, webhook, webpush

    assert routes.SNS_TOPIC_ARN.pattern == sns.TOPIC_ARN.pattern
    assert routes.SNS_ENDPOINT_ARN.pattern == sns.ENDPOINT_ARN.pattern
    assert routes.SNS_PHONE.pattern == sns.PHONE.pattern
    assert webhook.SECRET_KEY == "webhook_secret"
    # The keys moved to the floor and are still where the notifier's users find them.
    assert webhook.new_webhook_secret is new_webhook_secret
    assert webpush.generate_vapid_keys is generate_vapid_keys


def test_deliveries_written_now_are_listed_newest_first(world):
    older = dead_delivery(world, "a")
    newer = dead_delivery(world, "a")
    with world.engine.begin() as conn:
        conn.execute(
            sa.update(deliveries)
            .where(deliveries.c.delivery_id == older)
            .values(created_at=datetime(2026, 1, 1, tzinfo=UTC))
        )
    items = world.client("admin_a").get(f"/api/v1/deliveries?status={DEAD}").json()["_embedded"]["items"]
    assert [i["delivery_id"] for i in items] == [newer, older]
