"""Devices through the admin API: their health on gates and cameras, a remote open that says whether the
gate confirmed, and the lifecycle (register with a broker account, rotate, revoke, delete), audited."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import sqlalchemy as sa
import yaml

from maskwatch.broker_accounts import has_account, verify_password
from maskwatch.database.device_status import StatusReport, record_status
from maskwatch.database.schema import audit_log, gates
from maskwatch.device_accounts import BrokerAddress
from tests.api.conftest import World


def _actions(world: World, target: str) -> list[str]:
    with world.engine.connect() as conn:
        rows = conn.execute(
            sa.select(audit_log.c.action).where(audit_log.c.target == target).order_by(audit_log.c.audit_id)
        )
        return list(rows.scalars())


def test_gates_and_cameras_carry_the_health_their_devices_last_reported(world):
    seen = datetime(2026, 12, 3, 7, 30, tzinfo=UTC)
    record_status(
        world.engine,
        StatusReport(
            "a-1", "gate", online=True, at=seen, software_version="1.2.0", sensors={"thermometer": "failing"}
        ),
    )
    gate = world.client("viewer_a").get("/api/v1/gates/a-1").json()
    assert gate["health"]["online"] is True
    assert gate["health"]["last_seen_at"] == "2026-12-03T07:30:00Z"
    assert gate["health"]["software_version"] == "1.2.0"
    assert gate["health"]["sensors"] == {"thermometer": "failing"}
    listed = world.client("viewer_a").get("/api/v1/gates").json()["_embedded"]["items"]
    assert [g["health"]["online"] for g in listed if g["gate_id"] == "a-1"] == [True]
    assert world.client("operator_b").get("/api/v1/gates/b-1").json()["health"] is None  # never heard from

    camera_id = f"a-cam-{uuid4().hex[:6]}"
    created = world.client("admin_a").post(
        "/api/v1/cameras", json={"camera_id": camera_id, "site_id": "a", "name": "Hall"}
    )
    assert created.status_code == 201, created.text
    record_status(world.engine, StatusReport(camera_id, "camera", online=False, at=seen))
    camera = world.client("viewer_a").get(f"/api/v1/cameras/{camera_id}").json()
    assert camera["health"]["online"] is False
    assert camera["health"]["last_seen_at"] is None


def test_a_remote_open_says_whether_the_gate_confirmed(world):
    opened = world.client("operator_a").post("/api/v1/gates/a-1/open", json={"reason": "delivery"})
    assert opened.status_code == 202, opened.text
    body = opened.json()
    assert (body["confirmed"], body["outcome"]) == (True, "opened")
    assert body["answered_at"] is not None

    world.commander.confirm = False  # the gate is off: nobody answers
    silent = world.client("operator_a").post("/api/v1/gates/a-1/open", json={"reason": "delivery"}).json()
    assert (silent["confirmed"], silent["outcome"], silent["answered_at"]) == (False, None, None)
    with world.engine.connect() as conn:
        outcomes = conn.execute(
            sa.select(audit_log.c.details)
            .where(audit_log.c.action == "gate.open")
            .order_by(audit_log.c.audit_id)
        ).scalars()
        assert [d["outcome"] for d in outcomes] == ["opened", None]


def test_an_admin_registers_a_gate_and_sees_its_password_and_pi_config_once(world):
    gate_id = f"a-{uuid4().hex[:8]}"
    created = world.client("admin_a").post(
        "/api/v1/devices", json={"kind": "gate", "device_id": gate_id, "site_id": "a", "name": "North"}
    )
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"/api/v1/devices/{gate_id}"
    answer = created.json()
    assert verify_password(world.passwd_file, gate_id, answer["password"])
    config = yaml.safe_load(answer["config"])
    assert config["gate_id"] == gate_id
    assert config["mqtt"]["username"] == gate_id
    assert config["mqtt"]["password"] == answer["password"]
    assert answer["config_path"] == "/etc/maskwatch/gate.yaml"
    assert answer["device"]["credentials"] == "active"

    device = world.client("admin_a").get(f"/api/v1/devices/{gate_id}").json()
    assert "password" not in device
    assert {"rotate", "revoke", "delete", "gate"} <= set(device["_links"])
    assert world.client("viewer_a").get(f"/api/v1/gates/{gate_id}").json()["name"] == "North"
    again = world.client("admin_a").post(
        "/api/v1/devices", json={"kind": "camera", "device_id": gate_id, "site_id": "a"}
    )
    assert again.status_code == 409
    assert _actions(world, f"gate:{gate_id}") == ["device.add"]


def test_the_pi_config_names_the_broker_as_devices_reach_it(new_postgres, password_hash):
    from tests.api.conftest import build_world

    public = BrokerAddress(host="mqtt.venue.lan", port=8883, topic_root="maskwatch/v1", tls=True)
    world = build_world(new_postgres(), password_hash, broker_address=public)
    try:
        answer = world.client("root").post(
            "/api/v1/devices", json={"kind": "camera", "device_id": f"hall-{uuid4().hex[:6]}", "site_id": "a"}
        )
        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert body["broker"] == {
            "host": "mqtt.venue.lan",
            "port": 8883,
            "topic_root": "maskwatch/v1",
            "tls": True,
        }
        config = yaml.safe_load(body["config"])
        assert (config["mqtt"]["host"], config["mqtt"]["port"], config["mqtt"]["tls"]) == (
            "mqtt.venue.lan",
            8883,
            True,
        )
        assert body["config_path"] == "/etc/maskwatch/camera.yaml"
    finally:
        world.engine.dispose()


def test_rotate_revoke_and_delete_change_the_broker_account_and_are_audited(world):
    admin = world.client("admin_a")
    gate_id = f"a-{uuid4().hex[:8]}"
    first = admin.post("/api/v1/devices", json={"kind": "gate", "device_id": gate_id, "site_id": "a"}).json()

    rotated = admin.post(f"/api/v1/devices/{gate_id}/rotate")
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()["password"]
    assert second != first["password"]
    assert verify_password(world.passwd_file, gate_id, second)
    assert not verify_password(world.passwd_file, gate_id, first["password"])

    revoked = admin.post(f"/api/v1/devices/{gate_id}/revoke")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["broker_reloaded"] is False  # this world has no broker to reload
    assert not has_account(world.passwd_file, gate_id)
    device = admin.get(f"/api/v1/devices/{gate_id}").json()
    assert device["credentials"] == "revoked"
    assert device["revoked_at"] is not None
    assert "revoke" not in device["_links"]

    back = admin.post(f"/api/v1/devices/{gate_id}/rotate").json()  # a new password lets it back
    assert back["device"]["credentials"] == "active"
    assert verify_password(world.passwd_file, gate_id, back["password"])

    assert admin.delete(f"/api/v1/devices/{gate_id}").status_code == 204
    assert not has_account(world.passwd_file, gate_id)
    assert admin.get(f"/api/v1/devices/{gate_id}").status_code == 404
    with world.engine.connect() as conn:
        assert conn.execute(sa.select(gates).where(gates.c.gate_id == gate_id)).first() is None
    assert _actions(world, f"gate:{gate_id}") == [
        "device.add",
        "device.rotate",
        "device.revoke",
        "device.rotate",
        "device.delete",
    ]


def test_the_device_list_holds_the_admins_sites_and_offers_create(world):
    body = world.client("admin_a").get("/api/v1/devices").json()
    assert {d["site_id"] for d in body["_embedded"]["items"]} == {"a"}
    assert body["_links"]["create"]["method"] == "POST"
    assert world.client("root").get("/api/v1/devices?kind=gate").json()["total"] == 2
    assert world.client("operator_a").get("/api/v1/devices").status_code == 403
    a_gate = next(d for d in body["_embedded"]["items"] if d["device_id"] == "a-1")
    assert a_gate["credentials"] == "none"  # registered through /gates, never given an account
