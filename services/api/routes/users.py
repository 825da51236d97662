"""User accounts: admins of every site create, change and remove them; everything is audited."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field, StringConstraints

from maskwatch.database.schema import api_tokens, users
from services.api import audit
from services.api.accounts import Account, create_account, load_account, set_sites, unknown_sites
from services.api.deps import GlobalAdmin, SessionDep
from services.api.hal import Page, Resource, create_link, link, page, require_match, respond
from services.api.paging import API, Paging
from services.api.problems import PROBLEM_RESPONSES, Problem
from services.api.routes.sites import SLUG
from services.api.security import Role, hash_password

router = APIRouter(prefix=f"{API}/users", tags=["users"], responses=PROBLEM_RESPONSES)
UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]
SiteSlug = Annotated[str, StringConstraints(pattern=SLUG)]


class UserOut(Resource):
    user_id: int
    email: str
    role: Role
    all_sites: bool
    sites: list[str]
    disabled: bool
    created_at: datetime


class UserIn(BaseModel):
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s\x00]+@[^@\s\x00]+$")
    password: str = Field(min_length=12, max_length=1024)
    role: Role
    all_sites: bool = False
    sites: list[SiteSlug] = Field(default_factory=list, max_length=1000)


class UserPatch(BaseModel):
    role: Role | None = None
    all_sites: bool | None = None
    sites: list[SiteSlug] | None = Field(default=None, max_length=1000)
    disabled: bool | None = None
    password: str | None = Field(default=None, min_length=12, max_length=1024)


def user_resource(account: Account, *, self_href: str | None = None, admin: bool = False) -> UserOut:
    href = f"{API}/users/{account.user_id}"
    links = {"self": link(self_href or href)}
    if admin:
        links |= {
            "edit": link(href, "PATCH"),
            "delete": link(href, "DELETE"),
            "collection": link(f"{API}/users"),
        }
    for site in account.sites:
        links[f"site:{site}"] = link(f"{API}/sites/{site}")
    return UserOut(
        links=links,
        user_id=account.user_id,
        email=account.email,
        role=account.role,
        all_sites=account.all_sites,
        sites=account.sites,
        disabled=account.disabled,
        created_at=account.created_at,
    )


def _load(conn: sa.Connection, user_id: int) -> Account:
    account = load_account(conn, user_id=user_id)
    if account is None:
        raise Problem(404, "not-found", f"no user {user_id}")
    return account


def _check_sites(conn: sa.Connection, site_ids: list[str]) -> None:
    missing = unknown_sites(conn, site_ids)
    if missing:
        raise Problem(422, "unknown-site", f"no such sites: {', '.join(missing)}")


@router.get("", response_model=Page[UserOut], summary="Every user")
def list_users(request: Request, caller: GlobalAdmin, conn: SessionDep, paging: Paging) -> Response:
    total = conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one()
    ids = conn.execute(
        sa.select(users.c.user_id).order_by(users.c.user_id).offset(paging.offset).limit(paging.limit)
    ).scalars()
    items = [user_resource(_load(conn, i), admin=True) for i in ids]
    create = create_link(f"{API}/users", UserIn, "Create a user")
    return page(request, items, paging.offset, paging.limit, total, create=create)


@router.post("", response_model=UserOut, status_code=201, summary="Create a user")
def create_user(request: Request, body: UserIn, caller: GlobalAdmin, conn: SessionDep) -> Response:
    _check_sites(conn, body.sites)
    try:
        user_id = create_account(
            conn, body.email, body.password, body.role, all_sites=body.all_sites, site_ids=body.sites
        )
    except ValueError as exc:
        raise Problem(409, "conflict", str(exc)) from exc
    audit.record(
        conn,
        caller,
        "user.create",
        f"user:{user_id}",
        email=body.email,
        role=body.role.value,
        sites=body.sites,
    )
    conn.commit()
    response = respond(request, user_resource(_load(conn, user_id), admin=True), status=201)
    response.headers["Location"] = f"{API}/users/{user_id}"
    return response


@router.get("/{user_id}", response_model=UserOut, summary="One user")
def get_user(request: Request, user_id: UserId, caller: GlobalAdmin, conn: SessionDep) -> Response:
    return respond(request, user_resource(_load(conn, user_id), admin=True))


@router.patch("/{user_id}", response_model=UserOut, summary="Change role, sites, password or disable")
def patch_user(
    request: Request, user_id: UserId, body: UserPatch, caller: GlobalAdmin, conn: SessionDep
) -> Response:
    account = _load(conn, user_id)
    require_match(request, user_resource(account, admin=True))
    values: dict[str, object] = {}
    if body.role is not None:
        values["role"] = body.role.value
    if body.all_sites is not None:
        values["all_sites"] = body.all_sites
    if body.disabled is not None:
        values["disabled"] = body.disabled
    if body.password is not None:
        values["password_hash"] = hash_password(body.password)
    if user_id == caller.user_id and (body.disabled or (body.role and body.role != Role.ADMIN)):
        raise Problem(409, "conflict", "you cannot demote or disable yourself")
    if values:
        conn.execute(sa.update(users).where(users.c.user_id == user_id).values(**values))
    if body.sites is not None:
        _check_sites(conn, body.sites)
        set_sites(conn, user_id, body.sites)
    if body.disabled or body.password is not None:
        conn.execute(
            sa.update(api_tokens)
            .where(api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
    changed = sorted(body.model_dump(exclude_none=True).keys() - {"password"}) + (
        ["password"] if body.password else []
    )
    audit.record(conn, caller, "user.update", f"user:{user_id}", changed=changed)
    conn.commit()
    return respond(request, user_resource(_load(conn, user_id), admin=True))


@router.delete("/{user_id}", status_code=204, summary="Remove a user and their tokens")
def delete_user(user_id: UserId, caller: GlobalAdmin, conn: SessionDep) -> Response:
    account = _load(conn, user_id)
    if user_id == caller.user_id:
        raise Problem(409, "conflict", "you cannot remove yourself")
    conn.execute(sa.delete(users).where(users.c.user_id == user_id))
    audit.record(conn, caller, "user.delete", f"user:{user_id}", email=account.email)
    conn.commit()
    return Response(status_code=204)
