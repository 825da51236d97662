"""Whether this CPU runs the int8 graphs as they were measured: the default precision follows it.

ONNX Runtime multiplies uint8 activations by int8 weights. With AVX-512 VNNI (or AVX-VNNI) the products
are summed in 32 bits; on CPUs with AVX2 alone its kernels pair the products in 16 bits first, which can
saturate, so the same int8 graph gives other scores there. On an AVX2-only AMD EPYC a masked close-up
got a second, nested face box from the int8 detector that neither the fp32 graph on that CPU nor the int8
graph on a VNNI CPU gives, and a borderline mask moved from `mask` to `incorrect`. Every int8 figure in
docs/model-card.md was measured with VNNI, so int8 is the default only where the CPU has it; elsewhere the
fp32 graphs serve (as good, about a millisecond slower per frame where int8 is fast at all). An explicit
`precision` is kept as set.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

VNNI_FLAGS = frozenset({"avx512_vnni", "avx_vnni"})
CPUINFO = Path("/proc/cpuinfo")


def cpu_flags(cpuinfo: str) -> frozenset[str]:
    """The feature flags of the first processor listed in a /proc/cpuinfo text (none if unlisted)."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def precision_for(flags: frozenset[str]) -> Literal["int8", "fp32"]:
    """int8 where the CPU sums int8 products without saturating (VNNI); fp32 anywhere else."""
    return "int8" if flags & VNNI_FLAGS else "fp32"


@functools.cache
def default_precision() -> Literal["int8", "fp32"]:
    """The precision this machine serves unless told otherwise (fp32 where the CPU cannot be read)."""
    try:
        text = CPUINFO.read_text(errors="replace")
    except OSError:
        return "fp32"
    return precision_for(cpu_flags(text))
