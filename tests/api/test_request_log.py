"""One log line per request: method, route template, status, duration, request id and the
caller's merchant, at info level, and nothing secret (docs/operations.md, "Logs")."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import httpx
import pytest

from beyondpay.kit.logging import NOISY_LOGGERS, configure_logging
from beyondpay.kit.settings import LogFormat, Settings
from tests.support import TEST_RING_TEXT, TestMerchant

CARD_NUMBER = "4000056655665556"
VPA = "asha.rao@okaxis"
YEAR_FUTURE = "2035"


@pytest.fixture
def api_settings() -> Settings:
    return Settings(
        secret_keys=TEST_RING_TEXT, rate_limits_enabled=False, log_format=LogFormat.json
    )


def _request_lines(capsys: pytest.CaptureFixture[str]) -> tuple[list[dict[str, Any]], str]:
    captured = capsys.readouterr()
    text = captured.err + captured.out
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("event") == "request":
                lines.append(record)
    return lines, text


async def test_each_request_logs_one_line_with_its_route_and_caller(
    client: httpx.AsyncClient, merchant: TestMerchant, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    headers = {**merchant.auth(), "Idempotency-Key": str(uuid.uuid4())}
    created = await client.post(
        "/v1/customers",
        headers=headers,
        data={"name": "Asha Rao", "metadata[vpa]": VPA, "metadata[card]": CARD_NUMBER},
    )
    assert created.status_code == 200, created.text
    customer = created.json()["id"]
    card = await client.post(
        "/v1/payment_methods",
        headers={**merchant.auth(), "Idempotency-Key": str(uuid.uuid4())},
        data={
            "type": "card",
            "card[number]": CARD_NUMBER,
            "card[exp_month]": "8",
            "card[exp_year]": YEAR_FUTURE,
            "card[cvc]": "123",
        },
    )
    assert card.status_code == 200, card.text
    fetched = await client.get(f"/v1/customers/{customer}", headers=merchant.auth())
    anonymous = await client.get(f"/v1/customers/{customer}")
    unknown = await client.get("/v1/no_such_route")

    lines, text = _request_lines(capsys)
    by_request = {line["request_id"]: line for line in lines}
    assert len(by_request) == len(lines) == 5, lines
    read = by_request[fetched.headers["request-id"]]
    assert read["level"] == "info"
    assert read["method"] == "GET"
    assert read["route"] == "/v1/customers/{customer}"
    assert read["status"] == fetched.status_code == 200
    assert isinstance(read["duration_ms"], float) and read["duration_ms"] >= 0
    assert read["merchant"] == merchant.id and read["livemode"] is False
    write = by_request[created.headers["request-id"]]
    assert (write["method"], write["route"], write["status"]) == ("POST", "/v1/customers", 200)
    assert write["merchant"] == merchant.id
    refused = by_request[anonymous.headers["request-id"]]
    assert refused["status"] == 401 and "merchant" not in refused
    missing = by_request[unknown.headers["request-id"]]
    assert (missing["route"], missing["status"]) == ("unmatched", 404)
    # Neither the key, nor the card, nor the VPA, nor the customer's id in the path.
    for secret in (merchant.keys["sk_test"], CARD_NUMBER, VPA):
        assert all(secret not in json.dumps(line) for line in lines), secret
    for secret in (merchant.keys["sk_test"], CARD_NUMBER, VPA):
        assert secret not in text, secret
    assert all(customer not in line["route"] for line in lines)


def test_noisy_libraries_log_warnings_only() -> None:
    configure_logging("info")
    assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
    for name in NOISY_LOGGERS:
        assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING, name
    assert logging.getLogger("beyondpay").getEffectiveLevel() == logging.INFO


def test_a_payers_line_names_the_payer_and_never_a_credentials_fingerprint() -> None:
    from structlog.testing import capture_logs

    from beyondpay.api.middleware import _log_request
    from beyondpay.merchants.domain import Caller, KeyKind

    def payer(scope_id: str) -> Caller:
        return Caller("ses_1", KeyKind.payer, True, scope_id, None)

    with capture_logs() as records:
        for caller in (payer("pyr_123"), payer("psp_" + "ab" * 20), None):
            scope = {"method": "POST", "state": {"caller": caller}}
            _log_request(scope, "/v1/psp/pay", 200, 0.0125)
    assert [record.get("payer") for record in records] == ["pyr_123", None, None]
    assert all("merchant" not in record for record in records)
    assert records[0]["duration_ms"] == 12.5 and records[0]["log_level"] == "info"
