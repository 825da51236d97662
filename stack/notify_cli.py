"""`maskwatch notify`: who hears of alerts, and the deliveries that failed for good."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer

app = typer.Typer(no_args_is_help=True, help="Notifications: recipients, and deliveries to retry.")
recipient_app = typer.Typer(no_args_is_help=True, help="Who hears of a site's alerts, on which channel.")
deliveries_app = typer.Typer(no_args_is_help=True, help="Deliveries: list them; retry dead ones.")
app.add_typer(recipient_app, name="recipient")
app.add_typer(deliveries_app, name="deliveries")

CHANNELS = ("webhook", "email", "sns", "fcm", "webpush")


@recipient_app.command("add")
def recipient_add(
    channel: Annotated[str, typer.Option(help="webhook | email | sns | fcm | webpush")],
    address: Annotated[str, typer.Option(help="The URL, e-mail address, SNS ARN or phone number, token…")],
    site: Annotated[str, typer.Option(help="The site whose alerts they hear of.")] = "default",
    language: Annotated[str, typer.Option(help="en or ko.")] = "en",
    time_zone: Annotated[str, typer.Option(help="For the times in messages, e.g. Asia/Seoul.")] = "UTC",
    kind: Annotated[
        list[str] | None, typer.Option(help="Only these alert kinds (repeat); all by default.")
    ] = None,
    min_severity: Annotated[
        str, typer.Option(help="The least severe alerts heard: info, warning or critical.")
    ] = "info",
    quiet_hours: Annotated[
        str | None,
        typer.Option(help="HH:MM-HH:MM in their time zone: held then, sent as one digest after."),
    ] = None,
    rate_limit: Annotated[
        str | None, typer.Option(help="At most this many messages, e.g. 5/10min (default: the channel's).")
    ] = None,
) -> None:
    """Add a recipient; a webhook gets its signing secret (shown once)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    import sqlalchemy as sa

    from maskwatch.database.engine import create_engine, migrate
    from maskwatch.database.notifications import add_recipient
    from maskwatch.database.schema import sites
    from services.notifier.channels.webhook import new_webhook_secret
    from stack.cli import load_settings_or_exit

    if channel not in CHANNELS:
        typer.echo(f"unknown channel {channel!r}; choose one of {', '.join(CHANNELS)}", err=True)
        raise typer.Exit(2)
    if language not in ("en", "ko"):
        typer.echo("--language must be en or ko", err=True)
        raise typer.Exit(2)
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        typer.echo(f"unknown time zone {time_zone!r}", err=True)
        raise typer.Exit(2) from exc
    if channel == "webhook" and not address.startswith(("https://", "http://")):
        typer.echo("a webhook's address is its http(s):// URL", err=True)
        raise typer.Exit(2)
    try:
        rules = _rules(min_severity, quiet_hours, rate_limit)
    except ValueError as exc:
        typer.echo(_first_error(exc), err=True)
        raise typer.Exit(2) from exc
    settings = load_settings_or_exit()
    migrate(settings.database.url)
    engine = create_engine(settings.database.url)
    try:
        with engine.connect() as connection:
            if connection.execute(sa.select(sites.c.site_id).where(sites.c.site_id == site)).first() is None:
                typer.echo(f"no site {site!r}", err=True)
                raise typer.Exit(2)
        secrets = {"webhook_secret": new_webhook_secret()} if channel == "webhook" else {}
        try:
            recipient_id = add_recipient(
                engine,
                site_id=site,
                channel=channel,
                address=address,
                language=language,
                time_zone=time_zone,
                secrets=secrets,
                kinds=kind or [],
                **rules,
            )
        except sa.exc.IntegrityError as exc:
            typer.echo(f"{address} already hears of site {site!r} on {channel}", err=True)
            raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    typer.echo(f"recipient {recipient_id}: {channel} {address} hears of site {site}")
    if secrets:
        typer.echo(
            f"Signing secret (shown once; verify webhook-signature with it): {secrets['webhook_secret']}"
        )


def _rules(min_severity: str, quiet_hours: str | None, rate_limit: str | None) -> dict[str, Any]:
    """The recipient's rules from the options; ValueError says which one is wrong."""
    from maskwatch.notification_rules import QuietHours, RateLimit, Severity

    rules: dict[str, Any] = {"min_severity": Severity.parse(min_severity)}
    if quiet_hours is not None:
        start, dash, end = quiet_hours.partition("-")
        if not dash:
            raise ValueError(f"--quiet-hours is HH:MM-HH:MM, such as 22:00-07:00, not {quiet_hours!r}")
        rules["quiet_hours"] = QuietHours(start=start.strip(), end=end.strip())
    if rate_limit is not None:
        rules["rate_limit"] = RateLimit.parse(rate_limit)
    return rules


def _first_error(exc: ValueError) -> str:
    """A pydantic error's own message, without its documentation link."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        return f"{first['msg'].removeprefix('Value error, ')}"
    return str(exc)


@deliveries_app.command("list")
def deliveries_list(
    status: Annotated[str, typer.Option(help="pending | sent | dead")] = "dead",
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
) -> None:
    """One JSON line per delivery, oldest first."""
    from maskwatch.database.engine import create_engine
    from maskwatch.database.notifications import list_deliveries
    from stack.cli import load_settings_or_exit

    engine = create_engine(load_settings_or_exit().database.url)
    try:
        with engine.connect() as connection:
            rows = list_deliveries(connection, status, limit)
    finally:
        engine.dispose()
    for row in rows:
        line = {
            "delivery_id": row.delivery_id,
            "alert": row.alert_key,
            "transition": row.transition,
            "channel": row.channel,
            "recipient": row.recipient_id,
            "attempts": row.attempts,
            "last_error": row.last_error,
        }
        typer.echo(json.dumps(line))
    if not rows:
        typer.echo(f"no {status} deliveries", err=True)


@deliveries_app.command("retry")
def deliveries_retry(
    ids: Annotated[list[str] | None, typer.Argument(help="Dead deliveries' ids.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every dead delivery.")] = False,
) -> None:
    """Try dead deliveries again (after fixing the receiver): now, or when the notifier next starts."""
    from maskwatch.database.engine import create_engine
    from maskwatch.database.notifications import DEAD, list_deliveries, revive
    from stack.cli import load_settings_or_exit

    if bool(ids) == every:
        typer.echo("name the deliveries, or pass --all", err=True)
        raise typer.Exit(2)
    settings = load_settings_or_exit()
    engine = create_engine(settings.database.url)
    try:
        with engine.begin() as connection:
            chosen = ids or [row.delivery_id for row in list_deliveries(connection, DEAD, 10_000)]
            revived = revive(connection, chosen)
    finally:
        engine.dispose()
    if settings.queue.url.startswith("memory://"):
        typer.echo(f"{len(revived)} deliveries pending again; the notifier sends them when it next starts")
        return
    if revived:
        asyncio.run(_announce(settings.queue.url, settings.queue.prefix, revived))
    typer.echo(f"{len(revived)} deliveries pending again; the running notifier was told to send them")


async def _announce(url: str, prefix: str, delivery_ids: list[str]) -> None:
    """Tell the running notifier, on its `delivery_retries` stream, as the admin API does."""
    from datetime import UTC, datetime

    from maskwatch.contracts import DeliveryRetry
    from maskwatch.queue import open_queue
    from maskwatch.streams import Streams, append

    queue = open_queue(url)
    try:
        message = DeliveryRetry(delivery_ids=delivery_ids, at=datetime.now(UTC), via="cli")
        await append(queue, Streams(prefix).delivery_retries, message)
    finally:
        await queue.close()
