"""The router's own rules, checked where a route is declared (no database is reached)."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from fastapi import Depends, Request

from beyondpay.api.auth import SessionDep
from beyondpay.api.routing import Listed, Router
from beyondpay.kit.invariants import InvariantError


def _count(request: Request) -> int:
    return len(request.headers)


async def _count_async(request: Request) -> int:
    return len(request.headers)


def test_a_sync_dependency_is_refused_where_the_route_is_declared() -> None:
    """FastAPI would run it in a thread pool: a thread hop on every request."""
    router = Router(prefix="/x")
    with pytest.raises(InvariantError, match="_count is not async"):

        @router.get("", summary="A read", access="payer")
        async def read(session: SessionDep, n: Annotated[int, Depends(_count)]) -> dict[str, Any]:
            return {"n": n}


def test_an_async_dependency_is_accepted_and_access_is_documented() -> None:
    router = Router(prefix="/y")

    @router.get("", summary="A list", access="payer")
    async def listing(session: SessionDep, n: Annotated[int, Depends(_count_async)]) -> Listed:
        return Listed([{"n": n}])

    (route,) = router.routes
    assert route.openapi_extra["x-beyondpay-access"] == "payer"
