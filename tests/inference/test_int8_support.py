"""The default precision follows the CPU: int8 only where its int8 products are summed without saturating."""

from __future__ import annotations

from services.inference.model.config import ClassifierConfig, UltraFaceConfig
from services.inference.model.int8_support import cpu_flags, default_precision, precision_for

EPYC_AVX2 = (
    "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 avx avx2 fma\n"
)
XEON_VNNI = "processor\t: 0\nmodel name\t: Intel Xeon\nflags\t\t: fpu avx2 avx512f avx512bw avx512_vnni\n"
ALDER_LAKE = "processor\t: 0\nflags\t\t: avx2 avx_vnni\n"
ARM = "processor\t: 0\nFeatures\t: fp asimd asimddp\n"


def test_int8_is_chosen_only_with_vnni():
    assert precision_for(cpu_flags(XEON_VNNI)) == "int8"
    assert precision_for(cpu_flags(ALDER_LAKE)) == "int8"
    assert precision_for(cpu_flags(EPYC_AVX2)) == "fp32"
    assert precision_for(cpu_flags(ARM)) == "fp32"
    assert precision_for(cpu_flags("")) == "fp32"


def test_the_configs_default_to_this_machines_choice_and_keep_an_explicit_one():
    assert UltraFaceConfig().precision == default_precision()
    assert ClassifierConfig().precision == default_precision()
    assert UltraFaceConfig(precision="int8").precision == "int8"
    assert ClassifierConfig(precision="fp32").precision == "fp32"
