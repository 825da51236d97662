"""What a gate says for each reason, in the languages gates speak (English, Korean).

One table for the server (the verdict's `message`, in English) and the gate agent (its own language), so a
new reason is written once and a gate never shows a code where a sentence belongs.
"""

from __future__ import annotations

from typing import Literal

from maskwatch.contracts.verdict import Reason

Language = Literal["en", "ko"]
LANGUAGES: tuple[Language, ...] = ("en", "ko")

REASON_TEXTS: dict[Reason, dict[Language, str]] = {
    Reason.NO_FACE: {"en": "Please step in front of the camera", "ko": "카메라 앞에 서 주세요"},
    Reason.FACE_NOT_FRONTAL: {"en": "Please face the camera", "ko": "카메라를 정면으로 바라봐 주세요"},
    Reason.MULTIPLE_FACES: {"en": "One person at a time, please", "ko": "한 분씩 확인해 주세요"},
    Reason.NO_MASK: {"en": "Please wear a mask", "ko": "마스크를 착용해 주세요"},
    Reason.INCORRECT_MASK: {
        "en": "Please cover your nose and mouth with your mask",
        "ko": "마스크로 코와 입을 가려 주세요",
    },
    Reason.FEVER: {"en": "Elevated temperature: entry denied", "ko": "체온이 높아 출입할 수 없습니다"},
    Reason.REMEASURE_TEMPERATURE: {
        "en": "Please measure your temperature again",
        "ko": "체온을 다시 측정해 주세요",
    },
    Reason.NO_TEMPERATURE: {"en": "Please measure your temperature", "ko": "체온을 측정해 주세요"},
    Reason.FACE_TOO_SMALL: {"en": "Please step closer", "ko": "조금 더 가까이 와 주세요"},
    Reason.FACE_CUT_OFF: {
        "en": "Please stand in the middle of the camera",
        "ko": "카메라 가운데에 서 주세요",
    },
    Reason.TOO_DARK: {
        "en": "Too dark: please step into the light",
        "ko": "너무 어둡습니다. 밝은 곳에 서 주세요",
    },
    Reason.TOO_BLURRED: {"en": "Please hold still for a moment", "ko": "잠시 움직이지 말아 주세요"},
}


def reason_text(reason: Reason | str, language: Language = "en") -> str | None:
    """The sentence for a reason in `language`, or None for a reason this build does not know (a newer
    server's), so the caller can fall back on the server's own message."""
    try:
        return REASON_TEXTS[Reason(reason)][language]
    except ValueError:
        return None
