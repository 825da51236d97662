"""`maskwatch notify`: adding recipients, listing dead deliveries, retrying them."""

from __future__ import annotations

import json

import sqlalchemy as sa
from typer.testing import CliRunner

from maskwatch.database.engine import create_engine, migrate
from maskwatch.database.notifications import PENDING, plan_deliveries, recipients_for, record_failure
from maskwatch.database.schema import deliveries, notification_recipients
from stack.cli import app


def test_recipients_deliveries_and_retry_from_the_command_line(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/db.sqlite"
    monkeypatch.setenv("MASKWATCH_DATABASE__URL", url)
    runner = CliRunner()
    added = runner.invoke(
        app,
        [
            "notify", "recipient", "add", "--channel", "webhook", "--address", "https://hooks.example/a",
            "--language", "ko", "--time-zone", "Asia/Seoul", "--kind", "unmasked",
        ],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    secret = added.stdout.split("it): ")[1].split()[0]
    assert secret.startswith("whsec_")
    again = runner.invoke(
        app, ["notify", "recipient", "add", "--channel", "webhook", "--address", "https://hooks.example/a"]
    )
    assert again.exit_code == 2
    assert "already hears" in again.output
    for args, message in (
        (["--channel", "pager", "--address", "x"], "unknown channel"),
        (["--channel", "email", "--address", "a@b.c", "--time-zone", "Mars/Base"], "unknown time zone"),
        (["--channel", "email", "--address", "a@b.c", "--site", "nowhere"], "no site 'nowhere'"),
    ):
        refused = runner.invoke(app, ["notify", "recipient", "add", *args])
        assert refused.exit_code == 2, args
        assert message in refused.output

    engine = create_engine(url)
    migrate(url)
    with engine.begin() as c:
        recipient = c.execute(sa.select(notification_recipients)).one()
        assert (recipient.language, recipient.time_zone, recipient.kinds) == (
            "ko",
            "Asia/Seoul",
            ["unmasked"],
        )
        (delivery_id,) = plan_deliveries(
            c,
            alert_key="a" * 36,
            transition="opened",
            notification={},
            recipients=recipients_for(c, "default", "unmasked"),
        )
        record_failure(c, delivery_id, "HTTP 500 from the receiver", dead=True)
    listed = runner.invoke(app, ["notify", "deliveries", "list"])
    assert listed.exit_code == 0
    (line,) = [json.loads(x) for x in listed.stdout.splitlines()]
    assert (line["delivery_id"], line["last_error"]) == (delivery_id, "HTTP 500 from the receiver")

    retried = runner.invoke(app, ["notify", "deliveries", "retry", "--all"])
    assert retried.exit_code == 0
    assert "1 deliveries pending again" in retried.stdout
    with engine.connect() as c:
        assert c.execute(sa.select(deliveries.c.status)).scalar_one() == PENDING
    engine.dispose()
