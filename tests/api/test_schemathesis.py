"""schemathesis against ``/openapi.json``: whatever a client sends, the API answers with a
documented status, a body matching the documented schema, and never a 5xx.

Cases are generated for every operation, valid ones (positive) and invalid ones (negative), with
a secret test key (a platform-admin key on platform routes). Routes on one object get most of their
cases with the id of a real object (one of each collection deleted, where a route deletes), so
success paths are exercised as well as 404s. With
``HYPOTHESIS_PROFILE=ci`` at least ``CASES_CI_MIN`` cases run in total.
"""

from __future__ import annotations

import asyncio
import math
import os
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any, Final

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from beyondpay.db.session import Database
from beyondpay.kit.settings import Settings
from beyondpay.merchants.domain import KeyKind
from beyondpay.merchants.service import api_key_service
from tests.api.factories import FACTORIES, Actors, Post, collection_of
from tests.support import TEST_RING_TEXT, make_merchant, ring_for_tests

CASES_CI_MIN: Final = 2_000
CASES_PER_OPERATION_LOCAL: Final = 20
# Headroom over CASES_CI_MIN / operations: hypothesis stops early on operations whose inputs
# it has exhausted (a route with only a path parameter, say).
CASES_HEADROOM: Final = 1.3
OBJECTS_PER_COLLECTION: Final = 3
CHECKS: Final = [not_a_server_error, status_code_conformance, response_schema_conformance]


def _in_ci_profile() -> bool:
    return os.environ.get("HYPOTHESIS_PROFILE") == "ci"


@pytest.fixture
def api_settings() -> Settings:
    # Thousands of requests on one key in seconds: rate limits would answer most of them.
    return Settings(secret_keys=TEST_RING_TEXT, rate_limits_enabled=False)


class Target:
    """The app under test, its schema, the keys to call it with and real objects' ids."""

    def __init__(self, app: FastAPI, secret_key: str, admin_key: str) -> None:
        self.schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        self.secret_key = secret_key
        self.admin_key = admin_key
        self.ids: dict[str, list[str]] = {}  # collection → ids of objects in it


def _poster(http: asgi.ASGIClient, key: str) -> Post:
    async def post(path: str, params: dict[str, Any]) -> dict[str, Any]:
        # The app runs in schemathesis's event loop thread; this blocking call must not hold ours.
        response = await asyncio.to_thread(
            http.post, path, json=params, headers={"Authorization": f"Bearer {key}"}
        )
        assert response.status_code == 200, f"POST {path}: {response.status_code} {response.text}"
        body: dict[str, Any] = response.json()
        return body

    return post


def _getter(http: asgi.ASGIClient, key: str) -> Post:
    async def get(path: str, params: dict[str, Any]) -> dict[str, Any]:
        response = await asyncio.to_thread(
            http.get, path, params=params, headers={"Authorization": f"Bearer {key}"}
        )
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text}"
        body: dict[str, Any] = response.json()
        return body

    return get


async def _delete_one_of_each(http: asgi.ASGIClient, target: Target) -> None:
    """Deletes one object of each collection that has a DELETE route, so that cases also meet
    deleted objects (which Stripe still retrieves, in another shape)."""
    for path, item in target.schema.raw_schema["paths"].items():
        ids = target.ids.get(collection_of(path))
        if "delete" not in item or not ids or path.count("{") != 1:
            continue
        url = path.split("{", 1)[0] + ids[-1]
        headers = {"Authorization": f"Bearer {target.secret_key}"}
        response = await asyncio.to_thread(http.delete, url, headers=headers)
        assert response.status_code == 200, f"DELETE {url}: {response.text}"


@pytest.fixture
async def target(
    database: Database, database_url: str, api_settings: Settings
) -> AsyncIterator[Target]:
    from beyondpay.app import create_app

    merchant = await make_merchant(database)
    async with database.unit_of_work() as session:
        admin = await api_key_service.issue(
            session, ring_for_tests(), merchant_id=None, kind=KeyKind.admin, livemode=True
        )
    # The only app open in this test (jobs allow one per process), run by schemathesis in its
    # own event loop thread.
    app = create_app(api_settings, database_url)
    found = Target(app, merchant.keys["sk_test"], admin.secret)
    with asgi.get_client(app) as http:
        as_merchant = _poster(http, found.secret_key)
        as_admin = Actors(
            owner=_poster(http, found.admin_key),
            merchant=as_merchant,
            get=_getter(http, found.admin_key),
        )
        for collection, factory in FACTORIES.items():
            actors = (
                as_admin
                if "platform" in collection
                else Actors(
                    as_merchant, as_merchant, _getter(http, found.secret_key), database=database
                )
            )
            found.ids[collection] = [await factory(actors) for _ in range(OBJECTS_PER_COLLECTION)]
        await _delete_one_of_each(http, found)
    try:
        yield found
    finally:
        asgi.shutdown_lifespans()


def _run_operation(target: Target, operation: Any, examples: int, counts: Counter[str]) -> None:
    access = str(operation.definition.raw.get("x-beyondpay-access", ""))
    key = target.admin_key if "platform" in access else target.secret_key
    headers = {"Authorization": f"Bearer {key}"}
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    path_names = [p.name for p in operation.path_parameters]
    known = target.ids.get(collection_of(operation.path), [])
    if len(path_names) == 1 and known:
        strategies += [
            operation.as_strategy(mode, path_parameters={path_names[0]: object_id})
            for object_id in known
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        ]

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(strategies))
    def check(case: Any) -> None:
        counts[operation.label] += 1
        case.call_and_validate(headers=headers, checks=CHECKS)

    check()


def test_every_operation_conforms(target: Target) -> None:
    # PSP routes take payers' sessions, not merchant keys (tests/psp/test_access.py covers them).
    operations = [
        operation
        for operation in (result.ok() for result in target.schema.get_all_operations())
        if not operation.path.startswith("/v1/psp/")
    ]
    assert operations, "the OpenAPI document has no operations"
    if _in_ci_profile():
        examples = math.ceil(CASES_CI_MIN * CASES_HEADROOM / len(operations))
    else:
        examples = CASES_PER_OPERATION_LOCAL
    counts: Counter[str] = Counter()
    failures: list[str] = []
    for operation in operations:
        try:
            _run_operation(target, operation, examples, counts)
        except Exception as exc:  # every operation runs; all failures are reported together
            failures.append(f"{operation.label}:\n{exc}")
    assert not failures, "\n\n".join(failures)
    if _in_ci_profile():
        total = sum(counts.values())
        assert total >= CASES_CI_MIN, f"only {total} cases ran: {dict(counts)}"
