"""A refusal Stripe would call a decline is one error type on every PSP route: ``402`` with type
``card_error``, whatever refused the money (the UPI PIN, the debit card check, a limit, risk, the
switch or the payer's bank); every other refusal keeps its own type (docs/psp.md, "Errors")."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import httpx

import beyondpay.psp
from beyondpay.kit.errors import BeyondpayError
from tests.psp.support import post, random_mobile
from tests.psp.transfers_support import PIN, card, pay, ready_payer


def _psp_error_classes() -> list[type[BeyondpayError]]:
    """Every error class the PSP's parts define (``errors.py`` and the rest)."""
    found: set[type[BeyondpayError]] = set()
    for module in pkgutil.walk_packages(beyondpay.psp.__path__, "beyondpay.psp."):
        for value in vars(importlib.import_module(module.name)).values():
            if (
                isinstance(value, type)
                and issubclass(value, BeyondpayError)
                and value.__module__.startswith("beyondpay.psp.")
            ):
                found.add(value)
    return sorted(found, key=lambda each: each.__qualname__)


def test_every_402_of_the_psp_is_a_card_error_and_nothing_else_is() -> None:
    classes = _psp_error_classes()
    assert any(each.__name__ == "PinInvalidError" for each in classes)  # the scan finds them
    wrong = [
        f"{each.__module__}.{each.__qualname__}: {each.status} {each.type}"
        for each in classes
        if (each.status == 402) != (each.type == "card_error")
    ]
    assert not wrong, "\n".join(wrong)


def _declined(answer: httpx.Response, code: str) -> dict[str, Any]:
    assert answer.status_code == 402, answer.text
    error: dict[str, Any] = answer.json()["error"]
    assert (error["type"], error["code"]) == ("card_error", code)
    return error


async def test_declines_on_pay_balance_pin_and_collect_are_card_errors(
    client: httpx.AsyncClient,
) -> None:
    asha = await ready_payer(client)
    ravi = await ready_payer(client, name="Ravi Kumar")

    wrong_pin = _declined(
        await pay(client, asha, 100_00, vpa=ravi.vpa, pin="9731"), "incorrect_pin"
    )
    assert wrong_pin["decline_code"] == wrong_pin["npci_code"] == "ZM"
    balance = await post(
        client,
        f"/v1/psp/bank_accounts/{asha.bank_account}/balance",
        {"pin": "8642"},
        headers=asha.headers,
    )
    _declined(balance, "incorrect_pin")
    # Bound today, Asha's device may pay ₹5,000 in all: more is over a limit (Z8).
    over = _declined(await pay(client, asha, 6_000_00, vpa=ravi.vpa), "new_device_limit_exceeded")
    assert over["npci_code"] == "Z8"
    wrong_card = await post(
        client,
        f"/v1/psp/bank_accounts/{asha.bank_account}/pin",
        {"pin": "2468", **card(asha.payer), "card_last6": "000000"},
        headers=asha.headers,
    )
    _declined(wrong_card, "card_verification_failed")

    # A collect request the payer's bank refuses to pay: the failed request beside the error.
    # (A mobile number ending in 1 opens its sandbox accounts with ₹500.)
    poor = await ready_payer(client, name="Meera Iyer", mobile=random_mobile()[:-1] + "1")
    asked = await post(
        client,
        "/v1/psp/collect_requests",
        {"vpa": poor.vpa, "amount": 600_00, "note": "tickets"},
        headers=ravi.headers,
    )
    assert asked.status_code == 200, asked.text
    approved = await post(
        client,
        f"/v1/psp/collect_requests/{asked.json()['id']}/approve",
        {"pin": PIN},
        headers=poor.headers,
    )
    refused = _declined(approved, "upi_declined")
    assert (refused["decline_code"], refused["npci_code"]) == ("Z9", "Z9")
    assert refused["collect_request"]["id"] == asked.json()["id"]
    assert refused["collect_request"]["status"] == "failed"
    kept = await client.get(
        f"/v1/psp/transactions/{refused['collect_request']['transaction']}", headers=poor.headers
    )
    assert kept.json()["status"] == "failed"


async def test_what_is_not_a_decline_keeps_its_type(client: httpx.AsyncClient) -> None:
    asha = await ready_payer(client)
    ravi = await ready_payer(client, name="Ravi Kumar")
    # A number ending in an even digit has an account at each sandbox bank: link the second one
    # and pay from it before it has a UPI PIN.
    linked = await post(
        client,
        "/v1/psp/bank_accounts",
        {"bank": "sbx2", **card(asha.payer)},
        headers=asha.headers,
    )
    assert linked.status_code == 200, linked.text
    no_pin = await pay(client, asha, 100_00, vpa=ravi.vpa, bank_account=linked.json()["id"])
    assert no_pin.status_code == 400, no_pin.text
    error = no_pin.json()["error"]
    assert (error["type"], error["code"]) == ("invalid_request_error", "pin_not_set")

    frozen = await post(client, "/v1/psp/freeze", {}, headers=asha.headers)
    assert frozen.status_code == 200, frozen.text
    refused = await pay(client, asha, 100_00, vpa=ravi.vpa)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["type"] == "permission_error"
