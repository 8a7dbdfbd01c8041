"""Idempotency keys: Stripe's semantics, proven against real PostgreSQL connections."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated

import httpx
import psycopg
import pytest
from fastapi import Depends, FastAPI, Request
from sqlalchemy import func, select, text

from beyondpay.api.auth import SessionDep, authorize
from beyondpay.api.mutation import RECOVERY_LEASE_S, Mutation, Outcome, run_mutation
from beyondpay.api.tasks import purge_idempotency_keys_on
from beyondpay.app import create_app
from beyondpay.customers.models import CustomerRow
from beyondpay.customers.schemas import CustomerCreateParams, customer_object
from beyondpay.customers.service import customer_service
from beyondpay.db import jobs
from beyondpay.db.session import Database
from beyondpay.db.urls import libpq_url
from beyondpay.kit.clock import FrozenClock, use_clock, utcnow
from beyondpay.kit.settings import Settings
from beyondpay.merchants.domain import Caller, Scope
from tests.support import TestMerchant, make_merchant

FORM = {"content-type": "application/x-www-form-urlencoded"}
Writer = Annotated[Caller, Depends(authorize(Scope.customers_write))]


async def _customers(database: Database) -> int:
    async with database.unit_of_work() as session:
        return int(
            (await session.execute(select(func.count()).select_from(CustomerRow))).scalar_one()
        )


def _post(merchant: TestMerchant, key: str, *, name: str = "Asha") -> dict[str, object]:
    return {
        "url": "/v1/customers",
        "content": f"name={name}&metadata[order]=7",
        "headers": {**merchant.auth(), **FORM, "Idempotency-Key": key},
    }


async def test_replay_is_byte_for_byte(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    first = await client.post(**_post(merchant, "k1"))
    second = await client.post(**_post(merchant, "k1"))
    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert "idempotent-replayed" not in first.headers
    assert second.headers["idempotent-replayed"] == "true"
    assert second.headers["idempotency-key"] == "k1"
    assert await _customers(database) == 1


async def test_same_parameters_as_json_replay(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    form = await client.post(**_post(merchant, "k2"))
    as_json = await client.post(
        "/v1/customers",
        json={"metadata": {"order": "7"}, "name": "Asha"},
        headers={**merchant.auth(), "Idempotency-Key": "k2"},
    )
    assert as_json.content == form.content
    assert as_json.headers["idempotent-replayed"] == "true"
    assert await _customers(database) == 1


async def test_other_parameters_or_route_are_refused(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    created = (await client.post(**_post(merchant, "k3"))).json()
    changed = await client.post(**_post(merchant, "k3", name="Bela"))
    assert changed.status_code == 400
    assert changed.json()["error"]["type"] == "idempotency_error"
    other_route = await client.post(
        f"/v1/customers/{created['id']}",
        content="name=Asha&metadata[order]=7",
        headers={**merchant.auth(), **FORM, "Idempotency-Key": "k3"},
    )
    assert other_route.status_code == 400
    assert other_route.json()["error"]["type"] == "idempotency_error"
    assert await _customers(database) == 1
    fetched = await client.get(f"/v1/customers/{created['id']}", headers=merchant.auth())
    assert fetched.json()["name"] == "Asha"


async def test_validation_failures_are_not_stored(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    bad = await client.post(
        "/v1/customers",
        content="nme=Asha",
        headers={**merchant.auth(), **FORM, "Idempotency-Key": "k4"},
    )
    assert bad.status_code == 400
    assert bad.json()["error"] == {
        "type": "invalid_request_error",
        "code": "parameter_unknown",
        "message": "Received unknown parameter: nme",
        "param": "nme",
    }
    good = await client.post(**_post(merchant, "k4"))
    assert good.status_code == 200
    assert "idempotent-replayed" not in good.headers
    assert await _customers(database) == 1


async def test_errors_after_execution_began_are_stored(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    missing = {
        "url": "/v1/customers/cus_doesnotexist",
        "content": "name=Asha",
        "headers": {**merchant.auth(), **FORM, "Idempotency-Key": "k5"},
    }
    first = await client.post(**missing)
    again = await client.post(**missing)
    assert first.status_code == again.status_code == 404
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"


async def test_keys_are_scoped_to_merchant_and_mode(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    other = await make_merchant(database, name="Other")
    ours = await client.post(**_post(merchant, "shared"))
    theirs = await client.post(**_post(other, "shared"))
    live = await client.post(
        "/v1/customers",
        content="name=Asha&metadata[order]=7",
        headers={**merchant.auth("sk_live"), **FORM, "Idempotency-Key": "shared"},
    )
    assert {ours.status_code, theirs.status_code, live.status_code} == {200}
    assert len({ours.json()["id"], theirs.json()["id"], live.json()["id"]}) == 3
    assert live.json()["livemode"] is True
    assert await _customers(database) == 3


async def test_key_longer_than_255_characters_is_refused(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    response = await client.post(**_post(merchant, "k" * 256))
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "idempotency_error"
    assert (await client.post(**_post(merchant, "k" * 255))).status_code == 200
    assert await _customers(database) == 1


@pytest.mark.slow
async def test_storm_of_one_key_executes_once(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    """1,000 concurrent POSTs with one key, 200 in flight: one execution, every 2xx body
    identical, the rest 409; then the same key with another body: 400, nothing executed."""
    in_flight = asyncio.Semaphore(200)

    async def one() -> httpx.Response:
        async with in_flight:
            return await client.post(**_post(merchant, "storm"))

    responses = await asyncio.gather(*(one() for _ in range(1_000)))
    statuses = Counter(response.status_code for response in responses)
    assert set(statuses) <= {200, 409}, statuses
    assert statuses[200] >= 1
    bodies = {response.content for response in responses if response.status_code == 200}
    assert len(bodies) == 1
    for response in responses:
        if response.status_code == 409:
            assert response.json()["error"]["type"] == "idempotency_error"
    assert await _customers(database) == 1
    changed = await client.post(**_post(merchant, "storm", name="Other"))
    assert changed.status_code == 400
    assert await _customers(database) == 1


async def test_concurrent_duplicate_gets_409(
    database_url: str, database: Database, api_settings: Settings
) -> None:
    """While the first request holds the key, a duplicate is refused with 409 (not queued)."""
    app = create_app(api_settings, database_url)
    entered, release = asyncio.Event(), asyncio.Event()

    @app.post("/v1/_probe/slow")
    async def slow(
        request: Request,
        session: SessionDep,
        caller: Writer,
    ) -> object:
        async def execute(_mutation: Mutation) -> Outcome:
            entered.set()
            await release.wait()
            return Outcome({"id": "probe", "object": "probe"})

        return await run_mutation(request, session, caller, None, execute)

    merchant = await make_merchant(database)
    async with _client(app) as http:
        headers = {**merchant.auth(), "Idempotency-Key": "slow"}
        first = asyncio.create_task(http.post("/v1/_probe/slow", headers=headers))
        await entered.wait()
        duplicate = await http.post("/v1/_probe/slow", headers=headers)
        assert duplicate.status_code == 409
        assert duplicate.json()["error"]["code"] == "idempotency_key_in_use"
        release.set()
        assert (await first).status_code == 200
        replay = await http.post("/v1/_probe/slow", headers=headers)
        assert replay.headers["idempotent-replayed"] == "true"


def _client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    import contextlib

    @contextlib.asynccontextmanager
    async def running() -> AsyncIterator[httpx.AsyncClient]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                yield http

    return running()  # type: ignore[return-value]


async def test_a_500_is_stored_and_replayed(
    database_url: str, database: Database, api_settings: Settings
) -> None:
    app = create_app(api_settings, database_url)
    calls = Counter[str]()

    @app.post("/v1/_probe/bug")
    async def bug(request: Request, session: SessionDep, caller: Writer) -> object:
        async def execute(_mutation: Mutation) -> Outcome:
            calls["bug"] += 1
            raise RuntimeError("a bug with card 4242424242424242")

        return await run_mutation(request, session, caller, None, execute)

    merchant = await make_merchant(database)
    async with _client(app) as http:
        headers = {**merchant.auth(), "Idempotency-Key": "bug"}
        first = await http.post("/v1/_probe/bug", headers=headers)
        second = await http.post("/v1/_probe/bug", headers=headers)
    assert first.status_code == second.status_code == 500
    assert second.content == first.content
    assert b"4242" not in first.content
    assert second.headers["idempotent-replayed"] == "true"
    assert calls["bug"] == 1


async def test_crash_after_a_recovery_point_resumes_there(
    database_url: str, database: Database, api_settings: Settings
) -> None:
    """Phase one commits a customer and a recovery point; the connection then dies (as when
    the process is killed). A retry within the lease is a duplicate in flight (409); after it,
    the retry resumes at the recovery point: one customer, finished."""
    app = create_app(api_settings, database_url)
    attempts = Counter[str]()

    @app.post("/v1/_probe/two_phases")
    async def two_phases(request: Request, session: SessionDep, caller: Writer) -> object:
        async def execute(mutation: Mutation) -> Outcome:
            attempts[mutation.recovery_point] += 1
            if mutation.recovery_point == "started":
                params = CustomerCreateParams(name="phase one", metadata={"request": "p1"})
                await customer_service.create(session, caller, params)
                await mutation.checkpoint("customer_created")
                if attempts["started"] == 1:
                    pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
                    with psycopg.connect(libpq_url(database_url), autocommit=True) as killer:
                        killer.execute("SELECT pg_terminate_backend(%s)", (pid,))
            row = (
                await session.execute(
                    select(CustomerRow).where(CustomerRow.metadata_["request"].astext == "p1")
                )
            ).scalar_one()
            row.description = "phase two"
            await session.flush()
            return Outcome(customer_object(row))

        return await run_mutation(request, session, caller, None, execute)

    merchant = await make_merchant(database)
    async with _client(app) as http:
        headers = {**merchant.auth(), "Idempotency-Key": "two"}
        crashed = await http.post("/v1/_probe/two_phases", headers=headers)
        assert crashed.status_code == 500
        early = await http.post("/v1/_probe/two_phases", headers=headers)
        assert early.status_code == 409, early.text
        with use_clock(FrozenClock(utcnow() + timedelta(seconds=RECOVERY_LEASE_S + 1))):
            resumed = await http.post("/v1/_probe/two_phases", headers=headers)
            replay = await http.post("/v1/_probe/two_phases", headers=headers)
        assert resumed.status_code == 200, resumed.text
        assert "idempotent-replayed" not in resumed.headers
        assert resumed.json()["description"] == "phase two"
        assert replay.content == resumed.content
    assert attempts == {"started": 1, "customer_created": 1}
    assert await _customers(database) == 1


async def test_keys_past_retention_are_purged(
    client: httpx.AsyncClient, merchant: TestMerchant, database_url: str, database: Database
) -> None:
    start = utcnow()
    with use_clock(FrozenClock(start - timedelta(hours=25))):
        assert (await client.post(**_post(merchant, "old"))).status_code == 200
    assert (await client.post(**_post(merchant, "new"))).status_code == 200
    app = jobs.create_job_app(database_url, [])
    async with app.open_async():
        assert await purge_idempotency_keys_on(app.connector, timedelta(hours=24)) == 1  # type: ignore[arg-type]
        assert await purge_idempotency_keys_on(app.connector, timedelta(hours=24)) == 0  # type: ignore[arg-type]
    # The old key is gone: the same key now runs as a new request.
    again = await client.post(**_post(merchant, "old"))
    assert "idempotent-replayed" not in again.headers
    assert (await client.post(**_post(merchant, "new"))).headers["idempotent-replayed"] == "true"
    assert await _customers(database) == 3


async def test_an_exhausted_pool_is_a_503_to_retry_not_a_500(
    database_url: str, database: Database, api_settings: Settings
) -> None:
    settings = api_settings.model_copy(
        update={
            "database_pool_size": 1,
            "database_pool_max_overflow": 0,
            "database_pool_timeout_s": 0.2,
        }
    )
    app = create_app(settings, database_url)
    merchant = await make_merchant(database)
    async with _client(app) as http:
        async with app.state.database.engine.connect():  # the only connection, held
            busy = await http.post(**_post(merchant, "busy"))
        assert busy.status_code == 503
        assert busy.headers["retry-after"] == "1"
        assert busy.json()["error"]["type"] == "api_error"
        retried = await http.post(**_post(merchant, "busy"))
        assert retried.status_code == 200
        assert "idempotent-replayed" not in retried.headers
    assert await _customers(database) == 1


async def test_another_secret_under_the_same_key_is_refused_not_replayed(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    """A card number is a secret (masked in every dump), yet it tells requests apart: the key's
    fingerprint is an HMAC under the ring of the parameters with their secrets revealed, so the
    same key with another card is an idempotency error, not the first card's answer replayed.
    The stored fingerprint holds no card number."""

    def card(number: str) -> dict[str, str]:
        return {
            "type": "card",
            "card[number]": number,
            "card[exp_month]": "12",
            "card[exp_year]": "2034",
        }

    headers = {**merchant.auth(), "Idempotency-Key": "k-secret"}
    first = await client.post("/v1/payment_methods", data=card("4242424242424242"), headers=headers)
    assert first.status_code == 200, first.text
    again = await client.post("/v1/payment_methods", data=card("4242424242424242"), headers=headers)
    assert again.headers.get("idempotent-replayed") == "true"
    other = await client.post("/v1/payment_methods", data=card("5555555555554444"), headers=headers)
    assert other.status_code == 400, other.text
    assert other.json()["error"]["type"] == "idempotency_error"
    async with database.unit_of_work() as session:
        stored = (
            await session.execute(
                text("SELECT params_fingerprint FROM idempotency_keys WHERE key = 'k-secret'")
            )
        ).scalar_one()
    assert b"4242424242424242" not in bytes(stored)
