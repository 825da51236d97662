"""The broker ACL comes from the topic declarations, and the committed copy has not drifted from them."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from maskwatch.broker_acl import render_acl
from maskwatch.topics import Topics, TopicTemplate
from stack.broker_cli import acl_command

COMMITTED_ACL = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "acl"


def test_the_committed_acl_is_the_generated_one():
    assert COMMITTED_ACL.read_text() == render_acl(Topics()), (
        "deploy/mosquitto/acl is out of date: run `maskwatch broker acl --output deploy/mosquitto/acl`"
    )


def test_every_template_is_in_the_acl_with_its_device_access():
    topics = Topics("site/v2")
    lines = render_acl(topics).splitlines()
    assert {t.pattern for t in topics.templates()} == {
        "gates/{gate_id}/check",
        "gates/{gate_id}/verdict",
        "gates/{gate_id}/rejected",
        "gates/{gate_id}/status",
        "gates/{gate_id}/command",
        "gates/{gate_id}/command_ack",
        "gates/{gate_id}/config",
        "cameras/{camera_id}/frame",
        "cameras/{camera_id}/status",
        "cameras/{camera_id}/config",
    }
    assert [line for line in lines if line.startswith("pattern ")] == [
        f"pattern {t.device_access} site/v2/"
        + t.pattern.replace("{gate_id}", "%u").replace("{camera_id}", "%u")
        for t in topics.templates()
    ]
    assert lines[lines.index("user maskwatch-server") + 1] == "topic readwrite site/v2/#"


def test_the_acl_is_deterministic_and_says_it_is_generated():
    acl = render_acl(Topics(), server_user="svc")
    assert acl == render_acl(Topics(), server_user="svc")
    assert "user svc\n" in acl
    assert "maskwatch broker acl" in acl
    assert "do not edit by hand" in acl


@pytest.mark.parametrize("root", ["site/+", "site/#", "site/%u", "with space", ""])
def test_a_root_that_would_widen_the_acl_is_refused(root):
    with pytest.raises(ValueError, match="root"):
        render_acl(Topics(root))


def test_a_parameter_the_acl_cannot_express_is_refused(monkeypatch):
    monkeypatch.setattr(
        Topics,
        "templates",
        lambda self: (TopicTemplate(self.root, "sites/{site_id}/frames", device_access="write"),),
    )
    with pytest.raises(ValueError, match="site_id"):
        render_acl(Topics())


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(acl_command)
    return app


def test_the_command_prints_writes_and_checks(tmp_path):
    runner = CliRunner()
    printed = runner.invoke(_cli(), ["--topic-root", "site/v2"])
    assert printed.exit_code == 0
    assert printed.stdout == render_acl(Topics("site/v2"))

    target = tmp_path / "acl"
    assert runner.invoke(_cli(), ["--output", str(target)]).exit_code == 0
    assert target.read_text() == render_acl(Topics())
    assert runner.invoke(_cli(), ["--output", str(target), "--check"]).exit_code == 0

    target.write_text(target.read_text().replace("/command", "/commands"))
    stale = runner.invoke(_cli(), ["--output", str(target), "--check"])
    assert stale.exit_code == 1
    assert "differs from the topic declarations" in stale.stderr
    assert "/commands" in target.read_text()  # --check never writes

    missing = runner.invoke(_cli(), ["--output", str(tmp_path / "absent"), "--check"])
    assert missing.exit_code == 1
    assert "is missing" in missing.stderr
    assert runner.invoke(_cli(), ["--check"]).exit_code == 2
