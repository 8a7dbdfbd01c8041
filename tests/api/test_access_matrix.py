"""The access matrix, generated from the OpenAPI document.

For every route on one object (a path with a ``{…}`` parameter) and every kind of caller, the one
status the caller must get. Merchant routes: the owner 200; another merchant 404 and a test key
on a live object 404, each byte-for-byte the 404 of an id that never existed (only the id and the
request id differ), so a caller learns nothing of other merchants' or modes' objects; a
restricted key holding every scope but the route's 403; a publishable key 403. Platform-admin
routes: only a platform-admin key passes; every merchant key gets 403.

The objects are real: each collection has a factory that creates one through the API. A route
with no factory fails here, so a new route cannot escape the matrix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

import fastapi.routing
import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from beyondpay.db.session import Database
from beyondpay.merchants.domain import SCOPES_SECRET_ONLY, KeyKind, Scope
from beyondpay.merchants.service import api_key_service
from tests.api.factories import (
    BODIES,
    BODY_FACTORIES,
    FACTORIES,
    MODE_SHARED,
    OWNER_ANSWERS,
    PREPARATIONS,
    SHARED_BY_ALL,
    TEST_MODE_ONLY,
    Actors,
    Post,
    collection_of,
)
from tests.support import TestMerchant, make_merchant, ring_for_tests

SECRET_ONLY: Final = "secret key"
OR_PUBLISHABLE: Final = " or publishable key"
# The routes a browser's publishable key may call, each limited by its use case (a payment
# intent only with its client secret; a payment method for no customer).
PUBLISHABLE_ROUTES: Final = frozenset(
    {
        ("POST", "/v1/payment_methods"),
        ("GET", "/v1/payment_intents/{intent}"),
        ("POST", "/v1/payment_intents/{intent}/confirm"),
        ("GET", "/v1/setup_intents/{intent}"),
        ("POST", "/v1/setup_intents/{intent}/confirm"),
    }
)
# PSP routes are called with payers' sessions, not merchant keys: they are outside this matrix
# and have their own access test (tests/psp/test_access.py).
PSP_PATH_PREFIX: Final = "/v1/psp/"
_SCOPE_MARKER: Final = re.compile(r"^(?P<resource>[a-z_]+):(?P<access>read|write)$")
_PATH_PARAMETER: Final = re.compile(r"\{[^}]+\}")
# Headers that legitimately differ between two otherwise identical responses.
_VARYING_HEADERS: Final = frozenset({"request-id", "date"})


@dataclass(frozen=True)
class ObjectRoute:
    method: str
    path: str  # the template, e.g. /v1/customers/{customer}
    access: str

    @property
    def collection(self) -> str:
        """The path before the first parameter: which factory makes the object."""
        return collection_of(self.path)

    @property
    def platform(self) -> bool:
        return "platform" in self.access

    def url(self, object_id: str) -> str:
        return _PATH_PARAMETER.sub(object_id, self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _app() -> FastAPI:
    from beyondpay.app import create_app
    from beyondpay.kit.settings import Settings

    # Only the routes are needed (the document, their dependencies); no database is reached.
    return create_app(Settings(), "postgresql://unused/unused")


def _enforced_access(dependant: Dependant) -> dict[str, Any] | None:
    """What the route's ``authorize`` dependency enforces (see api.auth), found in its tree."""
    pending = [dependant]
    while pending:
        current = pending.pop()
        access = getattr(current.call, "__beyondpay_access__", None)
        if access is not None:
            return dict(access)
        pending.extend(current.dependencies)
    return None


def _api_routes(app: FastAPI) -> list[tuple[str, APIRoute]]:
    """(full path, route) of every API route, through included routers (which FastAPI 0.12x+
    keeps nested instead of copying their routes into the app's list)."""
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    if iterate is None:
        return [(route.path, route) for route in app.routes if isinstance(route, APIRoute)]
    found: list[tuple[str, APIRoute]] = []
    for context in iterate(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            found.append((str(context.path), route))
    return found


def _enforced_by_route(app: FastAPI) -> dict[tuple[str, str], dict[str, Any] | None]:
    enforced: dict[tuple[str, str], dict[str, Any] | None] = {}
    for path, route in _api_routes(app):
        for method in route.methods:
            enforced[(method, path)] = _enforced_access(route.dependant)
    return enforced


def _object_routes() -> list[ObjectRoute]:
    app = _app()
    document = app.openapi()
    routes: list[ObjectRoute] = []
    for path, item in document["paths"].items():
        if not path.startswith("/v1") or "{" not in path or path.startswith(PSP_PATH_PREFIX):
            continue
        for method, operation in item.items():
            routes.append(ObjectRoute(method.upper(), path, str(operation["x-beyondpay-access"])))
    return routes


OBJECT_ROUTES: Final = _object_routes()


# ---- callers ----------------------------------------------------------------------------------


@dataclass
class Callers:
    owner: TestMerchant
    other: TestMerchant
    admin_key: str


async def _issue(database: Database, kind: KeyKind, merchant_id: str | None, **options: Any) -> str:
    async with database.unit_of_work() as session:
        issued = await api_key_service.issue(
            session, ring_for_tests(), merchant_id=merchant_id, kind=kind, **options
        )
    return issued.secret


def _all_scopes_but(needed: Scope | None) -> list[str]:
    """Every scope a restricted key may hold, except ``needed`` and what implies it."""
    implying = {needed.value, f"{needed.resource}:write"} if needed is not None else set()
    return [
        scope.value
        for scope in Scope
        if scope.value not in implying and scope not in SCOPES_SECRET_ONLY
    ]


@pytest.fixture
async def callers(database: Database) -> Callers:
    owner = await make_merchant(database, name="Owner", restricted_scopes=("customers:read",))
    other = await make_merchant(database, name="Other")
    admin_key = await _issue(database, KeyKind.admin, None, livemode=True)
    return Callers(owner, other, admin_key)


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _poster(client: httpx.AsyncClient, key: str) -> Post:
    async def post(path: str, params: dict[str, Any]) -> dict[str, Any]:
        response = await client.post(path, json=params, headers=_bearer(key))
        assert response.status_code == 200, f"POST {path}: {response.status_code} {response.text}"
        body: dict[str, Any] = response.json()
        return body

    return post


def _getter(client: httpx.AsyncClient, key: str) -> Post:
    async def get(path: str, params: dict[str, Any]) -> dict[str, Any]:
        response = await client.get(path, params=params, headers=_bearer(key))
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text}"
        body: dict[str, Any] = response.json()
        return body

    return get


async def _call(
    client: httpx.AsyncClient,
    route: ObjectRoute,
    object_id: str,
    key: str,
    made_body: dict[str, Any] | None = None,
) -> httpx.Response:
    body = made_body if made_body is not None else BODIES.get((route.method, route.path))
    if route.method == "GET" or (route.method == "DELETE" and body is None):
        return await client.request(route.method, route.url(object_id), headers=_bearer(key))
    return await client.request(
        route.method, route.url(object_id), json=body or {}, headers=_bearer(key)
    )


def _never_existing(object_id: str) -> str:
    """An id of the same shape and length that no one created."""
    prefix, _, rest = object_id.rpartition("_")
    return f"{prefix}_{'Z' * len(rest)}" if prefix else "Z" * len(object_id)


def _headers_without_varying(response: httpx.Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name not in _VARYING_HEADERS}


async def _assert_indistinguishable_404(
    client: httpx.AsyncClient,
    route: ObjectRoute,
    object_id: str,
    key: str,
    who: str,
    body: dict[str, Any] | None = None,
    status: int = 404,
) -> None:
    hidden = await _call(client, route, object_id, key, body)
    assert hidden.status_code == status, f"{route} as {who}: {hidden.status_code} {hidden.text}"
    unknown_id = _never_existing(object_id)
    unknown = await _call(client, route, unknown_id, key, body)
    assert unknown.status_code == status, (
        f"{route} unknown id: {unknown.status_code} {unknown.text}"
    )
    assert hidden.content.replace(object_id.encode(), unknown_id.encode()) == unknown.content, (
        f"{route} as {who}: the 404 differs from an unknown id's"
    )
    assert _headers_without_varying(hidden) == _headers_without_varying(unknown)
    assert hidden.headers["request-id"] != unknown.headers["request-id"]


def _scope_of(route: ObjectRoute) -> Scope | None:
    """The scope a route needs; None for routes only secret keys may call. A route publishable
    keys may call too still refuses them 403 without the object's client secret, which the
    matrix does not send (tests/payments/test_publishable.py covers what they may do)."""
    if route.access == SECRET_ONLY:
        return None
    match = _SCOPE_MARKER.match(route.access.removesuffix(OR_PUBLISHABLE))
    assert match is not None, (
        f"{route}: unknown access marker {route.access!r}; teach the access matrix its rule"
    )
    return Scope(route.access.removesuffix(OR_PUBLISHABLE))


async def _make_object(route: ObjectRoute, actors: Actors) -> str:
    object_id = await FACTORIES[route.collection](actors)
    preparation = PREPARATIONS.get((route.method, route.path))
    if preparation is not None:
        await preparation(actors, object_id)
    return object_id


async def _merchant_route_matrix(
    client: httpx.AsyncClient, database: Database, callers: Callers, route: ObjectRoute
) -> None:
    needed = _scope_of(route)
    owner, other = callers.owner, callers.other
    # Objects are made in live mode, but for test-mode-only collections (test clocks); the key
    # of the other mode must learn nothing of them either way.
    live = route.collection not in TEST_MODE_ONLY
    mode, other_mode = ("live", "test") if live else ("test", "live")
    as_owner = _poster(client, owner.keys[f"sk_{mode}"])
    as_getter = _getter(client, owner.keys[f"sk_{mode}"])
    actors = Actors(owner=as_owner, merchant=as_owner, get=as_getter, database=database)
    object_id = await _make_object(route, actors)
    make_body = BODY_FACTORIES.get((route.method, route.path))
    body = await make_body(actors, object_id) if make_body is not None else None

    scopes = _all_scopes_but(needed)
    restricted = await _issue(database, KeyKind.restricted, owner.id, livemode=live, scopes=scopes)
    lacking = await _call(client, route, object_id, restricted, body)
    assert lacking.status_code == 403, f"{route} restricted: {lacking.status_code} {lacking.text}"
    assert lacking.json()["error"]["type"] == "permission_error"

    publishable = await _call(client, route, object_id, owner.keys[f"pk_{mode}"], body)
    assert publishable.status_code == 403, f"{route} publishable: {publishable.text}"

    if route.collection not in SHARED_BY_ALL:
        await _assert_indistinguishable_404(
            client, route, object_id, other.keys[f"sk_{mode}"], "another merchant", body
        )
    # A live key on a test-mode-only route is refused (400 test_mode_only) whatever the id.
    if route.collection not in MODE_SHARED | SHARED_BY_ALL:
        await _assert_indistinguishable_404(
            client,
            route,
            object_id,
            owner.keys[f"sk_{other_mode}"],
            f"the owner's {other_mode} key",
            body,
            status=404 if live else 400,
        )

    answer = await _call(client, route, object_id, owner.keys[f"sk_{mode}"], body)
    status, code = OWNER_ANSWERS.get((route.method, route.path), (200, None))
    assert answer.status_code == status, f"{route} owner: {answer.status_code} {answer.text}"
    if code is not None:
        assert answer.json()["error"]["code"] == code, f"{route} owner: {answer.text}"


async def _platform_route_matrix(
    client: httpx.AsyncClient, callers: Callers, route: ObjectRoute
) -> None:
    actors = Actors(
        owner=_poster(client, callers.admin_key),
        merchant=_poster(client, callers.owner.keys["sk_live"]),
        get=_getter(client, callers.admin_key),
    )
    object_id = await _make_object(route, actors)
    for name in ("sk_live", "sk_test", "pk_live", "rk_live"):
        refused = await _call(client, route, object_id, callers.owner.keys[name])
        assert refused.status_code == 403, f"{route} as {name}: {refused.text}"
        assert refused.json()["error"]["type"] == "permission_error"
    unknown = await _call(client, route, _never_existing(object_id), callers.admin_key)
    assert unknown.status_code == 404, f"{route} admin, unknown id: {unknown.text}"
    answer = await _call(client, route, object_id, callers.admin_key)
    assert answer.status_code == 200, f"{route} admin: {answer.status_code} {answer.text}"


def test_the_document_has_object_routes() -> None:
    assert any(route.path == "/v1/customers/{customer}" for route in OBJECT_ROUTES)


def test_every_documented_access_marker_is_what_the_route_enforces() -> None:
    """The matrix trusts ``x-beyondpay-access``; here the marker is checked against the
    ``authorize`` dependency each /v1 route really runs, so the two cannot drift apart."""
    app = _app()
    enforced = _enforced_by_route(app)
    for path, item in app.openapi()["paths"].items():
        if not path.startswith("/v1") or path.startswith(PSP_PATH_PREFIX):
            continue
        for method, operation in item.items():
            marker = operation["x-beyondpay-access"]
            access = enforced[(method.upper(), path)]
            assert access is not None, f"{method.upper()} {path} runs no authorize dependency"
            if access["publishable"]:
                assert (method.upper(), path) in PUBLISHABLE_ROUTES, (
                    f"{method.upper()} {path} admits publishable keys: teach the matrix that rule"
                )
                assert marker == f"{access['scope']}{OR_PUBLISHABLE}", (method, path, marker)
            elif access["platform"]:
                assert "platform" in marker, (method, path, marker)
            elif access["scope"] is None:
                assert marker == SECRET_ONLY, (method, path, marker)
            else:
                assert marker == access["scope"], (method, path, marker)


@pytest.mark.parametrize("route", OBJECT_ROUTES, ids=str)
async def test_access_matrix(
    client: httpx.AsyncClient, database: Database, callers: Callers, route: ObjectRoute
) -> None:
    if route.collection not in FACTORIES:
        pytest.fail(
            f"{route}: no factory for {route.collection}; add one to FACTORIES so the route is"
            " checked for every kind of caller"
        )
    if route.platform:
        await _platform_route_matrix(client, callers, route)
    else:
        await _merchant_route_matrix(client, database, callers, route)
