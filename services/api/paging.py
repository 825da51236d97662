"""Offset pagination parameters shared by the collections."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query

API = "/api/v1"


@dataclass(frozen=True)
class PageParams:
    offset: int
    limit: int


def page_params(
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Items to skip")] = 0,
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page")] = 50,
) -> PageParams:
    return PageParams(offset, limit)


Paging = Annotated[PageParams, Depends(page_params)]
