"""The audit log, newest first; it spans every site, so only admins of every site read it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query, Request, Response

from maskwatch.database.schema import audit_log
from services.api.deps import GlobalAdmin, SessionDep
from services.api.hal import Page, Resource, link, page, respond
from services.api.paging import API, Paging
from services.api.problems import PROBLEM_RESPONSES, Problem
from services.api.routes.sites import SLUG

router = APIRouter(prefix=f"{API}/audit", tags=["audit"], responses=PROBLEM_RESPONSES)
AuditId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class AuditOut(Resource):
    audit_id: int
    at: datetime
    user_id: int | None
    action: str
    target: str
    site_id: str | None
    details: dict[str, Any]


def _utc(moment: datetime) -> datetime:
    """Compared as every backend keeps `at`: UTC (naive means UTC; SQLite stores no offset)."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    try:
        return aware.astimezone(UTC)
    except OverflowError:  # within a day of year 1 or 9999: past every entry either way
        return datetime.min.replace(tzinfo=UTC) if aware.year == 1 else datetime.max.replace(tzinfo=UTC)


def _resource(r: sa.Row[Any]) -> AuditOut:
    links = {"self": link(f"{API}/audit/{r.audit_id}")}
    if r.user_id:
        links["user"] = link(f"{API}/users/{r.user_id}")
    if r.site_id:
        links["site"] = link(f"{API}/sites/{r.site_id}")
    return AuditOut(
        links=links,
        audit_id=r.audit_id,
        at=r.at if r.at.tzinfo else r.at.replace(tzinfo=UTC),
        user_id=r.user_id,
        action=r.action,
        target=r.target,
        site_id=r.site_id,
        details=r.details or {},
    )


@router.get("", response_model=Page[AuditOut], summary="What was done, by whom, when")
def list_audit(
    request: Request,
    caller: GlobalAdmin,
    conn: SessionDep,
    paging: Paging,
    action: Annotated[str | None, Query(max_length=64)] = None,
    user_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    site: Annotated[str | None, Query(pattern=SLUG, description="Only what happened at this site")] = None,
    since: Annotated[datetime | None, Query(description="At or after (ISO 8601; UTC when no offset)")] = None,
    until: Annotated[datetime | None, Query(description="Before (ISO 8601; UTC when no offset)")] = None,
) -> Response:
    query = sa.select(audit_log)
    if action is not None:
        query = query.where(audit_log.c.action == action)
    if user_id is not None:
        query = query.where(audit_log.c.user_id == user_id)
    if site is not None:
        query = query.where(audit_log.c.site_id == site)
    if since is not None:
        query = query.where(audit_log.c.at >= _utc(since))
    if until is not None:
        query = query.where(audit_log.c.at < _utc(until))
    total = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(audit_log.c.audit_id.desc()).offset(paging.offset).limit(paging.limit))
    items = [_resource(r) for r in rows]
    return page(request, items, paging.offset, paging.limit, total)


@router.get("/{audit_id}", response_model=AuditOut, summary="One audit entry")
def get_audit_entry(
    request: Request,
    audit_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    caller: GlobalAdmin,
    conn: SessionDep,
) -> Response:
    row = conn.execute(sa.select(audit_log).where(audit_log.c.audit_id == audit_id)).one_or_none()
    if row is None:
        raise Problem(404, "not-found", f"no audit entry {audit_id}")
    return respond(request, _resource(row), etag=False)
