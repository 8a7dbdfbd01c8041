"""The calls legacy integrations and test suites still make, over HTTP on the sandbox rails:
tokens (``POST /v1/tokens``, ``tok_visa``, ``card[token]``), ``POST /v1/charges`` with
``source`` and its capture. The ledger is verified after each test (tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from tests.payments.support import balance_and_transactions, get, post
from tests.support import TestMerchant

CARD = {"number": "4242424242424242", "exp_month": "12", "exp_year": "2040", "cvc": "123"}


async def _token(client: httpx.AsyncClient, merchant: TestMerchant, **card: str) -> dict[str, Any]:
    fields = {f"card[{key}]": value for key, value in {**CARD, **card}.items()}
    response = await post(client, merchant, "/v1/tokens", **fields)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def _charge(
    client: httpx.AsyncClient, merchant: TestMerchant, status: int = 200, **params: Any
) -> dict[str, Any]:
    body = {"amount": "5000", "currency": "inr", **params}
    response = await post(client, merchant, "/v1/charges", **body)
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_a_token_is_a_card_in_the_vault_charged_once(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    token = await _token(client, merchant, name="Asha Rao", address_zip="560001")
    assert token["object"] == "token" and token["id"].startswith("tok_")
    assert (token["type"], token["used"], token["livemode"]) == ("card", False, False)
    card = token["card"]
    assert card["id"].startswith("card_") and card["object"] == "card"
    assert (card["brand"], card["last4"], card["exp_month"], card["exp_year"]) == (
        "Visa",
        "4242",
        12,
        2040,
    )
    assert (card["cvc_check"], card["name"], card["address_zip"]) == ("pass", "Asha Rao", "560001")
    assert "4242424242424242" not in str(token) and "123" not in str(card)
    charge = await _charge(client, merchant, source=token["id"], description="Order 9")
    assert (charge["status"], charge["captured"], charge["paid"]) == ("succeeded", True, True)
    assert charge["payment_method_details"]["card"]["last4"] == "4242"
    assert charge["description"] == "Order 9"
    assert (await get(client, merchant, f"/v1/tokens/{token['id']}"))["used"] is True
    again = await _charge(client, merchant, 400, source=token["id"])
    assert again["error"]["code"] == "token_already_used"
    assert again["error"]["param"] == "source"
    assert again["error"]["message"] == (
        f"You cannot use a Stripe token more than once: {token['id']}."
    )
    async with database.unit_of_work() as session:
        stored = await session.execute(text("SELECT row_to_json(tokens)::text FROM tokens"))
        methods = await session.execute(
            text("SELECT row_to_json(payment_methods)::text FROM payment_methods")
        )
        dumped = " ".join([*stored.scalars(), *methods.scalars()])
    assert "4242424242424242" not in dumped and '"123"' not in dumped


async def test_tokens_are_refused_in_live_mode_and_bad_cards_name_the_parameter(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    fields = {f"card[{key}]": value for key, value in CARD.items()}
    live = await client.post("/v1/tokens", data=fields, headers=merchant.auth("sk_live"))
    assert live.status_code == 403, live.text
    assert live.json()["error"]["code"] == "tokens_test_mode_only"
    bad = await post(
        client, merchant, "/v1/tokens", **{**fields, "card[number]": "4242424242424241"}
    )
    assert (bad.status_code, bad.json()["error"]["param"]) == (402, "card[number]")
    missing = await post(client, merchant, "/v1/tokens", **{"card[number]": CARD["number"]})
    assert missing.status_code == 400 and "card" in missing.json()["error"]["param"]
    publishable = await client.post("/v1/tokens", data=fields, headers=merchant.auth("pk_test"))
    # Stripe.js made tokens with a publishable key; here no route admits one (yet).
    assert publishable.status_code == 403, publishable.text
    unknown = await client.get("/v1/tokens/tok_nothing", headers=merchant.auth())
    assert unknown.status_code == 404


async def test_test_tokens_charge_and_decline_as_their_cards(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    first = await _charge(client, merchant, source="tok_visa", **{"metadata[order]": "42"})
    second = await _charge(client, merchant, source="tok_visa")  # reusable, as Stripe's
    assert first["status"] == second["status"] == "succeeded"
    assert first["metadata"] == {"order": "42"}
    assert first["payment_intent"].startswith("pi_")
    mastercard = await _charge(client, merchant, source="tok_mastercard")
    assert mastercard["payment_method_details"]["card"]["brand"] == "mastercard"
    declined = await _charge(client, merchant, 402, source="tok_chargeDeclinedInsufficientFunds")
    error = declined["error"]
    assert (error["type"], error["code"], error["decline_code"]) == (
        "card_error",
        "card_declined",
        "insufficient_funds",
    )
    failed = await get(client, merchant, f"/v1/charges/{error['charge']}")
    assert failed["status"] == "failed" and "payment_intent" not in error
    secured = await _charge(client, merchant, 402, source="tok_threeDSecure2Required")
    assert secured["error"]["decline_code"] == "authentication_required"
    abandoned = await get(client, merchant, f"/v1/charges/{secured['error']['charge']}")
    assert abandoned["status"] == "failed"
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums


async def test_charge_sources_are_checked(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    missing = await _charge(client, merchant, 400)
    assert missing["error"]["param"] == "source"
    unknown = await _charge(client, merchant, 404, source="tok_unknown")
    assert unknown["error"]["param"] == "source"
    by_method = await _charge(client, merchant, source="pm_card_visa")
    assert by_method["status"] == "succeeded"
    upi = await _charge(client, merchant, 400, source="pm_upi_success")
    assert upi["error"]["param"] == "source"
    live = await client.post(
        "/v1/charges",
        data={"amount": "100", "currency": "inr", "source": "tok_visa"},
        headers=merchant.auth("sk_live"),
    )
    assert (live.status_code, live.json()["error"]["param"]) == (404, "source")


async def test_card_token_makes_a_payment_method_and_its_card_id_charges_with_the_customer(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    customer = (await post(client, merchant, "/v1/customers", name="Asha")).json()["id"]
    token = await _token(client, merchant)
    created = await post(
        client,
        merchant,
        "/v1/payment_methods",
        type="card",
        customer=customer,
        **{"card[token]": token["id"], "metadata[source]": "token"},
    )
    assert created.status_code == 200, created.text
    method = created.json()
    assert (method["customer"], method["card"]["last4"]) == (customer, "4242")
    assert method["metadata"] == {"source": "token"}
    reused = await post(
        client, merchant, "/v1/payment_methods", type="card", **{"card[token]": token["id"]}
    )
    assert reused.json()["error"]["code"] == "token_already_used"
    both = await post(
        client,
        merchant,
        "/v1/payment_methods",
        type="card",
        **{"card[token]": "tok_visa", "card[number]": CARD["number"]},
    )
    assert (both.status_code, both.json()["error"]["param"]) == (400, "card[number]")
    magic = await post(
        client, merchant, "/v1/payment_methods", type="card", **{"card[token]": "tok_amex"}
    )
    assert magic.json()["card"]["brand"] == "amex"
    by_data = await post(
        client,
        merchant,
        "/v1/payment_intents",
        amount="700",
        currency="inr",
        confirm="true",
        **{"payment_method_data[type]": "card", "payment_method_data[card][token]": "tok_visa"},
    )
    assert by_data.json()["status"] == "succeeded", by_data.text
    card_id = token["card"]["id"]

    charged = await _charge(client, merchant, source=card_id, customer=customer)
    assert (charged["status"], charged["customer"]) == ("succeeded", customer)
    assert charged["payment_method"] == method["id"]
    alone = await _charge(client, merchant, 400, source=card_id)
    assert alone["error"]["param"] == "customer"


async def test_an_authorized_charge_is_captured_once(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    held = await _charge(client, merchant, source="tok_visa", capture="false")
    assert (held["status"], held["captured"], held["amount_captured"]) == ("succeeded", False, 0)
    path = f"/v1/charges/{held['id']}/capture"
    too_much = await post(client, merchant, path, amount="6000")
    assert (too_much.status_code, too_much.json()["error"]["param"]) == (400, "amount")
    captured = await post(client, merchant, path, amount="3000")
    assert captured.status_code == 200, captured.text
    charge = captured.json()
    assert (charge["captured"], charge["amount_captured"]) == (True, 3000)
    twice = await post(client, merchant, path)
    assert twice.json()["error"]["code"] == "charge_already_captured"
    intent = await get(client, merchant, f"/v1/payment_intents/{charge['payment_intent']}")
    assert (intent["status"], intent["amount_received"]) == ("succeeded", 3000)
    manual = await post(
        client,
        merchant,
        "/v1/payment_intents",
        amount="2000",
        currency="inr",
        confirm="true",
        capture_method="manual",
        payment_method="pm_card_visa",
    )
    latest = manual.json()["latest_charge"]
    whole = await post(client, merchant, f"/v1/charges/{latest}/capture")
    assert whole.json()["amount_captured"] == 2000
    failed = await _charge(client, merchant, 402, source="tok_chargeDeclined", capture="false")
    refused = await post(client, merchant, f"/v1/charges/{failed['error']['charge']}/capture")
    assert refused.json()["error"]["code"] == "charge_not_capturable"
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums


async def _search(
    client: httpx.AsyncClient, merchant: TestMerchant, path: str, query: str, **extra: Any
) -> httpx.Response:
    return await client.get(path, params={"query": query, **extra}, headers=merchant.auth())


async def _found(
    client: httpx.AsyncClient, merchant: TestMerchant, path: str, query: str
) -> list[str]:
    response = await _search(client, merchant, path, query)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["object"], body["url"]) == ("search_result", path)
    return [item["id"] for item in body["data"]]


async def test_payment_intents_and_charges_are_searched_in_stripes_query_language(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    customer = (await post(client, merchant, "/v1/customers", name="Asha")).json()["id"]
    intents = "/v1/payment_intents"
    paid = (
        await post(
            client,
            merchant,
            intents,
            amount="4200",
            currency="inr",
            confirm="true",
            customer=customer,
            payment_method="pm_card_visa",
            **{"metadata[order]": "42"},
        )
    ).json()
    open_intent = (
        await post(
            client, merchant, intents, amount="900", currency="inr", **{"metadata[order]": "7"}
        )
    ).json()
    search = f"{intents}/search"
    assert await _found(client, merchant, search, "metadata['order']:'42'") == [paid["id"]]
    assert await _found(client, merchant, search, "amount>1000") == [paid["id"]]
    assert await _found(client, merchant, search, "amount<=900 AND currency:'INR'") == [
        open_intent["id"]
    ]
    assert await _found(client, merchant, search, f"customer:'{customer}'") == [paid["id"]]
    assert await _found(
        client, merchant, search, "status:'succeeded' OR status:'requires_payment_method'"
    ) == [
        open_intent["id"],
        paid["id"],
    ]
    assert await _found(client, merchant, search, "-status:'succeeded' AND created>0") == [
        open_intent["id"]
    ]
    charge = await _charge(client, merchant, source="tok_mastercard")
    await post(client, merchant, "/v1/refunds", charge=charge["id"])
    charges = "/v1/charges/search"
    assert await _found(client, merchant, charges, "refunded:'true'") == [charge["id"]]
    assert await _found(client, merchant, charges, "refunded:false") == [paid["latest_charge"]]
    assert await _found(client, merchant, charges, "payment_method_details.card.last4:'4444'") == [
        charge["id"]
    ]
    assert await _found(
        client, merchant, charges, f"payment_intent:'{paid['id']}' AND amount:4200"
    ) == [paid["latest_charge"]]
    expanded = await _search(
        client, merchant, charges, "status:'succeeded'", **{"expand[]": "data.payment_intent"}
    )
    assert all(
        item["payment_intent"]["object"] == "payment_intent" for item in expanded.json()["data"]
    )


async def test_searches_page_and_refuse_bad_queries_naming_the_query(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    for _ in range(3):
        await _charge(client, merchant, source="tok_visa", **{"metadata[batch]": "b"})
    path = "/v1/charges/search"
    first = (await _search(client, merchant, path, "metadata['batch']:'b'", limit=2)).json()
    assert first["has_more"] and len(first["data"]) == 2
    second = (
        await _search(
            client, merchant, path, "metadata['batch']:'b'", limit=2, page=first["next_page"]
        )
    ).json()
    assert (second["has_more"], second["next_page"], len(second["data"])) == (False, None, 1)
    for query in ("amount~'12'", "refunded:'maybe'", "email:'a@b.c'", "amount:'many'", "status"):
        bad = await _search(client, merchant, path, query)
        assert (bad.status_code, bad.json()["error"]["param"]) == (400, "query"), query
    wrong_page = await _search(client, merchant, "/v1/payment_intents/search", "amount>0", page="x")
    assert wrong_page.json()["error"]["param"] == "page"


async def test_only_a_refund_waiting_for_the_customer_is_canceled(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    charge = await _charge(client, merchant, source="tok_visa")
    refund = (
        await post(client, merchant, "/v1/refunds", charge=charge["id"], amount="1000")
    ).json()
    refused = await post(client, merchant, f"/v1/refunds/{refund['id']}/cancel")
    assert refused.status_code == 400
    assert (refused.json()["error"]["code"], refused.json()["error"]["param"]) == (
        "refund_unexpected_state",
        "refund",
    )
    # A refund the sandbox card network has not answered yet (4000000000005126's is pending),
    # as if it waited for the customer: no rail here asks for a customer's action on a refund.
    failing = await _charge(client, merchant, source="tok_refundFail")
    waiting = (await post(client, merchant, "/v1/refunds", charge=failing["id"])).json()
    assert waiting["status"] == "pending"
    async with database.unit_of_work() as session:
        await session.execute(
            text("UPDATE refunds SET status = 'requires_action' WHERE id = :id"),
            {"id": waiting["id"]},
        )
    canceled = await post(client, merchant, f"/v1/refunds/{waiting['id']}/cancel")
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["status"] == "canceled"
    assert canceled.json()["failure_balance_transaction"] is not None
    again = await post(client, merchant, f"/v1/refunds/{waiting['id']}/cancel")
    assert again.json()["error"]["code"] == "refund_unexpected_state"
    missing = await post(client, merchant, "/v1/refunds/re_missing/cancel")
    assert missing.status_code == 404
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums


async def _held(client: httpx.AsyncClient, merchant: TestMerchant, method: str) -> dict[str, Any]:
    response = await post(
        client,
        merchant,
        "/v1/payment_intents",
        amount="5000",
        currency="inr",
        confirm="true",
        capture_method="manual",
        payment_method=method,
        **{"payment_method_options[card][request_incremental_authorization]": "if_available"},
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert answer["status"] == "requires_capture"
    return answer


async def test_an_authorization_that_did_not_ask_for_increments_is_not_incremented(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    """Stripe increments only an authorization confirmed with
    ``request_incremental_authorization=if_available``."""
    response = await post(
        client,
        merchant,
        "/v1/payment_intents",
        amount="5000",
        currency="inr",
        confirm="true",
        capture_method="manual",
        payment_method="pm_card_visa",
    )
    assert response.json()["status"] == "requires_capture", response.text
    path = f"/v1/payment_intents/{response.json()['id']}"
    refused = await post(client, merchant, f"{path}/increment_authorization", amount="8000")
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == "payment_intent_unexpected_state"
    assert "request_incremental_authorization" in refused.json()["error"]["message"]
    unchanged = await get(client, merchant, path)
    assert (unchanged["amount"], unchanged["amount_capturable"]) == (5000, 5000)


async def test_an_authorization_is_incremented_then_captured_up_to_the_new_total(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    intent = await _held(client, merchant, "pm_card_visa")
    path = f"/v1/payment_intents/{intent['id']}"
    smaller = await post(client, merchant, f"{path}/increment_authorization", amount="5000")
    assert (smaller.status_code, smaller.json()["error"]["param"]) == (400, "amount")
    raised = await post(
        client,
        merchant,
        f"{path}/increment_authorization",
        amount="8000",
        **{"metadata[tip]": "yes"},
    )
    assert raised.status_code == 200, raised.text
    body = raised.json()
    assert (body["amount"], body["amount_capturable"], body["status"]) == (
        8000,
        8000,
        "requires_capture",
    )
    assert body["metadata"] == {"tip": "yes"}
    again = await post(client, merchant, f"{path}/increment_authorization", amount="9000")
    assert again.json()["amount"] == 9000
    charge = await get(client, merchant, f"/v1/charges/{intent['latest_charge']}")
    assert (charge["amount"], charge["captured"]) == (9000, False)
    async with database.unit_of_work() as session:
        holds = await session.execute(
            text(
                "SELECT id, amount FROM ledger_transfers WHERE id LIKE :charge"
                " AND flags & 2 = 2 ORDER BY id"
            ),
            {"charge": f"{charge['id']}:hold%"},
        )
        assert [tuple(row) for row in holds] == [
            (f"{charge['id']}:hold", 5000),
            (f"{charge['id']}:hold:1", 8000),
            (f"{charge['id']}:hold:2", 9000),
        ]
    captured = await post(client, merchant, f"/v1/charges/{charge['id']}/capture", amount="8500")
    assert captured.json()["amount_captured"] == 8500
    after = await post(client, merchant, f"{path}/increment_authorization", amount="9500")
    assert after.json()["error"]["code"] == "payment_intent_unexpected_state"
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums and sums["pending"] > 0


async def test_an_incremented_authorization_is_released_whole_and_rupay_is_refused(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    intent = await _held(client, merchant, "pm_card_mastercard")
    path = f"/v1/payment_intents/{intent['id']}"
    raised = await post(client, merchant, f"{path}/increment_authorization", amount="7000")
    assert raised.status_code == 200, raised.text
    canceled = await post(client, merchant, f"{path}/cancel")
    assert (canceled.json()["status"], canceled.json()["amount_capturable"]) == ("canceled", 0)
    rupay = await _held(client, merchant, "pm_card_rupay")
    refused = await post(
        client,
        merchant,
        f"/v1/payment_intents/{rupay['id']}/increment_authorization",
        amount="6000",
    )
    assert refused.json()["error"]["code"] == "payment_intent_unexpected_state"
    open_intent = (
        await post(client, merchant, "/v1/payment_intents", amount="100", currency="inr")
    ).json()
    not_held = await post(
        client,
        merchant,
        f"/v1/payment_intents/{open_intent['id']}/increment_authorization",
        amount="6000",
    )
    assert not_held.status_code == 400
