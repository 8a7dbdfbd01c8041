"""A publishable key on SetupIntents (the card element's confirmCardSetup): it confirms and
retrieves one SetupIntent with its client secret, seeing only what finishing needs; without
the secret it is refused, with another's it meets the 404 of an unknown id, and it cannot list,
update or cancel anything."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support import TestMerchant

CARD = {
    "payment_method_data[type]": "card",
    "payment_method_data[card][number]": "4242424242424242",
    "payment_method_data[card][exp_month]": "12",
    "payment_method_data[card][exp_year]": "2034",
    "payment_method_data[card][cvc]": "123",
}


async def _setup_intent(client: httpx.AsyncClient, merchant: TestMerchant) -> Any:
    customer = await client.post("/v1/customers", data={"name": "Asha"}, headers=merchant.auth())
    created = await client.post(
        "/v1/setup_intents",
        data={"customer": customer.json()["id"], "metadata[plan]": "gold"},
        headers=merchant.auth(),
    )
    assert created.status_code == 200, created.text
    return created.json()


async def test_a_browser_saves_a_card_with_the_setup_intents_secret(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    browser = merchant.auth("pk_test")
    intent = await _setup_intent(client, merchant)
    path = f"/v1/setup_intents/{intent['id']}"
    secret = intent["client_secret"]

    for method_name, url in (("GET", path), ("POST", f"{path}/confirm")):
        refused = await client.request(method_name, url, headers=browser)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "client_secret_required"
    for method_name, url in (
        ("GET", "/v1/setup_intents"),
        ("POST", path),
        ("POST", f"{path}/cancel"),
    ):
        refused = await client.request(method_name, url, headers=browser)
        assert refused.status_code == 403, (url, refused.text)
    usage = await client.post(
        f"{path}/confirm",
        data={"client_secret": secret, "expand[]": "payment_method"},
        headers=browser,
    )
    assert usage.status_code == 400, usage.text
    assert usage.json()["error"]["param"] == "expand"

    confirmed = await client.post(
        f"{path}/confirm", data={"client_secret": secret, **CARD}, headers=browser
    )
    assert confirmed.status_code == 200, confirmed.text
    shown = confirmed.json()
    assert shown["status"] == "succeeded"
    for hidden in ("customer", "metadata", "latest_attempt"):
        assert hidden not in shown, hidden
    seen = await client.get(path, params={"client_secret": secret}, headers=browser)
    assert seen.status_code == 200, seen.text
    assert seen.json()["payment_method"] == shown["payment_method"]
    full = await client.get(path, headers=merchant.auth())
    assert full.json()["metadata"] == {"plan": "gold"}
    method = await client.get(
        f"/v1/payment_methods/{shown['payment_method']}", headers=merchant.auth()
    )
    assert method.json()["customer"] == intent["customer"]


async def test_another_setup_intents_secret_is_an_unknown_id(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    browser = merchant.auth("pk_test")
    mine = await _setup_intent(client, merchant)
    another = await _setup_intent(client, merchant)
    for confirm in (False, True):
        if confirm:
            answer = await client.post(
                f"/v1/setup_intents/{another['id']}/confirm",
                data={"client_secret": mine["client_secret"], **CARD},
                headers=browser,
            )
        else:
            answer = await client.get(
                f"/v1/setup_intents/{another['id']}",
                params={"client_secret": mine["client_secret"]},
                headers=browser,
            )
        assert answer.status_code == 404, answer.text
        assert answer.json()["error"]["code"] == "resource_missing"
        assert mine["client_secret"] not in answer.text
    after = await client.get(f"/v1/setup_intents/{another['id']}", headers=merchant.auth())
    assert after.json()["status"] == "requires_payment_method"
