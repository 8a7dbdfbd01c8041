"""The official Stripe Node SDK (``stripe`` from npm) as a client of beyondpay, over real HTTP.

Each test runs one flow of ``tests/compat/node/flows.mjs`` in a Node subprocess against a
server on loopback (running the worker, as production does) and asserts on what the SDK
returned: the basic card flow and errors, and issue 17's checks — a card saved with a
SetupIntent charged off-session, ``authentication_required``, ``tok_visa`` through
``POST /v1/charges``, search by metadata, a test clock advanced three days, a receipt email
whose page renders, a dispute won. Without Node the tests skip, saying
so; with ``CI=true`` they fail (``.ci/run`` installs the SDK with ``npm ci``). Where Node is
present and the SDK is not installed yet, it is installed from the lock file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Final

import pytest

from beyondpay.db.session import Database
from beyondpay.kit.settings import Settings
from tests.compat.server import new_merchant, serving
from tests.disputes.support import open_disputes
from tests.support import TEST_RING_TEXT, TestMerchant

NODE_DIRECTORY: Final = Path(__file__).parent / "node"
FLOW_TIMEOUT_S: Final = 60
INSTALL_TIMEOUT_S: Final = 180


@pytest.fixture(scope="module")
def server_url(compat_database_url: str) -> Iterator[str]:
    """This module's server: with the worker (clocks advance, receipts are sent, as in
    production) and its public URL on its own port (3-D Secure pages, receipt links)."""
    settings = Settings(secret_keys=TEST_RING_TEXT, rate_limit_test_per_key="1000/second")
    with serving(settings, compat_database_url, run_worker=True, public=True) as url:
        yield url


@pytest.fixture
async def sdk_merchant(compat_database_url: str) -> AsyncIterator[TestMerchant]:
    yield await new_merchant(compat_database_url)


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    npm = shutil.which("npm")
    if found is None or npm is None:
        reason = "Node.js and npm are not installed: the Node SDK's compat tests cannot run"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    if not (NODE_DIRECTORY / "node_modules" / "stripe").is_dir():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=NODE_DIRECTORY,
            check=True,
            timeout=INSTALL_TIMEOUT_S,
            capture_output=True,
        )
    return found


def _flow(
    node: str, server_url: str, merchant: TestMerchant, name: str, *arguments: str
) -> dict[str, Any]:
    environment = {
        **os.environ,
        "BEYONDPAY_URL": server_url,
        "BEYONDPAY_KEY": merchant.keys["sk_test"],
    }
    done = subprocess.run(
        [node, "flows.mjs", name, *arguments],
        check=False,
        cwd=NODE_DIRECTORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=FLOW_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_customers_round_trip_with_auto_paging(
    node: str, server_url: str, sdk_merchant: TestMerchant
) -> None:
    result = _flow(node, server_url, sdk_merchant, "customers")
    created = result["created"]
    assert created["object"] == "customer"
    assert created["metadata"] == {"order": "42"}
    assert result["fetched"]["id"] == created["id"]
    assert result["updated"]["name"] == "Asha"
    assert len(result["listed"]) == 4  # every page, through the SDK's auto-paging
    assert len(set(result["listed"])) == 4
    assert result["deleted"] == {"id": created["id"], "object": "customer", "deleted": True}


def test_a_card_payment_and_a_partial_refund(
    node: str, server_url: str, sdk_merchant: TestMerchant
) -> None:
    result = _flow(node, server_url, sdk_merchant, "payment")
    intent, refund = result["intent"], result["refund"]
    assert (intent["status"], intent["amount_received"]) == ("succeeded", 150000)
    assert (refund["object"], refund["amount"], refund["status"]) == ("refund", 50000, "succeeded")


def test_errors_are_the_sdk_s_own_classes(
    node: str, server_url: str, sdk_merchant: TestMerchant
) -> None:
    result = _flow(node, server_url, sdk_merchant, "errors")
    unknown, missing = result["unknown"], result["missing"]
    assert (unknown["class"], unknown["code"], unknown["param"], unknown["status"]) == (
        "StripeInvalidRequestError",
        "parameter_unknown",
        "nickname",
        400,
    )
    assert unknown["request_id"].startswith("req_")
    assert (missing["class"], missing["code"], missing["status"]) == (
        "StripeInvalidRequestError",
        "resource_missing",
        404,
    )
    declined = result["declined"]
    assert (declined["class"], declined["code"], declined["decline_code"]) == (
        "StripeCardError",
        "card_declined",
        "generic_decline",
    )
    assert (result["idempotency"]["class"], result["idempotency"]["status"]) == (
        "StripeIdempotencyError",
        400,
    )


def test_a_card_saved_with_a_setup_intent_is_charged_off_session(
    node: str, server_url: str, sdk_merchant: TestMerchant
) -> None:
    result = _flow(node, server_url, sdk_merchant, "saved_card")
    assert result["challenged"] == "requires_action"  # 3-D Secure on setup
    saved = result["saved"]
    assert (saved["object"], saved["status"], saved["usage"]) == (
        "setup_intent",
        "succeeded",
        "off_session",
    )
    assert result["payment"]["status"] == "succeeded"
    failure = result["failure"]
    assert failure is not None, "an off-session charge needing authentication succeeded"
    assert (failure["class"], failure["code"], failure["status"]) == (
        "StripeCardError",
        "authentication_required",
        402,
    )
    assert failure["intent_status"] == "requires_payment_method"


def test_tok_visa_through_charges_and_search_by_metadata(
    node: str, server_url: str, sdk_merchant: TestMerchant
) -> None:
    result = _flow(node, server_url, sdk_merchant, "legacy")
    charge = result["charge"]
    assert (charge["object"], charge["status"], charge["captured"]) == ("charge", "succeeded", True)
    assert charge["payment_method_details"]["card"]["last4"] == "4242"
    assert result["object"] == "search_result"
    assert result["found"] == [result["wanted"]]


def test_a_test_clock_advanced_three_days_makes_funds_available(
    node: str, server_url: str, sdk_merchant: TestMerchant
) -> None:
    result = _flow(node, server_url, sdk_merchant, "clock")
    assert result["advancing"] == "advancing"
    assert result["ready"]["status"] == "ready"
    assert result["ready"]["frozen_time"] == result["now"] + 3 * 86_400
    transaction = result["transaction"]
    assert transaction["status"] == "available"
    assert result["available_after"] == result["available_before"] + transaction["net"]


def test_a_receipt_email_links_to_its_page(
    node: str, server_url: str, sdk_merchant: TestMerchant
) -> None:
    result = _flow(node, server_url, sdk_merchant, "receipt")
    charge, emails = result["charge"], result["emails"]
    assert charge["receipt_url"] is not None
    assert len(emails) == 1 and emails[0]["recipients"] == ["asha@example.com"]
    assert charge["receipt_url"] in emails[0]["text"]
    assert result["page"]["status"] == 200
    assert "₹1,000.00" in result["page"]["text"]  # 1,00,000 paise


async def test_a_dispute_opened_evidence_submitted_won(
    node: str, server_url: str, sdk_merchant: TestMerchant, compat_database_url: str
) -> None:
    intent = _flow(node, server_url, sdk_merchant, "dispute_pay")
    assert intent["status"] == "succeeded"
    database = Database(compat_database_url, pool_size=1, max_overflow=1)
    try:
        await open_disputes(database)  # the network's report, its delay passed
    finally:
        await database.dispose()
    result = _flow(node, server_url, sdk_merchant, "dispute_win", intent["id"])
    assert result["opened"]["status"] == "needs_response"
    assert result["opened"]["amount"] == 100_000
    assert result["won"]["status"] == "won"
