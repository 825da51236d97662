"""`maskwatch up`: the native twin of compose.yaml.

With the embedded defaults (in-process queue) every service runs in this one
process. With Redis configured, each service runs as its own process exactly
as its container would (`maskwatch run NAME`), restarted with capped backoff
when it exits, and the embedded broker (if still selected) lives here.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys

from maskwatch.database.engine import migrate
from maskwatch.embedded_broker import EmbeddedBroker
from stack.in_process import RESTART_CAP_S, RESTART_START_S, Stack
from stack.service_table import SERVICE_NAMES, service
from stack.settings import Settings

log = logging.getLogger(__name__)


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


async def up(settings: Settings) -> None:
    if settings.queue.url.startswith("memory://"):
        stack = Stack(settings, restart=True)  # one process: a failed service is restarted here
        _stop_on_signals(stack.stop)
        await stack.start()
        log.info("all services running in this process; Ctrl-C stops them")
        await stack.wait()
        await stack.close()
        return
    stop = asyncio.Event()
    _stop_on_signals(stop)
    # The schema once, before the children start: each also migrates at its start (a no-op then), and
    # SQLite, unlike PostgreSQL's advisory lock, cannot keep several processes from creating one table.
    await asyncio.to_thread(migrate, settings.database.url)
    broker = None
    if settings.mqtt.embedded:
        broker = EmbeddedBroker(settings.mqtt, settings.provisioning.mosquitto_passwd_file)
        await broker.start()
    try:
        await asyncio.gather(
            *(
                supervise(label, name, stop, _child_env(settings, i, extra))
                for i, (label, name, extra) in enumerate(_processes(settings))
            )
        )
    finally:
        if broker is not None:
            await broker.stop()


def _processes(settings: Settings) -> list[tuple[str, str, dict[str, str]]]:
    """(label, service, extra environment) for each child: one per service, and `inference_workers`
    inference workers, each under its own consumer name so none takes another's pending checks."""
    children: list[tuple[str, str, dict[str, str]]] = []
    workers = inference_workers(settings)
    for name in SERVICE_NAMES:
        if name == "inference" and workers > 1:
            host = socket.gethostname()
            for n in range(1, workers + 1):
                children.append((f"inference-{n}", name, {"MASKWATCH_WORKER__INSTANCE": f"{host}-{n}"}))
        else:
            children.append((name, name, {}))
    return children


def inference_workers(settings: Settings) -> int:
    """As configured; by default one per core on the CPU (workers scale by process: one ONNX Runtime
    thread each, no spinning) and one on a GPU (its batches are where its speed is)."""
    if settings.inference_workers is not None:
        return settings.inference_workers
    on_gpu = getattr(settings.inference_model.detector, "device", "cpu") != "cpu"  # yuface: CPU only
    return 1 if on_gpu else max(1, len(os.sched_getaffinity(0)))


def _child_env(settings: Settings, index: int, extra: dict[str, str]) -> dict[str, str]:
    """Each child gets its own metrics port (base + index), since they share one host."""
    env = dict(os.environ) | extra
    if settings.metrics_port is not None:
        env["MASKWATCH_METRICS_PORT"] = str(settings.metrics_port + index)
    return env


async def supervise(label: str, name: str, stop: asyncio.Event, env: dict[str, str]) -> None:
    """Run `maskwatch run NAME` until `stop`, starting it again with capped backoff whenever it exits
    (a service exits non-zero on what it cannot heal, e.g. a dependency away as it starts)."""
    failures = 0
    while not stop.is_set():
        process = await asyncio.create_subprocess_exec(sys.executable, "-m", "stack", "run", name, env=env)
        log.info("%s started (pid %d)", label, process.pid)
        waiter = asyncio.create_task(process.wait())
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if stop.is_set():
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(waiter, 10)
                except TimeoutError:
                    process.kill()
            return
        stopper.cancel()
        failures += 1
        delay = min(RESTART_CAP_S, RESTART_START_S * 2 ** (failures - 1))
        log.error("%s exited with %s; restarting in %.0fs", label, process.returncode, delay)
        try:
            await asyncio.wait_for(stop.wait(), timeout=delay)
        except TimeoutError:
            pass


def _give_way(name: str) -> None:
    """Lower this process's CPU priority to its service's (a service no gate waits on gives way)."""
    nice = service(name).nice
    if nice > 0:
        os.nice(nice)
        log.info("%s runs at nice %d: it gives way to the gate path", name, nice)


async def run_one(name: str, settings: Settings) -> None:
    """One service in this process, with the configured (real) queue: what a container runs."""
    if settings.queue.url.startswith("memory://"):
        raise SystemExit(
            "an in-process queue cannot be shared between processes: set MASKWATCH_QUEUE__URL=redis://… "
            "or use `maskwatch up` to run every service in one process"
        )
    settings = settings.model_copy(update={"mqtt": settings.mqtt.model_copy(update={"embedded": False})})
    _give_way(name)
    stack = Stack(settings, services=(name,))
    _stop_on_signals(stack.stop)
    await stack.start(timeout=120)
    failed = await stack.wait()
    await stack.close()
    if failed:  # exit non-zero: compose, systemd or `maskwatch up` starts the service again
        raise SystemExit(f"{name} stopped with an error it could not recover from; see the log above")
