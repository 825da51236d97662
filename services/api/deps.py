"""Typed dependencies for routes: the database connection and the caller."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from services.api.problems import Problem
from services.api.security import Caller, Role, caller_for_token
from services.api.state import AppState

SESSION_COOKIE = "maskwatch_session"

_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="Set by POST /api/v1/auth/login")
_bearer = HTTPBearer(auto_error=False, description="An API token from POST /api/v1/tokens")


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.maskwatch
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_connection(state: StateDep) -> Iterator[sa.Connection]:
    """One connection per request; routes that change something commit explicitly."""
    with state.engine.connect() as conn:
        yield conn


SessionDep = Annotated[sa.Connection, Depends(get_connection)]


def optional_caller(
    state: StateDep,
    conn: SessionDep,
    cookie: Annotated[str | None, Depends(_cookie)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller | None:
    token = bearer.credentials if bearer is not None else cookie
    if not token:
        return None
    return caller_for_token(conn, state.secret_key, token)


def current_caller(caller: Annotated[Caller | None, Depends(optional_caller)]) -> Caller:
    if caller is None:
        raise Problem(
            401, "unauthenticated", "sign in or send an API token", headers={"WWW-Authenticate": "Bearer"}
        )
    return caller


CurrentUser = Annotated[Caller, Depends(current_caller)]
OptionalUser = Annotated[Caller | None, Depends(optional_caller)]


def global_admin(caller: CurrentUser) -> Caller:
    if not caller.is_global_admin:
        raise Problem(403, "forbidden", "only an admin of every site may do this")
    return caller


GlobalAdmin = Annotated[Caller, Depends(global_admin)]


def require_site(caller: Caller, site_id: str) -> None:
    """Another site's resources do not exist for this caller: 404, never 403, so ids do not leak."""
    if not caller.can_read(site_id):
        raise Problem(404, "not-found", f"no site {site_id!r}")


__all__ = ["CurrentUser", "GlobalAdmin", "OptionalUser", "Role", "SessionDep", "StateDep", "require_site"]
