"""The official Stripe Node SDK (``stripe`` from npm) as a client of beyondpay, over real HTTP.

Each test runs one flow of ``tests/compat/node/flows.mjs`` in a Node subprocess against a
server on loopback and asserts on what the SDK returned. Without Node the tests skip, saying
so; with ``CI=true`` they fail (``.ci/run`` installs the SDK with ``npm ci``). Where Node is
present and the SDK is not installed yet, it is installed from the lock file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Final

import pytest

from tests.support import TestMerchant

NODE_DIRECTORY: Final = Path(__file__).parent / "node"
FLOW_TIMEOUT_S: Final = 60
INSTALL_TIMEOUT_S: Final = 180


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


def _flow(node: str, server_url: str, merchant: TestMerchant, name: str) -> dict[str, Any]:
    environment = {
        **os.environ,
        "BEYONDPAY_URL": server_url,
        "BEYONDPAY_KEY": merchant.keys["sk_test"],
    }
    done = subprocess.run(
        [node, "flows.mjs", name],
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
