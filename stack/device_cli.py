"""`maskwatch device list|revoke|delete`, and what `device add` prints: a device's lifecycle on the
command line, the same steps the admin API takes (maskwatch.database.devices, maskwatch.device_accounts).

Revoking takes the broker account away (the HTTP check door refuses the device
at once; the broker once reloaded, which `provisioning.broker_reload_command`
does) and keeps the device registered, its history counted; deleting forgets it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from maskwatch.device_accounts import BrokerAddress, Change, DeviceAccounts
from maskwatch.device_config import agent_config
from maskwatch.topics import Topics

if TYPE_CHECKING:  # the database layer is imported by each command: a Pi's install has no SQLAlchemy
    import sqlalchemy as sa

    from stack.settings import ProvisioningSettings

PasswdFile = Annotated[Path | None, typer.Option(help="Mosquitto password file to update.")]
RELOAD_HINT = "reload the broker (docker compose kill -s SIGHUP mosquitto) to apply it"


def accounts_for(provisioning: ProvisioningSettings, passwd_file: Path | None) -> DeviceAccounts:
    accounts = provisioning.device_accounts()
    return replace(accounts, passwd_file=passwd_file) if passwd_file is not None else accounts


def device_exists(database: sa.Engine, accounts: DeviceAccounts, device_id: str) -> bool:
    """Registered, or holding a broker account: adding it again would silently cut off the real one."""
    from maskwatch.database.devices import load_device

    with database.connect() as connection:
        known = load_device(connection, device_id)
    return known is not None or accounts.has(device_id)


def refuse_taken_unless_rotated(
    database: sa.Engine, accounts: DeviceAccounts, device_id: str, *, rotate: bool, taken: str
) -> None:
    """Exit 2 with `taken` when the id is in use and `--rotate` was not given (`device_exists`)."""
    if not rotate and device_exists(database, accounts, device_id):
        typer.echo(taken, err=True)
        raise typer.Exit(2)


def record(connection: sa.Connection, action: str, kind: str, device_id: str, site_id: str | None) -> None:
    """The audit entry the admin API writes for the same change, marked as made on the command line."""
    from services.api import audit

    audit.record(connection, None, action, f"{kind}:{device_id}", site_id=site_id, via="cli")


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def print_provisioned(gate_id: str, broker: BrokerAddress, change: Change) -> None:
    """The account, the broker as the Pi reaches it, the topics, and the Pi's gate.yaml."""
    password = change.password or ""
    scheme = "mqtts" if broker.tls else "mqtt"
    typer.echo(f"Broker for the Pi: {scheme}://{broker.host}:{broker.port}  username: {gate_id}")
    if _loopback(broker.host):
        typer.echo(
            f"warning: {broker.host} is this server itself, which a Pi cannot reach: set "
            "MASKWATCH_PROVISIONING__PUBLIC_BROKER_HOST to the server's LAN name or address",
            err=True,
        )
    typer.echo(f"Password (shown once): {password}")
    topics = Topics(broker.topic_root)
    for what, template in (
        ("publish checks", topics.gate_check),
        ("publish status (retained)", topics.gate_status),
        ("publish command answers", topics.gate_command_ack),
        ("receive verdicts", topics.gate_verdict),
        ("receive rejections", topics.gate_rejected),
        ("receive commands", topics.gate_command),
        ("receive configuration (retained)", topics.gate_config),
    ):
        typer.echo(f"  {what:<34} {template.format(gate_id=gate_id)}")
    typer.echo("The broker applied it." if change.broker_reloaded else f"Then {RELOAD_HINT}.")
    typer.echo("\n# /etc/maskwatch/gate.yaml on the Pi:\n" + agent_config("gate", gate_id, broker, password))


def _database() -> sa.Engine:
    from maskwatch.database.engine import create_engine, migrate
    from stack.cli import load_settings_or_exit

    url = load_settings_or_exit().database.url
    migrate(url)
    return create_engine(url)


def device_list_command(
    site: Annotated[str | None, typer.Option(help="Only this site's devices.")] = None,
    passwd_file: PasswdFile = None,
) -> None:
    """Every gate and camera: site, whether its broker account is active, revoked or missing."""
    from maskwatch.database.devices import list_devices
    from stack.cli import load_settings_or_exit

    accounts = accounts_for(load_settings_or_exit().provisioning, passwd_file)
    database = _database()
    try:
        with database.connect() as connection:
            _, devices = list_devices(connection, sites_visible={site} if site else None, limit=1_000_000)
    finally:
        database.dispose()
    for device in devices:
        account = "revoked" if device.revoked_at else ("active" if accounts.has(device.device_id) else "none")
        typer.echo(f"{device.device_id:<24} {device.kind:<7} {device.site_id:<16} {account:<8} {device.name}")


def device_revoke_command(
    device_id: Annotated[str, typer.Argument(help="The gate's or camera's id.")],
    passwd_file: PasswdFile = None,
) -> None:
    """Take a device's broker account away now; it stays registered (`device add --rotate` lets it back)."""
    from maskwatch import device_lifecycle
    from maskwatch.database.devices import load_device
    from stack.cli import load_settings_or_exit, require_device_id

    require_device_id(device_id, "device")
    accounts = accounts_for(load_settings_or_exit().provisioning, passwd_file)
    database = _database()
    try:
        with database.begin() as connection:
            device = load_device(connection, device_id)
            if device is None:  # an account nobody registered: take it away all the same
                change = accounts.remove(device_id)
            else:
                change = device_lifecycle.revoke(connection, accounts, device)
                record(connection, "device.revoke", device.kind, device_id, device.site_id)
    finally:
        database.dispose()
    if device is None and not change.existed:
        typer.echo(f"no device {device_id!r}", err=True)
        raise typer.Exit(2)
    applied = "the broker applied it" if change.broker_reloaded else RELOAD_HINT
    typer.echo(f"{device_id}: broker account removed; the HTTP check door refuses it now; {applied}.")


def device_delete_command(
    device_id: Annotated[str, typer.Argument(help="The gate's or camera's id.")],
    passwd_file: PasswdFile = None,
) -> None:
    """Forget a device and remove its broker account (a gate's past checks stay in the figures)."""
    from maskwatch import device_lifecycle
    from maskwatch.database.devices import load_device
    from stack.cli import load_settings_or_exit, require_device_id

    require_device_id(device_id, "device")
    accounts = accounts_for(load_settings_or_exit().provisioning, passwd_file)
    database = _database()
    try:
        with database.begin() as connection:
            device = load_device(connection, device_id)
            if device is None:
                typer.echo(f"no device {device_id!r}", err=True)
                raise typer.Exit(2)
            device_lifecycle.forget(connection, accounts, device)
            record(connection, "device.delete", device.kind, device_id, device.site_id)
    finally:
        database.dispose()
    typer.echo(f"{device.kind} {device_id} deleted with its broker account.")
