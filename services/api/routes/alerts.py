"""Alerts raised for a site (a camera saw someone stay unmasked, a gate went offline).

An alert is open until someone acknowledges it (they have seen it) and until it
resolves: by itself, when the person masks up or leaves, or by hand through
this API. Acknowledging or resolving by hand is written to the database here
and then announced on the alerts stream, so the notifier hears of it like any
other transition; the stream's database writer applies transitions only when
they change something, so that announcement never writes twice.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal
from uuid import UUID

import sqlalchemy as sa
from anyio import from_thread
from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import Field

from maskwatch.contracts import AlertKind, AlertTransition, Transition
from maskwatch.database.schema import alerts, users
from maskwatch.streams import append
from services.api import audit
from services.api.deps import CurrentUser, SessionDep, StateDep, require_site
from services.api.hal import Page, Resource, link, page, require_match, respond
from services.api.images import IMAGE_RESPONSES, jpeg_response
from services.api.paging import API, Paging
from services.api.problems import PROBLEM_RESPONSES, Problem
from services.api.routes.gates import GATE_ID
from services.api.routes.sites import SLUG
from services.api.security import Caller
from services.api.state import AppState

log = logging.getLogger(__name__)

router = APIRouter(prefix=f"{API}/alerts", tags=["alerts"], responses=PROBLEM_RESPONSES)
AlertId = Annotated[int, Path(ge=1, le=2**31 - 1)]
AlertState = Literal["open", "acknowledged", "resolved"]
Resolution = Literal["masked", "left", "by_hand", "back_online"]


class AlertOut(Resource):
    alert_id: int
    site_id: str
    device_id: str
    kind: str
    state: AlertState = Field(
        description="`open` (neither acknowledged nor resolved), `acknowledged` (seen, not yet resolved) "
        "or `resolved`"
    )
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: int | None
    acknowledged_by_email: str | None = Field(description="Who acknowledged it, as the console names them")
    resolved_at: datetime | None
    resolved_by: int | None
    resolved_by_email: str | None = Field(description="Who resolved it by hand")
    resolution: Resolution | None = Field(
        description="Why it resolved: the person masked up, left the view, or someone resolved it by hand"
    )
    track: int | None = Field(description="The person's id in the camera's tracker")
    box: list[int] | None = Field(description="Where the person was when it opened: x1, y1, x2, y2 in pixels")
    unmasked_since: datetime | None = Field(description="When the person's unmasked spell began")
    details: dict[str, Any]


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _utc(value: datetime) -> datetime:
    """A bound in UTC (naive means UTC), as every backend stores times, SQLite without an offset."""
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    try:
        return aware.astimezone(UTC)
    except OverflowError:  # within a day of year 1 or 9999: past every alert either way
        return datetime.min.replace(tzinfo=UTC) if aware.year == 1 else datetime.max.replace(tzinfo=UTC)


def alert_state(row: sa.Row[Any]) -> AlertState:
    if row.resolved_at is not None:
        return "resolved"
    return "open" if row.acknowledged_at is None else "acknowledged"


def detail_track(details: dict[str, Any]) -> int | None:
    value = details.get("track")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def detail_box(details: dict[str, Any]) -> list[int] | None:
    value = details.get("box")
    if isinstance(value, list) and len(value) == 4 and all(type(v) is int for v in value):
        return value
    return None


def detail_since(details: dict[str, Any]) -> datetime | None:
    value = details.get("unmasked_since")
    if not isinstance(value, str):
        return None
    try:
        return _aware(datetime.fromisoformat(value))
    except ValueError:
        return None


def _resolution(value: str | None) -> Resolution | None:
    if value == "masked":
        return "masked"
    if value == "left":
        return "left"
    if value == "by_hand":
        return "by_hand"
    return None


def alert_resource(row: sa.Row[Any], caller: Caller) -> AlertOut:
    href = f"{API}/alerts/{row.alert_id}"
    state = alert_state(row)
    links = {"self": link(href), "site": link(f"{API}/sites/{row.site_id}")}
    if row.kind == AlertKind.UNMASKED.value:
        links["device"] = link(f"{API}/cameras/{row.device_id}")
    if row.snapshot:
        links["snapshot"] = link(f"{href}/snapshot", title="The frame, every other face blurred (JPEG)")
    if row.crop:
        links["crop"] = link(f"{href}/crop", title="The person (JPEG)")
    if caller.can_operate(row.site_id):
        if state == "open":
            links["acknowledge"] = link(f"{href}/acknowledge", "POST")
        if state != "resolved":
            links["resolve"] = link(f"{href}/resolve", "POST")
    details: dict[str, Any] = row.details if isinstance(row.details, dict) else {}
    return AlertOut(
        links=links,
        alert_id=row.alert_id,
        site_id=row.site_id,
        device_id=row.device_id,
        kind=row.kind,
        state=state,
        opened_at=_aware(row.opened_at) or row.opened_at,
        acknowledged_at=_aware(row.acknowledged_at),
        acknowledged_by=row.acknowledged_by,
        acknowledged_by_email=getattr(row, "acknowledged_by_email", None),
        resolved_at=_aware(row.resolved_at),
        resolved_by=row.resolved_by,
        resolved_by_email=getattr(row, "resolved_by_email", None),
        resolution=_resolution(row.resolution),
        track=detail_track(details),
        box=detail_box(details),
        unmasked_since=detail_since(details),
        details=details,
    )


_ACKNOWLEDGER = users.alias("acknowledger")
_RESOLVER = users.alias("resolver")


def alerts_with_people() -> sa.Select[Any]:
    """Alerts with the e-mail of whoever acknowledged or resolved each: the console shows people, not
    user ids (a user deleted since shows as nobody, the id stays)."""
    return sa.select(
        alerts,
        _ACKNOWLEDGER.c.email.label("acknowledged_by_email"),
        _RESOLVER.c.email.label("resolved_by_email"),
    ).select_from(
        alerts.outerjoin(_ACKNOWLEDGER, _ACKNOWLEDGER.c.user_id == alerts.c.acknowledged_by).outerjoin(
            _RESOLVER, _RESOLVER.c.user_id == alerts.c.resolved_by
        )
    )


def load_alert(conn: sa.Connection, caller: Caller, alert_id: int) -> sa.Row[Any]:
    row = conn.execute(alerts_with_people().where(alerts.c.alert_id == alert_id)).one_or_none()
    if row is None or not caller.can_read(row.site_id):
        raise Problem(404, "not-found", f"no alert {alert_id}")
    return row


def announce(state: AppState, row: sa.Row[Any], transition: Transition, at: datetime, caller: Caller) -> None:
    """Put a transition made by hand on the alerts stream, for the notifier.

    Only alerts raised through the stream (they have an `alert_key`) are announced: the others were
    never on it, so nobody reading it knows them. The database already holds the change, and a
    second request would only answer 409, so a queue that cannot be reached is logged, not raised.
    """
    if state.queue is None or row.alert_key is None:
        return
    try:
        message = AlertTransition(
            alert_id=UUID(row.alert_key),
            transition=transition,
            at=at,
            kind=AlertKind(row.kind),
            site_id=row.site_id,
            device_id=row.device_id,
            why="by_hand" if transition is Transition.RESOLVED else None,
            by_user=caller.user_id,
        )
    except ValueError:
        log.warning("alert %s cannot be announced: its key or kind is not a transition's", row.alert_id)
        return
    try:
        from_thread.run(append, state.queue, state.streams.alerts, message)
    except Exception:
        log.exception("alert %s was %s but the queue did not take the announcement", row.alert_id, transition)


@router.get("", response_model=Page[AlertOut], summary="Alerts, newest first")
def list_alerts(
    request: Request,
    caller: CurrentUser,
    conn: SessionDep,
    paging: Paging,
    site: Annotated[str | None, Query(pattern=SLUG)] = None,
    state: Annotated[AlertState | None, Query(description="Only alerts in this state")] = None,
    camera: Annotated[
        str | None, Query(pattern=GATE_ID, description="Only alerts about this camera (or device)")
    ] = None,
    since: Annotated[
        datetime | None, Query(description="Opened at or after (ISO 8601; UTC when no offset)")
    ] = None,
    until: Annotated[
        datetime | None, Query(description="Opened before (ISO 8601; UTC when no offset)")
    ] = None,
) -> Response:
    query = alerts_with_people()
    visible = caller.visible_sites()
    if site is not None:
        require_site(caller, site)
        query = query.where(alerts.c.site_id == site)
    elif visible is not None:
        query = query.where(alerts.c.site_id.in_(sorted(visible)))
    if state == "open":
        query = query.where(alerts.c.acknowledged_at.is_(None), alerts.c.resolved_at.is_(None))
    elif state == "acknowledged":
        query = query.where(alerts.c.acknowledged_at.is_not(None), alerts.c.resolved_at.is_(None))
    elif state == "resolved":
        query = query.where(alerts.c.resolved_at.is_not(None))
    if camera is not None:
        query = query.where(alerts.c.device_id == camera)
    if since is not None:
        query = query.where(alerts.c.opened_at >= _utc(since))
    if until is not None:
        query = query.where(alerts.c.opened_at < _utc(until))
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
def acknowledge(
    request: Request, alert_id: AlertId, caller: CurrentUser, conn: SessionDep, state: StateDep
) -> Response:
    row = load_alert(conn, caller, alert_id)
    if not caller.can_operate(row.site_id):
        raise Problem(403, "forbidden", "viewers cannot acknowledge alerts")
    require_match(request, alert_resource(row, caller))
    if row.acknowledged_at is not None:
        raise Problem(409, "conflict", "the alert is already acknowledged")
    if row.resolved_at is not None:
        raise Problem(409, "conflict", "the alert is resolved")
    now = datetime.now(UTC)
    conn.execute(
        sa.update(alerts)
        .where(alerts.c.alert_id == alert_id)
        .values(acknowledged_at=now, acknowledged_by=caller.user_id)
    )
    audit.record(conn, caller, "alert.acknowledge", f"alert:{alert_id}", site_id=row.site_id)
    conn.commit()
    announce(state, row, Transition.ACKNOWLEDGED, now, caller)
    return respond(request, alert_resource(load_alert(conn, caller, alert_id), caller))


@router.post("/{alert_id}/resolve", response_model=AlertOut, summary="Resolve an alert by hand")
def resolve(
    request: Request, alert_id: AlertId, caller: CurrentUser, conn: SessionDep, state: StateDep
) -> Response:
    row = load_alert(conn, caller, alert_id)
    if not caller.can_operate(row.site_id):
        raise Problem(403, "forbidden", "viewers cannot resolve alerts")
    require_match(request, alert_resource(row, caller))
    if row.resolved_at is not None:
        raise Problem(409, "conflict", "the alert is already resolved")
    now = datetime.now(UTC)
    conn.execute(
        sa.update(alerts)
        .where(alerts.c.alert_id == alert_id)
        .values(resolved_at=now, resolved_by=caller.user_id, resolution="by_hand")
    )
    audit.record(conn, caller, "alert.resolve", f"alert:{alert_id}", site_id=row.site_id)
    conn.commit()
    announce(state, row, Transition.RESOLVED, now, caller)
    return respond(request, alert_resource(load_alert(conn, caller, alert_id), caller))


def _image(
    conn: sa.Connection, caller: Caller, state: AppState, alert_id: int, which: Literal["snapshot", "crop"]
) -> Response:
    row = load_alert(conn, caller, alert_id)
    name: str | None = row.snapshot if which == "snapshot" else row.crop
    path: FilePath | None = state.snapshot_store.path(name) if name else None
    return jpeg_response(path, f"alert {alert_id} has no {which} (none was taken, or it was purged)")


@router.get(
    "/{alert_id}/snapshot",
    response_class=Response,
    responses=IMAGE_RESPONSES,
    summary="The alert's snapshot: the frame with the person boxed and every other face blurred",
)
def snapshot(alert_id: AlertId, caller: CurrentUser, conn: SessionDep, state: StateDep) -> Response:
    return _image(conn, caller, state, alert_id, "snapshot")


@router.get(
    "/{alert_id}/crop",
    response_class=Response,
    responses=IMAGE_RESPONSES,
    summary="The alert's crop: the person it is about",
)
def crop(alert_id: AlertId, caller: CurrentUser, conn: SessionDep, state: StateDep) -> Response:
    return _image(conn, caller, state, alert_id, "crop")
