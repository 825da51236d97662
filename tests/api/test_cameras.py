"""Cameras through the API: who may register and change them, who sees their stream, and that the
settings stored are ones the monitoring service accepts."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from maskwatch.database.schema import audit_log, cameras
from services.api.routes.cameras import CameraSettingsIn, CameraSettingsOut
from services.monitoring.settings import CameraSettings

URL = "rtsp://viewer:secret@10.0.0.5:554/stream1"


def register(world, who="admin_a", **overrides):
    body = {"camera_id": "hall-1", "site_id": "a", "name": "Hall", "rtsp_url": URL} | overrides
    return world.client(who).post("/api/v1/cameras", json=body)


def test_the_api_settings_are_the_monitoring_services_settings():
    """The API declares the fields itself (a service never imports another): they must not drift."""
    for model in (CameraSettingsOut, CameraSettingsIn):
        assert set(model.model_fields) == set(CameraSettings.model_fields)
        assert model().model_dump(mode="json") == CameraSettings().model_dump(mode="json")
        for name, field in CameraSettings.model_fields.items():
            assert model.model_fields[name].metadata[: len(field.metadata)] == field.metadata, name


def test_an_admin_registers_a_camera_and_the_change_is_audited(world):
    response = register(
        world, settings={"unmasked_after_s": 30, "ignore_zones": [[[0, 0], [10, 0], [10, 10]]]}
    )
    assert response.status_code == 201, response.text
    assert response.headers["location"] == "/api/v1/cameras/hall-1"
    body = response.json()
    assert body["rtsp_url"] == URL
    assert body["settings"] == CameraSettings(
        unmasked_after_s=30, ignore_zones=[[(0, 0), (10, 0), (10, 10)]]
    ).model_dump(mode="json")
    assert {"self", "site", "collection", "alerts", "edit"} <= set(body["_links"])
    assert body["_links"]["alerts"]["href"] == "/api/v1/alerts?camera=hall-1"
    with world.engine.connect() as conn:
        stored = conn.execute(
            sa.select(cameras.c.settings).where(cameras.c.camera_id == "hall-1")
        ).scalar_one()
        audit = conn.execute(sa.select(audit_log).where(audit_log.c.action == "camera.create")).one()
    assert CameraSettings.model_validate(stored).unmasked_after_s == 30
    assert audit.user_id == world.user_ids["admin_a"]
    assert audit.site_id == "a"
    assert URL not in str(audit.details), "a stream URL may hold the camera's password"


@pytest.mark.parametrize(("who", "status"), [("viewer_a", 403), ("operator_a", 403), ("operator_b", 404)])
def test_only_admins_of_the_site_register_cameras(world, who, status):
    response = register(world, who)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"


def test_registering_at_an_unknown_site_is_404(world):
    assert register(world, "root", site_id="nowhere").status_code == 404


def test_a_camera_cannot_take_a_registered_id(world):
    assert register(world).status_code == 201
    again = register(world)
    assert again.status_code == 409
    gate = register(world, camera_id="a-1")
    assert gate.status_code == 409
    assert "gate" in gate.json()["detail"]


def test_invalid_settings_are_refused(world):
    assert register(world, settings={"fps": 11}).status_code == 422
    assert register(world, settings={"fsp": 3}).status_code == 422
    assert register(world, settings={"ignore_zones": [[[0, 0, 0]]]}).status_code == 422
    assert register(world, rtsp_url="http://example.org/stream").status_code == 422


@pytest.mark.parametrize(
    ("who", "sees_url", "edit"),
    [("root", True, True), ("admin_a", True, True), ("operator_a", False, False), ("viewer_a", False, False)],
)
def test_only_admins_see_the_stream_url(world, who, sees_url, edit):
    register(world)
    one = world.client(who).get("/api/v1/cameras/hall-1")
    assert one.status_code == 200
    assert one.json()["rtsp_url"] == (URL if sees_url else None)
    assert ("edit" in one.json()["_links"]) is edit
    (listed,) = world.client(who).get("/api/v1/cameras?site=a").json()["_embedded"]["items"]
    assert listed["rtsp_url"] == (URL if sees_url else None)


def test_another_sites_cameras_do_not_exist_for_a_user(world):
    register(world)
    operator_b = world.client("operator_b")
    assert operator_b.get("/api/v1/cameras/hall-1").status_code == 404
    assert operator_b.get("/api/v1/cameras").json()["total"] == 0
    assert operator_b.get("/api/v1/cameras?site=a").status_code == 404
    assert operator_b.patch("/api/v1/cameras/hall-1", json={"name": "x"}).status_code == 404
    assert world.client("root").get("/api/v1/cameras").json()["total"] == 1


def test_the_root_links_to_the_cameras(world):
    links = world.client("viewer_a").get("/api/v1/").json()["_links"]
    assert links["cameras"]["href"] == "/api/v1/cameras"


def test_an_admin_changes_settings_with_if_match_and_the_rest_are_kept(world):
    register(world, settings={"unmasked_after_s": 30})
    admin = world.client("admin_a")
    etag = admin.get("/api/v1/cameras/hall-1").headers["etag"]
    changed = admin.patch(
        "/api/v1/cameras/hall-1",
        json={"name": "Main hall", "settings": {"grace_s": 8, "incorrect_counts": False}},
        headers={"If-Match": etag},
    )
    assert changed.status_code == 200, changed.text
    settings = changed.json()["settings"]
    assert (settings["unmasked_after_s"], settings["grace_s"], settings["incorrect_counts"]) == (30, 8, False)
    assert changed.json()["name"] == "Main hall"
    lost_update = admin.patch("/api/v1/cameras/hall-1", json={"name": "x"}, headers={"If-Match": etag})
    assert lost_update.status_code == 412
    with world.engine.connect() as conn:
        stored = conn.execute(
            sa.select(cameras.c.settings).where(cameras.c.camera_id == "hall-1")
        ).scalar_one()
        audit = conn.execute(sa.select(audit_log).where(audit_log.c.action == "camera.update")).one()
    assert CameraSettings.model_validate(stored).grace_s == 8
    assert audit.details["changes"] == {
        "name": "Main hall",
        "settings": {"grace_s": 8, "incorrect_counts": False},
    }


def test_patching_the_stream_url_and_refusals(world):
    register(world)
    admin = world.client("admin_a")
    cleared = admin.patch("/api/v1/cameras/hall-1", json={"rtsp_url": None})
    assert cleared.status_code == 200
    assert cleared.json()["rtsp_url"] is None
    assert admin.patch("/api/v1/cameras/hall-1", json={"settings": {"fps": 0}}).status_code == 422
    assert admin.patch("/api/v1/cameras/hall-1", json={"site_id": "b"}).status_code == 404
    assert world.client("operator_a").patch("/api/v1/cameras/hall-1", json={"name": "x"}).status_code == 403
    assert world.client("viewer_a").patch("/api/v1/cameras/hall-1", json={"name": "x"}).status_code == 403
    moved = world.client("root").patch("/api/v1/cameras/hall-1", json={"site_id": "b"})
    assert moved.status_code == 200
    assert moved.json()["site_id"] == "b"
    assert admin.get("/api/v1/cameras/hall-1").status_code == 404


def test_a_gate_cannot_take_a_cameras_id(world):
    assert register(world).status_code == 201
    gate = world.client("admin_a").post(
        "/api/v1/gates", json={"gate_id": "hall-1", "site_id": "a", "name": "Not a gate"}
    )
    assert gate.status_code == 409
    assert "camera" in gate.json()["detail"]


def test_a_cameras_status_says_when_its_frames_last_arrived(world):
    from datetime import UTC, datetime, timedelta

    from maskwatch.database.cameras import record_sightings

    assert register(world).status_code == 201
    camera = world.client("viewer_a").get("/api/v1/cameras/hall-1").json()
    status_href = camera["_links"]["status"]["href"]
    never = world.client("viewer_a").get(status_href).json()
    assert never["online"] is False
    assert never["last_seen_at"] is None

    record_sightings(world.engine, {"hall-1": datetime.now(UTC) - timedelta(seconds=5)})
    recent = world.client("viewer_a").get(status_href).json()
    assert recent["online"] is True
    record_sightings(world.engine, {"hall-1": datetime.now(UTC) - timedelta(minutes=5)})  # never backwards
    assert world.client("viewer_a").get(status_href).json()["online"] is True
    assert world.client("operator_b").get(status_href).status_code == 404


def test_a_new_rate_is_pushed_to_a_camera_agent_but_not_to_a_stream_camera(world):
    register(world, rtsp_url=None)
    register(world, camera_id="ip-cam")  # read from its stream by the server: nothing to push
    admin = world.client("admin_a")
    assert admin.patch("/api/v1/cameras/hall-1", json={"settings": {"grace_s": 3}}).status_code == 200
    assert world.commander.configured == []  # the rate did not change
    assert admin.patch("/api/v1/cameras/hall-1", json={"settings": {"fps": 5}}).status_code == 200
    assert admin.patch("/api/v1/cameras/ip-cam", json={"settings": {"fps": 5}}).status_code == 200
    ((camera_id, config),) = world.commander.configured
    assert camera_id == "hall-1"
    assert config.fps == 5
