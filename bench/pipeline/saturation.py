"""Increasing open-loop rates until the system under test stops keeping up: where it saturates.

The ladder is set relative to the bare model's throughput measured in the same run, so a slow or a busy
machine walks the same relative steps. A step is saturated when fewer than 90% of the offered checks are
answered with a verdict per second, or more than 1% are shed or unanswered; the saturation rate is the
most verdicts per second any step delivered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pipeline.gate_load import LoadResult

LADDER = (0.3, 0.5, 0.7, 0.85, 1.0, 1.15, 1.3, 1.6, 2.0, 2.6, 3.4)
"""Offered rate as multiples of the bare model's frames/s, up to the first step saturated twice."""


@dataclass
class Search:
    steps: list[LoadResult]

    @property
    def saturation_per_s(self) -> float:
        return max((s.answered_per_s for s in self.steps), default=0.0)

    def row(self, step: LoadResult) -> dict[str, float | int | None]:
        return {
            "offered_per_s": round(step.offered_per_s, 2),
            "verdicts_per_s": round(step.answered_per_s, 2),
            "p50_ms": _round(step.percentile(50)),
            "p95_ms": _round(step.percentile(95)),
            "p99_ms": _round(step.percentile(99)),
            "max_ms": _round(step.percentile(100)),
            "sent": step.sent,
            "shed": step.shed,
            "rejected": step.rejected,
            "unanswered": step.unanswered,
            "generator_cpu_s": round(step.cpu_s, 2),
        }

    def rows(self) -> list[dict[str, float | int | None]]:
        return [self.row(s) for s in self.steps]


def saturated(step: LoadResult) -> bool:
    lost = step.shed + step.unanswered + step.rejected
    return step.answered_per_s < 0.9 * step.offered_per_s or lost > 0.01 * max(step.sent, 1)


async def search(load: Callable[[float], Awaitable[LoadResult]], bare_per_s: float) -> Search:
    """Up the ladder; a saturated step is taken once more before the search stops there, so a moment
    of other work on the machine does not end it early (both attempts are reported)."""
    found = Search([])
    for factor in LADDER:
        step = await load(factor * bare_per_s)
        found.steps.append(step)
        if saturated(step):
            again = await load(factor * bare_per_s)
            found.steps.append(again)
            if saturated(again):
                break
    return found


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
