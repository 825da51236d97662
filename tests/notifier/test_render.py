"""The words of a notification: both languages, every transition, the recipient's clock."""

from __future__ import annotations

import string
from dataclasses import replace
from datetime import timedelta

import pytest

from services.notifier.channels.base import Notification
from services.notifier.render import TEXT, render


def test_an_opened_unmasked_alert_reads_as_the_operator_expects_in_english_and_korean(notification):
    english = render(notification, "en", "UTC")
    korean = render(notification, "ko", "Asia/Seoul")

    assert english.title == "Person unmasked for 2 min at Hall camera hall-1"
    assert korean.title == "hall-1 카메라: 마스크 미착용 2분"
    assert english.body.splitlines() == [
        "A person has been without a mask in front of camera hall-1 at Hall for 2 min.",
        "Time: 2025-03-03 05:05 UTC",
        "Unmasked since 2025-03-03 05:03 UTC (2 min)",
        f"Details: {notification.link}",
    ]
    assert korean.body.splitlines() == [
        "Hall hall-1 카메라 앞에 2분 동안 마스크를 쓰지 않은 사람이 있습니다.",
        "시각: 2025년 3월 3일 14:05 KST",
        "미착용 시작: 2025년 3월 3일 14:03 KST (2분)",
        f"자세히 보기: {notification.link}",
    ]


def test_local_time_follows_the_recipients_zone_and_its_daylight_saving(notification):
    # 05:05 UTC on 3 March is 00:05 EST; on 3 July it is 01:05 EDT.
    winter = render(notification, "en", "America/New_York")
    summer_at = notification.at.replace(month=7)
    summer = render(replace(notification, at=summer_at, unmasked_since=summer_at), "en", "America/New_York")
    assert "Time: 2025-03-03 00:05 EST" in winter.body
    assert "Time: 2025-07-03 01:05 EDT" in summer.body
    # The calendar day changes too: 22:30 UTC is the next morning in Seoul.
    late = notification.at.replace(hour=22, minute=30)
    seoul = render(replace(notification, at=late, unmasked_since=late), "ko", "Asia/Seoul")
    assert "시각: 2025년 3월 4일 07:30 KST" in seoul.body


@pytest.mark.parametrize(
    ("transition", "why", "english", "korean"),
    [
        ("acknowledged", None, "Alert acknowledged at Hall camera hall-1", "hall-1 카메라: 알림 확인됨"),
        (
            "resolved",
            "masked",
            "Resolved: person masked at Hall camera hall-1",
            "hall-1 카메라: 마스크 착용으로 해제",
        ),
        ("resolved", "left", "Resolved: person left Hall camera hall-1", "hall-1 카메라: 자리 이탈로 해제"),
        ("resolved", "by_hand", "Resolved by hand at Hall camera hall-1", "hall-1 카메라: 수동 해제"),
        ("resolved", None, "Resolved at Hall camera hall-1", "hall-1 카메라: 알림 해제"),
    ],
)
def test_every_transition_and_reason_has_its_own_title(notification, transition, why, english, korean):
    later = replace(notification, transition=transition, why=why)
    assert render(later, "en", "UTC").title == english
    assert render(later, "ko", "UTC").title == korean


def test_resolved_bodies_say_why_in_both_languages(notification):
    masked = replace(notification, transition="resolved", why="masked")
    left = replace(notification, transition="resolved", why="left")
    by_hand = replace(notification, transition="resolved", why="by_hand")
    assert render(masked, "en", "UTC").body.startswith("The person put a mask on;")
    assert render(left, "en", "UTC").body.startswith("The person left;")
    assert "by hand" in render(by_hand, "en", "UTC").body
    assert render(masked, "ko", "UTC").body.startswith("마스크를 착용하여")
    assert render(left, "ko", "UTC").body.startswith("사람이 자리를 떠나")
    assert "수동으로" in render(by_hand, "ko", "UTC").body


@pytest.mark.parametrize(
    ("seconds", "english", "korean"),
    [
        (45, "45 s", "45초"),
        (150, "2 min", "2분"),
        (3600, "1 h", "1시간"),
        (3 * 3600 + 5 * 60 + 59, "3 h 5 min", "3시간 5분"),
    ],
)
def test_durations_are_rounded_down_and_localised(notification, seconds, english, korean):
    n = replace(notification, unmasked_since=notification.at - timedelta(seconds=seconds))
    assert render(n, "en", "UTC").title == f"Person unmasked for {english} at Hall camera hall-1"
    assert render(n, "ko", "UTC").title == f"hall-1 카메라: 마스크 미착용 {korean}"


def test_without_unmasked_since_no_duration_is_promised(notification):
    n = replace(notification, unmasked_since=None, link="")
    english = render(n, "en", "UTC")
    korean = render(n, "ko", "UTC")
    assert english.title == "Unmasked person alert at Hall camera hall-1"
    assert korean.title == "hall-1 카메라: 마스크 미착용 알림"
    assert english.body.splitlines()[1:] == ["Time: 2025-03-03 05:05 UTC"]
    assert "Details" not in english.body


def test_unknown_language_and_zone_fall_back_to_english_and_utc(notification):
    assert render(notification, "fr", "Mars/Olympus_Mons") == render(notification, "en", "UTC")


def test_a_kind_without_its_own_phrases_still_gets_a_message(notification):
    n: Notification = replace(notification, kind="crowding")
    assert render(n, "en", "UTC").title == "crowding alert at Hall camera hall-1"
    assert render(n, "ko", "UTC").title == "hall-1 카메라: crowding 알림"


def test_both_languages_have_the_same_phrases_and_korean_needs_nothing_english_lacks():
    def names(template: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}

    assert TEXT["en"].keys() == TEXT["ko"].keys()
    for key in TEXT["en"]:
        # Korean titles may leave out the site (the camera's name is what staff use), never need more:
        # a phrase is picked by what it mentions, so a Korean phrase needing more would pick differently.
        assert names(TEXT["ko"][key]) <= names(TEXT["en"][key]), key


def test_a_device_offline_alert_says_since_when_and_its_resolution_how_long():
    from datetime import UTC, datetime, timedelta

    from services.notifier.channels.base import Notification
    from services.notifier.render import render

    at = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    offline = Notification(
        alert_id="a", transition="opened", kind="device_offline", site_id="s", site_name="Lobby",
        device_id="door-1", at=at, offline_since=at - timedelta(minutes=3),
    )  # fmt: skip
    assert render(offline, "en", "UTC").title == "door-1 offline for 3 min at Lobby"
    assert "05:57" in render(offline, "en", "UTC").body
    assert render(offline, "ko", "Asia/Seoul").title == "Lobby door-1: 연결 끊김 3분"
    back = Notification(
        alert_id="a", transition="resolved", kind="device_offline", site_id="s", site_name="Lobby",
        device_id="door-1", at=at, why="back_online", offline_since=at - timedelta(minutes=65),
    )  # fmt: skip
    assert render(back, "en", "UTC").body.startswith("Device door-1 at Lobby is back online after 1 h 5 min.")
