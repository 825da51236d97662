"""The `maskwatch` command: run the stack, run one service, simulate a gate, run the demo."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

if TYPE_CHECKING:
    from pydantic import ValidationError

    from maskwatch.mqtt import MqttSettings
    from stack.preflight import Listener
    from stack.settings import Settings

_T = TypeVar("_T")

EXIT_STATUSES = (
    "Exit status, the same for every command: 0 done, 1 it ran and failed, 2 bad input or configuration, "
    "3 the server rejected a check, 4 the MQTT broker cannot be reached or did not answer, 5 a port it "
    "listens on is already taken. A failure is one line on stderr: what is wrong and what to do."
)
"""Scripts and supervisors tell the failures apart by these; README.md lists them with examples."""

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__, epilog=EXIT_STATUSES)
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
    except ValidationError as exc:
        typer.echo(f"configuration error: {describe_invalid(exc)}", err=True)
        raise typer.Exit(2) from exc
    except (ValueError, FileNotFoundError) as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from exc


def describe_invalid(exc: ValidationError) -> str:
    """Pydantic's report on one line: each field, what is wrong with it and the value given.

    Its own report spans lines and links to its documentation, which buries the one thing to fix.
    """
    from maskwatch.contracts.common import DEVICE_ID_PATTERN, DEVICE_ID_RULE

    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        if (
            error["type"] == "string_pattern_mismatch"
            and error.get("ctx", {}).get("pattern") == DEVICE_ID_PATTERN
        ):
            problem = f"{error['input']!r} is not a valid id: use {DEVICE_ID_RULE}"
        elif error["type"] == "missing":
            problem = "required"
        else:
            problem = error["msg"].removeprefix("Value error, ") + _given(where, error["input"])
        problems.append(f"{where}: {problem}" if where else problem)
    return "; ".join(problems)


def _given(where: str, value: object) -> str:
    """The value given, when it helps: a short scalar, and never a secret's (nor a whole section)."""
    secret = any(word in where.lower() for word in ("password", "secret", "token", "key"))
    if secret or not isinstance(value, str | int | float) or len(str(value)) > 80:
        return ""
    return f" (given {value!r})"


def require_device_id(value: str, what: str) -> None:
    """Exit 2 with a clear message unless `value` can be a gate or camera id (it appears in topics)."""
    from pydantic import TypeAdapter, ValidationError

    from maskwatch.contracts.common import DEVICE_ID_RULE, DeviceId

    try:
        TypeAdapter(DeviceId).validate_python(value)
    except ValidationError as exc:
        typer.echo(f"invalid {what} id {value!r}: use {DEVICE_ID_RULE}", err=True)
        raise typer.Exit(2) from exc


def read_photo_or_exit(path: Path) -> bytes:
    """The photo as a camera would deliver it (JPEG), or exit 2 naming a file that is not an image."""
    from maskwatch.image_files import NotAnImageError
    from stack.demo.simulate import jpeg_bytes

    try:
        return jpeg_bytes(path)
    except NotAnImageError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc


def require_free_ports(candidates: Iterable[Listener]) -> None:
    """Exit 5 naming the port, its setting and its likely holder when one this command needs is taken."""
    from stack.preflight import first_taken

    taken = first_taken(candidates)
    if taken is not None:
        typer.echo(taken.taken_message(), err=True)
        raise typer.Exit(5)


def require_broker(mqtt: MqttSettings, hint: str) -> None:
    """Exit 4 when nothing answers at the broker's address, rather than retrying it for a minute."""
    from stack.preflight import broker_unreachable

    reason = broker_unreachable(mqtt)
    if reason is not None:
        typer.echo(f"cannot reach the MQTT broker at {mqtt.host}:{mqtt.port} ({reason}): {hint}", err=True)
        raise typer.Exit(4)


EXTERNAL_BROKER_HINT = (
    "start it (Mosquitto), or leave MASKWATCH_MQTT__EMBEDDED unset so that `maskwatch up` runs its own"
)
CREDENTIALS_HINT = "check MASKWATCH_MQTT__USERNAME and MASKWATCH_MQTT__PASSWORD"
CLIENT_BROKER_HINT = (
    "start one with `maskwatch up`, or point MASKWATCH_MQTT__HOST and MASKWATCH_MQTT__PORT at yours"
)


@contextlib.contextmanager
def broker_errors_exit(mqtt: MqttSettings, refused_hint: str = CREDENTIALS_HINT) -> Iterator[None]:
    """Turn a broker that refuses or never answers, while the body talks to it, into exit 4 and one line."""
    import aiomqtt

    try:
        yield
    except aiomqtt.MqttCodeError as exc:  # the broker answered, and said no (credentials, ACL)
        typer.echo(
            f"the MQTT broker at {mqtt.host}:{mqtt.port} refused this client ({exc}): {refused_hint}",
            err=True,
        )
        raise typer.Exit(4) from exc
    except aiomqtt.MqttError as exc:
        typer.echo(
            f"cannot reach the MQTT broker at {mqtt.host}:{mqtt.port} ({exc}): {CLIENT_BROKER_HINT}", err=True
        )
        raise typer.Exit(4) from exc


@contextlib.contextmanager
def port_errors_exit() -> Iterator[None]:
    """Exit 5 for a port taken between the check and the bind: the check cannot hold the port for us."""
    from stack.preflight import is_port_in_use

    try:
        yield
    except Exception as exc:
        if not is_port_in_use(exc):
            raise
        typer.echo(f"a port this command listens on is already in use ({exc}): stop what holds it", err=True)
        raise typer.Exit(5) from exc


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
    from stack.preflight import listeners
    from stack.service_table import SERVICE_NAMES

    settings = load_settings_or_exit()
    require_free_ports(listeners(settings, SERVICE_NAMES, embedded_broker=True))
    if not settings.mqtt.embedded:
        require_broker(settings.mqtt, EXTERNAL_BROKER_HINT)
    configure_logging("up")
    with port_errors_exit():
        asyncio.run(run_up(settings))


@app.command()
def run(
    service: Annotated[str, typer.Argument(help="ingest | inference | gate-controller | stats | api")],
) -> None:
    """Run one service against the configured broker, Redis and database (what its container runs)."""
    from maskwatch.logs import configure_logging
    from stack.launcher import run_one
    from stack.preflight import broker_unreachable, listeners
    from stack.service_table import SERVICE_NAMES

    if service not in SERVICE_NAMES:
        typer.echo(f"unknown service {service!r}; choose one of {', '.join(SERVICE_NAMES)}", err=True)
        raise typer.Exit(2)
    settings = load_settings_or_exit()
    require_free_ports(listeners(settings, [service], embedded_broker=False))
    configure_logging(service)
    try:
        with port_errors_exit():
            asyncio.run(run_one(service, settings))
    except TimeoutError as exc:  # a service waits for its broker, and may never see it
        if broker_unreachable(settings.mqtt) is None:
            typer.echo(f"{service} did not start: {exc}; see the log above", err=True)
            raise typer.Exit(1) from exc
        require_broker(settings.mqtt, "start it, or run every service with `maskwatch up`")
    except RuntimeError as exc:  # it failed as it started (its database away, say): logged above
        cause = exc.__cause__ or exc
        typer.echo(f"{service} did not start ({type(cause).__name__}); its supervisor tries again", err=True)
        raise typer.Exit(1) from exc


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
    serve: Annotated[
        bool,
        typer.Option("--serve/--no-serve", help="Keep the stack and the web console running afterwards."),
    ] = True,
) -> None:
    """Start the whole stack on embedded defaults, let three simulated gates check people and a camera
    alert, then keep serving the web console (with a demo login) until Ctrl-C. The demo records into a
    database of its own (`demo_database_url`), never the installation's."""
    from maskwatch.logs import configure_logging
    from stack.demo.run import run_demo
    from stack.preflight import listeners

    settings = load_settings_or_exit()
    # The demo never serves the HTTP check door; the API only when it keeps serving the console.
    require_free_ports(listeners(settings, ("api",) if serve else (), embedded_broker=True))
    if not settings.mqtt.embedded:
        require_broker(settings.mqtt, EXTERNAL_BROKER_HINT)
    configure_logging("demo", level="WARNING")
    with port_errors_exit():
        code = asyncio.run(run_demo(settings, rounds=rounds, serve=serve))
    raise typer.Exit(code)


@app.command()
def agent(
    config: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="The gate's YAML configuration.")],
    checks: Annotated[int | None, typer.Option(help="Stop after this many checks (commissioning).")] = None,
) -> None:
    """Run the gate agent: the program on each entrance's Raspberry Pi."""
    from devices.gate_agent.agent import GateAgent
    from devices.gate_agent.settings import load_agent_settings
    from devices.hardware.config import build_hardware
    from maskwatch.logs import configure_logging

    settings = device_settings_or_exit(config, load_agent_settings)
    configure_logging(f"gate {settings.gate_id}")
    hardware = device_hardware_or_exit(config, lambda: build_hardware(settings.hardware))

    async def main(stop: asyncio.Event) -> None:
        with hardware:
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
    from devices.camera_agent.agent import CameraAgent
    from devices.camera_agent.settings import load_camera_agent_settings
    from devices.hardware.config import build_camera
    from maskwatch.logs import configure_logging

    settings = device_settings_or_exit(config, load_camera_agent_settings)
    configure_logging(f"camera {settings.camera_id}")
    camera = device_hardware_or_exit(config, lambda: build_camera(settings.camera))

    async def main(stop: asyncio.Event) -> None:
        try:
            await CameraAgent(settings, camera).run(stop, max_frames=frames)
        finally:
            camera.release()

    run_until_signalled(main)


def device_settings_or_exit(config: Path, load: Callable[[Path], _T]) -> _T:
    """A device's settings from its YAML file, or exit 2 with what is wrong in it on one line."""
    from pydantic import ValidationError

    try:
        return load(config)
    except ValidationError as exc:
        typer.echo(f"configuration error in {config}: {describe_invalid(exc)}", err=True)
        raise typer.Exit(2) from exc
    except ValueError as exc:
        typer.echo(f"configuration error in {config}: {exc}", err=True)
        raise typer.Exit(2) from exc


def device_hardware_or_exit(config: Path, build: Callable[[], _T]) -> _T:
    """The configured hardware, or exit 2 when it cannot be set up (no pictures at a file camera's path).

    Built before the agent starts, so that a wrong setting is told as one; once running, the agent
    itself handles a device that fails (the gate stays closed).
    """
    from devices.hardware.camera import CameraError
    from devices.hardware.thermometer import ThermometerError

    try:
        return build()
    except (CameraError, ThermometerError) as exc:
        typer.echo(f"hardware error ({config}): {exc}", err=True)
        raise typer.Exit(2) from exc


@device_app.command("add")
def device_add(
    gate_id: Annotated[str, typer.Argument(help="The new gate's id (letters, digits, . _ -).")],
    site: Annotated[str, typer.Option(help="The site the gate belongs to (create it first).")] = "default",
    name: Annotated[str | None, typer.Option(help="A name for the dashboard.")] = None,
    passwd_file: Annotated[Path | None, typer.Option(help="Mosquitto password file to update.")] = None,
    rotate: Annotated[
        bool, typer.Option("--rotate", help="The gate exists: give it a new password (the old one stops).")
    ] = False,
) -> None:
    """Create broker credentials for a gate and print what its Raspberry Pi needs.

    The password is shown once. An existing gate is refused unless --rotate is given. The broker applies
    the account at once with `provisioning.broker_reload_command`, else at its next reload (SIGHUP).
    """
    from maskwatch.database.engine import create_engine, migrate
    from maskwatch.database.gates import DeviceIdTaken, UnknownSiteError, register_gate
    from stack.device_cli import accounts_for, print_provisioned, record, refuse_taken_unless_rotated

    require_device_id(gate_id, "gate")
    settings = load_settings_or_exit()
    p = settings.provisioning
    accounts = accounts_for(p, passwd_file)
    migrate(settings.database.url)
    database = create_engine(settings.database.url)
    try:
        refuse_taken_unless_rotated(
            database,
            accounts,
            gate_id,
            rotate=rotate,
            taken=f"gate {gate_id!r} exists already: `--rotate` gives it a new password (its old one "
            "stops working), or choose another id",
        )
        register_gate(database, gate_id, site_id=site, name=name)
        change = accounts.issue(gate_id)
        with database.begin() as connection:
            record(connection, "device.rotate" if rotate else "device.add", "gate", gate_id, site)
    except (UnknownSiteError, DeviceIdTaken) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    finally:
        database.dispose()
    typer.echo(f"Gate {gate_id} registered under site {site}; broker account in {accounts.passwd_file}.")
    print_provisioned(gate_id, settings.device_broker_address(), change)


@device_app.command("rotate")
def device_rotate(
    device_id: Annotated[str, typer.Argument(help="The gate's or camera's id.")],
    passwd_file: Annotated[Path | None, typer.Option(help="Mosquitto password file to update.")] = None,
) -> None:
    """Give a gate or camera a new broker password (shown once); the old one stops at the broker's reload."""
    from maskwatch.broker_accounts import rotate_password

    require_device_id(device_id, "device")
    provisioning = load_settings_or_exit().provisioning
    passwd = passwd_file or provisioning.mosquitto_passwd_file
    try:
        password = rotate_password(passwd, device_id, provisioning.ownership())
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
    password: Annotated[
        str | None,
        typer.Option(
            envvar="MASKWATCH_GATE_PASSWORD",
            help="The gate's broker password, as `maskwatch device add` printed it (username: the gate id).",
        ),
    ] = None,
) -> None:
    """Send one check as a gate would, signed in as that gate, and print the verdict as JSON.

    Exit status: 0 a verdict arrived, 2 a bad gate id, a file that is not an image or no password for the
    embedded broker, 3 the server rejected the check, 4 the broker cannot be reached, refused the gate's
    account or no answer came in time.
    """
    from stack.demo.simulate import simulate_check

    require_device_id(gate_id, "gate")
    photo = read_photo_or_exit(image)
    settings = load_settings_or_exit()
    mqtt = gate_account_or_exit(settings.mqtt, gate_id, password)
    refused = f"check gate {gate_id}'s password (--password)" if password is not None else CREDENTIALS_HINT
    with broker_errors_exit(mqtt, refused):
        code, answer = asyncio.run(simulate_check(mqtt, gate_id, photo, temperature, timeout))
    if answer is not None:
        typer.echo(json.dumps(answer, indent=2))
    if code == 4:
        typer.echo(
            f"no verdict within {timeout:.0f}s from the broker at {settings.mqtt.host}:{settings.mqtt.port}: "
            "is `maskwatch up` running?",
            err=True,
        )
    raise typer.Exit(code)


def gate_account_or_exit(
    mqtt: MqttSettings, gate_id: str, password: str | None, *, kind: str = "gate"
) -> MqttSettings:
    """The broker settings signed in as the gate (or camera, by `kind`), as its Pi signs in. Without a
    password: the configured account on an external broker; on the embedded one, whose server account
    is no device's to borrow, exit 2 saying where the password comes from (once the broker is known to
    be there: exit 4 first)."""
    from pydantic import SecretStr

    if password is not None:
        account = {"username": gate_id, "password": SecretStr(password), "embedded": False}
        return mqtt.model_copy(update=account)
    if mqtt.embedded:
        require_broker(mqtt, CLIENT_BROKER_HINT)
        add = f"maskwatch device add {gate_id}" if kind == "gate" else f"maskwatch camera add {gate_id}"
        typer.echo(
            f"give {kind} {gate_id}'s broker password (--password, or MASKWATCH_{kind.upper()}_PASSWORD): "
            f"`{add}` printed it; `maskwatch device rotate {gate_id}` makes another",
            err=True,
        )
        raise typer.Exit(2)
    return mqtt


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
            train_nose_probe_command,
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
    app.command(name="train-nose-probe")(train_nose_probe_command)


def _register_operator_commands() -> None:
    try:
        from stack.broker_cli import acl_command
        from stack.camera_cli import app as camera_app
        from stack.camera_cli import simulate_camera_command
        from stack.dead_letters_cli import app as dead_letters_app
        from stack.device_cli import device_delete_command, device_list_command, device_revoke_command
        from stack.monitor_cli import app as monitor_app
        from stack.notify_cli import app as notify_app
    except ImportError:  # a device install (a Pi) has no server dependencies: `agent` still works
        return

    app.add_typer(dead_letters_app, name="dead-letters")
    app.add_typer(monitor_app, name="monitor")
    app.add_typer(camera_app, name="camera")
    app.add_typer(notify_app, name="notify")
    simulate_app.command("camera")(simulate_camera_command)
    device_app.command("list")(device_list_command)
    device_app.command("revoke")(device_revoke_command)
    device_app.command("delete")(device_delete_command)
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
