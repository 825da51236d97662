"""Every reason a verdict can give has words in the console, in English and in Korean."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from maskwatch.contracts import Reason

CATALOGUES = Path(__file__).resolve().parents[2] / "dashboard" / "src" / "i18n"


def reason_keys(language: str) -> set[str]:
    text = (CATALOGUES / f"{language}.ts").read_text()
    block = re.search(r"\n  reason: \{\n(.*?)\n  \},", text, re.DOTALL)
    assert block, f"no reason catalogue in {language}.ts"
    return set(re.findall(r"^\s+(\w+):", block.group(1), re.MULTILINE))


@pytest.mark.parametrize("language", ["en", "ko"])
def test_every_reason_has_a_label(language: str) -> None:
    assert {reason.value for reason in Reason} <= reason_keys(language)
