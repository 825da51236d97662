"""Sign-in to a session cookie, sign-out, and who am I."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from maskwatch.database.schema import api_tokens
from maskwatch.metrics import SIGNIN_FAILURES
from services.api import audit
from services.api.accounts import load_account, normalize_email
from services.api.deps import SESSION_COOKIE, CurrentUser, SessionDep, StateDep
from services.api.hal import respond
from services.api.paging import API
from services.api.problems import PROBLEM_RESPONSES, Problem
from services.api.routes.users import UserOut, user_resource
from services.api.security import issue_token, verify_password

router = APIRouter(prefix=f"{API}/auth", tags=["auth"], responses=PROBLEM_RESPONSES)


class Credentials(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


@router.post(
    "/login",
    response_model=UserOut,
    responses={429: PROBLEM_RESPONSES[400] | {"description": "Too many failed sign-ins"}},
    summary="Sign in; sets an HttpOnly, SameSite=Lax session cookie",
)
def login(request: Request, body: Credentials, conn: SessionDep, state: StateDep) -> Response:
    client = request.client.host if request.client else "unknown"
    key = (client, normalize_email(body.email))
    wait = state.login_limiter.retry_after(key)
    if wait > 0:
        SIGNIN_FAILURES.inc()
        raise Problem(
            429,
            "too-many-sign-ins",
            "too many failed sign-ins; wait and try again",
            headers={"Retry-After": str(int(wait) + 1)},
        )
    account = load_account(conn, email=body.email)
    ok = verify_password(account.password_hash if account else None, body.password)
    if account is None or not ok or account.disabled:
        state.login_limiter.hit(key)
        SIGNIN_FAILURES.inc()
        audit.record(
            conn,
            None,
            "auth.login_failed",
            key[1],
            user_id=account.user_id if account else None,
            client=client,
        )
        conn.commit()
        raise Problem(401, "unauthenticated", "wrong email or password")
    state.login_limiter.clear(key)
    ttl = timedelta(hours=state.api.session_hours)
    _, token = issue_token(conn, state.secret_key, account.user_id, kind="session", name=client, ttl=ttl)
    audit.record(conn, None, "auth.login", account.email, user_id=account.user_id, client=client)
    conn.commit()
    response = respond(request, user_resource(account, self_href=f"{API}/auth/me"), etag=False)
    set_session_cookie(response, token, ttl, secure=state.api.cookie_secure)
    return response


def set_session_cookie(response: Response, token: str, ttl: timedelta, *, secure: bool) -> None:
    """The one session cookie every sign-in sets: HttpOnly, SameSite=Lax, for the whole site."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(ttl.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )


@router.post("/logout", status_code=204, summary="Sign out: the session ends on the server too")
def logout(caller: CurrentUser, conn: SessionDep) -> Response:

    if caller.via == "session":
        conn.execute(
            sa.update(api_tokens)
            .where(api_tokens.c.token_id == caller.token_id)
            .values(revoked_at=datetime.now(UTC))
        )
    audit.record(conn, caller, "auth.logout", caller.email)
    conn.commit()
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=UserOut, summary="The signed-in user")
def me(request: Request, caller: CurrentUser, conn: SessionDep) -> Response:
    account = load_account(conn, user_id=caller.user_id)
    if account is None:
        raise Problem(401, "unauthenticated", "the account is gone")
    return respond(request, user_resource(account, self_href=f"{API}/auth/me"))
