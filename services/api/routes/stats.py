"""Figures of a site: today, any range of local days, per hour, per gate; and every site's today."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from maskwatch.database import figures
from maskwatch.database.devices import registered_gates
from maskwatch.database.schema import sites
from services.api.deps import CurrentUser, SessionDep
from services.api.hal import Link, Resource, link, respond
from services.api.paging import API
from services.api.problems import PROBLEM_RESPONSES, Problem
from services.api.routes.sites import SiteId, load_site

router = APIRouter(prefix=API, tags=["stats"], responses=PROBLEM_RESPONSES)
MAX_DAYS = 3660
MAX_HOURLY_DAYS = 31
FromDay = Annotated[date | None, Query(alias="from", description="First local day (default: today)")]
ToDay = Annotated[date | None, Query(alias="to", description="Last local day, included (default: from)")]


class Counts(BaseModel):
    """People first, attempts beside them (docs/api.md, "Visitors and attempts")."""

    visitors: int
    """People: checks that reached a decision, less retries (a denied person trying again at the same
    gate within the retry window, 30 s by default, is one visitor)."""
    passed: int
    """Visitors let in (each visit ends at its first pass)."""
    denied: int
    """Visitors whose last attempt was denied."""
    attempts: int
    """Every check that reached a decision, retries included."""
    attempts_passed: int
    attempts_denied: int
    retries: int
    """Attempts that retried a denial: attempts - retries = visitors."""
    denied_by_reason: dict[str, int]
    """Denied attempts by reason (an attempt may have several)."""
    flagged_by_reason: dict[str, int]


def counts(s: figures.Summary) -> Counts:
    return Counts(
        visitors=s.visitors,
        passed=s.passed,
        denied=s.denied,
        attempts=s.attempts,
        attempts_passed=s.attempts_passed,
        attempts_denied=s.attempts_denied,
        retries=s.retries,
        denied_by_reason=s.denied_by_reason,
        flagged_by_reason=s.flagged_by_reason,
    )


class StatsOut(Resource):
    site_id: str
    time_zone: str
    first_day: date
    last_day: date
    start: datetime
    end: datetime
    figures: Counts


class HourOut(BaseModel):
    start: datetime
    """The local hour, with the site's UTC offset at that hour."""
    figures: Counts


class HourlyOut(Resource):
    site_id: str
    time_zone: str
    first_day: date
    last_day: date
    hours: list[HourOut]


class GateFigure(Resource):
    """One gate's figures; links to the gate when it is registered (an unregistered one has no page)."""

    gate_id: str
    figures: Counts


class GatesStatsOut(Resource):
    site_id: str
    first_day: date
    last_day: date
    gates: list[GateFigure]


class SiteFigure(BaseModel):
    site_id: str
    time_zone: str
    day: date
    figures: Counts


class SitesStatsOut(Resource):
    sites: list[SiteFigure]


def _days(tz: ZoneInfo, first: date | None, last: date | None, limit: int) -> tuple[date, date]:
    first = first or datetime.now(tz).date()
    last = last or first
    if last < first:
        raise Problem(400, "bad-range", "`to` is before `from`")
    if (last - first).days >= limit:
        raise Problem(400, "bad-range", f"at most {limit} days at a time")
    return first, last


def _range(tz: ZoneInfo, first: date, last: date) -> tuple[datetime, datetime]:
    return figures.day_range(first, tz)[0], figures.day_range(last, tz)[1]


def _links(site_id: str, tz: ZoneInfo, first: date, last: date, here: str) -> dict[str, Link]:
    """Self and the same range's other views, plus the single day before `first` and, unless it is
    still to come in the site's zone, the day after `last`."""
    base = f"{API}/sites/{site_id}"
    q = f"from={first}&to={last}"
    view = here if here != "/today" else ""
    before, after = first - timedelta(days=1), last + timedelta(days=1)
    links = {
        "self": link(f"{base}/stats{here}?{q}" if here != "/today" else f"{base}/stats/today"),
        "site": link(base),
        "summary": link(f"{base}/stats?{q}"),
        "hourly": link(f"{base}/stats/hourly?{q}"),
        "gates": link(f"{base}/stats/gates?{q}"),
        "previous_day": link(f"{base}/stats{view}?from={before}&to={before}", title=str(before)),
    }
    if after <= datetime.now(tz).date():
        links["next_day"] = link(f"{base}/stats{view}?from={after}&to={after}", title=str(after))
    return links


def _summary(
    request: Request, conn: sa.Connection, site_id: str, tz: ZoneInfo, first: date, last: date, here: str
) -> Response:
    start, end = _range(tz, first, last)
    s = figures.summary(conn, start, end, site=site_id)
    out = StatsOut.model_validate(
        {
            "_links": _links(site_id, tz, first, last, here),
            "site_id": site_id,
            "time_zone": tz.key,
            "first_day": first,
            "last_day": last,
            "start": start,
            "end": end,
            "figures": counts(s),
        }
    )
    return respond(request, out)


@router.get("/sites/{site_id}/stats/today", response_model=StatsOut, summary="Today's figures, site time")
def today(request: Request, site_id: SiteId, caller: CurrentUser, conn: SessionDep) -> Response:
    tz = ZoneInfo(load_site(conn, caller, site_id).time_zone)
    first, last = _days(tz, None, None, 1)
    return _summary(request, conn, site_id, tz, first, last, "/today")


@router.get("/sites/{site_id}/stats", response_model=StatsOut, summary="Figures for a range of local days")
def stats(
    request: Request,
    site_id: SiteId,
    caller: CurrentUser,
    conn: SessionDep,
    first: FromDay = None,
    last: ToDay = None,
) -> Response:
    tz = ZoneInfo(load_site(conn, caller, site_id).time_zone)
    first, last = _days(tz, first, last, MAX_DAYS)
    return _summary(request, conn, site_id, tz, first, last, "")


@router.get(
    "/sites/{site_id}/stats/hourly", response_model=HourlyOut, summary="Every local hour, empty ones as 0"
)
def hourly(
    request: Request,
    site_id: SiteId,
    caller: CurrentUser,
    conn: SessionDep,
    first: FromDay = None,
    last: ToDay = None,
) -> Response:
    tz = ZoneInfo(load_site(conn, caller, site_id).time_zone)
    first, last = _days(tz, first, last, MAX_HOURLY_DAYS)
    hours = figures.per_hour(conn, *_range(tz, first, last), tz, site=site_id)
    out = HourlyOut.model_validate(
        {
            "_links": _links(site_id, tz, first, last, "/hourly"),
            "site_id": site_id,
            "time_zone": tz.key,
            "first_day": first,
            "last_day": last,
            "hours": [HourOut(start=h.start, figures=counts(h.summary)) for h in hours],
        }
    )
    return respond(request, out)


@router.get("/sites/{site_id}/stats/gates", response_model=GatesStatsOut, summary="Figures per gate")
def per_gate(
    request: Request,
    site_id: SiteId,
    caller: CurrentUser,
    conn: SessionDep,
    first: FromDay = None,
    last: ToDay = None,
) -> Response:
    tz = ZoneInfo(load_site(conn, caller, site_id).time_zone)
    first, last = _days(tz, first, last, MAX_DAYS)
    rows = figures.per_gate(conn, *_range(tz, first, last), site=site_id)
    registered = registered_gates(conn, [r.key for r in rows])
    out = GatesStatsOut.model_validate(
        {
            "_links": _links(site_id, tz, first, last, "/gates"),
            "site_id": site_id,
            "first_day": first,
            "last_day": last,
            "gates": [_gate_figure(r.key, counts(r.summary), r.key in registered) for r in rows],
        }
    )
    return respond(request, out)


def _gate_figure(gate_id: str, figures: Counts, registered: bool) -> GateFigure:
    links = {"checks": link(f"{API}/checks?gate={gate_id}")}
    if registered:
        links["gate"] = link(f"{API}/gates/{gate_id}")
    return GateFigure(links=links, gate_id=gate_id, figures=figures)


@router.get("/stats/sites", response_model=SitesStatsOut, summary="Today's figures of every site you may see")
def per_site(request: Request, caller: CurrentUser, conn: SessionDep) -> Response:
    query = sa.select(sites.c.site_id, sites.c.time_zone).order_by(sites.c.site_id)
    visible = caller.visible_sites()
    if visible is not None:
        query = query.where(sites.c.site_id.in_(sorted(visible)))
    out: list[SiteFigure] = []
    for site_id, zone in conn.execute(query).all():
        tz = ZoneInfo(zone)
        day = datetime.now(tz).date()
        s = figures.summary(conn, *figures.day_range(day, tz), site=site_id)
        out.append(SiteFigure(site_id=site_id, time_zone=zone, day=day, figures=counts(s)))
    links = {"self": link(f"{API}/stats/sites")} | {
        f"site:{f.site_id}": link(f"{API}/sites/{f.site_id}/stats/today") for f in out
    }
    return respond(request, SitesStatsOut(links=links, sites=out))
