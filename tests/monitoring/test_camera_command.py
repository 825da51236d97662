"""`maskwatch camera add`: a camera and its monitoring settings registered, its broker account created."""

from __future__ import annotations

import sqlalchemy as sa
from typer.testing import CliRunner

from maskwatch.broker_accounts import verify_password
from maskwatch.database.engine import create_engine
from maskwatch.database.schema import audit_log, cameras
from services.monitoring.settings import CameraSettings
from stack.cli import app


def test_camera_add_registers_settings_zones_and_an_account(tmp_path, monkeypatch):
    db = f"sqlite:///{tmp_path}/db.sqlite"
    monkeypatch.setenv("MASKWATCH_DATABASE__URL", db)
    passwd = tmp_path / "passwd"
    result = CliRunner().invoke(
        app,
        [
            "camera", "add", "hall-1", "--unmasked-after", "45", "--incorrect-is-masked",
            "--ignore-zone", "0,0 100,0 100,80", "--passwd-file", str(passwd),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    password = result.stdout.split("Password (shown once): ")[1].split()[0]
    assert verify_password(passwd, "hall-1", password)
    engine = create_engine(db)
    with engine.connect() as c:
        row = c.execute(sa.select(cameras).where(cameras.c.camera_id == "hall-1")).one()
    engine.dispose()
    settings = CameraSettings.model_validate(row.settings)
    assert settings.unmasked_after_s == 45
    assert settings.incorrect_counts is False
    assert settings.ignore_zones == [[(0, 0), (100, 0), (100, 80)]]


def test_camera_add_refuses_bad_input_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("MASKWATCH_DATABASE__URL", f"sqlite:///{tmp_path}/db.sqlite")
    runner = CliRunner()
    for args, message in (
        (["camera", "add", "bad/id"], "invalid camera id"),
        (["camera", "add", "c1", "--ignore-zone", "1,2 3,4"], "at least three points"),
        (["camera", "add", "c1", "--rtsp", "ftp://x"], "--rtsp must be"),
        (["camera", "add", "c1", "--site", "nowhere"], "no site 'nowhere'"),
    ):
        result = runner.invoke(app, [*args, "--passwd-file", str(tmp_path / "passwd")])
        assert result.exit_code == 2, args
        assert message in result.output
        assert "Traceback" not in result.output


def test_adding_a_camera_again_is_refused_unless_rotated(tmp_path, monkeypatch):
    db = f"sqlite:///{tmp_path}/db.sqlite"
    monkeypatch.setenv("MASKWATCH_DATABASE__URL", db)
    passwd = tmp_path / "passwd"
    runner = CliRunner()
    first = runner.invoke(app, ["camera", "add", "hall-2", "--passwd-file", str(passwd)])
    assert first.exit_code == 0, first.output
    password = first.stdout.split("Password (shown once): ")[1].split()[0]

    again = runner.invoke(
        app, ["camera", "add", "hall-2", "--unmasked-after", "30", "--passwd-file", str(passwd)]
    )
    assert again.exit_code == 2
    assert "exists already" in again.output
    assert "--rotate" in again.output
    assert verify_password(passwd, "hall-2", password)  # the camera using it is not cut off

    rotated = runner.invoke(
        app, ["camera", "add", "hall-2", "--unmasked-after", "30", "--rotate", "--passwd-file", str(passwd)]
    )
    assert rotated.exit_code == 0, rotated.output
    new_password = rotated.stdout.split("Password (shown once): ")[1].split()[0]
    assert new_password != password
    assert verify_password(passwd, "hall-2", new_password)
    assert not verify_password(passwd, "hall-2", password)
    engine = create_engine(db)
    with engine.connect() as c:
        row = c.execute(sa.select(cameras).where(cameras.c.camera_id == "hall-2")).one()
        actions = [r.action for r in c.execute(sa.select(audit_log).order_by(audit_log.c.audit_id))]
    engine.dispose()
    assert CameraSettings.model_validate(row.settings).unmasked_after_s == 30
    assert actions == ["device.add", "device.rotate"]


def test_a_gates_id_is_refused_for_a_camera(tmp_path, monkeypatch):
    monkeypatch.setenv("MASKWATCH_DATABASE__URL", f"sqlite:///{tmp_path}/db.sqlite")
    passwd = tmp_path / "passwd"
    runner = CliRunner()
    assert runner.invoke(app, ["device", "add", "door-1", "--passwd-file", str(passwd)]).exit_code == 0
    result = runner.invoke(app, ["camera", "add", "door-1", "--passwd-file", str(passwd)])
    assert result.exit_code == 2
    assert "exists already" in result.output
