"""The demo: the whole stack in this process, three simulated gates, verdicts printed as they arrive."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import sqlalchemy as sa

from devices.gate_agent.client import GateClient
from maskwatch.contracts import Rejection, TemperatureReading, Verdict
from maskwatch.demo.sample_faces import SampleKind, sample_jpeg
from maskwatch.settings import Settings
from maskwatch.stack import GATE_PATH, Stack


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


def _describe(answer: Verdict | Rejection) -> tuple[str, str]:
    if isinstance(answer, Rejection):
        return "REJECTED", f"{answer.code.value}: {answer.detail}"
    outcome = (
        answer.decision.value if not answer.reasons else f"deny: {','.join(r.value for r in answer.reasons)}"
    )
    faces = " ".join(f"{f.label}({f.score:.2f})" for f in answer.faces) or "-"
    return outcome, f"faces {faces}, {answer.timings.total_ms:.0f} ms"


async def run_demo(settings: Settings, *, rounds: int) -> int:
    settings = settings.model_copy(update={"ingest": settings.ingest.model_copy(update={"http_port": None})})
    stack = Stack(settings, GATE_PATH)
    print(
        f"Starting Maskwatch: broker {settings.mqtt.host}:{settings.mqtt.port} "
        f"({'embedded' if settings.mqtt.embedded else 'external'}), queue {settings.queue.url}, "
        f"database {settings.database.url}"
    )
    await stack.start()
    missing = 0
    agreed = 0
    total = 0
    try:
        gates = {v.gate_id for v in VISITS}
        clients = {g: GateClient(settings.mqtt, g) for g in sorted(gates)}
        for client in clients.values():
            await client.__aenter__()
        print(f"{'gate':<11} {'photo':<10} {'temp':>5}  {'verdict':<28} {'expected':<28} details")
        for _ in range(rounds):
            for visit in VISITS:
                reading = TemperatureReading(corrected_c=visit.temperature_c) if visit.temperature_c else None
                total += 1
                try:
                    answer = await clients[visit.gate_id].check(sample_jpeg(visit.photo), reading, timeout=15)
                except TimeoutError:
                    missing += 1
                    print(f"{visit.gate_id:<11} {visit.photo:<10} {visit.temperature_c!s:>5}  NO VERDICT")
                    continue
                outcome, details = _describe(answer)
                agreed += outcome == visit.expected
                print(
                    f"{visit.gate_id:<11} {visit.photo:<10} {visit.temperature_c:>5}  "
                    f"{outcome:<28} {visit.expected:<28} {details}"
                )
        for client in clients.values():
            await client.__aexit__(None, None, None)
        await asyncio.sleep(1.0)  # let the stats service write the last outcomes
        _print_stats(settings)
    finally:
        await stack.close()
    print(f"{total - missing} of {total} checks answered; {agreed} matched the expected verdict.")
    return 1 if missing else 0


def _print_stats(settings: Settings) -> None:
    from services.stats.database import create_engine

    engine = create_engine(settings.database.url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT decision, count(*) FROM checks GROUP BY decision ORDER BY decision")
        ).all()
    engine.dispose()
    print("Recorded in the statistics database: " + ", ".join(f"{d}={n}" for d, n in rows))
