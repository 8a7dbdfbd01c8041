"""What a newcomer does in their first minutes, run by CI as they would do it (issue 27): a fresh
folder, ``make run``'s ``beyondpay serve`` with nothing configured (the embedded PostgreSQL,
made in the folder's ``.beyondpay/``), and the test key it prints; eleven ₹1 payments with
``pm_card_visa`` — all succeed, as test cards are never blocked by the default rules; then a
payer enrolled in the sandbox PSP pays a merchant VPA's QR code, and the payment appears in the
merchant's charges and balance transactions. SIGTERM stops the server and its PostgreSQL."""

from __future__ import annotations

import io
import os
import re
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import zxingcpp
from PIL import Image

from tests.psp.transfers_support import pay, ready_payer
from tests.test_serve_lifecycle import (
    Serve,
    _assert_gone,
    _free_port,
    _postgres_pid,
    _running,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

CARD_PAYMENTS = 11  # the sixth ₹1 payment in an hour was declined before issue 27
CARD_AMOUNT_MINOR = 100  # ₹1
QR_AMOUNT_MINOR = 180_00
REQUEST_TIMEOUT_S = 30.0
_PRINTED_KEY = re.compile(r"Secret\s+(sk_test_[A-Za-z0-9]+)")


@pytest.fixture
def fresh_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A new project folder (a short path: the embedded server's socket must fit in it)."""
    folder = tmp_path_factory.mktemp("newcomer")
    yield folder
    pid = _postgres_pid(folder)
    if pid is not None and _running(pid):
        os.kill(pid, signal.SIGINT)  # whatever a failed run left: PostgreSQL's fast shutdown


def _printed_key(server: Serve) -> str:
    found = _PRINTED_KEY.search(server.output())
    assert found is not None, f"serve printed no test key:\n{server.output()}"
    return found.group(1)


async def _card_payments(http: httpx.AsyncClient, key: str) -> list[str]:
    statuses = []
    for _ in range(CARD_PAYMENTS):
        answer = await http.post(
            "/v1/payment_intents",
            auth=(key, ""),
            headers={"Idempotency-Key": str(uuid.uuid4())},
            data={
                "amount": str(CARD_AMOUNT_MINOR),
                "currency": "inr",
                "payment_method": "pm_card_visa",
                "confirm": "true",
            },
        )
        assert answer.status_code == 200, answer.text
        statuses.append(answer.json()["status"])
    return statuses


async def _qr_payment(http: httpx.AsyncClient, key: str) -> dict[str, object]:
    """A payer enrolled as a payer app does it pays the merchant VPA's dynamic QR; the receipt."""
    created = await http.post(
        "/v1/upi/merchant_vpas",
        auth=(key, ""),
        data={"username": "chai.point", "merchant_category_code": "5812", "display_name": "Chai"},
    )
    assert created.status_code == 200, created.text
    qr = await http.get(
        f"/v1/upi/merchant_vpas/{created.json()['id']}/qr.png",
        auth=(key, ""),
        params={"amount": QR_AMOUNT_MINOR, "tr": "FIRST-HOUR"},
    )
    assert qr.status_code == 200, qr.text
    [decoded] = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.content)))
    payer = await ready_payer(http)
    paid = await pay(http, payer, QR_AMOUNT_MINOR, qr_payload=decoded.text)
    assert paid.status_code == 200, paid.text
    receipt: dict[str, object] = paid.json()
    assert receipt["status"] == "succeeded", receipt
    return receipt


async def test_a_newcomers_first_payments_on_a_fresh_folder(fresh_folder: Path) -> None:
    server = Serve(fresh_folder, _free_port())
    try:
        server.wait_ready()
        postgres = _postgres_pid(fresh_folder)
        assert postgres is not None, "serve started the embedded PostgreSQL in the folder"
        key = _printed_key(server)
        base_url = f"http://127.0.0.1:{server.port}"
        async with httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT_S) as http:
            assert await _card_payments(http, key) == ["succeeded"] * CARD_PAYMENTS
            receipt = await _qr_payment(http, key)

            listed = {"limit": 100}
            charges = (await http.get("/v1/charges", auth=(key, ""), params=listed)).json()
            assert len(charges["data"]) == CARD_PAYMENTS + 1
            [charge] = [
                item for item in charges["data"] if item["payment_method_details"]["type"] == "upi"
            ]
            assert (charge["amount"], charge["paid"]) == (QR_AMOUNT_MINOR, True)
            assert charge["metadata"]["upi_reference"] == "FIRST-HOUR"
            assert charge["metadata"]["upi_transaction_id"] == receipt["upi_transaction_id"]
            transactions = (
                await http.get("/v1/balance_transactions", auth=(key, ""), params=listed)
            ).json()
            [transaction] = [
                item for item in transactions["data"] if item["source"] == charge["id"]
            ]
            assert transaction["amount"] == QR_AMOUNT_MINOR
            assert len(transactions["data"]) == CARD_PAYMENTS + 1

        assert server.stop(signal.SIGTERM) == 0, server.output()
        _assert_gone(postgres)
    finally:
        server.kill()
