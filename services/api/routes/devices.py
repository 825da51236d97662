"""Devices (gates and cameras) through their lifecycle: register with a broker account, rotate its
password, revoke it, delete the device. Admins of the device's site only; every change audited.

A new or rotated password is in the answer once, with the file the device's Pi
needs; only its hash is kept (in the broker's password file). Revoking takes the
account away at once: the HTTP check door reads the password file on every
request, and the broker is reloaded (`provisioning.broker_reload_command`),
which also drops the device's open connection.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field

from maskwatch import device_lifecycle
from maskwatch.broker_accounts import has_account
from maskwatch.database.device_status import DeviceHealth, load_health
from maskwatch.database.devices import (
    DeviceIdTaken,
    DeviceKind,
    DeviceRecord,
    UnknownSiteError,
    add_device,
    list_devices,
    load_device,
    set_revoked,
)
from maskwatch.device_accounts import Change, DeviceAccounts
from maskwatch.device_config import CONFIG_PATHS, agent_config
from services.api import audit
from services.api.deps import CurrentUser, SessionDep, StateDep, require_site
from services.api.hal import Page, Resource, create_link, link, page, respond
from services.api.health import HealthOut, health_out
from services.api.paging import API, Paging
from services.api.problems import PROBLEM_RESPONSES, Problem
from services.api.routes.gates import GATE_ID
from services.api.routes.sites import SLUG
from services.api.security import Caller, Role
from services.api.state import AppState

router = APIRouter(
    prefix=f"{API}/devices",
    tags=["devices"],
    responses=PROBLEM_RESPONSES
    | {503: PROBLEM_RESPONSES[400] | {"description": "Started without the broker's password file"}},
)
DeviceId = Annotated[str, Path(pattern=GATE_ID)]
Credentials = Literal["active", "revoked", "none"]


class ManagedDeviceOut(Resource):
    device_id: str
    kind: DeviceKind
    site_id: str
    name: str
    created_at: datetime
    credentials: Credentials | None = Field(
        description="`active`: it may sign in; `revoked`: an admin took its account; `none`: it has no "
        "account (an IP camera the server reads, or a gate registered without one); null: the API "
        "cannot see the broker's password file"
    )
    revoked_at: datetime | None
    health: HealthOut | None


class BrokerOut(BaseModel):
    host: str
    port: int
    topic_root: str
    tls: bool


class DeviceCredentialsOut(Resource):
    """Shown once: the password is not kept anywhere it could be read again."""

    device: ManagedDeviceOut
    username: str
    password: str
    broker: BrokerOut
    config: str = Field(description="The YAML file for the device's Pi, at `config_path`")
    config_path: str
    broker_reloaded: bool = Field(
        description="The broker applied the change now; false: it does at its next reload (SIGHUP)"
    )


class DeviceIn(BaseModel):
    kind: DeviceKind
    device_id: str = Field(pattern=GATE_ID)
    site_id: str = Field(pattern=SLUG)
    name: str | None = Field(default=None, min_length=1, max_length=200)


class DeviceRevokedOut(Resource):
    device: ManagedDeviceOut
    broker_reloaded: bool = Field(
        description="The broker dropped the account now (and the device's connection); false: at its next "
        "reload. The HTTP check door refuses it at once either way"
    )


def require_accounts(state: StateDep) -> DeviceAccounts:
    if state.device_accounts is None:
        raise Problem(503, "provisioning-off", "this API was started without the broker's password file")
    return state.device_accounts


AccountsDep = Annotated[DeviceAccounts, Depends(require_accounts)]


def _administer(caller: Caller, site_id: str) -> None:
    """Another site does not exist for this caller (404, so ids do not leak); their own site's devices
    are for its admins (403 for its other users)."""
    require_site(caller, site_id)
    if not caller.can_administer(site_id):
        raise Problem(403, "forbidden", "only admins of the site manage its devices")


def _credentials(state: AppState, device: DeviceRecord) -> Credentials | None:
    if device.revoked_at is not None:
        return "revoked"
    if state.device_accounts is None:
        return None
    return "active" if has_account(state.device_accounts.passwd_file, device.device_id) else "none"


def device_resource(state: AppState, device: DeviceRecord, health: DeviceHealth | None) -> ManagedDeviceOut:
    href = f"{API}/devices/{device.device_id}"
    credentials = _credentials(state, device)
    links = {
        "self": link(href),
        device.kind: link(f"{API}/{device.kind}s/{device.device_id}"),
        "site": link(f"{API}/sites/{device.site_id}"),
        "collection": link(f"{API}/devices?site={device.site_id}"),
        "delete": link(href, "DELETE", "Delete the device and its broker account"),
    }
    if not device.reads_stream:
        links["rotate"] = link(f"{href}/rotate", "POST", "A new password, shown once")
    if credentials == "active":
        links["revoke"] = link(f"{href}/revoke", "POST", "Take its broker account away now")
    return ManagedDeviceOut(
        links=links,
        device_id=device.device_id,
        kind=device.kind,
        site_id=device.site_id,
        name=device.name,
        created_at=device.created_at,
        credentials=credentials,
        revoked_at=device.revoked_at,
        health=health_out(health),
    )


def _load(conn: sa.Connection, caller: Caller, device_id: str) -> DeviceRecord:
    device = load_device(conn, device_id)
    if device is None or not caller.can_read(device.site_id):
        raise Problem(404, "not-found", f"no device {device_id!r}")
    _administer(caller, device.site_id)
    return device


def _out(state: AppState, conn: sa.Connection, device: DeviceRecord) -> ManagedDeviceOut:
    return device_resource(state, device, load_health(conn, [device.device_id]).get(device.device_id))


def _credentials_out(state: AppState, device: ManagedDeviceOut, change: Change) -> DeviceCredentialsOut:
    broker = state.broker_address
    password = change.password or ""
    return DeviceCredentialsOut(
        links={"device": link(f"{API}/devices/{device.device_id}")},
        device=device,
        username=device.device_id,
        password=password,
        broker=BrokerOut(host=broker.host, port=broker.port, topic_root=broker.topic_root, tls=broker.tls),
        config=agent_config(device.kind, device.device_id, broker, password),
        config_path=CONFIG_PATHS[device.kind],
        broker_reloaded=change.broker_reloaded,
    )


@router.get(
    "", response_model=Page[ManagedDeviceOut], summary="Gates and cameras with their accounts and health"
)
def list_all(
    request: Request,
    caller: CurrentUser,
    conn: SessionDep,
    state: StateDep,
    paging: Paging,
    site: Annotated[str | None, Query(pattern=SLUG)] = None,
    kind: DeviceKind | None = None,
) -> Response:
    visible = caller.visible_sites()
    if site is not None:
        _administer(caller, site)
        visible = frozenset({site})
    elif caller.role != Role.ADMIN:
        raise Problem(403, "forbidden", "only admins manage devices")
    total, devices = list_devices(
        conn, sites_visible=visible, kind=kind, offset=paging.offset, limit=paging.limit
    )
    health = load_health(conn, [d.device_id for d in devices])
    items = [device_resource(state, d, health.get(d.device_id)) for d in devices]
    create = None
    if state.device_accounts is not None:
        create = create_link(f"{API}/devices", DeviceIn, "Register a gate or camera with a broker account")
    return page(request, items, paging.offset, paging.limit, total, create=create)


@router.post(
    "",
    response_model=DeviceCredentialsOut,
    status_code=201,
    summary="Register a gate or camera and give it a broker account (its password shown once)",
)
def create(
    request: Request,
    body: DeviceIn,
    caller: CurrentUser,
    conn: SessionDep,
    state: StateDep,
    accounts: AccountsDep,
) -> Response:
    _administer(caller, body.site_id)
    try:
        add_device(conn, body.kind, body.device_id, body.site_id, body.name or body.device_id)
    except UnknownSiteError as exc:
        raise Problem(404, "not-found", str(exc)) from exc
    except DeviceIdTaken as exc:
        raise Problem(409, "conflict", f"{exc}; rotate its password instead") from exc
    if accounts.has(body.device_id):
        raise Problem(409, "conflict", f"the broker already has an account {body.device_id!r}")
    change = accounts.issue(body.device_id)
    audit.record(conn, caller, "device.add", f"{body.kind}:{body.device_id}", site_id=body.site_id)
    conn.commit()
    device = _out(state, conn, _load(conn, caller, body.device_id))
    response = respond(request, _credentials_out(state, device, change), status=201, etag=False)
    response.headers["Location"] = f"{API}/devices/{body.device_id}"
    return response


@router.get("/{device_id}", response_model=ManagedDeviceOut, summary="One device")
def get_one(
    request: Request, device_id: DeviceId, caller: CurrentUser, conn: SessionDep, state: StateDep
) -> Response:
    return respond(request, _out(state, conn, _load(conn, caller, device_id)))


@router.post(
    "/{device_id}/rotate",
    response_model=DeviceCredentialsOut,
    summary="A new broker password (shown once); the old one stops working; a revoked device is let back",
)
def rotate(
    request: Request,
    device_id: DeviceId,
    caller: CurrentUser,
    conn: SessionDep,
    state: StateDep,
    accounts: AccountsDep,
) -> Response:
    device = _load(conn, caller, device_id)
    if device.reads_stream:
        raise Problem(409, "conflict", f"the server reads {device_id!r}'s stream: it has no broker account")
    change = accounts.issue(device_id)
    set_revoked(conn, device, None)
    audit.record(conn, caller, "device.rotate", f"{device.kind}:{device_id}", site_id=device.site_id)
    conn.commit()
    out = _out(state, conn, _load(conn, caller, device_id))
    return respond(request, _credentials_out(state, out, change), etag=False)


@router.post(
    "/{device_id}/revoke",
    response_model=DeviceRevokedOut,
    summary="Take the device's broker account away now",
)
def revoke(
    request: Request,
    device_id: DeviceId,
    caller: CurrentUser,
    conn: SessionDep,
    state: StateDep,
    accounts: AccountsDep,
) -> Response:
    device = _load(conn, caller, device_id)
    change = device_lifecycle.revoke(conn, accounts, device)
    audit.record(conn, caller, "device.revoke", f"{device.kind}:{device_id}", site_id=device.site_id)
    conn.commit()
    out = _out(state, conn, _load(conn, caller, device_id))
    links = {"device": link(f"{API}/devices/{device_id}")}
    return respond(
        request, DeviceRevokedOut(links=links, device=out, broker_reloaded=change.broker_reloaded), etag=False
    )


@router.delete("/{device_id}", status_code=204, summary="Delete the device and its broker account")
def delete(device_id: DeviceId, caller: CurrentUser, conn: SessionDep, accounts: AccountsDep) -> Response:
    device = _load(conn, caller, device_id)
    device_lifecycle.forget(conn, accounts, device)
    audit.record(conn, caller, "device.delete", f"{device.kind}:{device_id}", site_id=device.site_id)
    conn.commit()
    return Response(status_code=204)
