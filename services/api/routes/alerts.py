"""Alerts raised for a site (a camera saw people without masks, a gate went offline): list, acknowledge."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query, Request, Response

from maskwatch.database.schema import alerts
from services.api import audit
from services.api.deps import CurrentUser, SessionDep, require_site
from services.api.hal import Page, Resource, link, page, require_match, respond
from services.api.paging import API, Paging
from services.api.problems import PROBLEM_RESPONSES, Problem
from services.api.routes.sites import SLUG
from services.api.security import Caller

router = APIRouter(prefix=f"{API}/alerts", tags=["alerts"], responses=PROBLEM_RESPONSES)
AlertId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class AlertOut(Resource):
    alert_id: int
    site_id: str
    device_id: str
    kind: str
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: int | None
    details: dict[str, Any]


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def alert_resource(row: sa.Row[Any], caller: Caller) -> AlertOut:
    href = f"{API}/alerts/{row.alert_id}"
    links = {"self": link(href), "site": link(f"{API}/sites/{row.site_id}")}
    if row.acknowledged_at is None and caller.can_operate(row.site_id):
        links["acknowledge"] = link(f"{href}/acknowledge", "POST")
    return AlertOut(
        links=links,
        alert_id=row.alert_id,
        site_id=row.site_id,
        device_id=row.device_id,
        kind=row.kind,
        opened_at=_aware(row.opened_at) or row.opened_at,
        acknowledged_at=_aware(row.acknowledged_at),
        acknowledged_by=row.acknowledged_by,
        details=row.details or {},
    )


def load_alert(conn: sa.Connection, caller: Caller, alert_id: int) -> sa.Row[Any]:
    row = conn.execute(sa.select(alerts).where(alerts.c.alert_id == alert_id)).one_or_none()
    if row is None or not caller.can_read(row.site_id):
        raise Problem(404, "not-found", f"no alert {alert_id}")
    return row


@router.get("", response_model=Page[AlertOut], summary="Alerts, newest first")
def list_alerts(
    request: Request,
    caller: CurrentUser,
    conn: SessionDep,
    paging: Paging,
    site: Annotated[str | None, Query(pattern=SLUG)] = None,
    state: Literal["open", "acknowledged"] | None = None,
) -> Response:
    query = sa.select(alerts)
    visible = caller.visible_sites()
    if site is not None:
        require_site(caller, site)
        query = query.where(alerts.c.site_id == site)
    elif visible is not None:
        query = query.where(alerts.c.site_id.in_(sorted(visible)))
    if state == "open":
        query = query.where(alerts.c.acknowledged_at.is_(None))
    elif state == "acknowledged":
        query = query.where(alerts.c.acknowledged_at.is_not(None))
    total = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(
        query.order_by(alerts.c.opened_at.desc(), alerts.c.alert_id.desc())
        .offset(paging.offset)
        .limit(paging.limit)
    )
    return page(request, [alert_resource(r, caller) for r in rows], paging.offset, paging.limit, total)


@router.get("/{alert_id}", response_model=AlertOut, summary="One alert")
def get_alert(request: Request, alert_id: AlertId, caller: CurrentUser, conn: SessionDep) -> Response:
    return respond(request, alert_resource(load_alert(conn, caller, alert_id), caller))


@router.post("/{alert_id}/acknowledge", response_model=AlertOut, summary="Acknowledge an open alert")
def acknowledge(request: Request, alert_id: AlertId, caller: CurrentUser, conn: SessionDep) -> Response:
    row = load_alert(conn, caller, alert_id)
    if not caller.can_operate(row.site_id):
        raise Problem(403, "forbidden", "viewers cannot acknowledge alerts")
    require_match(request, alert_resource(row, caller))
    if row.acknowledged_at is not None:
        raise Problem(409, "conflict", "the alert is already acknowledged")
    conn.execute(
        sa.update(alerts)
        .where(alerts.c.alert_id == alert_id)
        .values(acknowledged_at=datetime.now(UTC), acknowledged_by=caller.user_id)
    )
    audit.record(conn, caller, "alert.acknowledge", f"alert:{alert_id}", site_id=row.site_id)
    conn.commit()
    return respond(request, alert_resource(load_alert(conn, caller, alert_id), caller))
