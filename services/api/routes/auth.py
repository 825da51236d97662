"""Sign-in to a session cookie, sign-out, and who am I."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from maskwatch.database.schema import api_tokens
from maskwatch.metrics import SIGNIN_FAILURES
from services.api import audit
from services.api.accounts import load_account, normalize_email
from services.api.deps import SESSION_COOKIE, CurrentUser, SessionDep, StateDep
from services.api.hal import link, respond
from services.api.paging import API
from services.api.problems import PROBLEM_RESPONSES, Problem
from services.api.routes.root import next_steps
from services.api.routes.users import UserOut, user_resource
from services.api.security import issue_token, verify_password

router = APIRouter(prefix=f"{API}/auth", tags=["auth"], responses=PROBLEM_RESPONSES)


class Credentials(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


@router.post(
    "/login",
    response_model=UserOut,
    responses={
        429: PROBLEM_RESPONSES[400]
        | {"description": "Too many failed sign-ins from this address, or for this account"}
    },
    summary="Sign in; sets an HttpOnly, SameSite=Lax session cookie",
)
def login(request: Request, body: Credentials, conn: SessionDep, state: StateDep) -> Response:
    client = request.client.host if request.client else "unknown"
    email = normalize_email(body.email)
    attempt = state.login_limiter.admit(client)
    if attempt.retry_after_s > 0:
        SIGNIN_FAILURES.inc()
        raise _too_many(
            "too many failed sign-ins from this address; wait and try again", attempt.retry_after_s
        )
    account = load_account(conn, email=body.email)
    ok = verify_password(account.password_hash if account else None, body.password)
    if account is None or not ok or account.disabled:
        account_wait = state.login_limiter.failed(attempt, email)
        SIGNIN_FAILURES.inc()
        audit.record(
            conn,
            None,
            "auth.login_failed",
            email,
            user_id=account.user_id if account else None,
            client=client,
        )
        conn.commit()
        if account_wait > 0:
            raise _too_many("too many failed sign-ins for this account; wait and try again", account_wait)
        raise Problem(401, "unauthenticated", "wrong email or password")
    state.login_limiter.succeeded(attempt, email)
    ttl = timedelta(hours=state.api.session_hours)
    _, token = issue_token(conn, state.secret_key, account.user_id, kind="session", name=client, ttl=ttl)
    audit.record(conn, None, "auth.login", account.email, user_id=account.user_id, client=client)
    conn.commit()
    signed_in = user_resource(account, self_href=f"{API}/auth/me")
    # Where to go next: the entry points this account may follow (the same as the root's).
    signed_in.links |= {"start": link(f"{API}/")} | next_steps(account.role, all_sites=account.all_sites)
    response = respond(request, signed_in, etag=False)
    set_session_cookie(response, token, ttl, secure=state.api.cookie_secure)
    return response


def _too_many(detail: str, wait_s: float) -> Problem:
    return Problem(429, "too-many-sign-ins", detail, headers={"Retry-After": str(math.ceil(wait_s))})


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
