"""`make bench`: what the pipeline costs beyond the model, how it scales, and its tail under load.

    python bench/bench_pipeline.py                 # the full run (about 25 minutes)
    python bench/bench_pipeline.py --quick         # a short smoke run of every figure (`make bench-quick`)
    python bench/bench_pipeline.py --soak-s 600    # the half-saturation run for 10 minutes

Over the real Mosquitto (one of its own, started with the shipped broker's tuning:
pipeline/world.py, `shipped_broker_tuning`), Redis and PostgreSQL (loopback; a topic root, stream prefix
and scratch database of its own), with each service a separate process started as its container starts it:

1. the model alone, as a worker runs it: ms per stage and frames/s for batch 1-32, and its bare
   throughput on one frame in a tight loop (measured again at the end; the mean is the reference);
2. lone checks, one at a time on the idle pipeline: the floor under every latency, split into the
   broker hop in, the services' hops and work, the model and the hop back (pipeline/lone_checks.py);
   then N simulated gates at increasing open-loop rates until saturation, p50/p95/p99 at the gate
   from publish to verdict, verdicts/s, shed checks, and each service's CPU per check;
3. the binary frame against today's JSON payload at the same rate;
4. resident memory of every service at start and after a run at half saturation (`--soak-s`);
5. indoor cameras at 2 and 5 fps: how many one worker keeps up with, and gate latency beside them;
6. 1, 2 and 4 inference workers sharing the consumer group, and the number `maskwatch up` starts here
   (one per core on the CPU); then 1 and 2 workers alone, draining a backlog with the cores free of the
   other services, taking turns over three rounds (the median of the rounds' ratios), beside the bare
   model in as many processes (what the cores allow);
7. the same load through a synchronous one-request-one-inference HTTP server (bench/sync_server.py),
   on the same ladder of rates: its saturation and its p99 at each rate against the pipeline as
   `maskwatch up` runs it, and its own lone check.

Prints a table per section, then, last, one JSON object with every figure. Numbers, never assertions;
on a machine with other work the figures move, so compare runs taken on a quiet one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.arrivals import ARRIVALS
from pipeline.backlog import bare_in_processes, drain_per_s
from pipeline.cameras import frames_by_outcome, run_cameras
from pipeline.footprint import redis_bytes_per_check, rows_per_check
from pipeline.gate_load import LoadResult, PayloadMaker, run_gates
from pipeline.http_load import run_http_gates
from pipeline.lone_checks import medians, pipeline_lone_checks, server_lone_checks, totals
from pipeline.model_stages import bare_frames_per_s, batch_figures, worker_engine
from pipeline.saturation import Search, search
from pipeline.world import World, cpu_seconds, rss_mib

from stack.demo.sample_faces import sample_jpeg
from tests.ports import free_port

GATE_PATH = ["ingest", "gate-controller", "stats", "inference"]
LONE_GAP_S = 0.2
"""Between lone checks: long enough for every service to be idle again when the next one comes."""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short steps and runs: a smoke test")
    parser.add_argument("--soak-s", type=float, default=None, help="the half-saturation run (default 300)")
    parser.add_argument("--step-s", type=float, default=None, help="each load step (default 20)")
    parser.add_argument("--gates", type=int, default=16)
    parser.add_argument("--workers", default="1,2,4", help="inference worker counts to compare")
    parser.add_argument("--lone-checks", type=int, default=None, help="checks sent one by one (default 100)")
    parser.add_argument(
        "--arrivals",
        choices=ARRIVALS,
        default="even",
        help="how each gate spaces its checks (pipeline/arrivals.py): evenly (default, the figures"
        " kept over time) or at random, as people come",
    )
    args = parser.parse_args()
    args.default_workers = len(os.sched_getaffinity(0))  # what `maskwatch up` starts on the CPU
    args.soak_s = args.soak_s if args.soak_s is not None else (20.0 if args.quick else 300.0)
    args.step_s = args.step_s if args.step_s is not None else (5.0 if args.quick else 20.0)
    args.lone_checks = args.lone_checks if args.lone_checks is not None else (20 if args.quick else 100)
    return args


def table(title: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{title}")
    if not rows:
        print("  (none)")
        return
    keys = list(rows[0])
    widths = [max(len(k), *(len(_cell(r.get(k))) for r in rows)) for k in keys]
    print("  " + "  ".join(k.rjust(w) for k, w in zip(keys, widths, strict=True)))
    for r in rows:
        print("  " + "  ".join(_cell(r.get(k)).rjust(w) for k, w in zip(keys, widths, strict=True)))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


class Bench:
    def __init__(self, args: argparse.Namespace, world: World, jpeg: bytes, bare_per_s: float) -> None:
        self.args = args
        self.world = world
        self.jpeg = jpeg
        self.bare_per_s = bare_per_s

    def gate_load(self, rate: float, *, binary: bool = True, duration_s: float | None = None) -> LoadResult:
        return asyncio.run(
            run_gates(
                self.world.mqtt,
                self.jpeg,
                gates=self.args.gates,
                rate_per_s=rate,
                duration_s=duration_s or self.args.step_s,
                binary=binary,
                arrivals=self.args.arrivals,
            )
        )

    def with_cpu(self, rate: float, *, binary: bool = True) -> tuple[LoadResult, dict[str, float]]:
        """A step, and each service's CPU ms per answered check during it."""
        before = {s.label: cpu_seconds(s.pid) for s in self.world.services}
        step = self.gate_load(rate, binary=binary)
        answered = max(len(step.latencies_ms), 1)
        cpu = {
            s.label: round((cpu_seconds(s.pid) - before[s.label]) * 1000 / answered, 2)
            for s in self.world.services
            if s.label in before
        }
        return step, cpu

    def warm_up(self) -> None:
        """A few checks, thrown away: sessions, connections and caches are cold right after a start."""
        self.gate_load(2.0, duration_s=3.0)

    def saturation(self) -> Search:
        async def load(rate: float) -> LoadResult:
            return await run_gates(
                self.world.mqtt,
                self.jpeg,
                gates=self.args.gates,
                rate_per_s=rate,
                duration_s=self.args.step_s,
                arrivals=self.args.arrivals,
            )

        return asyncio.run(search(load, self.bare_per_s))


def main() -> None:
    args = parse_args()
    jpeg = sample_jpeg("mask")
    figures: dict[str, Any] = {
        "quick": args.quick,
        "gates": args.gates,
        "arrivals": args.arrivals,
        "jpeg_bytes": len(jpeg),
    }
    started = time.monotonic()

    engine = worker_engine()
    stages = batch_figures(engine, jpeg, 1.0 if args.quick else 4.0)
    bare_before = bare_frames_per_s(engine, jpeg, 3.0 if args.quick else 10.0)
    figures["model"] = [vars(s) for s in stages]
    table("Model alone (one thread, no spinning): per frame", figures["model"])

    with tempfile.TemporaryDirectory(prefix="maskwatch-bench-") as folder:
        world = World(Path(folder))
        world.create_database()
        try:
            world.start_broker()
            run_pipeline(args, world, jpeg, bare_before, figures)
        finally:
            world.stop()
            world.stop_broker()
            world.drop_database()
        figures["sync_server"] = run_sync_server(args, jpeg, bare_before)

    bare_after = bare_frames_per_s(engine, jpeg, 3.0 if args.quick else 10.0)
    bare = statistics.mean([bare_before, bare_after])
    figures["bare_model_per_s"] = {"before": round(bare_before, 2), "after": round(bare_after, 2)}
    summarise(figures, bare, args.default_workers)
    figures["wall_s"] = round(time.monotonic() - started, 1)
    print(json.dumps(figures, separators=(",", ":")))


def run_pipeline(
    args: argparse.Namespace, world: World, jpeg: bytes, bare: float, figures: dict[str, Any]
) -> None:
    services = world.start(GATE_PATH)
    rss_start = {s.label: round(rss_mib(s.pid), 1) for s in services}
    bench = Bench(args, world, jpeg, bare)
    bench.warm_up()

    lone = asyncio.run(pipeline_lone_checks(world.mqtt, jpeg, count=args.lone_checks, gap_s=LONE_GAP_S))
    figures["lone_check"] = medians(lone)
    table("A lone check, 1 worker, nothing else running (ms; medians of each part)", [figures["lone_check"]])

    one = bench.saturation()
    figures["pipeline_1_worker"] = one.rows()
    table(f"End to end, 1 worker, {args.gates} gates, open loop ({args.step_s:.0f} s a step)", one.rows())
    half = max(one.saturation_per_s / 2, 0.5)

    formats = []
    maker_sizes = {
        "binary": len(PayloadMaker(jpeg).check("g")[1]),
        "json": len(PayloadMaker(jpeg, binary=False).check("g")[1]),
    }
    for name in ("json", "binary"):
        step, cpu = bench.with_cpu(half, binary=name == "binary")
        formats.append(
            {"format": name, "payload_bytes": maker_sizes[name]}
            | {k: v for k, v in one.row(step).items() if k in ("offered_per_s", "p50_ms", "p99_ms")}
            | {f"{label}_cpu_ms": ms for label, ms in cpu.items()}
        )
    figures["frame_formats"] = formats
    table("Binary frame against JSON with base64, at half saturation (CPU ms per check)", formats)

    rss_before = {s.label: round(rss_mib(s.pid), 1) for s in services}
    soak = bench.gate_load(half, duration_s=args.soak_s)
    rss_after = {s.label: round(rss_mib(s.pid), 1) for s in services}
    figures["half_saturation"] = one.row(soak) | {"duration_s": args.soak_s}
    figures["rss_mib"] = [
        {
            "service": k,
            "start": rss_start[k],
            "before_run": rss_before[k],
            "after_run": rss_after[k],
            "ratio": round(rss_after[k] / rss_before[k], 3),
        }
        for k in rss_start
    ]
    table(f"Half saturation for {args.soak_s:.0f} s", [figures["half_saturation"]])
    table(
        "Resident memory (MiB): at start, before and after the run (ratio: after / before)",
        figures["rss_mib"],
    )
    figures["footprint"] = {
        "redis_bytes_per_check": asyncio.run(redis_bytes_per_check(world, jpeg)),
        "database_rows": rows_per_check(world),
    }

    figures["cameras"] = run_camera_section(args, world, bench, half)

    workers: list[dict[str, Any]] = [{"workers": 1, "saturation_per_s": round(one.saturation_per_s, 2)}]
    counts = sorted({int(w) for w in args.workers.split(",")} | {args.default_workers})
    for n in [w for w in counts if w > 1]:
        world.stop([s for s in world.services if s.name == "inference"])
        world.start(["inference"], workers=n)
        bench.warm_up()
        found = bench.saturation()
        workers.append({"workers": n, "saturation_per_s": round(found.saturation_per_s, 2)})
        figures[f"pipeline_{n}_workers"] = found.rows()
    figures["workers"] = workers
    table("Inference workers sharing the consumer group", workers)

    world.stop()
    figures["workers_alone"] = run_backlog_section(args, world, jpeg, bare)


def run_backlog_section(args: argparse.Namespace, world: World, jpeg: bytes, bare: float) -> dict[str, Any]:
    """Workers alone on the machine, draining a backlog (pipeline/backlog.py), beside the bare model in as
    many processes: how far a worker scales by process where the cores are free.

    One worker and two take turns, round after round (1, 2, then 2, 1, ...), and each round gives its own
    ratio: on a shared machine a single pair of runs moved between 1.58 and 1.85, so the figure is the
    median of the rounds' ratios, the rounds beside it.

    A lone worker uses more than one core (its reader decodes the next checks on another), so two
    workers over one on free cores is not how the worker scales per core. Each round therefore also
    runs one and two workers with a core each (`a_core_each`: worker n pinned to core n, its reader
    beside its model), which is how `maskwatch up` sizes a server: one worker per core."""
    seconds = 6.0 if args.quick else 20.0
    rounds = 1 if args.quick else 3
    rows: list[dict[str, Any]] = []
    ratios: list[float] = []
    pinned_ratios: list[float] = []
    bare_ratios: list[float] = []
    for number in range(rounds):
        measured: dict[tuple[int, bool], float] = {}
        ceilings: dict[int, float] = {}
        order = [(1, False), (2, False), (1, True), (2, True)]
        for n, a_core_each in order if number % 2 == 0 else order[::-1]:
            count = int(bare * seconds * n)
            drained = drain_per_s(world, jpeg, n, count=count, timeout_s=seconds * 4, a_core_each=a_core_each)
            if n not in ceilings:
                ceilings[n] = bare_in_processes(jpeg, n, seconds / 2)
            measured[n, a_core_each] = drained
            rows.append(
                {
                    "round": number + 1,
                    "workers": n,
                    "a_core_each": a_core_each,
                    "checks_per_s": round(drained, 2),
                    "bare_model_processes_per_s": round(ceilings[n], 2),
                }
            )
        if measured[1, False]:
            ratios.append(measured[2, False] / measured[1, False])
        if measured[1, True]:
            pinned_ratios.append(measured[2, True] / measured[1, True])
        if ceilings[1]:
            bare_ratios.append(ceilings[2] / ceilings[1])
    table("Workers alone draining a backlog, every core free of other services", rows)
    return {
        "runs": rows,
        "two_workers_vs_one_by_round": [round(r, 3) for r in ratios],
        "two_workers_vs_one": _median(ratios),
        "two_workers_vs_one_a_core_each_by_round": [round(r, 3) for r in pinned_ratios],
        "two_workers_vs_one_a_core_each": _median(pinned_ratios),
        "two_bare_models_vs_one": _median(bare_ratios),
    }


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def run_camera_section(args: argparse.Namespace, world: World, bench: Bench, half: float) -> dict[str, Any]:
    (monitoring,) = world.start(["monitoring"])
    (worker,) = [s for s in world.services if s.name == "inference"]
    duration = 6.0 if args.quick else 20.0
    kept: dict[str, Any] = {}
    rows = []
    for fps in (2.0, 5.0):
        best = 0
        for cameras in (1, 2, 4, 8, 16, 32):
            prefix = f"cam-{int(fps)}-{cameras}"
            sent = asyncio.run(
                run_cameras(
                    world.mqtt, bench.jpeg, cameras=cameras, fps=fps, duration_s=duration, prefix=prefix
                )
            )
            time.sleep(3.5)  # the frame age limit: what is still queued is analysed or dropped by now
            outcomes = frames_by_outcome(worker.metrics_port, prefix)
            analysed = outcomes.get("analysed", 0.0)
            rows.append({"fps": fps, "cameras": cameras, "sent": sent, "analysed": int(analysed)})
            if analysed < 0.95 * sent:
                break
            best = cameras
        kept[f"cameras_kept_up_at_{int(fps)}_fps"] = best
    table("Indoor cameras one worker keeps up with (>= 95% of frames analysed)", rows)

    quiet = bench.gate_load(half)

    async def busy() -> LoadResult:
        cameras = max(kept["cameras_kept_up_at_2_fps"], 1)
        load = asyncio.create_task(
            run_cameras(
                world.mqtt, bench.jpeg, cameras=cameras, fps=2.0, duration_s=args.step_s, prefix="cam-mix"
            )
        )
        result = await run_gates(
            world.mqtt,
            bench.jpeg,
            gates=args.gates,
            rate_per_s=half,
            duration_s=args.step_s,
            arrivals=args.arrivals,
        )
        await load
        return result

    beside = asyncio.run(busy())
    latency = [
        {"load": "gates alone"} | _latency(quiet),
        {"load": "gates + cameras at 2 fps"} | _latency(beside),
    ]
    table("Gate latency at half saturation, with and without the cameras", latency)
    world.stop([monitoring])
    return kept | {"runs": rows, "gate_latency": latency}


def _latency(step: LoadResult) -> dict[str, float | None]:
    p50, p99 = step.percentile(50), step.percentile(99)
    return {
        "p50_ms": None if p50 is None else round(p50, 1),
        "p99_ms": None if p99 is None else round(p99, 1),
        "shed": float(step.shed),
    }


def run_sync_server(args: argparse.Namespace, jpeg: bytes, bare: float) -> dict[str, Any]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "sync_server.py"), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import httpx

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        lone = asyncio.run(
            server_lone_checks("127.0.0.1", port, jpeg, count=args.lone_checks + 3, gap_s=LONE_GAP_S)
        )[3:]  # the first requests warm the sessions up

        async def load(rate: float) -> LoadResult:
            return await run_http_gates(
                "127.0.0.1",
                port,
                jpeg,
                gates=args.gates,
                rate_per_s=rate,
                duration_s=args.step_s,
                arrivals=args.arrivals,
            )

        found = asyncio.run(search(load, bare))
    finally:
        server.terminate()
        server.wait(20)
    table("Synchronous HTTP server, one request one inference, same load", found.rows())
    return {
        "steps": found.rows(),
        "saturation_per_s": round(found.saturation_per_s, 2),
        "lone_check": totals(lone),
    }


def summarise(figures: dict[str, Any], bare: float, default_workers: int) -> None:
    """The headline ratios, under the keys runs are compared by.

    Against the bare model: one worker (one thread) against the model on one thread, the pipeline's own
    cost. Against the synchronous server: the pipeline as `maskwatch up` runs it on this machine (a
    worker per core) against the server as it runs (one process, one request at a time), both offered
    the same ladder of rates; the one-worker ratio is beside it."""
    one = max(s["verdicts_per_s"] for s in figures["pipeline_1_worker"])
    workers = {w["workers"]: w["saturation_per_s"] for w in figures["workers"]}
    sync = figures["sync_server"]["saturation_per_s"]
    deployed = workers.get(default_workers, one)
    deployed_steps = figures.get(f"pipeline_{default_workers}_workers", figures["pipeline_1_worker"])
    figures["bare_model_frames_per_s"] = round(bare, 2)
    figures["saturation_per_s"] = one
    figures["saturation_vs_bare_model"] = round(one / bare, 3) if bare else None
    figures["default_workers"] = default_workers
    figures["saturation_default_workers_per_s"] = deployed
    figures["saturation_vs_sync_server"] = round(deployed / sync, 3) if sync else None
    figures["saturation_one_worker_vs_sync_server"] = round(one / sync, 3) if sync else None
    by_rate = p99_by_rate(deployed_steps, figures["sync_server"]["steps"], deployed / 2)
    figures["p99_vs_sync_server_by_rate"] = by_rate
    figures["p99_lower_than_sync_server_up_to_half_saturation"] = bool(by_rate) and all(
        r["pipeline_p99_ms"] is not None
        and (r["sync_server_p99_ms"] is None or r["pipeline_p99_ms"] < r["sync_server_p99_ms"])
        for r in by_rate
    )
    figures["p99_ms_half_saturation"] = figures["half_saturation"]["p99_ms"]
    figures["slowest_verdict_ms"] = max(
        (s["max_ms"] for s in figures["pipeline_1_worker"] if s["max_ms"] is not None), default=None
    )
    figures["lone_check_ms"] = {
        "pipeline": figures["lone_check"].get("total_ms"),
        "sync_server": figures["sync_server"]["lone_check"].get("total_ms"),
    }
    figures["two_workers_vs_one"] = round(workers[2] / workers[1], 3) if 2 in workers and workers[1] else None
    figures["four_workers_vs_one"] = (
        round(workers[4] / workers[1], 3) if 4 in workers and workers[1] else None
    )
    figures["two_workers_vs_one_cores_free"] = figures["workers_alone"]["two_workers_vs_one"]
    figures["two_workers_vs_one_a_core_each"] = figures["workers_alone"]["two_workers_vs_one_a_core_each"]
    figures["two_bare_models_vs_one"] = figures["workers_alone"]["two_bare_models_vs_one"]
    figures["rss_growth_ratio"] = max(r["ratio"] for r in figures["rss_mib"])
    table(
        f"p99 at each offered rate up to half saturation: {default_workers} worker(s) against the server",
        by_rate,
    )
    headline = (
        "bare_model_frames_per_s",
        "saturation_per_s",
        "saturation_vs_bare_model",
        "default_workers",
        "saturation_default_workers_per_s",
        "saturation_vs_sync_server",
        "saturation_one_worker_vs_sync_server",
        "p99_lower_than_sync_server_up_to_half_saturation",
        "p99_ms_half_saturation",
        "slowest_verdict_ms",
        "lone_check_ms",
        "two_workers_vs_one",
        "four_workers_vs_one",
        "two_workers_vs_one_cores_free",
        "two_workers_vs_one_a_core_each",
        "two_bare_models_vs_one",
        "rss_growth_ratio",
    )
    table("Summary", [{"figure": k, "value": figures[k]} for k in headline])


def p99_by_rate(
    pipeline: list[dict[str, Any]], sync: list[dict[str, Any]], up_to_per_s: float
) -> list[dict[str, Any]]:
    """The two p99s at each rate both were offered (the same ladder), up to `up_to_per_s`; a step taken
    twice (saturated once) counts with its worse p99."""

    def worst(steps: list[dict[str, Any]]) -> dict[float, float | None]:
        found: dict[float, float | None] = {}
        for s in steps:
            rate, p99 = round(s["offered_per_s"]), s["p99_ms"]
            seen = found.get(rate)
            found[rate] = p99 if seen is None or (p99 is not None and p99 > seen) else seen
        return found

    mine, theirs = worst(pipeline), worst(sync)
    return [
        {"offered_per_s": rate, "pipeline_p99_ms": mine[rate], "sync_server_p99_ms": theirs.get(rate)}
        for rate in sorted(mine)
        if rate <= up_to_per_s and rate in theirs
    ]


if __name__ == "__main__":
    main()
