"""The words of a notification, in the recipient's language and time zone.

Every phrase lives in `TEXT`, one table per language, so a translator edits one
place and a missing phrase shows up as a test failure rather than as English in
a Korean message. A phrase is picked from the most specific key to the most
general (`title.resolved.unmasked.masked` … `title.resolved`), and a phrase is
used only when everything it mentions is known: an alert without
`unmasked_since` gets a title that does not promise a duration.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.notifier.channels.base import Language, Notification, Rendered

TEXT: dict[Language, dict[str, str]] = {
    "en": {
        "title.opened.unmasked": "Person unmasked for {duration} at {site} camera {device}",
        "title.opened": "{kind} alert at {site} camera {device}",
        "title.acknowledged": "Alert acknowledged at {site} camera {device}",
        "title.resolved.masked": "Resolved: person masked at {site} camera {device}",
        "title.resolved.left": "Resolved: person left {site} camera {device}",
        "title.resolved.by_hand": "Resolved by hand at {site} camera {device}",
        "title.resolved": "Resolved at {site} camera {device}",
        "body.opened.unmasked": "A person has been without a mask in front of camera {device} at {site} "
        "for {duration}.",
        "body.opened": "Camera {device} at {site} raised an alert: {kind}.",
        "body.acknowledged": "Someone is looking into the alert from camera {device} at {site}.",
        "body.resolved.masked": "The person put a mask on; the alert from camera {device} at {site} "
        "is resolved.",
        "body.resolved.left": "The person left; the alert from camera {device} at {site} is resolved.",
        "body.resolved.by_hand": "The alert from camera {device} at {site} was resolved by hand.",
        "body.resolved": "The alert from camera {device} at {site} is resolved.",
        "line.at": "Time: {at}",
        "line.unmasked": "Unmasked since {since} ({duration})",
        "line.link": "Details: {link}",
        "kind.unmasked": "Unmasked person",
        "title.opened.device_offline": "{device} offline for {offline_for} at {site}",
        "body.opened.device_offline": "Device {device} at {site} has not answered since {offline_since}.",
        "title.resolved.device_offline.back_online": "{device} back online at {site}",
        "body.resolved.device_offline.back_online": "Device {device} at {site} is back online after "
        "{offline_for}.",
        "kind.device_offline": "Device offline",
        "title.digest": "{count} alert updates at {site}",
        "body.digest": "Held back by your quiet hours or because many came at once; oldest first:",
        "line.digest_item": "- {at}: {title}",
        "line.alerts": "All alerts: {link}",
        "datetime": "{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d} {zone}",
        "duration.s": "{s} s",
        "duration.min": "{m} min",
        "duration.h": "{h} h",
        "duration.h_min": "{h} h {m} min",
    },
    "ko": {
        "title.opened.unmasked": "{device} 카메라: 마스크 미착용 {duration}",
        "title.opened": "{device} 카메라: {kind} 알림",
        "title.acknowledged": "{device} 카메라: 알림 확인됨",
        "title.resolved.masked": "{device} 카메라: 마스크 착용으로 해제",
        "title.resolved.left": "{device} 카메라: 자리 이탈로 해제",
        "title.resolved.by_hand": "{device} 카메라: 수동 해제",
        "title.resolved": "{device} 카메라: 알림 해제",
        "body.opened.unmasked": "{site} {device} 카메라 앞에 {duration} 동안 "
        "마스크를 쓰지 않은 사람이 있습니다.",
        "body.opened": "{site} {device} 카메라에서 알림이 발생했습니다: {kind}.",
        "body.acknowledged": "{site} {device} 카메라의 알림을 담당자가 확인했습니다.",
        "body.resolved.masked": "마스크를 착용하여 {site} {device} 카메라의 알림이 해제되었습니다.",
        "body.resolved.left": "사람이 자리를 떠나 {site} {device} 카메라의 알림이 해제되었습니다.",
        "body.resolved.by_hand": "{site} {device} 카메라의 알림이 수동으로 해제되었습니다.",
        "body.resolved": "{site} {device} 카메라의 알림이 해제되었습니다.",
        "line.at": "시각: {at}",
        "line.unmasked": "미착용 시작: {since} ({duration})",
        "line.link": "자세히 보기: {link}",
        "kind.unmasked": "마스크 미착용",
        "title.opened.device_offline": "{site} {device}: 연결 끊김 {offline_for}",
        "body.opened.device_offline": "{site}의 {device} 장치가 {offline_since}부터 응답하지 않습니다.",
        "title.resolved.device_offline.back_online": "{site} {device}: 연결 복구",
        "body.resolved.device_offline.back_online": "{site}의 {device} 장치가 {offline_for} 만에 "
        "다시 연결되었습니다.",
        "kind.device_offline": "장치 연결 끊김",
        "title.digest": "{site}: 알림 {count}건",
        "body.digest": "방해 금지 시간이거나 알림이 한꺼번에 많아 모아서 보냅니다 (오래된 순):",
        "line.digest_item": "- {at}: {title}",
        "line.alerts": "전체 알림: {link}",
        "datetime": "{year}년 {month}월 {day}일 {hour:02d}:{minute:02d} {zone}",
        "duration.s": "{s}초",
        "duration.min": "{m}분",
        "duration.h": "{h}시간",
        "duration.h_min": "{h}시간 {m}분",
    },
}

DEFAULT_LANGUAGE: Language = "en"


def render(notification: Notification, language: str, time_zone: str) -> Rendered:
    """Title and body for one recipient. An unknown language falls back to English and an unknown time zone
    to UTC: a message in the wrong language or zone still beats no message about an unmasked person."""
    text = TEXT.get(cast(Language, language)) or TEXT[DEFAULT_LANGUAGE]
    zone = _zone(time_zone)
    if notification.digest:
        return _digest(text, notification, zone)
    return _single(text, notification, zone)


def _digest(text: Mapping[str, str], notification: Notification, zone: ZoneInfo) -> Rendered:
    """One line per carried transition (its own title, at its own time), and the alerts list's link."""
    items = notification.digest
    fields = {"site": notification.site_name or notification.site_id, "count": str(len(items))}
    lines = [text["body.digest"].format_map(fields)]
    for item in items:
        title = _single(text, item, zone).title
        lines.append(text["line.digest_item"].format(at=_local_time(text, item.at, zone), title=title))
    if notification.link:
        lines.append(text["line.alerts"].format(link=alerts_list_link(notification.link)))
    return Rendered(title=text["title.digest"].format_map(fields), body="\n".join(lines))


def alerts_list_link(alert_link: str) -> str:
    """`…/alerts/12` → `…/alerts`: a digest links to the list rather than to one of its alerts."""
    head, found, _ = alert_link.rpartition("/alerts/")
    return f"{head}/alerts" if found else alert_link


def _single(text: Mapping[str, str], notification: Notification, zone: ZoneInfo) -> Rendered:
    n = notification
    fields: dict[str, str] = {
        "site": n.site_name or n.site_id,
        "device": n.device_id,
        "kind": text.get(f"kind.{n.kind}", n.kind),
        "at": _local_time(text, n.at, zone),
    }
    if n.unmasked_since is not None:
        fields["since"] = _local_time(text, n.unmasked_since, zone)
        fields["duration"] = _duration(text, n.at - n.unmasked_since)
    if n.offline_since is not None:
        fields["offline_since"] = _local_time(text, n.offline_since, zone)
        fields["offline_for"] = _duration(text, n.at - n.offline_since)
    if n.link:
        fields["link"] = n.link

    keys = _keys(n)
    title = _phrase(text, [f"title.{key}" for key in keys], fields)
    lines = [_phrase(text, [f"body.{key}" for key in keys], fields), text["line.at"].format_map(fields)]
    if "since" in fields:
        lines.append(text["line.unmasked"].format_map(fields))
    if "link" in fields:
        lines.append(text["line.link"].format_map(fields))
    return Rendered(title=title, body="\n".join(lines))


def _keys(n: Notification) -> list[str]:
    """From the most specific phrase key to the most general."""
    keys = []
    if n.why:
        keys.append(f"{n.transition}.{n.kind}.{n.why}")
    keys.append(f"{n.transition}.{n.kind}")
    if n.why:
        keys.append(f"{n.transition}.{n.why}")
    keys.append(n.transition)
    return keys


def _phrase(text: Mapping[str, str], keys: list[str], fields: Mapping[str, str]) -> str:
    for key in keys:
        template = text.get(key)
        if template is not None and _names(template) <= fields.keys():
            return template.format_map(fields)
    raise KeyError(f"no phrase for any of {keys}")


def _names(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _local_time(text: Mapping[str, str], at: datetime, zone: ZoneInfo) -> str:
    local = at.astimezone(zone)
    return text["datetime"].format(
        year=local.year,
        month=local.month,
        day=local.day,
        hour=local.hour,
        minute=local.minute,
        zone=local.tzname() or zone.key,
    )


def _duration(text: Mapping[str, str], span: timedelta) -> str:
    """Rounded down, so a message never claims longer than what was seen."""
    seconds = max(0, int(span.total_seconds()))
    if seconds < 60:
        return text["duration.s"].format(s=seconds)
    hours, minutes = divmod(seconds // 60, 60)
    if hours == 0:
        return text["duration.min"].format(m=minutes)
    if minutes == 0:
        return text["duration.h"].format(h=hours)
    return text["duration.h_min"].format(h=hours, m=minutes)
