"""An alert's life through the API: what it shows, filters, resolving by hand, the announcement on the
alerts stream, its images, and the live event when it resolves."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from maskwatch.contracts import AlertTransition, Transition, decode
from maskwatch.database.alerts import record_transition
from maskwatch.database.schema import alerts, audit_log
from maskwatch.queue import open_queue
from maskwatch.snapshots import SnapshotSettings, SnapshotStore
from maskwatch.streams import Group, Streams
from services.api.config import ApiSettings
from tests.api.conftest import build_world
from tests.api.test_events import read_events
from tests.ports import free_port

JPEG = b"\xff\xd8\xff\xe0" + b"not really a picture" + b"\xff\xd9"


@pytest.fixture
def lifecycle(new_postgres, password_hash, tmp_path):
    """A world whose API announces on a memory queue and serves snapshots from a folder of its own."""
    queue = open_queue("memory://")
    settings = SnapshotSettings(directory=tmp_path / "snapshots")
    world = build_world(new_postgres(), password_hash, queue=queue, snapshots=settings)
    with world.client():
        yield world, queue, SnapshotStore(settings)
    world.engine.dispose()


def announced(queue) -> list[AlertTransition]:
    async def read():
        return await queue.read(Streams("maskwatch").alerts.read_by(Group.STATS), "test", 10, 50)

    return [decode(AlertTransition, entry.data) for entry in asyncio.run(read())]


def test_an_unmasked_alert_shows_its_person_its_camera_and_what_may_be_done(world):
    alert_id, _ = world.unmasked_alert("a", "hall-1", snapshot=None, crop=None)
    body = world.client("operator_a").get(f"/api/v1/alerts/{alert_id}").json()
    assert body["state"] == "open"
    assert (body["track"], body["box"]) == (7, [10, 20, 110, 140])
    assert datetime.fromisoformat(body["unmasked_since"]) < datetime.fromisoformat(body["opened_at"])
    assert (body["resolved_at"], body["resolved_by"], body["resolution"]) == (None, None, None)
    links = body["_links"]
    assert links["device"]["href"] == "/api/v1/cameras/hall-1"
    assert links["acknowledge"]["method"] == links["resolve"]["method"] == "POST"
    assert not {"snapshot", "crop"} & set(links)
    viewer = world.client("viewer_a").get(f"/api/v1/alerts/{alert_id}").json()["_links"]
    assert not {"acknowledge", "resolve"} & set(viewer)


def test_an_older_alert_has_no_person_fields_and_no_camera_link(world):
    body = world.client("root").get(f"/api/v1/alerts/{world.alerts['a']}").json()
    assert (body["track"], body["box"], body["unmasked_since"]) == (None, None, None)
    assert "device" not in body["_links"]


def test_the_list_filters_by_state_camera_and_time(world):
    now = datetime.now(UTC)
    early, _ = world.unmasked_alert("a", "hall-1", at=now - timedelta(hours=3))
    acked, _ = world.unmasked_alert("a", "hall-2", at=now - timedelta(hours=2))
    resolved, _ = world.unmasked_alert("a", "hall-1", at=now - timedelta(hours=1))
    operator = world.client("operator_a")
    assert operator.post(f"/api/v1/alerts/{acked}/acknowledge").status_code == 200
    assert operator.post(f"/api/v1/alerts/{resolved}/resolve").status_code == 200

    def ids(query: str) -> set[int]:
        response = operator.get(f"/api/v1/alerts?{query}")
        assert response.status_code == 200, response.text
        return {a["alert_id"] for a in response.json()["_embedded"]["items"]}

    assert ids("state=open") == {early, world.alerts["a"]}
    assert ids("state=acknowledged") == {acked}
    assert ids("state=resolved") == {resolved}
    assert ids("camera=hall-1") == {early, resolved}
    assert ids("camera=hall-1&state=open") == {early}
    window = {
        "since": (now - timedelta(hours=2, minutes=30)).isoformat(),
        "until": (now - timedelta(minutes=30)).isoformat(),
    }
    response = operator.get("/api/v1/alerts", params=window)
    assert {a["alert_id"] for a in response.json()["_embedded"]["items"]} == {acked, resolved}
    naive = (now - timedelta(minutes=90)).replace(tzinfo=None).isoformat()
    assert ids(f"since={naive}") == {resolved, world.alerts["a"]}, "no offset means UTC"
    assert operator.get("/api/v1/alerts?state=closed").status_code == 422
    assert world.client("operator_b").get("/api/v1/alerts?camera=hall-1").json()["total"] == 0


def test_an_operator_resolves_an_alert_once_and_it_is_audited(world):
    alert_id, _ = world.unmasked_alert("a")
    href = f"/api/v1/alerts/{alert_id}"
    assert world.client("viewer_a").post(f"{href}/resolve").status_code == 403
    assert world.client("operator_b").post(f"{href}/resolve").status_code == 404
    operator = world.client("operator_a")
    response = operator.post(f"{href}/resolve")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["state"] == "resolved"
    assert body["resolution"] == "by_hand"
    assert body["resolved_by"] == world.user_ids["operator_a"]
    assert body["resolved_by_email"] == "operator_a@example.org"
    assert body["resolved_at"] is not None
    assert not {"acknowledge", "resolve"} & set(body["_links"])
    again = operator.post(f"{href}/resolve")
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert operator.post(f"{href}/acknowledge").status_code == 409
    with world.engine.connect() as conn:
        audit = conn.execute(sa.select(audit_log).where(audit_log.c.action == "alert.resolve")).one()
    assert (audit.user_id, audit.target, audit.site_id) == (
        world.user_ids["operator_a"],
        f"alert:{alert_id}",
        "a",
    )


def test_an_acknowledged_alert_can_still_be_resolved(world):
    alert_id, _ = world.unmasked_alert("a")
    operator = world.client("operator_a")
    acked = operator.post(f"/api/v1/alerts/{alert_id}/acknowledge").json()
    assert acked["state"] == "acknowledged"
    assert "acknowledge" not in acked["_links"]
    assert "resolve" in acked["_links"]
    assert operator.post(f"/api/v1/alerts/{alert_id}/resolve").json()["state"] == "resolved"


def test_resolving_honours_if_match(world):
    alert_id, _ = world.unmasked_alert("a")
    stale = '"0000"'
    response = world.client("operator_a").post(
        f"/api/v1/alerts/{alert_id}/resolve", headers={"If-Match": stale}
    )
    assert response.status_code == 412


def test_resolving_announces_one_transition_that_the_writer_then_finds_applied(lifecycle):
    world, queue, _ = lifecycle
    alert_id, key = world.unmasked_alert("a", "hall-1")
    assert world.client("operator_a").post(f"/api/v1/alerts/{alert_id}/resolve").status_code == 200
    (message,) = announced(queue)
    assert message.alert_id == key
    assert message.transition is Transition.RESOLVED
    assert (message.why, message.by_user) == ("by_hand", world.user_ids["operator_a"])
    assert (message.site_id, message.device_id, message.kind.value) == ("a", "hall-1", "unmasked")
    with world.engine.begin() as conn:
        assert record_transition(conn, message) is False, "the API already wrote it"
        stored = conn.execute(
            sa.select(alerts.c.resolved_at).where(alerts.c.alert_id == alert_id)
        ).scalar_one()
    assert stored == message.at


def test_acknowledging_announces_one_transition(lifecycle):
    world, queue, _ = lifecycle
    alert_id, key = world.unmasked_alert("a")
    assert world.client("operator_a").post(f"/api/v1/alerts/{alert_id}/acknowledge").status_code == 200
    (message,) = announced(queue)
    assert (message.alert_id, message.transition) == (key, Transition.ACKNOWLEDGED)
    assert (message.why, message.by_user) == (None, world.user_ids["operator_a"])


def test_an_alert_never_on_the_stream_is_not_announced(lifecycle):
    world, queue, _ = lifecycle
    operator = world.client("operator_a")
    assert operator.post(f"/api/v1/alerts/{world.alerts['a']}/resolve").status_code == 200
    assert announced(queue) == []


def test_the_snapshot_and_crop_are_served_to_those_who_may_see_the_site(lifecycle):
    world, _, store = lifecycle
    alert_id, _ = world.unmasked_alert("a", snapshot=store.save(str(uuid4()), "snapshot", JPEG))
    body = world.client("viewer_a").get(f"/api/v1/alerts/{alert_id}").json()
    assert body["_links"]["snapshot"]["href"] == f"/api/v1/alerts/{alert_id}/snapshot"
    assert "crop" not in body["_links"]
    image = world.client("viewer_a").get(f"/api/v1/alerts/{alert_id}/snapshot")
    assert image.status_code == 200
    assert image.content == JPEG
    assert image.headers["content-type"] == "image/jpeg"
    assert image.headers["cache-control"] == "private, max-age=3600"
    other = world.client("operator_b").get(f"/api/v1/alerts/{alert_id}/snapshot")
    assert other.status_code == 404
    missing = world.client("viewer_a").get(f"/api/v1/alerts/{alert_id}/crop")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_a_purged_snapshot_is_404(lifecycle):
    world, _, store = lifecycle
    name = str(uuid4())
    snapshot, crop = store.save(name, "snapshot", JPEG), store.save(name, "crop", JPEG)
    alert_id, _ = world.unmasked_alert("a", snapshot=snapshot, crop=crop)
    viewer = world.client("viewer_a")
    assert viewer.get(f"/api/v1/alerts/{alert_id}/crop").content == JPEG
    path = store.path(crop)
    assert path is not None
    path.unlink()
    assert viewer.get(f"/api/v1/alerts/{alert_id}/crop").status_code == 404
    assert viewer.get(f"/api/v1/alerts/{alert_id}/snapshot").status_code == 200


@pytest.fixture
def served(new_postgres, password_hash):
    world = build_world(new_postgres(), password_hash, ApiSettings(events_poll_s=0.1))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(world.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield world, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    world.engine.dispose()


def test_resolutions_are_streamed(served):
    world, base = served
    alert_id, _ = world.unmasked_alert("a", "hall-1")
    headers = {"Authorization": f"Bearer {world.tokens['viewer_a']}"}
    with (
        httpx.Client(base_url=base, timeout=httpx.Timeout(10.0)) as client,
        client.stream("GET", "/api/v1/events", headers=headers) as response,
    ):
        time.sleep(0.3)
        operator = {"Authorization": f"Bearer {world.tokens['operator_a']}"}
        assert client.post(f"/api/v1/alerts/{alert_id}/resolve", headers=operator).status_code == 200
        events = read_events(response, wanted=1)
    kind, data = events[0]
    assert kind == "alert_resolved"
    assert data["alert_id"] == alert_id
    assert (data["state"], data["resolution"]) == ("resolved", "by_hand")
    assert data["resolved_by"] == world.user_ids["operator_a"]
    assert (data["track"], data["box"], data["device_id"]) == (7, [10, 20, 110, 140], "hall-1")
