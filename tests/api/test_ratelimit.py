"""Rate limits per key and per IP: in process, shared through Redis, and open when Redis fails."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import redis.asyncio
import structlog
from fastapi import FastAPI
from prometheus_client import REGISTRY
from pydantic import ValidationError

from beyondpay.api.ratelimit import STORAGE_RETRY_AFTER_S, STORAGE_TIMEOUT_S, ip_identifier
from beyondpay.app import create_app
from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock
from beyondpay.kit.settings import Settings
from tests.support import TEST_RING_TEXT, TestMerchant, make_merchant

FORM = {"content-type": "application/x-www-form-urlencoded"}
# Limits per minute: a window no test run outlasts, so counts do not depend on the machine's speed.
UNLIMITED = "100000/minute"


def _settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "secret_keys": TEST_RING_TEXT,
        "rate_limit_live_per_key": UNLIMITED,
        "rate_limit_test_per_key": UNLIMITED,
        "rate_limit_per_ip": UNLIMITED,
        **overrides,
    }
    return Settings(**values)


@contextlib.asynccontextmanager
async def _running(settings: Settings, database_url: str) -> AsyncIterator[FastAPI]:
    app = create_app(settings, database_url)
    async with app.router.lifespan_context(app):
        yield app


def _client(app: FastAPI, ip: str = "10.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def _fail_open_count(reason: str) -> float:
    value = REGISTRY.get_sample_value("beyondpay_rate_limit_fail_open_total", {"reason": reason})
    return value or 0.0


def _assert_rate_limited(response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    assert response.json() == {
        "error": {
            "type": "rate_limit_error",
            "code": "rate_limit",
            "message": response.json()["error"]["message"],
        }
    }
    assert response.headers["request-id"]
    retry_after_s = int(response.headers["retry-after"])
    assert retry_after_s >= 1
    return retry_after_s


async def test_the_request_after_the_limit_gets_429_with_retry_after(
    database_url: str, merchant: TestMerchant
) -> None:
    settings = _settings(rate_limit_test_per_key="3/minute")
    async with _running(settings, database_url) as app, _client(app) as client:
        for _ in range(3):
            allowed = await client.get("/v1/customers", headers=merchant.auth())
            assert allowed.status_code == 200, allowed.text
        refused = await client.get("/v1/customers", headers=merchant.auth())
        retry_after_s = _assert_rate_limited(refused)
        assert retry_after_s <= 60
        assert "API key" in refused.json()["error"]["message"]


async def test_each_key_has_its_own_limit_and_live_keys_a_higher_one(
    database_url: str, database: Database
) -> None:
    acme = await make_merchant(database, restricted_scopes=("customers:read",))
    other = await make_merchant(database, name="Other")
    settings = _settings(rate_limit_test_per_key="2/minute", rate_limit_live_per_key="4/minute")
    async with _running(settings, database_url) as app, _client(app) as client:

        async def statuses(headers: dict[str, str], count: int) -> list[int]:
            return [
                (await client.get("/v1/customers", headers=headers)).status_code
                for _ in range(count)
            ]

        assert await statuses(acme.auth("sk_test"), 3) == [200, 200, 429]
        # The same merchant's other keys, and another merchant's, count on their own.
        assert await statuses(acme.auth("rk_test"), 3) == [200, 200, 429]
        assert await statuses(other.auth("sk_test"), 2) == [200, 200]
        assert await statuses(acme.auth("sk_live"), 5) == [200, 200, 200, 200, 429]
        assert await statuses(acme.auth("sk_test"), 1) == [429]


async def test_ip_limit_applies_before_authentication(
    database_url: str, merchant: TestMerchant
) -> None:
    settings = _settings(rate_limit_per_ip="3/minute")
    async with (
        _running(settings, database_url) as app,
        _client(app, "10.0.0.1") as flooder,
        _client(app, "10.0.0.2") as neighbour,
    ):
        for headers in ({}, {"Authorization": "Bearer sk_test_guess"}, {}):
            unauthenticated = await flooder.get("/v1/customers", headers=headers)
            assert unauthenticated.status_code == 401
        refused = await flooder.get("/v1/customers", headers=merchant.auth())
        _assert_rate_limited(refused)
        assert "IP address" in refused.json()["error"]["message"]
        assert (await flooder.get("/v1/customers")).status_code == 429
        assert (await neighbour.get("/v1/customers", headers=merchant.auth())).status_code == 200


async def test_a_refused_post_is_not_stored_under_its_idempotency_key(
    database_url: str, merchant: TestMerchant
) -> None:
    settings = _settings(rate_limit_test_per_key="1/second")
    post: dict[str, Any] = {
        "url": "/v1/customers",
        "content": "name=Asha",
        "headers": {**merchant.auth(), **FORM, "Idempotency-Key": "order-7"},
    }
    async with _running(settings, database_url) as app, _client(app) as client:
        assert (await client.get("/v1/customers", headers=merchant.auth())).status_code == 200
        refused = await client.post(**post)
        retry_after_s = _assert_rate_limited(refused)
        await asyncio.sleep(retry_after_s + 0.05)

        executed = await client.post(**post)
        assert executed.status_code == 200, executed.text
        assert "idempotent-replayed" not in executed.headers
        assert executed.json()["object"] == "customer"
        await asyncio.sleep(1.05)

        replayed = await client.post(**post)
        assert replayed.headers["idempotent-replayed"] == "true"
        assert replayed.content == executed.content


async def test_limits_are_shared_by_processes_through_redis(
    database_url: str, merchant: TestMerchant, redis_url: str
) -> None:
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    settings = _settings(
        redis_url=redis_url, redis_key_prefix=prefix, rate_limit_test_per_key="3/minute"
    )
    try:
        async with (
            _running(settings, database_url) as first_app,
            _running(settings, database_url) as second_app,
            _client(first_app) as first,
            _client(second_app) as second,
        ):
            assert (await first.get("/v1/customers", headers=merchant.auth())).status_code == 200
            assert (await second.get("/v1/customers", headers=merchant.auth())).status_code == 200
            assert (await first.get("/v1/customers", headers=merchant.auth())).status_code == 200
            _assert_rate_limited(await second.get("/v1/customers", headers=merchant.auth()))
            _assert_rate_limited(await first.get("/v1/customers", headers=merchant.auth()))
    finally:
        client = redis.asyncio.Redis.from_url(redis_url)
        stored = [key async for key in client.scan_iter(match=f"{prefix}:*")]
        assert stored, "the counters were kept in Redis"
        await client.delete(*stored)
        await client.aclose()


async def test_requests_are_served_when_redis_is_down(
    database_url: str, merchant: TestMerchant
) -> None:
    # A closed port, and a password that must not reach a log line.
    settings = _settings(
        redis_url="redis://:hunter2-secret@127.0.0.1:1/0",
        rate_limit_test_per_key="1/minute",
        rate_limit_per_ip="1/minute",
    )
    errors_before = _fail_open_count("error")
    resting_before = _fail_open_count("resting")
    clock = FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
    async with _running(settings, database_url) as app, _client(app) as client:
        with use_clock(clock), structlog.testing.capture_logs() as logs:
            for _ in range(3):
                listed = await client.get("/v1/customers", headers=merchant.auth())
                assert listed.status_code == 200, listed.text
            created = await client.post(
                "/v1/customers",
                content="name=Asha",
                headers={**merchant.auth(), **FORM, "Idempotency-Key": "k1"},
            )
            assert created.status_code == 200, created.text
            assert created.json()["name"] == "Asha"
            # One failed call, then Redis is left alone: the other checks are skipped.
            assert _fail_open_count("error") == errors_before + 1
            assert _fail_open_count("resting") == resting_before + 7

            clock.advance(STORAGE_RETRY_AFTER_S)
            assert (await client.get("/v1/customers", headers=merchant.auth())).status_code == 200
            assert _fail_open_count("error") == errors_before + 2

    warnings = [entry for entry in logs if entry["event"] == "rate_limit_storage_unavailable"]
    assert len(warnings) == 1  # logged when the outage starts, not per request
    assert warnings[0]["log_level"] == "warning"
    assert warnings[0]["error_type"] == "ConnectionError"
    assert "hunter2" not in repr(logs)
    assert "127.0.0.1:1" not in repr(logs)


async def test_a_redis_that_hangs_costs_one_bounded_wait(
    database_url: str, merchant: TestMerchant
) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # answers nothing; returns when the client gives up
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = _settings(redis_url=f"redis://127.0.0.1:{port}/0")
    timeouts_before = _fail_open_count("timeout")
    clock = FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
    try:
        async with _running(settings, database_url) as app, _client(app) as client:
            with use_clock(clock):
                for _ in range(4):
                    started = time.perf_counter()
                    response = await client.get("/v1/customers", headers=merchant.auth())
                    assert response.status_code == 200
                    # The request's own work is fast; a wait on Redis would show as seconds.
                    assert time.perf_counter() - started < STORAGE_TIMEOUT_S + 2
        assert _fail_open_count("timeout") == timeouts_before + 1
    finally:
        server.close()


def test_ipv6_clients_count_per_64_and_mapped_ipv4_as_ipv4() -> None:
    assert ip_identifier("2001:db8:1:2:aaaa::1") == ip_identifier("2001:db8:1:2:bbbb::9")
    assert ip_identifier("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert ip_identifier("2001:db8:1:2::1") != ip_identifier("2001:db8:1:3::1")
    assert ip_identifier("::ffff:10.0.0.1") == "10.0.0.1"
    assert ip_identifier("10.0.0.1") == "10.0.0.1"
    assert ip_identifier("testclient") == "testclient"


def test_rate_settings_are_checked() -> None:
    with pytest.raises(ValidationError, match="rate_limit_per_ip"):
        Settings(rate_limit_per_ip="lots")
    assert Settings(rate_limit_per_ip="").rate_limit_per_ip == ""  # no per-IP limit
    assert Settings(rate_limit_live_per_key="100/second;5000/minute").rate_limits_enabled


async def test_limits_can_be_turned_off(database_url: str, merchant: TestMerchant) -> None:
    settings = _settings(rate_limits_enabled=False, rate_limit_test_per_key="1/minute")
    async with _running(settings, database_url) as app, _client(app) as client:
        assert app.state.rate_limiter is None
        for _ in range(3):
            assert (await client.get("/v1/customers", headers=merchant.auth())).status_code == 200
