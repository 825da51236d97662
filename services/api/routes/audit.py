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
) -> Response:
    query = sa.select(audit_log)
    if action is not None:
        query = query.where(audit_log.c.action == action)
    if user_id is not None:
        query = query.where(audit_log.c.user_id == user_id)
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
