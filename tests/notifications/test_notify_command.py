"""`maskwatch notify`: adding recipients, listing dead deliveries, retrying them (on a fresh SQLite and a
fresh PostgreSQL database)."""

from __future__ import annotations

import json

import sqlalchemy as sa
from typer.testing import CliRunner

from maskwatch.database.engine import create_engine, migrate
from maskwatch.database.notifications import PENDING, plan_deliveries, recipients_for, record_failure
from maskwatch.database.schema import deliveries, notification_recipients
from stack.cli import app


def test_recipients_deliveries_and_retry_from_the_command_line(database_url, monkeypatch):
    url = database_url
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
        (["--channel", "email", "--address", "a@b.c", "--quiet-hours", "22:00"], "HH:MM-HH:MM"),
        (["--channel", "email", "--address", "a@b.c", "--quiet-hours", "22:00-7:00"], "'7:00' is not a time"),
        (["--channel", "email", "--address", "a@b.c", "--rate-limit", "lots"], "'lots' is not a rate"),
        (["--channel", "email", "--address", "a@b.c", "--min-severity", "urgent"], "a severity is one of"),
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

    ruled = runner.invoke(
        app,
        [
            "notify", "recipient", "add", "--channel", "sns", "--address", "+821012345678",
            "--min-severity", "critical", "--quiet-hours", "22:00-07:00", "--rate-limit", "3/60min",
        ],
    )  # fmt: skip
    assert ruled.exit_code == 0, ruled.output
    with engine.connect() as c:
        sms = c.execute(
            sa.select(notification_recipients).where(notification_recipients.c.channel == "sns")
        ).one()
    assert (sms.min_severity, sms.quiet_hours, sms.rate_limit) == (
        "critical",
        {"start": "22:00", "end": "07:00"},
        "3/h",
    )

    retried = runner.invoke(app, ["notify", "deliveries", "retry", "--all"])
    assert retried.exit_code == 0
    assert "1 deliveries pending again" in retried.stdout
    with engine.connect() as c:
        assert c.execute(sa.select(deliveries.c.status)).scalar_one() == PENDING
    engine.dispose()


def test_a_retry_from_the_command_line_tells_the_running_notifier(
    database_url, monkeypatch, redis_url, unique_id
):
    import asyncio

    from maskwatch.contracts import DeliveryRetry, decode
    from maskwatch.database.notifications import add_recipient
    from maskwatch.queue import open_queue
    from maskwatch.streams import Group, Streams

    url = database_url
    prefix = f"test-{unique_id}"
    monkeypatch.setenv("MASKWATCH_DATABASE__URL", url)
    monkeypatch.setenv("MASKWATCH_QUEUE__URL", redis_url)
    monkeypatch.setenv("MASKWATCH_QUEUE__PREFIX", prefix)
    migrate(url)
    engine = create_engine(url)
    add_recipient(engine, site_id="default", channel="email", address="ops@venue.test")
    with engine.begin() as c:
        (delivery_id,) = plan_deliveries(
            c,
            alert_key="b" * 36,
            transition="opened",
            notification={},
            recipients=recipients_for(c, "default", "unmasked"),
        )
        record_failure(c, delivery_id, "relay refused", dead=True)
    engine.dispose()

    retried = CliRunner().invoke(app, ["notify", "deliveries", "retry", delivery_id])
    assert retried.exit_code == 0, retried.output
    assert "the running notifier was told" in retried.stdout

    async def announced() -> list[DeliveryRetry]:
        queue = open_queue(redis_url)
        try:
            stream = Streams(prefix).delivery_retries.read_by(Group.NOTIFIER)
            await queue.ensure_group(stream)
            return [decode(DeliveryRetry, e.data) for e in await queue.read(stream, "test", 10, 50)]
        finally:
            await queue.close()

    (message,) = asyncio.run(announced())
    assert (message.delivery_ids, message.via, message.by_user) == ([delivery_id], "cli", None)
