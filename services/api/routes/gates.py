"""Gates (the devices): list, read, register, rename, and open one by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import sqlalchemy as sa
from anyio import from_thread
from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from maskwatch.contracts import CommandOutcome
from maskwatch.database.device_status import DeviceHealth, load_health
from maskwatch.database.schema import cameras, gates
from services.api import audit
from services.api.commander import OpenResult
from services.api.deps import CurrentUser, SessionDep, StateDep, require_site
from services.api.hal import Page, Resource, create_link, link, page, require_match, respond
from services.api.health import HealthOut, health_out
from services.api.paging import API, Paging
from services.api.problems import PROBLEM_RESPONSES, Problem
from services.api.routes.sites import SLUG, load_site
from services.api.security import Caller, Role
from services.api.state import AppState

router = APIRouter(prefix=f"{API}/gates", tags=["gates"], responses=PROBLEM_RESPONSES)
GATE_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
GateId = Annotated[str, Path(pattern=GATE_ID)]


class GateOut(Resource):
    gate_id: str
    site_id: str
    name: str
    created_at: datetime
    health: HealthOut | None = Field(description="Its latest status; null until the gate first reports")


class GateIn(BaseModel):
    gate_id: str = Field(pattern=GATE_ID)
    site_id: str = Field(pattern=SLUG)
    name: str = Field(min_length=1, max_length=200)


class GatePatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    site_id: str | None = Field(default=None, pattern=SLUG)


class OpenIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500, description="Why, for the audit log")


class OpenOut(Resource):
    gate_id: str
    command_id: str
    requested_by: str
    confirmed: bool = Field(description="The gate answered that it opened")
    outcome: CommandOutcome | None = Field(
        description="The gate's answer: `opened`, or `expired` (too late to act); null: none in time"
    )
    answered_at: datetime | None


def gate_resource(
    row: sa.Row[tuple[str, str, str, datetime]], caller: Caller, health: DeviceHealth | None
) -> GateOut:
    href = f"{API}/gates/{row.gate_id}"
    links = {
        "self": link(href),
        "site": link(f"{API}/sites/{row.site_id}"),
        "checks": link(f"{API}/checks?gate={row.gate_id}"),
        "collection": link(f"{API}/gates?site={row.site_id}"),
        "rules": link(f"{href}/rules"),
    }
    if caller.can_operate(row.site_id):
        links["open"] = link(f"{href}/open", "POST", "Open the gate now (audited)")
    if caller.can_administer(row.site_id):
        links["edit"] = link(href, "PATCH")
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return GateOut(
        links=links,
        gate_id=row.gate_id,
        site_id=row.site_id,
        name=row.name,
        created_at=created,
        health=health_out(health),
    )


def gate_out(conn: sa.Connection, row: sa.Row[tuple[str, str, str, datetime]], caller: Caller) -> GateOut:
    """One gate with its health."""
    return gate_resource(row, caller, load_health(conn, [row.gate_id]).get(row.gate_id))


def _columns() -> sa.Select[tuple[str, str, str, datetime]]:
    return sa.select(gates.c.gate_id, gates.c.site_id, gates.c.name, gates.c.created_at)


def load_gate(conn: sa.Connection, caller: Caller, gate_id: str) -> sa.Row[tuple[str, str, str, datetime]]:
    row = conn.execute(_columns().where(gates.c.gate_id == gate_id)).one_or_none()
    if row is None or not caller.can_read(row.site_id):
        raise Problem(404, "not-found", f"no gate {gate_id!r}")
    return row


@router.get("", response_model=Page[GateOut], summary="Registered gates of the sites you may see")
def list_gates(
    request: Request,
    caller: CurrentUser,
    conn: SessionDep,
    paging: Paging,
    site: Annotated[str | None, Query(pattern=SLUG)] = None,
) -> Response:
    query = _columns()
    visible = caller.visible_sites()
    if site is not None:
        require_site(caller, site)
        query = query.where(gates.c.site_id == site)
    elif visible is not None:
        query = query.where(gates.c.site_id.in_(sorted(visible)))
    total = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(gates.c.gate_id).offset(paging.offset).limit(paging.limit)).all()
    health = load_health(conn, [r.gate_id for r in rows])
    may_create = caller.can_administer(site) if site is not None else caller.role == Role.ADMIN
    create = create_link(f"{API}/gates", GateIn, "Register a gate") if may_create else None
    items = [gate_resource(r, caller, health.get(r.gate_id)) for r in rows]
    return page(request, items, paging.offset, paging.limit, total, create=create)


@router.post("", response_model=GateOut, status_code=201, summary="Register a gate at a site (site admins)")
def create_gate(request: Request, body: GateIn, caller: CurrentUser, conn: SessionDep) -> Response:
    load_site(conn, caller, body.site_id)
    if not caller.can_administer(body.site_id):
        raise Problem(403, "forbidden", "only an admin of the site may register gates")
    if conn.execute(sa.select(gates.c.gate_id).where(gates.c.gate_id == body.gate_id)).first():
        raise Problem(409, "conflict", f"gate {body.gate_id!r} is registered")
    if conn.execute(sa.select(cameras.c.camera_id).where(cameras.c.camera_id == body.gate_id)).first():
        raise Problem(409, "conflict", f"{body.gate_id!r} is a camera's id (both sign in by id)")
    conn.execute(sa.insert(gates).values(**body.model_dump(), created_at=datetime.now(UTC)))
    audit.record(conn, caller, "gate.create", f"gate:{body.gate_id}", site_id=body.site_id, name=body.name)
    conn.commit()
    response = respond(request, gate_out(conn, load_gate(conn, caller, body.gate_id), caller), status=201)
    response.headers["Location"] = f"{API}/gates/{body.gate_id}"
    return response


@router.get("/{gate_id}", response_model=GateOut, summary="One gate")
def get_gate(request: Request, gate_id: GateId, caller: CurrentUser, conn: SessionDep) -> Response:
    return respond(request, gate_out(conn, load_gate(conn, caller, gate_id), caller))


@router.patch("/{gate_id}", response_model=GateOut, summary="Rename a gate or move it to another site")
def patch_gate(
    request: Request, gate_id: GateId, body: GatePatch, caller: CurrentUser, conn: SessionDep
) -> Response:
    row = load_gate(conn, caller, gate_id)
    if not caller.can_administer(row.site_id):
        raise Problem(403, "forbidden", "only an admin of the site may change its gates")
    if body.site_id is not None:
        load_site(conn, caller, body.site_id)
        if not caller.can_administer(body.site_id):
            raise Problem(403, "forbidden", "only an admin of both sites may move a gate")
    require_match(request, gate_out(conn, row, caller))
    values = body.model_dump(exclude_none=True)
    if values:
        conn.execute(sa.update(gates).where(gates.c.gate_id == gate_id).values(**values))
    audit.record(conn, caller, "gate.update", f"gate:{gate_id}", site_id=row.site_id, changes=values)
    conn.commit()
    return respond(request, gate_out(conn, load_gate(conn, caller, gate_id), caller))


async def open_and_wait(state: AppState, gate_id: str, by: str, reason: str) -> OpenResult:
    """Send the command and wait (up to `open_confirm_s`) for the gate to say it opened."""
    return await state.commander.open_gate(gate_id, by, reason, confirm_within_s=state.api.open_confirm_s)


@router.post(
    "/{gate_id}/open",
    response_model=OpenOut,
    status_code=202,
    responses={503: PROBLEM_RESPONSES[400] | {"description": "The broker could not be reached"}},
    summary="Open the gate now",
)
def open_gate(
    request: Request, gate_id: GateId, body: OpenIn, caller: CurrentUser, conn: SessionDep, state: StateDep
) -> Response:
    row = load_gate(conn, caller, gate_id)
    if not caller.can_operate(row.site_id):
        raise Problem(403, "forbidden", "viewers cannot open gates")
    try:
        result = from_thread.run(open_and_wait, state, gate_id, caller.email, body.reason)
    except Exception as exc:
        audit.record(
            conn,
            caller,
            "gate.open_failed",
            f"gate:{gate_id}",
            site_id=row.site_id,
            reason=body.reason,
            error=str(exc)[:200],
        )
        conn.commit()
        raise Problem(503, "gate-unreachable", "the command could not be sent to the broker") from exc
    audit.record(
        conn,
        caller,
        "gate.open",
        f"gate:{gate_id}",
        site_id=row.site_id,
        reason=body.reason,
        command_id=result.command_id,
        outcome=result.ack.outcome.value if result.ack else None,
    )
    conn.commit()
    ack = result.ack
    out = OpenOut(
        links={"self": link(f"{API}/gates/{gate_id}/open"), "gate": link(f"{API}/gates/{gate_id}")},
        gate_id=gate_id,
        command_id=result.command_id,
        requested_by=caller.email,
        confirmed=ack is not None and ack.outcome == CommandOutcome.OPENED,
        outcome=ack.outcome if ack else None,
        answered_at=ack.at if ack else None,
    )
    return respond(request, out, status=202, etag=False)
