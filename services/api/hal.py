"""Hypermedia (HAL): `_links` on every resource, collections paginated by links, ETags.

A link is present only when the caller may follow it right now, so a client
discovers what it may do (acknowledge an alert, open a gate) from the links
rather than from the role it believes it has.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Generic, TypeVar

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.api.problems import Problem

HAL_JSON = "application/hal+json"


class HalJSONResponse(JSONResponse):
    """The app's default response class, so the OpenAPI spec names the media type it really sends."""

    media_type = HAL_JSON


class Link(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    href: str
    method: str | None = Field(default=None, exclude_if=lambda v: v is None)
    """Set for actions (POST, PATCH, DELETE); plain links are followed with GET."""
    title: str | None = Field(default=None, exclude_if=lambda v: v is None)
    body_schema: str | None = Field(default=None, alias="schema", exclude_if=lambda v: v is None)
    """For an action that takes a body: where its JSON Schema is, `/openapi.json#/components/schemas/…`."""


Links = dict[str, Link]


class Resource(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    links: Links = Field(alias="_links")


T = TypeVar("T", bound=Resource)


class Embedded(BaseModel, Generic[T]):
    items: list[T]


class Page(Resource, Generic[T]):
    """One page of a collection: `_links` has self, first and, where they exist, prev and next."""

    total: int
    offset: int
    limit: int
    embedded: Embedded[T] = Field(alias="_embedded")


def link(href: str, method: str | None = None, title: str | None = None) -> Link:
    return Link(href=href, method=method, title=title)


def schema_ref(model: type[BaseModel]) -> str:
    """Where the OpenAPI document describes `model` (FastAPI names components after the class)."""
    return f"/openapi.json#/components/schemas/{model.__name__}"


def create_link(href: str, body: type[BaseModel], title: str) -> Link:
    """A collection's `create` action: POST `body` to `href`. Offered only to callers who may create."""
    return Link(href=href, method="POST", title=title, body_schema=schema_ref(body))


def page_links(request: Request, offset: int, limit: int, total: int) -> Links:
    def at(o: int) -> Link:
        url = request.url.include_query_params(offset=o, limit=limit)
        return link(f"{url.path}?{url.query}")

    links = {"self": at(offset), "first": at(0)}
    if offset > 0:
        links["prev"] = at(max(0, offset - limit))
    if offset + limit < total:
        links["next"] = at(offset + limit)
    return links


def page(
    request: Request, items: list[T], offset: int, limit: int, total: int, *, create: Link | None = None
) -> Response:
    """A collection page; served as is (the route's response_model documents it). `create` is the
    collection's creation action, given when the caller may create in it."""
    links = page_links(request, offset, limit, total)
    if create is not None:
        links["create"] = create
    body = {
        "_links": {k: v.model_dump(exclude_none=True) for k, v in links.items()},
        "total": total,
        "offset": offset,
        "limit": limit,
        "_embedded": {"items": [dump(i) for i in items]},
    }
    return HalJSONResponse(body)


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True)


def etag_of(state: Any) -> str:
    """The ETag of a resource's state (its fields without links, which vary by caller)."""
    raw = json.dumps(state, sort_keys=True, default=str).encode()
    return '"' + hashlib.sha256(raw).hexdigest()[:32] + '"'


def _matches(header: str | None, etag: str) -> bool:
    if header is None:
        return False
    candidates = {c.strip().removeprefix("W/") for c in header.split(",")}
    return "*" in candidates or etag in candidates


def respond(request: Request, model: Resource, *, status: int = 200, etag: bool = True) -> Response:
    """The resource as HAL JSON, with an ETag; 304 when the client's copy is current."""
    body = dump(model)
    headers: dict[str, str] = {}
    if etag:
        tag = etag_of({k: v for k, v in body.items() if k != "_links"})
        headers["ETag"] = tag
        if status == 200 and _matches(request.headers.get("if-none-match"), tag):
            return Response(status_code=304, headers=headers)
    return HalJSONResponse(body, status_code=status, headers=headers)


def require_match(request: Request, model: Resource) -> None:
    """Refuse a change made against an out-of-date copy (If-Match), with 412."""
    header = request.headers.get("if-match")
    if header is None:
        return
    body = dump(model)
    tag = etag_of({k: v for k, v in body.items() if k != "_links"})
    if not _matches(header, tag):
        raise Problem(412, "precondition-failed", "the resource changed since you read it; read it again")
