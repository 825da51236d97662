"""`make soak`: the services as separate processes under many gates and indoor cameras, for a bounded
run, on the drills' private world (a private Redis and Mosquitto with the shipped ACL and an account
per device, a database of its own: tests/drills/world.py).

    python bench/soak.py [--gates 12] [--checks 30] [--cameras 3] [--fps 2]

Prints the drills' counts (sent, answered, stored, lost, duplicates), the camera frames sent, and each
service's resident memory once ready and at the end: a leak shows as growth that more checks would
carry further. Numbers, not assertions; it exits 1 only when a check was lost or stored twice.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the drills' world lives in tests/

from devices.camera_agent.client import CameraClient
from maskwatch.contracts.common import utc_now
from stack.demo.sample_faces import sample_jpeg
from stack.service_table import GATE_PATH
from tests.drills.services import ServiceProcess
from tests.drills.world import Drill, open_drill


def resident_mib(service: ServiceProcess) -> float:
    """The process's resident set size (VmRSS), in MiB."""
    assert service.process is not None
    for line in Path(f"/proc/{service.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def camera(drill: Drill, camera_id: str, fps: float, stop: asyncio.Event) -> int:
    """Frames at `fps` until `stop`, as a camera agent sends them; returns how many were sent."""
    frame = sample_jpeg("no_mask")
    async with CameraClient(drill.account(camera_id), camera_id) as client:
        client.fps = fps
        while not stop.is_set():
            await client.offer(frame, utc_now())
            try:
                await asyncio.wait_for(stop.wait(), timeout=1 / fps)
            except TimeoutError:
                pass
        return client.sent


async def soak(gates: int, checks: int, cameras: int, fps: float) -> int:
    with tempfile.TemporaryDirectory() as folder:
        async with open_drill(Path(folder), gates=gates, cameras=cameras) as drill:
            services = (*GATE_PATH, "monitoring") if cameras else GATE_PATH
            print(f"starting {', '.join(services)} as processes …", flush=True)
            await drill.start(services)
            before = {name: resident_mib(s) for name, s in drill.services.items()}
            stop = asyncio.Event()
            feeds = [
                asyncio.create_task(camera(drill, f"camera-{n}", fps, stop)) for n in range(1, cameras + 1)
            ]
            print(f"{gates} gates x {checks} checks, {cameras} cameras at {fps:g} fps …", flush=True)
            counts = await drill.count(drill.load(checks))
            stop.set()
            frames = sum(await asyncio.gather(*feeds))
            after = {name: resident_mib(s) for name, s in drill.services.items()}
    print(counts.line("soak"))
    print(f"camera frames sent: {frames}")
    print(f"{'service':<16} {'RSS ready':>10} {'RSS end':>10}")
    for name in before:
        print(f"{name:<16} {before[name]:>8.0f} MiB {after[name]:>6.0f} MiB")
    return 1 if counts.lost or counts.duplicates else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--gates", type=int, default=12)
    parser.add_argument("--checks", type=int, default=30, help="checks per gate")
    parser.add_argument("--cameras", type=int, default=3)
    parser.add_argument("--fps", type=float, default=2.0)
    args = parser.parse_args()
    raise SystemExit(asyncio.run(soak(args.gates, args.checks, args.cameras, args.fps)))


if __name__ == "__main__":
    main()
