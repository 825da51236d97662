"""The demo: the whole stack in this process, three simulated gates, verdicts printed as they arrive,
then the web console on the same stack until Ctrl-C.

Everything the demo makes up (checks, alerts, its console account) goes to a database of its own
(`demo_database_url`) through an in-process queue, so a demo run on a machine that also runs the real
installation never adds a made-up visitor to the real figures.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import SecretStr

from devices.gate_agent.client import GateClient
from maskwatch.broker_accounts import new_password, write_password
from maskwatch.contracts import Rejection, TemperatureReading, Verdict
from maskwatch.mqtt import MqttSettings
from stack.demo.sample_faces import SampleKind, sample_image, sample_jpeg
from stack.demo.webhook_receiver import DemoWebhookReceiver
from stack.in_process import Stack
from stack.service_table import GATE_PATH
from stack.settings import Settings


@dataclass(frozen=True)
class Visit:
    gate_id: str
    photo: SampleKind
    temperature_c: float | None
    expected: str


VISITS = (
    Visit("entrance-1", "mask", 36.6, "open"),
    Visit("entrance-2", "no_mask", 36.8, "deny: no_mask"),
    Visit("entrance-3", "mask", 38.4, "deny: fever"),
    Visit("entrance-2", "two_faces", 36.7, "deny: multiple_faces"),
    Visit("entrance-3", "empty", 36.6, "deny: no_face"),
    Visit("entrance-1", "mask", 29.0, "deny: remeasure_temperature"),
)


def _describe(answer: Verdict | Rejection, min_face_score: float) -> tuple[str, str]:
    """The verdict, and the faces the policy counted; lower-scored ones (a poster, a shadow) as a count."""
    if isinstance(answer, Rejection):
        return "REJECTED", f"{answer.code.value}: {answer.detail}"
    outcome = (
        answer.decision.value if not answer.reasons else f"deny: {','.join(r.value for r in answer.reasons)}"
    )
    counted = [f for f in answer.faces if f.score >= min_face_score]
    faces = " ".join(f"{f.label}({f.score:.2f})" for f in counted) or "-"
    doubtful = len(answer.faces) - len(counted)
    if doubtful:
        faces += f" (+{doubtful} below {min_face_score})"
    return outcome, f"faces {faces}, {answer.timings.total_ms:.0f} ms"


DEMO_EMAIL = "demo@maskwatch.example.org"


def demo_settings(settings: Settings, passwd_file: Path) -> Settings:
    """The installation's settings with the demo's own database and an in-process queue: the demo's
    made-up checks never reach the installation's database or streams."""
    return settings.model_copy(
        update={
            "database": settings.database.model_copy(update={"url": settings.demo_database_url}),
            "queue": settings.queue.model_copy(update={"url": "memory://"}),
            "ingest": settings.ingest.model_copy(update={"http_port": None}),
            # The demo's devices sign in with accounts of their own, kept apart from the installation's.
            "provisioning": settings.provisioning.model_copy(update={"mosquitto_passwd_file": passwd_file}),
        }
    )


async def run_demo(
    settings: Settings, *, rounds: int, serve: bool = True, stop: asyncio.Event | None = None
) -> int:
    """The demo's checks; then, with `serve`, the console on the same stack until `stop` is set."""
    with tempfile.TemporaryDirectory() as accounts:
        return await _run(
            demo_settings(settings, Path(accounts) / "passwd"), rounds=rounds, serve=serve, stop=stop
        )


async def _run(settings: Settings, *, rounds: int, serve: bool, stop: asyncio.Event | None) -> int:
    services = (*GATE_PATH, "monitoring", "notifier", *(("api", "device-health") if serve else ()))
    stack = Stack(settings, services)
    print(
        f"Starting Maskwatch: broker {settings.mqtt.host}:{settings.mqtt.port} "
        f"({'embedded' if settings.mqtt.embedded else 'external'}), queue {settings.queue.url}, "
        f"the demo's own database {settings.database.url}"
    )
    await stack.start()
    _register_gates(settings, [*sorted({v.gate_id for v in VISITS}), AGENT_GATE])
    missing = 0
    agreed = 0
    total = 0
    # The venue's webhook stays up as long as the stack: alerts raised later (a demo gate that goes
    # offline while the console is served) are delivered, not retried against a closed port.
    with DemoWebhookReceiver() as webhook:
        try:
            gates = {v.gate_id for v in VISITS}
            clients = {g: GateClient(device_account(settings, g), g) for g in sorted(gates)}
            for client in clients.values():
                await client.__aenter__()
            print(f"{'gate':<11} {'photo':<10} {'temp':>5}  {'verdict':<28} {'expected':<28} details")
            for _ in range(rounds):
                for visit in VISITS:
                    reading = (
                        TemperatureReading(corrected_c=visit.temperature_c) if visit.temperature_c else None
                    )
                    total += 1
                    try:
                        answer = await clients[visit.gate_id].check(
                            sample_jpeg(visit.photo), reading, timeout=15
                        )
                    except TimeoutError:
                        missing += 1
                        print(f"{visit.gate_id:<11} {visit.photo:<10} {visit.temperature_c!s:>5}  NO VERDICT")
                        continue
                    outcome, details = _describe(answer, settings.policy.min_face_score)
                    agreed += outcome == visit.expected
                    print(
                        f"{visit.gate_id:<11} {visit.photo:<10} {visit.temperature_c:>5}  "
                        f"{outcome:<28} {visit.expected:<28} {details}"
                    )
            for client in clients.values():
                await client.__aexit__(None, None, None)
            await _run_agent(settings)
            missing += await _run_indoor_camera(settings, webhook)
            await asyncio.sleep(1.0)  # let the stats service write the last outcomes
            _print_stats(settings)
            print(f"{total - missing} of {total} checks answered; {agreed} matched the expected verdict.")
            if serve:
                await _serve_console(settings, stack, stop or _stop_on_signals())
        finally:
            await stack.close()
    return 1 if missing else 0


def _stop_on_signals() -> asyncio.Event:
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _serve_console(settings: Settings, stack: Stack, stop: asyncio.Event) -> None:
    """Keep the stack running with the console, signed in with a demo account made for this run."""
    password = _demo_account(settings)
    gate = device_account(settings, VISITS[0].gate_id)  # the broker lets in accounts only
    assert gate.password is not None
    host = "127.0.0.1" if settings.api.host in ("0.0.0.0", "::") else settings.api.host
    print(
        f"\nThe web console: http://{host}:{settings.api.port}/ — sign in as {DEMO_EMAIL} "
        f"with the password {password}\n"
        f"(API: http://{host}:{settings.api.port}/docs). Send more checks from another terminal, signed in "
        f"as one of the demo's gates:\n"
        f"  maskwatch simulate gate --gate-id {gate.username} --password {gate.password.get_secret_value()} "
        f"--image PHOTO.jpg --temperature 36.6\n"
        "Ctrl-C stops the demo.",
        flush=True,
    )
    waiting = asyncio.create_task(stop.wait())
    failed = asyncio.create_task(stack.wait())
    await asyncio.wait({waiting, failed}, return_when=asyncio.FIRST_COMPLETED)
    for task in (waiting, failed):
        task.cancel()


def _demo_account(settings: Settings) -> str:
    """The demo's admin account in the demo's database, with a new password each run (printed once)."""
    from maskwatch.broker_accounts import new_password
    from maskwatch.database.engine import create_engine
    from maskwatch.database.schema import users
    from services.api.accounts import create_account, load_account
    from services.api.security import Role, hash_password

    password = new_password()
    engine = create_engine(settings.database.url)
    try:
        with engine.begin() as connection:
            if load_account(connection, email=DEMO_EMAIL) is None:
                create_account(connection, DEMO_EMAIL, password, Role.ADMIN, all_sites=True, site_ids=[])
            else:
                connection.execute(
                    sa.update(users)
                    .where(users.c.email == DEMO_EMAIL)
                    .values(password_hash=hash_password(password))
                )
    finally:
        engine.dispose()
    return password


AGENT_GATE = "turnstile-4"


def device_account(settings: Settings, device_id: str) -> MqttSettings:
    """A broker account for one of the demo's devices, made as `maskwatch device add` makes one: the broker
    lets no one in without an account, and a device signs in with its own, never the server's."""
    password = new_password()
    write_password(settings.provisioning.mosquitto_passwd_file, device_id, password)
    return settings.mqtt.model_copy(
        update={"username": device_id, "password": SecretStr(password), "embedded": False}
    )


def _register_gates(settings: Settings, gate_ids: Sequence[str]) -> None:
    """The demo's gates, registered as `maskwatch device add` would: the server answers no other."""
    from maskwatch.database.engine import create_engine
    from maskwatch.database.gates import register_gate

    database = create_engine(settings.database.url)
    try:
        for gate_id in gate_ids:
            register_gate(database, gate_id, site_id="default", name=f"Demo {gate_id}")
    finally:
        database.dispose()


async def _run_agent(settings: Settings) -> None:
    """The Raspberry Pi program itself, on simulated hardware: camera, thermometer, gate, LEDs."""
    from devices.gate_agent.agent import GateAgent
    from devices.gate_agent.settings import AgentSettings
    from devices.hardware.config import HardwareConfig, build_hardware

    with tempfile.TemporaryDirectory() as folder:
        photos = Path(folder) / "photos"
        photos.mkdir()
        people: tuple[SampleKind, ...] = ("mask", "no_mask", "mask")
        for index, kind in enumerate(people):
            sample_image(kind).save(photos / f"{index}-{kind}.jpg")
        config = AgentSettings(
            gate_id=AGENT_GATE,
            mqtt=device_account(settings, AGENT_GATE),
            hardware=HardwareConfig.model_validate(
                {
                    "camera": {"type": "file", "path": str(photos)},
                    "thermometer": {"type": "simulated", "readings_c": [36.6, 36.7, 38.8], "noise_c": 0.05},
                    "trigger": {"type": "timed", "interval_s": 0.2},
                }
            ),
            spool_dir=Path(folder) / "spool",
            open_s=0.5,
            result_display_s=0.2,
        )
        print(f"\nThe gate agent on simulated hardware ({AGENT_GATE}): three people walk up")
        with build_hardware(config.hardware) as hardware:
            agent = GateAgent(config, hardware)
            await agent.run(asyncio.Event(), max_checks=3)
            actions = list(getattr(hardware.gate, "actions", []))
        for outcome in agent.outcomes:
            print(f"  {outcome.result:<8} {outcome.message}")
        print(f"  gate actuator: {' → '.join(actions)}")


async def _run_indoor_camera(settings: Settings, webhook: DemoWebhookReceiver) -> int:
    """A simulated camera in a waiting room: one person keeps the mask off past the (short) threshold,
    then puts it on; a masked bystander stays put. Returns 1 when the alert did not open and resolve."""
    from maskwatch.database.cameras import register_camera
    from maskwatch.database.engine import create_engine
    from maskwatch.database.notifications import add_recipient
    from maskwatch.database.schema import alerts, notification_recipients
    from services.monitoring.settings import CameraSettings
    from stack.demo.indoor_scene import Actor, jpeg_frames, portrait_face
    from stack.demo.simulate import simulate_camera

    camera = CameraSettings(fps=5, unmasked_after_s=3, grace_s=1, cooldown_s=600)
    engine = create_engine(settings.database.url)
    register_camera(engine, "waiting-room", site_id="default", settings=camera.model_dump(mode="json"))
    with engine.begin() as connection:  # the demo's receiver replaces any of an earlier run
        connection.execute(sa.update(notification_recipients).values(enabled=False))
    add_recipient(
        engine,
        site_id="default",
        channel="webhook",
        address=webhook.url,
        secrets={"webhook_secret": webhook.secret},
    )
    print(
        f"\nAn indoor camera (waiting-room, {camera.fps:g} fps): one person unmasked for 5 s, then masked; "
        f"alert after {camera.unmasked_after_s:g} s"
    )
    faces = {"mask": portrait_face("mask"), "no_mask": portrait_face("no_mask")}
    scene = [
        Actor(faces, lambda t: (180 + 6 * t, 210), unmasked=[(0.0, 5.0)]),
        Actor(faces, lambda t: (470, 230)),
    ]
    started = datetime.now(UTC) - timedelta(seconds=1)
    sent, _ = await simulate_camera(
        device_account(settings, "waiting-room"), "waiting-room", jpeg_frames(scene, 8.0, 5.0), fps=5.0
    )
    this_run = sa.and_(alerts.c.device_id == "waiting-room", alerts.c.opened_at >= started)
    rows: Sequence[sa.Row[Any]] = []
    try:
        for _ in range(60):
            with engine.connect() as connection:
                rows = connection.execute(sa.select(alerts).where(this_run)).all()
            if rows and all(r.resolved_at is not None for r in rows):
                break
            await asyncio.sleep(0.25)
    finally:
        engine.dispose()
    for row in rows:
        opened = row.opened_at.strftime("%H:%M:%S")
        resolved = row.resolved_at.strftime("%H:%M:%S") if row.resolved_at else "-"
        print(
            f"  alert {row.alert_id}: person {row.details.get('track')} unmasked, opened {opened}, "
            f"resolved {resolved} ({row.resolution or 'still open'}); snapshot {row.snapshot} "
            f"(the bystander blurred)"
        )
    print(f"  {sent} frames sent; {len(rows)} alert(s)")
    this_camera = {str(row.alert_key) for row in rows}

    def received() -> list[dict[str, Any]]:
        return [d["data"] for d in webhook.accepted if str(d["data"].get("alert_id")) in this_camera]

    for _ in range(40):  # the notifier delivers both transitions to the venue's webhook
        if len(received()) >= 2 * len(rows):
            break
        await asyncio.sleep(0.25)
    deliveries = received()
    print(f"  webhook {webhook.url} received (signature checked):")
    for data in deliveries:
        print(f"    {data['transition']:<9} {data['title']}")
    delivered = len(deliveries) == 2 * len(rows)
    return 0 if len(rows) == 1 and rows[0].resolution == "masked" and delivered else 1


def _print_stats(settings: Settings) -> None:
    from maskwatch.database.engine import create_engine

    engine = create_engine(settings.database.url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT decision, count(*) FROM checks GROUP BY decision ORDER BY decision")
        ).all()
    engine.dispose()
    print("Recorded in the statistics database (all runs so far): " + ", ".join(f"{d}={n}" for d, n in rows))
