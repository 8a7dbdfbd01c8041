"""The HTTP edge: health, readiness, metrics, request ids and the error envelope."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from beyondpay.app import create_app
from beyondpay.kit.settings import Settings


class Echo(BaseModel):
    amount: int
    currency: str


def _app_with_probe_routes(database_url: str) -> FastAPI:
    app = create_app(Settings(), database_url)

    @app.post("/v1/_probe/echo")
    async def echo(body: Echo) -> Echo:
        return body

    @app.get("/v1/_probe/crash")
    async def crash() -> None:
        raise RuntimeError("card 4242424242424242 must not leak")

    return app


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = _app_with_probe_routes(database_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


def _assert_envelope(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["request-id"]
    error = response.json()["error"]
    assert error["code"] == code
    assert error["type"] and error["message"]
    return error


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}


async def test_unknown_route_is_a_404_envelope(client: httpx.AsyncClient) -> None:
    error = _assert_envelope(await client.get("/v1/nothing_here"), 404, "route_not_found")
    assert "/v1/nothing_here" in str(error["message"])


async def test_wrong_method_is_a_405_envelope(client: httpx.AsyncClient) -> None:
    _assert_envelope(await client.delete("/healthz"), 405, "method_not_allowed")


async def test_malformed_json_is_a_400_envelope(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/_probe/echo", content=b'{"amount": 1', headers={"content-type": "application/json"}
    )
    _assert_envelope(response, 400, "body_malformed")


async def test_invalid_parameter_names_the_parameter(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/_probe/echo", json={"amount": "lots", "currency": "inr"})
    error = _assert_envelope(response, 400, "parameter_invalid")
    assert error["param"] == "amount"
    missing = await client.post("/v1/_probe/echo", json={"amount": 5})
    assert _assert_envelope(missing, 400, "parameter_missing")["param"] == "currency"


async def test_valid_body_passes(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/_probe/echo", json={"amount": 5, "currency": "inr"})
    assert response.status_code == 200
    assert response.json() == {"amount": 5, "currency": "inr"}


async def test_oversized_body_is_a_413_envelope(client: httpx.AsyncClient) -> None:
    big = b'{"amount": 1, "currency": "' + b"x" * (1024 * 1024) + b'"}'
    declared = await client.post(
        "/v1/_probe/echo", content=big, headers={"content-type": "application/json"}
    )
    _assert_envelope(declared, 413, "payload_too_large")

    async def chunks() -> AsyncIterator[bytes]:
        for offset in range(0, len(big), 64 * 1024):
            yield big[offset : offset + 64 * 1024]

    streamed = await client.post(
        "/v1/_probe/echo", content=chunks(), headers={"content-type": "application/json"}
    )
    _assert_envelope(streamed, 413, "payload_too_large")


async def test_unexpected_error_is_a_500_envelope_without_details(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    response = await client.get("/v1/_probe/crash")
    error = _assert_envelope(response, 500, "internal_error")
    assert "4242" not in response.text
    assert error["type"] == "api_error"
    logged = capsys.readouterr()
    assert "4242424242424242" not in logged.err + logged.out


async def test_request_id_is_generated_or_taken_from_the_caller(
    client: httpx.AsyncClient,
) -> None:
    generated = (await client.get("/healthz")).headers["request-id"]
    assert generated.startswith("req_")
    assert (await client.get("/healthz")).headers["request-id"] != generated
    mine = await client.get("/healthz", headers={"Request-Id": "trace-42"})
    assert mine.headers["request-id"] == "trace-42"
    hostile = await client.get("/healthz", headers={"Request-Id": "x y<script>" + "z" * 300})
    assert hostile.headers["request-id"].startswith("req_")


async def test_metrics_count_requests_per_route_template(client: httpx.AsyncClient) -> None:
    await client.post("/v1/_probe/echo", json={"amount": 5, "currency": "inr"})
    text = (await client.get("/metrics")).text
    assert (
        'beyondpay_http_requests_total{method="POST",route="/v1/_probe/echo",status="200"}' in text
    )
    assert "beyondpay_http_request_duration_seconds_bucket" in text


async def test_readyz_names_unapplied_migrations(postgres_server_url: str) -> None:
    import uuid

    import psycopg

    from beyondpay.db.urls import libpq_url, with_database

    name = f"beyondpay_empty_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq_url(postgres_server_url), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        app = create_app(
            Settings(), with_database(postgres_server_url, name).render_as_string(False)
        )
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                response = await http.get("/readyz")
        assert response.status_code == 503
        assert "migrations" in response.json()["reason"]
    finally:
        with psycopg.connect(libpq_url(postgres_server_url), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
