"""The `maskwatch` command: run the stack, run one service, simulate a gate, run the demo."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from stack.settings import Settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
simulate_app = typer.Typer(no_args_is_help=True, help="Act as a device, for commissioning and diagnostics.")
app.add_typer(simulate_app, name="simulate")
device_app = typer.Typer(no_args_is_help=True, help="Gates and cameras: provisioning.")
app.add_typer(device_app, name="device")


def load_settings_or_exit() -> Settings:
    """The settings, or a clear configuration error (exit 2) instead of a traceback."""
    from pydantic import ValidationError

    from stack.settings import load_settings

    try:
        return load_settings()
    except (ValidationError, ValueError, FileNotFoundError) as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from exc


def require_device_id(value: str, what: str) -> None:
    """Exit 2 with a clear message unless `value` can be a gate or camera id (it appears in topics)."""
    from pydantic import TypeAdapter, ValidationError

    from maskwatch.contracts.common import DeviceId

    try:
        TypeAdapter(DeviceId).validate_python(value)
    except ValidationError as exc:
        typer.echo(
            f"invalid {what} id {value!r}: use letters, digits, '.', '_' or '-' (at most 64)", err=True
        )
        raise typer.Exit(2) from exc


def run_until_signalled(main: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run `main(stop)` with `stop` set by SIGINT or SIGTERM: how a device program ends cleanly."""
    import signal

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await main(stop)

    asyncio.run(runner())


@app.command()
def up() -> None:
    """Run every service: the native twin of `docker compose up`."""
    from maskwatch.logs import configure_logging
    from stack.launcher import up as run_up

    configure_logging("up")
    asyncio.run(run_up(load_settings_or_exit()))


@app.command()
def run(
    service: Annotated[str, typer.Argument(help="ingest | inference | gate-controller | stats | api")],
) -> None:
    """Run one service against the configured broker, Redis and database (what its container runs)."""
    from maskwatch.logs import configure_logging
    from stack.launcher import run_one
    from stack.service_table import SERVICE_NAMES

    if service not in SERVICE_NAMES:
        typer.echo(f"unknown service {service!r}; choose one of {', '.join(SERVICE_NAMES)}", err=True)
        raise typer.Exit(2)
    configure_logging(service)
    asyncio.run(run_one(service, load_settings_or_exit()))


@app.command()
def migrate() -> None:
    """Bring the statistics database schema up to date."""
    from maskwatch.database.engine import migrate as run_migrations

    settings = load_settings_or_exit()
    run_migrations(settings.database.url)
    typer.echo("database schema is up to date")


@app.command()
def demo(
    rounds: Annotated[int, typer.Option(min=1, help="Checks per simulated gate.")] = 2,
) -> None:
    """Start the whole stack on embedded defaults and let three simulated gates check people."""
    from maskwatch.logs import configure_logging
    from stack.demo.run import run_demo

    configure_logging("demo", level="WARNING")
    raise typer.Exit(asyncio.run(run_demo(load_settings_or_exit(), rounds=rounds)))


@app.command()
def agent(
    config: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="The gate's YAML configuration.")],
    checks: Annotated[int | None, typer.Option(help="Stop after this many checks (commissioning).")] = None,
) -> None:
    """Run the gate agent: the program on each entrance's Raspberry Pi."""
    from pydantic import ValidationError

    from devices.gate_agent.agent import GateAgent
    from devices.gate_agent.settings import load_agent_settings
    from devices.hardware.config import build_hardware
    from maskwatch.logs import configure_logging

    try:
        settings = load_agent_settings(config)
    except (ValidationError, ValueError) as exc:
        typer.echo(f"configuration error in {config}: {exc}", err=True)
        raise typer.Exit(2) from exc
    configure_logging(f"gate {settings.gate_id}")

    async def main(stop: asyncio.Event) -> None:
        with build_hardware(settings.hardware) as hardware:
            await GateAgent(settings, hardware).run(stop, max_checks=checks)

    run_until_signalled(main)


@app.command("camera-agent")
def camera_agent(
    config: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, help="The camera's YAML configuration.")
    ],
    frames: Annotated[int | None, typer.Option(help="Stop after this many frames (commissioning).")] = None,
) -> None:
    """Run the indoor camera agent: capture and publish frames at the configured rate."""
    from pydantic import ValidationError

    from devices.camera_agent.agent import CameraAgent
    from devices.camera_agent.settings import load_camera_agent_settings
    from devices.hardware.config import build_camera
    from maskwatch.logs import configure_logging

    try:
        settings = load_camera_agent_settings(config)
    except (ValidationError, ValueError) as exc:
        typer.echo(f"configuration error in {config}: {exc}", err=True)
        raise typer.Exit(2) from exc
    configure_logging(f"camera {settings.camera_id}")

    async def main(stop: asyncio.Event) -> None:
        camera = build_camera(settings.camera)
        try:
            await CameraAgent(settings, camera).run(stop, max_frames=frames)
        finally:
            camera.release()

    run_until_signalled(main)


@device_app.command("add")
def device_add(
    gate_id: Annotated[str, typer.Argument(help="The new gate's id (letters, digits, . _ -).")],
    site: Annotated[str, typer.Option(help="The site the gate belongs to.")] = "default",
    name: Annotated[str | None, typer.Option(help="A name for the dashboard.")] = None,
    passwd_file: Annotated[Path | None, typer.Option(help="Mosquitto password file to update.")] = None,
) -> None:
    """Create broker credentials for a gate and print what its Raspberry Pi needs.

    The password is shown once. Reload the broker afterwards (docker compose kill -s SIGHUP mosquitto).
    """
    from maskwatch.database.engine import create_engine, migrate
    from maskwatch.database.gates import DeviceIdTaken, UnknownSiteError, register_gate
    from stack.provisioning import provision_gate

    require_device_id(gate_id, "gate")
    settings = load_settings_or_exit()
    migrate(settings.database.url)
    database = create_engine(settings.database.url)
    try:
        register_gate(database, gate_id, site_id=site, name=name)
    except (UnknownSiteError, DeviceIdTaken) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    finally:
        database.dispose()
    p = settings.provisioning
    result = provision_gate(
        gate_id,
        passwd_file=passwd_file or p.mosquitto_passwd_file,
        broker_host=p.public_broker_host,
        broker_port=p.public_broker_port,
        topic_root=settings.mqtt.topic_root,
    )
    typer.echo(
        f"Gate {gate_id} registered under site {site}; "
        f"broker account in {passwd_file or p.mosquitto_passwd_file}."
    )
    typer.echo(f"Broker: {result.broker_host}:{result.broker_port}  username: {result.username}")
    typer.echo(f"Password (shown once): {result.password}")
    for what, topic in result.topic_table().items():
        typer.echo(f"  {what:<34} {topic}")
    typer.echo("\n# /etc/maskwatch/gate.yaml on the Pi:\n" + result.agent_config())


@device_app.command("rotate")
def device_rotate(
    device_id: Annotated[str, typer.Argument(help="The gate's or camera's id.")],
    passwd_file: Annotated[Path | None, typer.Option(help="Mosquitto password file to update.")] = None,
) -> None:
    """Give a gate or camera a new broker password (shown once); the old one stops at the broker's reload."""
    from maskwatch.broker_accounts import rotate_password

    require_device_id(device_id, "device")
    passwd = passwd_file or load_settings_or_exit().provisioning.mosquitto_passwd_file
    try:
        password = rotate_password(passwd, device_id)
    except KeyError as exc:
        typer.echo(str(exc.args[0]), err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"New password for {device_id} (shown once): {password}")
    typer.echo("Reload the broker (docker compose kill -s SIGHUP mosquitto), then update the device's file.")


@simulate_app.command("gate")
def simulate_gate(
    gate_id: Annotated[str, typer.Option("--gate-id", help="The gate to act as.")],
    image: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="JPEG (or any image) to send.")],
    temperature: Annotated[
        float | None, typer.Option(help="Corrected body temperature in °C; omit for none.")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the verdict.")] = 10.0,
) -> None:
    """Send one check as a gate would and print the verdict as JSON.

    Exit status: 0 a verdict arrived, 3 the server rejected the check, 4 no answer in time.
    """
    from stack.demo.simulate import simulate_check

    settings = load_settings_or_exit()
    code, answer = asyncio.run(simulate_check(settings.mqtt, gate_id, image, temperature, timeout))
    if answer is not None:
        typer.echo(json.dumps(answer, indent=2))
    if code == 4:
        typer.echo(
            f"no verdict within {timeout:.0f}s from the broker at {settings.mqtt.host}:{settings.mqtt.port}: "
            "is `maskwatch up` running?",
            err=True,
        )
    raise typer.Exit(code)


def _register_api_commands() -> None:
    try:
        from stack.admin_cli import api_command, user_add_command
    except ImportError:  # a device install has no API dependencies
        return
    user_app = typer.Typer(no_args_is_help=True, help="Admin accounts.")
    app.add_typer(user_app, name="user")
    user_app.command("add")(user_add_command)
    app.command("api")(api_command)


def _register_model_commands() -> None:
    try:
        from training.cli import (  # the train extra (torch) is imported inside each command
            detect_command,
            evaluate_command,
            quantize_command,
            train_command,
            train_detector_command,
        )
    except ImportError as exc:  # a device install has no model code dependencies
        missing = str(exc)

        @app.command(name="detect", hidden=True)
        def _unavailable() -> None:
            typer.echo(f"model commands need the server extras: {missing}", err=True)
            raise typer.Exit(2)

        return
    app.command(name="detect")(detect_command)
    app.command(name="train")(train_command)
    app.command(name="train-detector")(train_detector_command)
    app.command(name="evaluate")(evaluate_command)
    app.command(name="quantize")(quantize_command)


def _register_operator_commands() -> None:
    from stack.broker_cli import acl_command
    from stack.camera_cli import app as camera_app
    from stack.camera_cli import simulate_camera_command
    from stack.dead_letters_cli import app as dead_letters_app
    from stack.monitor_cli import app as monitor_app
    from stack.notify_cli import app as notify_app

    app.add_typer(dead_letters_app, name="dead-letters")
    app.add_typer(monitor_app, name="monitor")
    app.add_typer(camera_app, name="camera")
    app.add_typer(notify_app, name="notify")
    simulate_app.command("camera")(simulate_camera_command)
    broker_app = typer.Typer(no_args_is_help=True, help="The MQTT broker's configuration.")
    broker_app.command("acl")(acl_command)
    app.add_typer(broker_app, name="broker")


_register_model_commands()
_register_api_commands()
_register_operator_commands()


def main() -> None:
    app(prog_name="maskwatch")


if __name__ == "__main__":
    main()
