"""`beyondpay listen`: a real API on loopback, a real receiver on another port, real signatures.

The server runs in a thread (tests.compat.server); the tests number events by calling the
worker's job directly, so each step is deterministic without waiting for the 2-second sweep.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

import httpx
import psycopg
import pytest
import stripe
from psycopg_pool import AsyncConnectionPool
from standardwebhooks.webhooks import Webhook
from typer.testing import CliRunner

from beyondpay.cli import cli
from beyondpay.db.urls import libpq_url, with_database
from beyondpay.events.tasks import number_events_on
from beyondpay.kit.settings import Settings
from beyondpay.listen import ListenError, ListenOptions, listen, parse_event_types
from beyondpay.webhooks.signing import new_secret
from tests.compat.server import CLIENT_TIMEOUT_S, new_merchant, serving
from tests.support import TEST_RING_TEXT, TestMerchant

WAIT_S: Final = 15.0
FAST_POLL_S: Final = 0.05
SECRET_TEXT: Final = re.compile(r"whsec_[A-Za-z0-9+/=]+")
runner = CliRunner()


@pytest.fixture(scope="module")
def listen_database_url(postgres_server_url: str, template_database: str) -> Iterator[str]:
    name = f"beyondpay_listen_{uuid.uuid4().hex[:16]}"
    admin = libpq_url(postgres_server_url)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    yield with_database(postgres_server_url, name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def server_url(listen_database_url: str) -> Iterator[str]:
    # Module scope: the process holds one job App, so no other app may be open meanwhile.
    settings = Settings(secret_keys=TEST_RING_TEXT, rate_limits_enabled=False)
    with serving(settings, listen_database_url) as url:
        yield url


@pytest.fixture
async def merchant(listen_database_url: str) -> TestMerchant:
    return await new_merchant(listen_database_url)


@pytest.fixture
async def numbering(listen_database_url: str) -> AsyncIterator[AsyncConnectionPool[Any]]:
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        libpq_url(listen_database_url), min_size=1, max_size=2, open=False
    )
    await pool.open()
    try:
        yield pool
    finally:
        await pool.close()


class Receiver:
    """The local app: records each POST and answers the next status of ``statuses`` (then 200)."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers.items()), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


async def _create_customer(server_url: str, merchant: TestMerchant, email: str) -> str:
    async with httpx.AsyncClient(
        base_url=server_url, timeout=CLIENT_TIMEOUT_S, headers=merchant.auth()
    ) as api:
        response = await api.post("/v1/customers", data={"email": email})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def _delete_customer(server_url: str, merchant: TestMerchant, customer_id: str) -> None:
    async with httpx.AsyncClient(
        base_url=server_url, timeout=CLIENT_TIMEOUT_S, headers=merchant.auth()
    ) as api:
        response = await api.delete(f"/v1/customers/{customer_id}")
    assert response.status_code == 200, response.text


async def _number_until_done(
    pool: AsyncConnectionPool[Any], merchant_id: str, task: asyncio.Task[int]
) -> int:
    """Numbers the merchant's events, as the worker would, until ``listen`` has finished."""
    deadline = time.monotonic() + WAIT_S
    while not task.done():
        assert time.monotonic() < deadline, "listen did not forward the events in time"
        await number_events_on(pool, merchant_id, False)
        await asyncio.sleep(FAST_POLL_S)
    return task.result()


async def _ready(lines: list[str], task: asyncio.Task[int]) -> str:
    """Waits for the Ready line; returns the signing secret it printed."""
    deadline = time.monotonic() + WAIT_S
    while not any("Ready!" in line for line in lines):
        assert not task.done(), task.result()
        assert time.monotonic() < deadline, "listen did not start"
        await asyncio.sleep(FAST_POLL_S)
    found = SECRET_TEXT.search(lines[0])
    assert found is not None
    return found.group()


async def test_forwards_new_events_in_order_signed_for_both_verifiers(
    server_url: str,
    merchant: TestMerchant,
    numbering: AsyncConnectionPool[Any],
    receiver: Receiver,
) -> None:
    earlier = await _create_customer(server_url, merchant, "earlier@example.com")
    await number_events_on(numbering, merchant.id, False)
    lines: list[str] = []
    options = ListenOptions(
        api_key=merchant.keys["sk_test"],
        forward_to=receiver.url,
        signing_secret=new_secret(),
        api_url=server_url,
        max_events=3,
        poll_interval_s=FAST_POLL_S,
    )
    task = asyncio.create_task(listen(options, lines.append))
    secret = await _ready(lines, task)
    assert "after sequence 1" in lines[0]  # the earlier event is history: not forwarded

    created = [await _create_customer(server_url, merchant, f"c{n}@example.com") for n in range(3)]
    assert await _number_until_done(numbering, merchant.id, task) == 3

    assert len(receiver.received) == 3
    sequences = []
    for (headers, body), customer_id in zip(receiver.received, created, strict=True):
        event = stripe.Webhook.construct_event(body.decode(), headers["Stripe-Signature"], secret)
        assert event.type == "customer.created"
        assert event.data.object.id == customer_id != earlier
        verified = Webhook(secret).verify(body, headers)
        assert verified["id"] == headers["webhook-id"] == event.id
        sequences.append(verified["sequence"])
        assert any(event.id in line and "[200]" in line for line in lines)
    assert sequences == [2, 3, 4]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            receiver.received[0][1].decode(),
            receiver.received[0][0]["Stripe-Signature"],
            new_secret(),
        )


async def test_a_failed_forward_is_printed_and_the_next_event_follows(
    server_url: str,
    merchant: TestMerchant,
    numbering: AsyncConnectionPool[Any],
    receiver: Receiver,
) -> None:
    for n in range(2):
        await _create_customer(server_url, merchant, f"f{n}@example.com")
    await number_events_on(numbering, merchant.id, False)
    receiver.statuses = [500]
    lines: list[str] = []
    options = ListenOptions(
        api_key=merchant.keys["sk_test"],
        forward_to=receiver.url,
        signing_secret=new_secret(),
        api_url=server_url,
        from_sequence=0,
        max_events=2,
        poll_interval_s=FAST_POLL_S,
    )
    assert await asyncio.wait_for(listen(options, lines.append), WAIT_S) == 2
    assert "[500]" in lines[1]
    assert "[200]" in lines[2]
    assert len(receiver.received) == 2  # not retried


async def test_events_option_filters_by_type(
    server_url: str,
    merchant: TestMerchant,
    numbering: AsyncConnectionPool[Any],
    receiver: Receiver,
) -> None:
    customer_id = await _create_customer(server_url, merchant, "gone@example.com")
    await _delete_customer(server_url, merchant, customer_id)
    await number_events_on(numbering, merchant.id, False)
    lines: list[str] = []
    options = ListenOptions(
        api_key=merchant.keys["sk_test"],
        forward_to=receiver.url,
        signing_secret=new_secret(),
        api_url=server_url,
        event_types=parse_event_types("customer.deleted"),
        from_sequence=0,
        max_events=1,
        poll_interval_s=FAST_POLL_S,
    )
    assert await asyncio.wait_for(listen(options, lines.append), WAIT_S) == 1
    # customer.created came first (sequence 1) and was skipped.
    [(_, body)] = receiver.received
    event = json.loads(body)
    assert (event["type"], event["sequence"]) == ("customer.deleted", 2)
    assert event["data"]["object"]["id"] == customer_id


async def test_a_refused_key_stops_with_the_apis_message(server_url: str) -> None:
    options = ListenOptions(
        api_key="sk_test_" + "0" * 40,
        forward_to="http://127.0.0.1:9/webhooks",
        signing_secret=new_secret(),
        api_url=server_url,
    )
    with pytest.raises(ListenError, match="401"):
        await asyncio.wait_for(listen(options, lambda _line: None), WAIT_S)


def test_the_command_reads_where_serve_listens_by_default(server_url: str) -> None:
    """No --api-url: BEYONDPAY_HOST and BEYONDPAY_PORT, as `beyondpay serve` uses them (here a
    server on a port of its own, which answers the refused key)."""
    served = httpx.URL(server_url)
    result = runner.invoke(
        cli,
        ["listen", "--forward-to", "http://127.0.0.1:9/x"],
        env={
            "BEYONDPAY_API_KEY": "sk_test_" + "0" * 40,
            "BEYONDPAY_HOST": served.host,
            "BEYONDPAY_PORT": str(served.port),
        },
    )
    assert result.exit_code == 1, result.output
    assert "401" in result.output


def test_a_live_key_is_refused_without_live(merchant: TestMerchant) -> None:
    for name in ("sk_live", "rk_live"):
        key = merchant.keys.get(name, f"{name}_" + "0" * 40)
        result = runner.invoke(
            cli,
            ["listen", "--forward-to", "http://127.0.0.1:9/x"],
            env={"BEYONDPAY_API_KEY": key},
        )
        assert result.exit_code == 2
        assert "live key" in result.output
        assert key not in result.output


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (["--forward-to", "ftp://127.0.0.1/x"], "--forward-to"),
        (["--forward-to", "http://127.0.0.1:9/x", "--events", "customer*"], "--events"),
        (["--forward-to", "http://127.0.0.1:9/x", "--events", " , "], "--events"),
    ],
)
def test_bad_options_are_refused(arguments: list[str], complaint: str) -> None:
    result = runner.invoke(cli, ["listen", "--api-key", "sk_test_" + "0" * 40, *arguments], env={})
    assert result.exit_code == 2
    assert complaint in result.output


def test_an_unreachable_api_at_the_start_is_reported() -> None:
    arguments = ["--api-url", "http://127.0.0.1:9", "--forward-to", "http://127.0.0.1:9/x"]
    result = runner.invoke(cli, ["listen", *arguments], env={"BEYONDPAY_API_KEY": "sk_test_x"})
    assert result.exit_code == 1
    assert "unreachable" in result.output


def test_the_command_forwards_live_events_with_live_and_stops_on_sigterm(
    server_url: str, merchant: TestMerchant
) -> None:
    env = {**os.environ, "BEYONDPAY_API_KEY": merchant.keys["sk_live"]}
    beyondpay = Path(sys.executable).with_name("beyondpay")
    command = [str(beyondpay), "listen", "--live", "--api-url", server_url]
    process = subprocess.Popen(
        [*command, "--forward-to", "http://127.0.0.1:9/x"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # blocks until Ready! (or the process ends)
        assert "Ready!" in first, first
        assert SECRET_TEXT.search(first) is not None
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=WAIT_S)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "stopped" in output
    assert merchant.keys["sk_live"] not in first + output
