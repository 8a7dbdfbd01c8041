"""A real API process is killed with SIGKILL between the phases of a confirmation and of a
capture (while the rail is being asked, after the recovery point committed), and the payment is
then finished exactly once: by the retry with the same Idempotency-Key, or by the
reconciliation job. Every test's ledger is verified afterwards (tests/conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.kit.settings import Settings
from beyondpay.payments import service as payments_service
from beyondpay.payments.tasks import reconcile_due_charges
from tests.payments.support import balance_and_transactions
from tests.support import TEST_RING_TEXT, TestMerchant, app_client

ROOT: Final = Path(__file__).resolve().parents[2]
RAIL_LATENCY_MS: Final = 6_000  # the window in which the process is killed
ANSWER_WAIT_S: Final = 1  # the lease and the reconciliation's patience, short for the test
SERVER_START_TIMEOUT_S: Final = 60.0
PHASE_TIMEOUT_S: Final = 30.0
CARD: Final = {
    "payment_method_data[type]": "card",
    "payment_method_data[card][number]": "4242424242424242",
    "payment_method_data[card][exp_month]": "12",
    "payment_method_data[card][exp_year]": "2040",
    "payment_method_data[card][cvc]": "123",
}


@pytest.fixture
async def retrying(database_url: str, api_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API in this process, with the same short answer wait as the killed servers."""
    async with app_client(database_url, api_settings, rail_answer_wait_s=ANSWER_WAIT_S) as http:
        yield http


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def _server(database_url: str, latency_ms: int) -> AsyncIterator[tuple[str, int]]:
    """An API process of its own; yields its URL and pid. Left running at the end: stopped."""
    port = _free_port()
    environment = {
        **os.environ,
        "BEYONDPAY_SECRET_KEYS": TEST_RING_TEXT,
        "BEYONDPAY_SANDBOX_CARD_LATENCY_MS": str(latency_ms),
        "BEYONDPAY_RAIL_ANSWER_WAIT_S": str(ANSWER_WAIT_S),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.payments.fault_server", database_url, str(port)],
        cwd=ROOT,
        env=environment,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        async with httpx.AsyncClient() as probe:
            while True:
                assert process.poll() is None, "the fault server exited while starting"
                with contextlib.suppress(httpx.HTTPError):
                    if (await probe.get(f"{url}/healthz")).status_code < 500:
                        break
                assert time.monotonic() < deadline, "the fault server did not start"
                await asyncio.sleep(0.2)
        yield url, process.pid
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=30)


async def _wait_for(
    database: Database, sent: asyncio.Task[httpx.Response], sql: str, **values: Any
) -> Any:
    deadline = time.monotonic() + PHASE_TIMEOUT_S
    while True:
        if sent.done():
            raise AssertionError(f"answered before it could be killed: {sent.result().text}")
        async with database.unit_of_work() as session:
            found = (await session.execute(text(sql), values)).scalar()
        if found is not None:
            return found
        assert time.monotonic() < deadline, f"never came: {sql}"
        await asyncio.sleep(0.05)


async def _killed_while_asking(
    database: Database,
    url: str,
    pid: int,
    merchant: TestMerchant,
    requests: list[tuple[str, dict[str, str], str, str]],
) -> list[str]:
    """Sends each (path, data, key, operation), waits until every recovery point is committed
    with its operation in flight, kills the process; returns the charges' ids."""
    async with httpx.AsyncClient(timeout=PHASE_TIMEOUT_S) as http:
        sent = [
            asyncio.create_task(
                http.post(
                    f"{url}{path}", data=data, headers={**merchant.auth(), "Idempotency-Key": key}
                )
            )
            for path, data, key, _operation in requests
        ]
        charges = [
            str(
                await _wait_for(
                    database,
                    task,
                    "SELECT id FROM charges"
                    " WHERE merchant_id = :merchant AND rail_operation = :operation",
                    merchant=merchant.id,
                    operation=operation,
                )
            )
            for task, (_path, _data, _key, operation) in zip(sent, requests, strict=True)
        ]
        os.kill(pid, signal.SIGKILL)
        for task in sent:
            with pytest.raises(httpx.HTTPError):
                await task
    return charges


async def _rail_operations(database: Database, request_id: str) -> int:
    async with database.unit_of_work() as session:
        found = await session.execute(
            text("SELECT count(*) FROM sandbox_rail_operations WHERE request_id = :id"),
            {"id": request_id},
        )
        return int(found.scalar_one())


async def _charge(database: Database, charge_id: str) -> dict[str, Any]:
    async with database.unit_of_work() as session:
        row = (
            await session.execute(
                text(
                    "SELECT status, captured, amount_captured, rail_operation, payment_intent_id"
                    " FROM charges WHERE id = :id"
                ),
                {"id": charge_id},
            )
        ).one()
    return dict(row._mapping)


async def _intent_charges(database: Database, intent_id: str) -> int:
    async with database.unit_of_work() as session:
        found = await session.execute(
            text("SELECT count(*) FROM charges WHERE payment_intent_id = :id"), {"id": intent_id}
        )
        return int(found.scalar_one())


async def _balance_matches(http: httpx.AsyncClient, merchant: TestMerchant) -> dict[str, int]:
    balance, sums = await balance_and_transactions(http, merchant)
    assert balance == sums
    return balance


@pytest.mark.xdist_group("fault_servers")
async def test_a_confirmation_killed_between_its_phases_is_finished_once_by_its_retry(
    database_url: str, database: Database, merchant: TestMerchant, retrying: httpx.AsyncClient
) -> None:
    data = {"amount": "10000", "currency": "inr", "confirm": "true", **CARD}
    async with _server(database_url, RAIL_LATENCY_MS) as (url, pid):
        [charge_id] = await _killed_while_asking(
            database,
            url,
            pid,
            merchant,
            [("/v1/payment_intents", data, "k-confirm", "authorize")],
        )
    # Killed between the phases: committed as asked, the answer never applied (the rail is
    # most likely still sleeping its latency; if the loaded machine let it answer, the window
    # is the other one between the phases, and the outcome must be the same).
    killed = await _charge(database, charge_id)
    assert (killed["status"], killed["rail_operation"]) == ("pending", "authorize")
    headers = {**merchant.auth(), "Idempotency-Key": "k-confirm"}
    await asyncio.sleep(ANSWER_WAIT_S + 0.2)  # the dead request's lease runs out
    retried = await retrying.post("/v1/payment_intents", data=data, headers=headers)
    assert retried.status_code == 200, retried.text
    again = await retrying.post("/v1/payment_intents", data=data, headers=headers)
    intent = retried.json()
    assert intent["status"] == "succeeded" and intent["latest_charge"] == charge_id
    assert again.content == retried.content
    assert again.headers["idempotent-replayed"] == "true"
    assert await _rail_operations(database, charge_id) == 1
    assert await _intent_charges(database, intent["id"]) == 1
    assert (await _balance_matches(retrying, merchant))["pending"] == 10_000 - 200


@pytest.mark.xdist_group("fault_servers")
async def test_a_confirmation_and_a_capture_killed_between_phases_are_finished_by_reconciliation(
    database_url: str,
    database: Database,
    merchant: TestMerchant,
    api_settings: Settings,
    retrying: httpx.AsyncClient,
) -> None:
    confirm = {"amount": "10000", "currency": "inr", "confirm": "true", **CARD}
    manual = {**confirm, "amount": "20000", "capture_method": "manual"}
    held = await retrying.post("/v1/payment_intents", data=manual, headers=merchant.auth())
    assert held.json()["status"] == "requires_capture", held.text
    capture_path = f"/v1/payment_intents/{held.json()['id']}/capture"
    async with _server(database_url, RAIL_LATENCY_MS) as (url, pid):
        # Both in flight on one process, then it is killed.
        confirmed, captured = await _killed_while_asking(
            database,
            url,
            pid,
            merchant,
            [
                ("/v1/payment_intents", confirm, "k-1", "authorize"),
                (capture_path, {"amount_to_capture": "15000"}, "k-2", "capture"),
            ],
        )
    assert captured == held.json()["latest_charge"]
    assert (await _charge(database, confirmed))["rail_operation"] == "authorize"
    assert (await _charge(database, captured))["rail_operation"] == "capture"
    # The worker's reconciliation, once the answer wait has passed: each asked again once.
    payments_service.configure(api_settings.model_copy(update={"rail_answer_wait_s": 1}))
    await asyncio.sleep(ANSWER_WAIT_S + 0.2)
    assert await reconcile_due_charges(database) == 2
    assert await reconcile_due_charges(database) == 0
    first, second = await _charge(database, confirmed), await _charge(database, captured)
    assert (first["status"], first["rail_operation"]) == ("succeeded", None)
    assert (second["captured"], second["amount_captured"], second["rail_operation"]) == (
        True,
        15_000,
        None,
    )
    assert await _rail_operations(database, confirmed) == 1
    assert await _rail_operations(database, f"{captured}:capture") == 1
    # The retry of the capture finds it applied and answers it.
    retried = await retrying.post(
        capture_path,
        data={"amount_to_capture": "15000"},
        headers={**merchant.auth(), "Idempotency-Key": "k-2"},
    )
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "succeeded"
    assert retried.json()["amount_received"] == 15_000
    assert (await _balance_matches(retrying, merchant))["pending"] == (10_000 - 200) + (
        15_000 - 300
    )
