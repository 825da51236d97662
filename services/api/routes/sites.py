"""Sites: a venue with its own time zone, gates and figures."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field, field_validator

from maskwatch.database.schema import sites
from services.api import audit
from services.api.deps import CurrentUser, GlobalAdmin, SessionDep, require_site
from services.api.hal import Page, Resource, create_link, link, page, require_match, respond
from services.api.paging import API, Paging
from services.api.problems import PROBLEM_RESPONSES, Problem
from services.api.security import Caller

router = APIRouter(prefix=f"{API}/sites", tags=["sites"], responses=PROBLEM_RESPONSES)
SLUG = r"^[a-z0-9][a-z0-9_-]{0,63}$"
SiteId = Annotated[str, Path(pattern=SLUG)]


def _valid_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


class SiteOut(Resource):
    site_id: str
    name: str
    time_zone: str


class SiteIn(BaseModel):
    site_id: str = Field(pattern=SLUG)
    name: str = Field(min_length=1, max_length=200)
    time_zone: str = Field(max_length=64)

    _zone = field_validator("time_zone")(_valid_zone)


class SitePatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    time_zone: str | None = Field(default=None, max_length=64)

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else _valid_zone(value)


def site_resource(row: sa.Row[*tuple[Any, ...]], caller: Caller) -> SiteOut:
    href = f"{API}/sites/{row.site_id}"
    links = {
        "self": link(href),
        "gates": link(f"{API}/gates?site={row.site_id}"),
        "checks": link(f"{API}/checks?site={row.site_id}"),
        "alerts": link(f"{API}/alerts?site={row.site_id}"),
        "stats_today": link(f"{href}/stats/today"),
        "stats": link(f"{href}/stats"),
        "stats_hourly": link(f"{href}/stats/hourly"),
        "stats_gates": link(f"{href}/stats/gates"),
        "rules": link(f"{href}/rules"),
        "cameras": link(f"{API}/cameras?site={row.site_id}"),
    }
    if caller.can_administer(row.site_id):
        links["recipients"] = link(f"{href}/recipients")
    if caller.is_global_admin:
        links["edit"] = link(href, "PATCH")
    return SiteOut(links=links, site_id=row.site_id, name=row.name, time_zone=row.time_zone)


def load_site(conn: sa.Connection, caller: Caller, site_id: str) -> sa.Row[*tuple[Any, ...]]:
    require_site(caller, site_id)
    row = conn.execute(
        sa.select(sites.c.site_id, sites.c.name, sites.c.time_zone).where(sites.c.site_id == site_id)
    ).one_or_none()
    if row is None:
        raise Problem(404, "not-found", f"no site {site_id!r}")
    return row


@router.get("", response_model=Page[SiteOut], summary="The sites you may see")
def list_sites(request: Request, caller: CurrentUser, conn: SessionDep, paging: Paging) -> Response:
    query = sa.select(sites.c.site_id, sites.c.name, sites.c.time_zone)
    visible = caller.visible_sites()
    if visible is not None:
        query = query.where(sites.c.site_id.in_(sorted(visible)))
    total = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(sites.c.site_id).offset(paging.offset).limit(paging.limit))
    create = create_link(f"{API}/sites", SiteIn, "Add a site") if caller.is_global_admin else None
    items = [site_resource(r, caller) for r in rows]
    return page(request, items, paging.offset, paging.limit, total, create=create)


@router.post("", response_model=SiteOut, status_code=201, summary="Add a site")
def create_site(request: Request, body: SiteIn, caller: GlobalAdmin, conn: SessionDep) -> Response:
    exists = conn.execute(sa.select(sites.c.site_id).where(sites.c.site_id == body.site_id)).first()
    if exists:
        raise Problem(409, "conflict", f"site {body.site_id!r} exists")
    conn.execute(sa.insert(sites).values(**body.model_dump(), created_at=datetime.now(UTC)))
    audit.record(
        conn,
        caller,
        "site.create",
        f"site:{body.site_id}",
        site_id=body.site_id,
        name=body.name,
        time_zone=body.time_zone,
    )
    conn.commit()
    response = respond(request, site_resource(load_site(conn, caller, body.site_id), caller), status=201)
    response.headers["Location"] = f"{API}/sites/{body.site_id}"
    return response


@router.get("/{site_id}", response_model=SiteOut, summary="One site")
def get_site(request: Request, site_id: SiteId, caller: CurrentUser, conn: SessionDep) -> Response:
    return respond(request, site_resource(load_site(conn, caller, site_id), caller))


@router.patch("/{site_id}", response_model=SiteOut, summary="Rename a site or change its time zone")
def patch_site(
    request: Request, site_id: SiteId, body: SitePatch, caller: GlobalAdmin, conn: SessionDep
) -> Response:
    require_match(request, site_resource(load_site(conn, caller, site_id), caller))
    values = body.model_dump(exclude_none=True)
    if values:
        conn.execute(sa.update(sites).where(sites.c.site_id == site_id).values(**values))
    audit.record(conn, caller, "site.update", f"site:{site_id}", site_id=site_id, changes=values)
    conn.commit()
    return respond(request, site_resource(load_site(conn, caller, site_id), caller))
