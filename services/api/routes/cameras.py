"""Indoor cameras: list, read, register, and change one (its name, site, stream or monitoring settings).

The monitoring settings are stored as JSON in `cameras.settings` and validated
again by the monitoring service when it loads them. The API may not import that
service, so it declares the same fields with the same bounds here;
tests/api/test_cameras.py fails when the two drift apart.

A camera's stream URL often carries the camera's password, so only admins of
its site see it; everyone else reads `rtsp_url: null`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from anyio import from_thread
from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from maskwatch.contracts import CameraConfig
from maskwatch.database.device_status import DeviceHealth, load_health
from maskwatch.database.schema import cameras, gates
from services.api import audit
from services.api.deps import CurrentUser, SessionDep, StateDep, require_site
from services.api.hal import Page, Resource, create_link, link, page, require_match, respond
from services.api.health import HealthOut, health_out
from services.api.paging import API, Paging
from services.api.problems import PROBLEM_RESPONSES, Problem
from services.api.routes.gates import GATE_ID
from services.api.routes.sites import SLUG, load_site
from services.api.security import Caller, Role
from services.api.state import AppState

router = APIRouter(prefix=f"{API}/cameras", tags=["cameras"], responses=PROBLEM_RESPONSES)
CAMERA_ID = GATE_ID
"""Gates and cameras share the broker's account names, so they share the id's form (and its space)."""
CameraId = Annotated[str, Path(pattern=CAMERA_ID)]
RTSP_URL = r"^rtsps?://\S+$"

Point = tuple[float, float]
MAX_ZONES = 64
MAX_ZONE_POINTS = 256


class CameraSettingsOut(BaseModel):
    """What a venue sets per camera; the same fields, defaults and bounds as the monitoring service's."""

    model_config = ConfigDict(allow_inf_nan=False)

    fps: float = Field(default=2.0, gt=0, le=10, description="Frames analysed per second")
    unmasked_after_s: float = Field(
        default=60.0,
        gt=0,
        le=24 * 3600,
        description="An alert opens when a person has been unmasked this long",
    )
    incorrect_counts: bool = Field(
        default=True, description="Whether a mask below the nose counts as unmasked"
    )
    grace_s: float = Field(
        default=5.0,
        ge=0,
        le=600,
        description="Masked this long ends an unmasked spell (and resolves its alert)",
    )
    cooldown_s: float = Field(
        default=300.0,
        ge=0,
        le=7 * 24 * 3600,
        description="After an alert about a person resolves, no new one about them for this long",
    )
    lost_after_s: float = Field(
        default=4.0,
        gt=0,
        le=120,
        description="A person unseen this long has left; seen again sooner nearby, they are the same person",
    )
    ignore_zones: list[list[Point]] = Field(
        default_factory=list,
        description="Polygons of [x, y] points in frame pixels: faces centred inside them are not people",
    )


class CameraSettingsIn(CameraSettingsOut):
    """Settings as sent; unknown fields are refused, so a misspelt one is not silently dropped."""

    model_config = ConfigDict(allow_inf_nan=False, extra="forbid")

    ignore_zones: list[Annotated[list[Point], Field(max_length=MAX_ZONE_POINTS)]] = Field(
        default_factory=list,
        max_length=MAX_ZONES,
        description="Polygons of [x, y] points in frame pixels: faces centred inside them are not people",
    )


class CameraSettingsPatch(BaseModel):
    """Only the settings to change; the others keep their values."""

    model_config = ConfigDict(allow_inf_nan=False, extra="forbid")

    fps: float | None = Field(default=None, gt=0, le=10)
    unmasked_after_s: float | None = Field(default=None, gt=0, le=24 * 3600)
    incorrect_counts: bool | None = None
    grace_s: float | None = Field(default=None, ge=0, le=600)
    cooldown_s: float | None = Field(default=None, ge=0, le=7 * 24 * 3600)
    lost_after_s: float | None = Field(default=None, gt=0, le=120)
    ignore_zones: list[Annotated[list[Point], Field(max_length=MAX_ZONE_POINTS)]] | None = Field(
        default=None, max_length=MAX_ZONES
    )


class CameraOut(Resource):
    camera_id: str
    site_id: str
    name: str
    rtsp_url: str | None = Field(
        description="The stream the server reads (admins of the site only; null for others and for a "
        "camera agent that publishes its own frames)"
    )
    settings: CameraSettingsOut
    created_at: datetime
    health: HealthOut | None = Field(
        description="The camera agent's latest status; null for a camera never heard from (an IP camera)"
    )


class CameraIn(BaseModel):
    camera_id: str = Field(pattern=CAMERA_ID)
    site_id: str = Field(pattern=SLUG)
    name: str = Field(min_length=1, max_length=200)
    rtsp_url: str | None = Field(
        default=None,
        max_length=1000,
        pattern=RTSP_URL,
        description="Set for an IP camera the server reads; leave out for a camera agent",
    )
    settings: CameraSettingsIn = Field(default_factory=CameraSettingsIn)


class CameraPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    site_id: str | None = Field(default=None, pattern=SLUG)
    rtsp_url: str | None = Field(
        default=None, max_length=1000, pattern=RTSP_URL, description="null turns the server's reading off"
    )
    settings: CameraSettingsPatch | None = None


def stored_settings(raw: Any) -> CameraSettingsOut:
    """The settings as stored, over the defaults. A value that does not validate (written to the
    database by hand) shows as its default, which is also what the monitoring service cannot use."""
    values = dict(raw) if isinstance(raw, dict) else {}
    try:
        return CameraSettingsOut.model_validate(values)
    except ValidationError:
        valid: dict[str, Any] = {}
        for name in CameraSettingsOut.model_fields:
            if name in values:
                try:
                    CameraSettingsOut.model_validate({name: values[name]})
                except ValidationError:
                    continue
                valid[name] = values[name]
        return CameraSettingsOut.model_validate(valid)


def camera_resource(row: sa.Row[Any], caller: Caller, health: DeviceHealth | None) -> CameraOut:
    href = f"{API}/cameras/{row.camera_id}"
    links = {
        "self": link(href),
        "site": link(f"{API}/sites/{row.site_id}"),
        "collection": link(f"{API}/cameras?site={row.site_id}"),
        "alerts": link(f"{API}/alerts?camera={row.camera_id}"),
        "status": link(f"{href}/status"),
    }
    admin = caller.can_administer(row.site_id)
    if admin:
        links["edit"] = link(href, "PATCH")
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return CameraOut(
        links=links,
        camera_id=row.camera_id,
        site_id=row.site_id,
        name=row.name,
        rtsp_url=row.rtsp_url if admin else None,
        settings=stored_settings(row.settings),
        created_at=created,
        health=health_out(health),
    )


def camera_out(conn: sa.Connection, row: sa.Row[Any], caller: Caller) -> CameraOut:
    """One camera with its health."""
    return camera_resource(row, caller, load_health(conn, [row.camera_id]).get(row.camera_id))


def load_camera(conn: sa.Connection, caller: Caller, camera_id: str) -> sa.Row[Any]:
    row = conn.execute(sa.select(cameras).where(cameras.c.camera_id == camera_id)).one_or_none()
    if row is None or not caller.can_read(row.site_id):
        raise Problem(404, "not-found", f"no camera {camera_id!r}")
    return row


@router.get("", response_model=Page[CameraOut], summary="Registered cameras of the sites you may see")
def list_cameras(
    request: Request,
    caller: CurrentUser,
    conn: SessionDep,
    paging: Paging,
    site: Annotated[str | None, Query(pattern=SLUG)] = None,
) -> Response:
    query = sa.select(cameras)
    visible = caller.visible_sites()
    if site is not None:
        require_site(caller, site)
        query = query.where(cameras.c.site_id == site)
    elif visible is not None:
        query = query.where(cameras.c.site_id.in_(sorted(visible)))
    total = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(cameras.c.camera_id).offset(paging.offset).limit(paging.limit)).all()
    may_create = caller.can_administer(site) if site is not None else caller.role == Role.ADMIN
    create = create_link(f"{API}/cameras", CameraIn, "Register a camera") if may_create else None
    health = load_health(conn, [r.camera_id for r in rows])
    items = [camera_resource(r, caller, health.get(r.camera_id)) for r in rows]
    return page(request, items, paging.offset, paging.limit, total, create=create)


@router.post(
    "", response_model=CameraOut, status_code=201, summary="Register a camera at a site (site admins)"
)
def create_camera(request: Request, body: CameraIn, caller: CurrentUser, conn: SessionDep) -> Response:
    load_site(conn, caller, body.site_id)
    if not caller.can_administer(body.site_id):
        raise Problem(403, "forbidden", "only an admin of the site may register cameras")
    if conn.execute(sa.select(cameras.c.camera_id).where(cameras.c.camera_id == body.camera_id)).first():
        raise Problem(409, "conflict", f"camera {body.camera_id!r} is registered")
    if conn.execute(sa.select(gates.c.gate_id).where(gates.c.gate_id == body.camera_id)).first():
        raise Problem(409, "conflict", f"{body.camera_id!r} is a gate's id; give the camera another")
    settings = body.settings.model_dump(mode="json")
    try:
        conn.execute(
            sa.insert(cameras).values(
                camera_id=body.camera_id,
                site_id=body.site_id,
                name=body.name,
                rtsp_url=body.rtsp_url,
                settings=settings,
                created_at=datetime.now(UTC),
            )
        )
    except sa.exc.IntegrityError as exc:  # registered by someone else a moment ago
        conn.rollback()
        raise Problem(409, "conflict", f"camera {body.camera_id!r} is registered") from exc
    audit.record(
        conn,
        caller,
        "camera.create",
        f"camera:{body.camera_id}",
        site_id=body.site_id,
        name=body.name,
        reads_stream=body.rtsp_url is not None,
        settings=settings,
    )
    conn.commit()
    response = respond(
        request, camera_out(conn, load_camera(conn, caller, body.camera_id), caller), status=201
    )
    response.headers["Location"] = f"{API}/cameras/{body.camera_id}"
    return response


@router.get("/{camera_id}", response_model=CameraOut, summary="One camera")
def get_camera(request: Request, camera_id: CameraId, caller: CurrentUser, conn: SessionDep) -> Response:
    return respond(request, camera_out(conn, load_camera(conn, caller, camera_id), caller))


ONLINE_WITHIN_S = 30.0
"""A camera whose latest frame was analysed this recently is online."""


class CameraStatusOut(Resource):
    camera_id: str
    online: bool = Field(description=f"A frame of it was analysed in the last {ONLINE_WITHIN_S:.0f} s")
    last_seen_at: datetime | None = Field(description="When its latest frame was analysed; null if never")


@router.get(
    "/{camera_id}/status",
    response_model=CameraStatusOut,
    summary="Whether the camera's frames are arriving (a sub-resource, so the camera's ETag stays put)",
)
def get_camera_status(
    request: Request, camera_id: CameraId, caller: CurrentUser, conn: SessionDep
) -> Response:
    row = load_camera(conn, caller, camera_id)
    seen = row.last_seen_at
    if seen is not None and seen.tzinfo is None:
        seen = seen.replace(tzinfo=UTC)
    online = seen is not None and (datetime.now(UTC) - seen).total_seconds() <= ONLINE_WITHIN_S
    href = f"{API}/cameras/{camera_id}"
    status = CameraStatusOut(
        links={"self": link(f"{href}/status"), "camera": link(href)},
        camera_id=camera_id,
        online=online,
        last_seen_at=seen,
    )
    return respond(request, status, etag=False)


@router.patch(
    "/{camera_id}",
    response_model=CameraOut,
    summary="Rename a camera, move it to another site, or change its stream or monitoring settings",
)
def patch_camera(
    request: Request,
    camera_id: CameraId,
    body: CameraPatch,
    caller: CurrentUser,
    conn: SessionDep,
    state: StateDep,
) -> Response:
    row = load_camera(conn, caller, camera_id)
    if not caller.can_administer(row.site_id):
        raise Problem(403, "forbidden", "only an admin of the site may change its cameras")
    if body.site_id is not None:
        load_site(conn, caller, body.site_id)
        if not caller.can_administer(body.site_id):
            raise Problem(403, "forbidden", "only an admin of both sites may move a camera")
    require_match(request, camera_out(conn, row, caller))
    values: dict[str, Any] = body.model_dump(include={"name", "site_id"}, exclude_none=True)
    if "rtsp_url" in body.model_fields_set:
        values["rtsp_url"] = body.rtsp_url
    changes: dict[str, Any] = {k: v for k, v in values.items() if k != "rtsp_url"}
    if "rtsp_url" in values:
        changes["reads_stream"] = values["rtsp_url"] is not None
    if body.settings is not None:
        changed = body.settings.model_dump(mode="json", exclude_none=True)
        if changed:
            merged = stored_settings(row.settings).model_dump(mode="json") | changed
            values["settings"] = CameraSettingsOut.model_validate(merged).model_dump(mode="json")
            changes["settings"] = changed
    if values:
        conn.execute(sa.update(cameras).where(cameras.c.camera_id == camera_id).values(**values))
    audit.record(conn, caller, "camera.update", f"camera:{camera_id}", site_id=row.site_id, changes=changes)
    conn.commit()
    fps = (changes.get("settings") or {}).get("fps")
    if fps is not None and row.rtsp_url is None and "rtsp_url" not in values:
        _push_rate(state, conn, caller, camera_id, row.site_id, float(fps))
    return respond(request, camera_out(conn, load_camera(conn, caller, camera_id), caller))


def _push_rate(
    state: AppState, conn: sa.Connection, caller: Caller, camera_id: str, site_id: str, fps: float
) -> None:
    """Tell a camera agent its new rate (retained); a broker that cannot be reached is audited, not fatal:
    the setting is saved, and the server samples frames at the new rate whatever the camera sends."""
    config = CameraConfig(version=datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"), fps=fps)
    try:
        from_thread.run(state.commander.configure_camera, camera_id, config)
    except Exception as exc:
        audit.record(
            conn,
            caller,
            "camera.config_push_failed",
            f"camera:{camera_id}",
            site_id=site_id,
            error=str(exc)[:200],
        )
        conn.commit()
