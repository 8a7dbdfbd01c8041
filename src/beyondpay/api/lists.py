"""List endpoints: the list envelope around a page of objects.

Pagination, ``created`` filters and scoping are in ``db.pagination`` (services and schemas use
them); they stay importable from here for the HTTP layer.
"""

from __future__ import annotations

import functools
from typing import Any, Literal

from pydantic import BaseModel, create_model

from beyondpay.db.pagination import (
    EXPAND_MAX,
    LIMIT_DEFAULT,
    LIMIT_MAX,
    UNIX_S_MAX,
    CreatedFilter,
    ListParams,
    created_conditions,
    page,
    scoped,
)

__all__ = [
    "EXPAND_MAX",
    "LIMIT_DEFAULT",
    "LIMIT_MAX",
    "UNIX_S_MAX",
    "CreatedFilter",
    "ListParams",
    "created_conditions",
    "list_object",
    "list_of",
    "page",
    "scoped",
]


@functools.cache
def list_of(item: type[BaseModel]) -> type[BaseModel]:
    """The documented shape of a list of ``item`` (one model per item, however many routes
    list it)."""
    list_literal: Any = Literal["list"]
    model = create_model(
        f"{item.__name__}List",
        object=(list_literal, ...),
        url=(str, ...),
        has_more=(bool, ...),
        data=(list[item], ...),  # type: ignore[valid-type]
    )
    model.__beyondpay_list__ = True  # type: ignore[attr-defined]  # expand[] is data.-prefixed
    return model


def list_object(url: str, data: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {"object": "list", "url": url, "has_more": has_more, "data": data}
