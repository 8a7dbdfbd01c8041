"""A database that refuses connections (too many clients, restarting, down) is overload the
client retries — a 503 with ``Stripe-Should-Retry`` — not a bug's 500. Nothing ran, so the same
idempotency key is safe to send again (the SDKs do)."""

from __future__ import annotations

import socket

import httpx
from fastapi import FastAPI

from beyondpay.db.session import Database
from tests.support import TestMerchant


def _closed_port() -> int:
    """A loopback port nobody listens on: a connection to it is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_refused_connection_is_a_503_the_client_retries(
    api_app: FastAPI, client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    # The running app's database goes away (a restart, every connection slot taken).
    working: Database = api_app.state.database
    refusing = Database(f"postgresql://postgres@127.0.0.1:{_closed_port()}/postgres")
    api_app.state.database = refusing
    try:
        written = await client.post(
            "/v1/customers",
            data={"email": "asha@example.in"},
            headers={**merchant.auth(), "Idempotency-Key": "refused-1"},
        )
        read = await client.get("/v1/customers", headers=merchant.auth())
    finally:
        api_app.state.database = working
        await refusing.dispose()
    for response in (written, read):
        assert response.status_code == 503, response.text
        error = response.json()["error"]
        assert error["type"] == "api_error"
        assert "Retry later" in error["message"] and "127.0.0.1" not in error["message"]
        assert response.headers["stripe-should-retry"] == "true"
        assert response.headers["retry-after"] == "1"
        assert response.headers["request-id"].startswith("req_")
