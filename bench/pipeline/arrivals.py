"""When each simulated gate sends its checks: one schedule, offered alike to every system a run compares.

People walk up to a gate on their own, so the checks of many gates arrive at random (`random`: a
Poisson process, each gate's send times drawn uniformly over the step): now and then two or three land
within one model run, and a system that answers one check at a time makes the later ones wait. Evenly
spaced sends, staggered between gates (`even`), never overlap below saturation; they show a system's
latency without queueing, not what a venue's gates see. The draw is seeded, so the pipeline and the
synchronous server get the same send times at the same rate.
"""

from __future__ import annotations

import random
from typing import Literal

Arrivals = Literal["random", "even"]
ARRIVALS: tuple[Arrivals, ...] = ("random", "even")

MAX_CHECKS = 100_000
"""A load is also bounded in count, whatever rate and duration it is given."""


def checks_per_gate(count: int, gates: int) -> list[int]:
    """`count` checks shared out over `gates` gates as evenly as whole numbers allow."""
    return [count // gates + (1 if g < count % gates else 0) for g in range(gates)]


def send_times(
    gates: int, rate_per_s: float, duration_s: float, arrivals: Arrivals, seed: int = 0
) -> list[list[float]]:
    """Per gate, its send times in seconds from the start of the step, in order: `rate_per_s` checks a
    second on average for `duration_s`, at most `MAX_CHECKS` in all."""
    interval = gates / rate_per_s
    per_gate = checks_per_gate(min(MAX_CHECKS, int(rate_per_s * duration_s)), gates)
    if arrivals == "even":
        return [[g * interval / gates + k * interval for k in range(n)] for g, n in enumerate(per_gate)]
    rng = random.Random(seed)
    return [sorted(rng.uniform(0.0, n * interval) for _ in range(n)) for n in per_gate]
