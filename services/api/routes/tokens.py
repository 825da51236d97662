"""API tokens for integrations: a user's own, with the user's role and sites; shown once at creation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field

from maskwatch.database.schema import api_tokens
from services.api import audit
from services.api.deps import CurrentUser, SessionDep, StateDep
from services.api.hal import Page, Resource, create_link, link, page, respond
from services.api.paging import API, Paging
from services.api.problems import PROBLEM_RESPONSES, Problem
from services.api.security import issue_token

router = APIRouter(prefix=f"{API}/tokens", tags=["tokens"], responses=PROBLEM_RESPONSES)
TokenId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class TokenOut(Resource):
    token_id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    token: str | None = None
    """Only in the answer to its creation: store it, it cannot be read again."""


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _mine(user_id: int) -> sa.Select[tuple[int, str, datetime, datetime | None]]:
    t = api_tokens.c
    return sa.select(t.token_id, t.name, t.created_at, t.last_used_at).where(
        t.user_id == user_id, t.kind == "api", t.revoked_at.is_(None)
    )


def _resource(row: sa.Row[tuple[int, str, datetime, datetime | None]], token: str | None = None) -> TokenOut:
    href = f"{API}/tokens/{row.token_id}"
    return TokenOut(
        links={"self": link(href), "revoke": link(href, "DELETE")},
        token_id=row.token_id,
        name=row.name,
        created_at=_aware(row.created_at) or row.created_at,
        last_used_at=_aware(row.last_used_at),
        token=token,
    )


@router.get("", response_model=Page[TokenOut], summary="Your API tokens")
def list_tokens(request: Request, caller: CurrentUser, conn: SessionDep, paging: Paging) -> Response:
    query = _mine(caller.user_id)
    total = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(api_tokens.c.token_id).offset(paging.offset).limit(paging.limit))
    create = create_link(f"{API}/tokens", TokenIn, "A new API token (shown once)")
    return page(request, [_resource(r) for r in rows], paging.offset, paging.limit, total, create=create)


@router.post("", response_model=TokenOut, status_code=201, summary="Create an API token")
def create_token(
    request: Request, body: TokenIn, caller: CurrentUser, conn: SessionDep, state: StateDep
) -> Response:
    token_id, token = issue_token(
        conn, state.secret_key, caller.user_id, kind="api", name=body.name, ttl=None
    )
    audit.record(conn, caller, "token.create", f"token:{token_id}", name=body.name)
    conn.commit()
    row = conn.execute(_mine(caller.user_id).where(api_tokens.c.token_id == token_id)).one()
    response = respond(request, _resource(row, token), status=201, etag=False)
    response.headers["Location"] = f"{API}/tokens/{token_id}"
    return response


@router.get("/{token_id}", response_model=TokenOut, summary="One of your API tokens")
def get_token(request: Request, token_id: TokenId, caller: CurrentUser, conn: SessionDep) -> Response:
    row = conn.execute(_mine(caller.user_id).where(api_tokens.c.token_id == token_id)).one_or_none()
    if row is None:
        raise Problem(404, "not-found", f"no token {token_id}")
    return respond(request, _resource(row))


@router.delete("/{token_id}", status_code=204, summary="Revoke one of your API tokens")
def revoke_token(token_id: TokenId, caller: CurrentUser, conn: SessionDep) -> Response:
    row = conn.execute(_mine(caller.user_id).where(api_tokens.c.token_id == token_id)).one_or_none()
    if row is None:
        raise Problem(404, "not-found", f"no token {token_id}")
    conn.execute(
        sa.update(api_tokens).where(api_tokens.c.token_id == token_id).values(revoked_at=datetime.now(UTC))
    )
    audit.record(conn, caller, "token.revoke", f"token:{token_id}", name=row.name)
    conn.commit()
    return Response(status_code=204)
