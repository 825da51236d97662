"""Errors as RFC 9457 problem details (`application/problem+json`), for every route and status."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://maskwatch.invalid/problems/"


class ProblemModel(BaseModel):
    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None


class Problem(Exception):
    """Raise anywhere in a route; `kind` becomes the problem's type URI."""

    def __init__(
        self, status: int, kind: str, detail: str | None = None, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail or kind)
        self.status = status
        self.kind = kind
        self.detail = detail
        self.headers = headers


def problem_response(
    request: Request,
    status: int,
    kind: str,
    detail: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    body = ProblemModel(
        type=TYPE_BASE + kind,
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=request.url.path,
        errors=errors,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def too_large(scope: Scope, detail: str) -> Response:
    """The body cap's refusal (maskwatch.body_limit), as a problem like every other error."""
    return problem_response(Request(scope), 413, "too-large", detail)


_KINDS = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
}


def install(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(request, exc.status, exc.kind, exc.detail, headers=exc.headers)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        kind = _KINDS.get(exc.status_code, "http-error")
        detail = exc.detail if isinstance(exc.detail, str) else None
        return problem_response(
            request, exc.status_code, kind, detail, headers=dict(exc.headers) if exc.headers else None
        )

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))} for e in exc.errors()
        ]
        return problem_response(request, 422, "invalid-request", "the request is not valid", errors=errors)

    async def on_data_error(request: Request, exc: Exception) -> JSONResponse:
        # Values the database cannot store (a NUL byte in text): the request's fault, not the server's.
        return problem_response(request, 422, "invalid-request", "a value cannot be stored (NUL byte?)")

    app.add_exception_handler(DataError, on_data_error)
    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ProblemModel, "content": {PROBLEM_JSON: {}}, "description": HTTPStatus(status).phrase}
    for status in (400, 401, 403, 404, 409, 412, 422)
}
"""Documented on every router so the OpenAPI spec says what errors look like."""
