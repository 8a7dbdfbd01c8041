"""The router's own rules, checked where a route is declared (no database is reached)."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Request
from pydantic import BaseModel

from beyondpay.api.auth import SessionDep
from beyondpay.api.routing import Listed, Router
from beyondpay.kit.invariants import InvariantError


class Item(BaseModel):
    id: str


def _count(request: Request) -> int:
    return len(request.headers)


async def _count_async(request: Request) -> int:
    return len(request.headers)


def test_a_sync_dependency_is_refused_where_the_route_is_declared() -> None:
    """FastAPI would run it in a thread pool: a thread hop on every request."""
    router = Router(prefix="/x")
    with pytest.raises(InvariantError, match="_count is not async"):

        @router.get("", access="payer")
        async def read(session: SessionDep, n: Annotated[int, Depends(_count)]) -> dict[str, Any]:
            """A read."""
            return {"n": n}


def test_an_async_dependency_is_accepted_and_access_is_documented() -> None:
    router = Router(prefix="/y")

    @router.get("", access="payer")
    async def listing(session: SessionDep, n: Annotated[int, Depends(_count_async)]) -> Listed:
        """A list."""
        return Listed([{"n": n}])

    (route,) = router.routes
    assert route.openapi_extra["x-beyondpay-access"] == "payer"


def test_an_endpoint_without_a_docstring_is_refused() -> None:
    """The docstring is the operation's summary in the OpenAPI document."""
    router = Router(prefix="/z")
    with pytest.raises(InvariantError, match="silent says what it does"):

        @router.get("", access="payer")
        async def silent(session: SessionDep) -> dict[str, Any]:
            return {}


def test_the_docstring_is_the_summary_and_the_description() -> None:
    router = Router(prefix="/d")

    @router.get("", returns=Item, access="payer")
    async def items(session: SessionDep) -> Listed:
        """List the items.

        Newest first; each at most once.
        """
        return Listed([])

    app = FastAPI()
    app.include_router(router)
    operation = app.openapi()["paths"]["/d"]["get"]
    assert operation["summary"] == "List the items"
    assert operation["description"] == "Newest first; each at most once."
    # A list route names the object its list holds; the envelope is derived from it.
    envelope = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert envelope.endswith("/ItemList")
    # A GET that names no parameters takes ``expand[]`` only.
    assert [parameter["name"] for parameter in operation["parameters"]] == ["expand"]
