"""Checks as they were decided: filter by site, gate, decision and time; newest first."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request, Response

from maskwatch.database.figures import RETRY
from maskwatch.database.schema import DEFAULT_SITE, check_reasons, checks, gates
from maskwatch.face_crops import FaceCropStore
from services.api.deps import CurrentUser, SessionDep, StateDep, require_site
from services.api.hal import Page, Resource, link, page, respond
from services.api.images import IMAGE_RESPONSES, jpeg_response
from services.api.paging import API, Paging
from services.api.problems import PROBLEM_RESPONSES, Problem
from services.api.routes.gates import GATE_ID
from services.api.routes.sites import SLUG
from services.api.security import Caller

router = APIRouter(prefix=f"{API}/checks", tags=["checks"], responses=PROBLEM_RESPONSES)
SITE: sa.ColumnElement[str] = sa.func.coalesce(gates.c.site_id, DEFAULT_SITE)


class CheckOut(Resource):
    check_id: uuid.UUID
    gate_id: str
    site_id: str
    captured_at: datetime
    decided_at: datetime
    decision: str
    reasons: list[str]
    flags: list[str]
    message: str
    temperature_c: float | None
    face_count: int
    mask_label: str | None
    total_ms: float


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _base() -> sa.Select[tuple[object, ...]]:
    return sa.select(checks, SITE.label("site_id")).select_from(
        checks.outerjoin(gates, gates.c.gate_id == checks.c.gate_id)
    )


def _resources(
    conn: sa.Connection, rows: list[sa.Row[tuple[object, ...]]], faces: FaceCropStore | None = None
) -> list[CheckOut]:
    reasons: dict[uuid.UUID, tuple[list[str], list[str]]] = {r.check_id: ([], []) for r in rows}
    if rows:
        found = conn.execute(
            sa.select(check_reasons)
            # A retry mark is for the figures (services/stats/visits.py), not a reason of the check.
            .where(check_reasons.c.check_id.in_(list(reasons)), check_reasons.c.reason != RETRY)
            .order_by(check_reasons.c.reason)
        )
        for r in found:
            reasons[r.check_id][0 if r.enforced else 1].append(r.reason)
    out = []
    for row in rows:
        enforced, flags = reasons[row.check_id]
        links = {
            "self": link(f"{API}/checks/{row.check_id}"),
            "site": link(f"{API}/sites/{row.site_id}"),
            "gate_checks": link(f"{API}/checks?gate={row.gate_id}"),
        }
        if faces is not None and faces.path(row.check_id) is not None:
            links["face"] = link(f"{API}/checks/{row.check_id}/face", title="The face at the gate (JPEG)")
        out.append(
            CheckOut(
                links=links,
                check_id=row.check_id,
                gate_id=row.gate_id,
                site_id=row.site_id,
                captured_at=_aware(row.captured_at),
                decided_at=_aware(row.decided_at),
                decision=row.decision,
                reasons=enforced,
                flags=flags,
                message=row.message,
                temperature_c=row.temperature_c,
                face_count=row.face_count,
                mask_label=row.mask_label,
                total_ms=row.total_ms,
            )
        )
    return out


def _visible(query: sa.Select[tuple[object, ...]], caller: Caller) -> sa.Select[tuple[object, ...]]:
    visible = caller.visible_sites()
    if visible is None:
        return query
    return query.where(SITE.in_(sorted(visible)))


@router.get("", response_model=Page[CheckOut], summary="Checks, newest first")
def list_checks(
    request: Request,
    caller: CurrentUser,
    conn: SessionDep,
    state: StateDep,
    paging: Paging,
    site: Annotated[str | None, Query(pattern=SLUG)] = None,
    gate: Annotated[str | None, Query(pattern=GATE_ID)] = None,
    decision: Literal["open", "deny"] | None = None,
    since: Annotated[datetime | None, Query(description="decided at or after (ISO 8601 with offset)")] = None,
    until: Annotated[datetime | None, Query(description="decided before")] = None,
) -> Response:
    query = _visible(_base(), caller)
    if site is not None:
        require_site(caller, site)
        query = query.where(SITE.in_([site]))
    if gate is not None:
        query = query.where(checks.c.gate_id == gate)
    if decision is not None:
        query = query.where(checks.c.decision == decision)
    for bound in (since, until):
        if bound is not None and bound.tzinfo is None:
            raise Problem(400, "bad-range", "give times with their UTC offset")
    if since is not None:
        query = query.where(checks.c.decided_at >= since.astimezone(UTC))
    if until is not None:
        query = query.where(checks.c.decided_at < until.astimezone(UTC))
    total = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    ordered = (
        query.order_by(checks.c.decided_at.desc(), checks.c.check_id)
        .offset(paging.offset)
        .limit(paging.limit)
    )
    items = _resources(conn, list(conn.execute(ordered)), state.face_crop_store)
    return page(request, items, paging.offset, paging.limit, total)


@router.get("/{check_id}", response_model=CheckOut, summary="One check")
def get_check(
    request: Request, check_id: uuid.UUID, caller: CurrentUser, conn: SessionDep, state: StateDep
) -> Response:
    row = _readable(conn, caller, check_id)
    return respond(request, _resources(conn, [row], state.face_crop_store)[0])


@router.get(
    "/{check_id}/face",
    response_class=Response,
    responses=IMAGE_RESPONSES,
    summary="The face at the gate: the check's thumbnail, while retention keeps it",
)
def face(check_id: uuid.UUID, caller: CurrentUser, conn: SessionDep, state: StateDep) -> Response:
    _readable(conn, caller, check_id)
    missing = f"check {check_id} has no face (none was kept, or it was purged)"
    return jpeg_response(state.face_crop_store.path(check_id), missing)


def _readable(conn: sa.Connection, caller: Caller, check_id: uuid.UUID) -> sa.Row[tuple[object, ...]]:
    """The check's row, or 404 when it does not exist or belongs to a site the caller may not see."""
    row = conn.execute(_base().where(checks.c.check_id == check_id)).one_or_none()
    if row is None or not caller.can_read(row.site_id):
        raise Problem(404, "not-found", f"no check {check_id}")
    return row
