"""``beyondpay demo`` against a real server on loopback, with the worker running in it (the UPI
payer approves in the worker), as ``beyondpay serve`` runs it."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from rich.console import Console
from typer.testing import CliRunner

from beyondpay import demo
from beyondpay.cli import cli
from beyondpay.db.session import Database
from beyondpay.db.urls import libpq_url, with_database
from beyondpay.demo import REFUND_AMOUNT_MINOR, DemoError, run_demo
from beyondpay.kit.settings import Settings
from beyondpay.merchants.domain import KeyKind
from beyondpay.merchants.service import api_key_service
from tests.compat.server import CLIENT_TIMEOUT_S, new_merchant, serving
from tests.support import TEST_RING_TEXT, ring_for_tests

runner = CliRunner()


@pytest.fixture(scope="module")
def demo_database_url(postgres_server_url: str, template_database: str) -> Iterator[str]:
    name = f"beyondpay_demo_{uuid.uuid4().hex[:16]}"
    admin = libpq_url(postgres_server_url)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    yield with_database(postgres_server_url, name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def server_url(demo_database_url: str) -> Iterator[str]:
    # Module scope: one API app (and its job App) per process at a time.
    settings = Settings(
        secret_keys=TEST_RING_TEXT,
        rate_limit_test_per_key="1000/second",
        sandbox_upi_approval_delay_s=0.5,
    )
    with serving(settings, demo_database_url, run_worker=True) as url:
        yield url


async def test_demo_pays_by_card_and_upi_refunds_and_shows_each_curl(
    server_url: str, demo_database_url: str
) -> None:
    key = (await new_merchant(demo_database_url)).keys["sk_test"]
    console = Console(record=True, width=100)

    result = run_demo(server_url, key, console)

    card, upi, refund = result.card_intent, result.upi_intent, result.refund
    assert (card["status"], card["amount_received"]) == ("succeeded", card["amount"])
    assert card["payment_method_types"] == ["card"]
    assert (upi["status"], upi["amount_received"]) == ("succeeded", upi["amount"])
    assert upi["payment_method_types"] == ["upi"]
    assert refund["status"] == "succeeded"
    assert (refund["payment_intent"], refund["amount"]) == (card["id"], REFUND_AMOUNT_MINOR)
    assert result.balance["object"] == "balance"
    output = console.export_text()
    for path in (
        f"/v1/payment_intents/{card['id']}",
        f"/v1/payment_intents/{upi['id']}",
        f"/v1/refunds/{refund['id']}",
    ):
        # The printed command is whole on one line, and it fetches the object.
        assert f"curl {server_url}{path} -u {key}:" in output.splitlines()
        fetched = httpx.get(f"{server_url}{path}", auth=(key, ""), timeout=CLIENT_TIMEOUT_S)
        assert fetched.status_code == 200
        assert fetched.json()["status"] == "succeeded"
    # The subscription walkthrough: a trial's zero invoice, then the renewal's, each paid by
    # the worker, with a number and a hosted page printed; then canceling at the period's end.
    trial, renewal = result.invoices[0], result.invoices[-1]
    assert len(result.invoices) == 3
    assert (trial["total"], trial["status"]) == (0, "paid")
    assert [invoice["billing_reason"] for invoice in result.invoices] == [
        "subscription_create",
        "subscription_cycle",
        "subscription_cycle",
    ]
    assert renewal["status"] == "paid" and renewal["subtotal"] == demo.PLAN_AMOUNT_MINOR
    # GST at 18% within Maharashtra: CGST 9% + SGST 9% under the demo's GSTIN.
    assert renewal["total"] == demo.PLAN_AMOUNT_MINOR * 118 // 100
    assert renewal["gst"]["supply_type"] == "intra_state"
    assert renewal["gst"]["supplier_gstin"] == demo.DEMO_GSTIN
    subscription = result.subscription
    assert subscription["status"] == "active" and subscription["cancel_at_period_end"] is True
    for invoice in result.invoices:
        assert invoice["number"] in output and invoice["hosted_invoice_url"] in output.splitlines()
    # The page is served at the configured public URL's path (here, this server's port).
    page = httpx.get(
        f"{server_url}{httpx.URL(renewal['hosted_invoice_url']).path}", timeout=CLIENT_TIMEOUT_S
    )
    assert page.status_code == 200 and renewal["number"] in page.text


async def test_demo_says_when_the_upi_payer_does_not_approve_in_time(
    server_url: str, demo_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sandbox payer of ``expired@sandbox`` never approves. (With ``success@sandbox`` and a
    tiny timeout, a loaded machine can let the approval land before the create request
    answers: the rail answers outside the request's transaction.)"""
    key = (await new_merchant(demo_database_url)).keys["sk_test"]
    monkeypatch.setattr(demo, "UPI_TEST_VPA", "expired@sandbox")

    with pytest.raises(DemoError, match="is the worker running"):
        run_demo(server_url, key, Console(record=True), upi_timeout_s=0.5)


async def test_the_command_makes_a_merchant_with_an_admin_key(
    server_url: str, demo_database_url: str
) -> None:
    database = Database(demo_database_url, pool_size=1, max_overflow=0)
    try:
        async with database.unit_of_work() as session:
            admin = await api_key_service.issue(
                session, ring_for_tests(), merchant_id=None, kind=KeyKind.admin, livemode=True
            )
    finally:
        await database.dispose()

    # No --url: the demo goes where `beyondpay serve` listens as configured.
    served = httpx.URL(server_url)
    result = runner.invoke(
        cli,
        ["demo", "--admin-key", admin.secret],
        env={"BEYONDPAY_HOST": served.host, "BEYONDPAY_PORT": str(served.port)},
    )

    assert result.exit_code == 0, result.output
    assert "created a demo merchant" in result.output
    assert "succeeded" in result.output


def test_the_command_refuses_a_live_key() -> None:
    result = runner.invoke(cli, ["demo", "--key", "sk_live_" + "x" * 40])

    assert result.exit_code == 2
    assert "must be a test key" in result.output


def test_the_command_exits_non_zero_when_no_server_answers() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The port is closed again: nothing listens there.
    result = runner.invoke(cli, ["demo", "--url", f"http://127.0.0.1:{port}", "--key", "sk_test_x"])

    assert result.exit_code == 1
    assert f"no beyondpay server answers at http://127.0.0.1:{port}" in " ".join(
        result.output.split()
    )
