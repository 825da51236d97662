"""The numbers the dashboard shows: visitors, passed, denied by reason, per hour, per gate, per site.

Pure query functions over a SQLAlchemy connection, the same on PostgreSQL and
SQLite. Ranges are half-open UTC instants [start, end); `day_range` turns a
local calendar day of a site into one, so "today" follows the site's time zone
and daylight-saving days have 23 or 25 hours.

Whole-hour ranges are answered from the `check_hourly` roll-up (kept by
triggers), which makes a year of data as cheap as a day. Ranges that start or
end inside an hour (zones such as Asia/Kolkata at +05:30) fall back to the raw
`checks` rows through their (gate_id, decided_at) and decided_at indexes.

A check from a gate that was never registered belongs to the `default` site.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from services.stats.schema import DEFAULT_SITE, check_hourly, check_reasons, checks, gates, sites

HOUR = timedelta(hours=1)
MAX_HOURLY_RANGE = timedelta(days=400)
_QUARTER = timedelta(minutes=15)
Q = TypeVar("Q", bound="sa.Select[*tuple[Any, ...]]")


@dataclass
class Summary:
    """Counts for one range: every check that reached a decision, split by decision and reason."""

    visitors: int = 0
    passed: int = 0
    denied: int = 0
    denied_by_reason: dict[str, int] = field(default_factory=dict)
    flagged_by_reason: dict[str, int] = field(default_factory=dict)
    """Problems recorded on passes by a soft-mode policy: counted, not enforced."""

    def add(self, decision: str, reason: str, enforced: bool, n: int) -> None:
        if not reason:
            self.visitors += n
            if decision == "open":
                self.passed += n
            else:
                self.denied += n
        elif enforced and decision == "deny":
            self.denied_by_reason[reason] = self.denied_by_reason.get(reason, 0) + n
        elif not enforced:
            self.flagged_by_reason[reason] = self.flagged_by_reason.get(reason, 0) + n


@dataclass
class HourFigure:
    """One local hour; `start` carries the site's offset, so a repeated 01:00 on a DST day stays apart."""

    start: datetime
    summary: Summary


@dataclass
class GroupFigure:
    key: str
    summary: Summary


def utc(value: datetime) -> datetime:
    """SQLite hands datetimes back without a zone; everything this module stores is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def day_range(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants of local midnight on `day` and on the next day."""
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def site_zone(conn: sa.Connection, site_id: str) -> ZoneInfo | None:
    """The site's time zone, or None when the site does not exist."""
    name = conn.execute(sa.select(sites.c.time_zone).where(sites.c.site_id == site_id)).scalar()
    return ZoneInfo(name) if name else None


def _site_column() -> sa.ColumnElement[str]:
    return sa.func.coalesce(gates.c.site_id, DEFAULT_SITE)


def _scope(
    query: Q,
    gate_column: sa.ColumnElement[str],
    site: str | None,
    gate: str | None,
    site_ids: Collection[str] | None,
) -> Q:
    query = query.outerjoin(gates, gates.c.gate_id == gate_column)
    site_col = _site_column()
    if site is not None:
        query = query.where(site_col == site)
    if site_ids is not None:
        query = query.where(site_col.in_(list(site_ids)))
    if gate is not None:
        query = query.where(gate_column == gate)
    return query


def _whole_hours(*instants: datetime) -> bool:
    return all(utc(t).minute == 0 and utc(t).second == 0 and utc(t).microsecond == 0 for t in instants)


def _counts(
    conn: sa.Connection,
    start: datetime,
    end: datetime,
    *,
    site: str | None = None,
    gate: str | None = None,
    site_ids: Collection[str] | None = None,
    group: str | None = None,
) -> Iterable[tuple[str, str, str, bool, int]]:
    """Rows of (group key, decision, reason, enforced, count); reason '' counts the checks themselves.

    `group` is None, "gate" or "site".
    """
    start, end = utc(start), utc(end)
    if end <= start:
        return []
    rows: list[tuple[str, str, str, bool, int]] = []
    if _whole_hours(start, end):
        h = check_hourly.c
        key = _group_column(group, h.gate_id)
        query = sa.select(key, h.decision, h.reason, h.enforced, sa.func.sum(h.checks)).where(
            h.hour >= start, h.hour < end
        )
        query = _scope(query, h.gate_id, site, gate, site_ids)
        query = query.group_by(key, h.decision, h.reason, h.enforced)
        rows.extend((str(k), d, r, bool(e), int(n)) for k, d, r, e, n in conn.execute(query))
        return rows
    c = checks.c
    key = _group_column(group, c.gate_id)
    in_range = sa.and_(c.decided_at >= start, c.decided_at < end)
    totals = _scope(
        sa.select(key, c.decision, sa.func.count()).where(in_range), c.gate_id, site, gate, site_ids
    )
    for k, d, n in conn.execute(totals.group_by(key, c.decision)):
        rows.append((str(k), d, "", True, int(n)))
    r = check_reasons.c
    reasons = sa.select(key, c.decision, r.reason, r.enforced, sa.func.count()).select_from(
        check_reasons.join(checks, checks.c.check_id == r.check_id)
    )
    reasons = _scope(reasons.where(in_range), c.gate_id, site, gate, site_ids)
    for k, d, reason, e, n in conn.execute(reasons.group_by(key, c.decision, r.reason, r.enforced)):
        rows.append((str(k), d, reason, bool(e), int(n)))
    return rows


def _group_column(group: str | None, gate_column: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    if group == "gate":
        return gate_column
    if group == "site":
        return _site_column()
    return sa.literal("", sa.String)


def summary(
    conn: sa.Connection,
    start: datetime,
    end: datetime,
    *,
    site: str | None = None,
    gate: str | None = None,
    site_ids: Collection[str] | None = None,
) -> Summary:
    """Totals over [start, end), optionally for one site, one gate, or the given sites only."""
    result = Summary()
    for _, decision, reason, enforced, n in _counts(
        conn, start, end, site=site, gate=gate, site_ids=site_ids
    ):
        result.add(decision, reason, enforced, n)
    return result


def _grouped(rows: Iterable[tuple[str, str, str, bool, int]]) -> list[GroupFigure]:
    figures: dict[str, Summary] = {}
    for key, decision, reason, enforced, n in rows:
        figures.setdefault(key, Summary()).add(decision, reason, enforced, n)
    return [GroupFigure(key, figures[key]) for key in sorted(figures)]


def per_gate(
    conn: sa.Connection,
    start: datetime,
    end: datetime,
    *,
    site: str | None = None,
    site_ids: Collection[str] | None = None,
) -> list[GroupFigure]:
    """One figure per gate that had checks in the range, by gate id."""
    return _grouped(_counts(conn, start, end, site=site, site_ids=site_ids, group="gate"))


def per_site(
    conn: sa.Connection, start: datetime, end: datetime, *, site_ids: Collection[str] | None = None
) -> list[GroupFigure]:
    """One figure per site that had checks in the range; unregistered gates count under `default`."""
    return _grouped(_counts(conn, start, end, site_ids=site_ids, group="site"))


def hour_starts(start: datetime, end: datetime, tz: ZoneInfo) -> list[datetime]:
    """The local hour boundaries in [start, end), as UTC instants; the first is `start` itself.

    Walking in quarter hours finds boundaries for every zone (offsets are
    multiples of 15 minutes) and across DST changes without wall-clock arithmetic.
    """
    start, end = utc(start), utc(end)
    if end - start > MAX_HOURLY_RANGE:
        raise ValueError(f"hourly figures cover at most {MAX_HOURLY_RANGE.days} days")
    bounds = [start]
    t = start.replace(minute=start.minute - start.minute % 15, second=0, microsecond=0) + _QUARTER
    while t < end:
        if t.astimezone(tz).minute == 0:
            bounds.append(t)
        t += _QUARTER
    return bounds


def per_hour(
    conn: sa.Connection,
    start: datetime,
    end: datetime,
    tz: ZoneInfo,
    *,
    site: str | None = None,
    gate: str | None = None,
    site_ids: Collection[str] | None = None,
) -> list[HourFigure]:
    """Every local hour of the range, empty hours included as zeros."""
    bounds = hour_starts(start, end, tz)
    figures = [HourFigure(b.astimezone(tz), Summary()) for b in bounds]
    if not bounds:
        return figures
    start, end = utc(start), utc(end)
    if _whole_hours(*bounds, end):
        h = check_hourly.c
        query = sa.select(h.hour, h.decision, h.reason, h.enforced, sa.func.sum(h.checks)).where(
            h.hour >= start, h.hour < end
        )
        query = _scope(query, h.gate_id, site, gate, site_ids).group_by(
            h.hour, h.decision, h.reason, h.enforced
        )
        for hour, decision, reason, enforced, n in conn.execute(query):
            slot = bisect.bisect_right(bounds, utc(hour)) - 1
            figures[slot].summary.add(decision, reason, bool(enforced), int(n))
        return figures
    c = checks.c
    raw = sa.select(c.decided_at, c.decision).where(c.decided_at >= start, c.decided_at < end)
    for decided_at, decision in conn.execute(_scope(raw, c.gate_id, site, gate, site_ids)):
        figures[bisect.bisect_right(bounds, utc(decided_at)) - 1].summary.add(decision, "", True, 1)
    r = check_reasons.c
    reasons = sa.select(c.decided_at, c.decision, r.reason, r.enforced).select_from(
        check_reasons.join(checks, checks.c.check_id == r.check_id)
    )
    reasons = _scope(
        reasons.where(c.decided_at >= start, c.decided_at < end), c.gate_id, site, gate, site_ids
    )
    for decided_at, decision, reason, enforced in conn.execute(reasons):
        slot = bisect.bisect_right(bounds, utc(decided_at)) - 1
        figures[slot].summary.add(decision, reason, bool(enforced), 1)
    return figures


_HOUR_SQL = {
    "postgresql": "date_trunc('hour', {c} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
    "sqlite": "strftime('%Y-%m-%d %H:00:00.000000', {c})",
}


def rebuild_hourly(conn: sa.Connection, start: datetime, end: datetime) -> None:
    """Recompute the roll-up for the whole hours in [start, end) from the raw rows.

    For bulk loads that bypass the triggers and after deleting old checks; the
    triggers keep it current otherwise.
    """
    start, end = utc(start), utc(end)
    start = start.replace(minute=0, second=0, microsecond=0)
    if end.minute or end.second or end.microsecond:
        end = end.replace(minute=0, second=0, microsecond=0) + HOUR
    h = check_hourly.c
    conn.execute(sa.delete(check_hourly).where(h.hour >= start, h.hour < end))
    hour = _HOUR_SQL[conn.dialect.name]
    yes = "true" if conn.dialect.name == "postgresql" else "1"
    statement = sa.text(
        f"""
        INSERT INTO check_hourly (hour, gate_id, decision, reason, enforced, checks)
        SELECT {hour.format(c="decided_at")}, gate_id, decision, '', {yes}, count(*)
        FROM checks WHERE decided_at >= :start AND decided_at < :end GROUP BY 1, 2, 3
        UNION ALL
        SELECT {hour.format(c="c.decided_at")}, c.gate_id, c.decision, r.reason, r.enforced, count(*)
        FROM check_reasons r JOIN checks c ON c.check_id = r.check_id
        WHERE c.decided_at >= :start AND c.decided_at < :end GROUP BY 1, 2, 3, 4, 5
        """
    ).bindparams(
        sa.bindparam("start", start, type_=sa.DateTime(timezone=True)),
        sa.bindparam("end", end, type_=sa.DateTime(timezone=True)),
    )
    conn.execute(statement)
