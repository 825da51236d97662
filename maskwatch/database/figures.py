"""The numbers the dashboard shows: visitors, passed, denied by reason, per hour, per gate, per site.

Pure query functions over a SQLAlchemy connection, the same on PostgreSQL and
SQLite. Ranges are half-open UTC instants [start, end); `day_range` turns a
local calendar day of a site into one, so "today" follows the site's time zone
and daylight-saving days have 23 or 25 hours.

Totals over a range come from three sources, all kept by database triggers on
`checks` and `check_reasons`:

- `check_daily`, one row per UTC day, gate, decision and reason, for the whole
  UTC days inside the range;
- `check_hourly`, the same per UTC hour, for the whole hours left at either end
  (at most 23 on each side);
- the raw `checks` rows, through their (gate_id, decided_at) and decided_at
  indexes, for what is left inside an hour at either end (at most 59 minutes on
  each side: zones such as Asia/Kolkata at +05:30).

The pieces are disjoint and together cover the range exactly, so a local day,
month or year in any zone (23- and 25-hour DST days and half-hour offsets
included) adds up to the same numbers as counting the raw rows, while a year
for 100 gates reads about 100 x 365 x (decisions + reasons) daily rows instead
of millions of checks or hourly rows. The roll-ups are keyed by UTC day and
hour rather than by local day on purpose: which site a gate belongs to, and
that site's time zone, are joined in at query time, so moving a gate to
another site or changing a site's zone needs no rebuild.

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

from maskwatch.database.schema import (
    DEFAULT_SITE,
    check_daily,
    check_hourly,
    check_reasons,
    checks,
    gates,
    sites,
)

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
MAX_HOURLY_RANGE = timedelta(days=400)
_QUARTER = timedelta(minutes=15)
Q = TypeVar("Q", bound="sa.Select[*tuple[Any, ...]]")


RETRY = "retry"
"""The `check_reasons` marker on a check that retried a denial: the same gate, within the stats writer's
retry window (services/stats/visits.py). Counted as a retry, never as a reason or a flag."""


@dataclass
class Summary:
    """Counts for one range: people (visitors) and their final outcomes, and the raw attempts.

    A person denied who tries again at the same gate within the retry window is one visitor: every check
    that is not a retry starts a visit, a pass ends one, so visitors = attempts - retries, passed = passes,
    and denied = the visits that did not end in a pass. Reasons count attempts.
    """

    attempts: int = 0
    attempts_passed: int = 0
    attempts_denied: int = 0
    retries: int = 0
    denied_by_reason: dict[str, int] = field(default_factory=dict)
    flagged_by_reason: dict[str, int] = field(default_factory=dict)
    """Problems recorded on passes by a soft-mode policy: counted, not enforced."""

    @property
    def visitors(self) -> int:
        return self.attempts - self.retries

    @property
    def passed(self) -> int:
        return self.attempts_passed

    @property
    def denied(self) -> int:
        """Visits whose last attempt was a denial. A visit that began before the range and passed inside
        it counts its pass but not its start, so this never goes below zero."""
        return max(0, self.visitors - self.passed)

    def add(self, decision: str, reason: str, enforced: bool, n: int) -> None:
        if not reason:
            self.attempts += n
            if decision == "open":
                self.attempts_passed += n
            else:
                self.attempts_denied += n
        elif reason == RETRY:
            self.retries += n
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


def _floor(t: datetime, step: timedelta) -> datetime:
    """`t` (UTC) rounded down to a whole UTC hour or day."""
    if step == DAY:
        return t.replace(hour=0, minute=0, second=0, microsecond=0)
    return t.replace(minute=0, second=0, microsecond=0)


def _ceil(t: datetime, step: timedelta) -> datetime:
    floor = _floor(t, step)
    return floor if floor == t else floor + step


def _segments(start: datetime, end: datetime) -> list[tuple[str, datetime, datetime]]:
    """Cut [start, end) into disjoint ("raw" | "hourly" | "daily", from, to) pieces that cover it exactly.

    Whole UTC days in the middle come from the daily roll-up, whole UTC hours
    around them from the hourly one, and the parts of an hour at either end
    from the raw rows.
    """
    start, end = utc(start), utc(end)
    if end <= start:
        return []
    h0, h1 = _ceil(start, HOUR), _floor(end, HOUR)
    if h1 <= h0:
        return [("raw", start, end)]
    d0, d1 = _ceil(h0, DAY), _floor(h1, DAY)
    middle = [("hourly", h0, d0), ("daily", d0, d1), ("hourly", d1, h1)] if d0 < d1 else [("hourly", h0, h1)]
    pieces = [("raw", start, h0), *middle, ("raw", h1, end)]
    return [(kind, a, b) for kind, a, b in pieces if a < b]


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

    `group` is None, "gate" or "site". The same key may come once per piece of
    the range; the callers add them up.
    """
    rows: list[tuple[str, str, str, bool, int]] = []
    for kind, a, b in _segments(start, end):
        if kind == "raw":
            rows.extend(_raw_counts(conn, a, b, site=site, gate=gate, site_ids=site_ids, group=group))
            continue
        table = check_daily if kind == "daily" else check_hourly
        at = table.c.day if kind == "daily" else table.c.hour
        t = table.c
        key = _group_column(group, t.gate_id)
        query = sa.select(key, t.decision, t.reason, t.enforced, sa.func.sum(t.checks)).where(at >= a, at < b)
        query = _scope(query, t.gate_id, site, gate, site_ids)
        query = query.group_by(key, t.decision, t.reason, t.enforced)
        rows.extend((str(k), d, r, bool(e), int(n)) for k, d, r, e, n in conn.execute(query))
    return rows


def _raw_counts(
    conn: sa.Connection,
    start: datetime,
    end: datetime,
    *,
    site: str | None,
    gate: str | None,
    site_ids: Collection[str] | None,
    group: str | None,
) -> list[tuple[str, str, str, bool, int]]:
    rows: list[tuple[str, str, str, bool, int]] = []
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


_TRUNCATE_SQL = {
    ("postgresql", "hour"): "date_trunc('hour', {c} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
    ("postgresql", "day"): "date_trunc('day', {c} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
    ("sqlite", "hour"): "strftime('%Y-%m-%d %H:00:00.000000', {c})",
    ("sqlite", "day"): "strftime('%Y-%m-%d 00:00:00.000000', {c})",
}


def rebuild_hourly(conn: sa.Connection, start: datetime, end: datetime) -> None:
    """Recompute both roll-ups from the raw rows over the hours and the UTC days that cover [start, end).

    `check_hourly` is rebuilt for the whole hours, `check_daily` for the whole
    UTC days that [start, end) touches.

    For bulk loads that bypass the triggers and after deleting old checks; the
    triggers keep them current otherwise.
    """
    start, end = utc(start), utc(end)
    _rebuild(conn, check_hourly, "hour", _floor(start, HOUR), _ceil(end, HOUR))
    _rebuild(conn, check_daily, "day", _floor(start, DAY), _ceil(end, DAY))


def _rebuild(conn: sa.Connection, table: sa.Table, column: str, start: datetime, end: datetime) -> None:
    conn.execute(sa.delete(table).where(table.c[column] >= start, table.c[column] < end))
    truncate = _TRUNCATE_SQL[(conn.dialect.name, column)]
    yes = "true" if conn.dialect.name == "postgresql" else "1"
    statement = sa.text(
        f"""
        INSERT INTO {table.name} ({column}, gate_id, decision, reason, enforced, checks)
        SELECT {truncate.format(c="decided_at")}, gate_id, decision, '', {yes}, count(*)
        FROM checks WHERE decided_at >= :start AND decided_at < :end GROUP BY 1, 2, 3
        UNION ALL
        SELECT {truncate.format(c="c.decided_at")}, c.gate_id, c.decision, r.reason, r.enforced, count(*)
        FROM check_reasons r JOIN checks c ON c.check_id = r.check_id
        WHERE c.decided_at >= :start AND c.decided_at < :end GROUP BY 1, 2, 3, 4, 5
        """
    ).bindparams(
        sa.bindparam("start", start, type_=sa.DateTime(timezone=True)),
        sa.bindparam("end", end, type_=sa.DateTime(timezone=True)),
    )
    conn.execute(statement)
