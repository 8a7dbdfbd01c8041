"""The risk routes over HTTP: assess (idempotent per payment), list by payment, retrieve; rules
and blocklist items; parameters named when wrong; nothing personal in answers."""

from __future__ import annotations

import httpx

from tests.support import TestMerchant


async def _post(
    client: httpx.AsyncClient, merchant: TestMerchant, path: str, data: object
) -> httpx.Response:
    return await client.post(path, json=data, headers=merchant.auth())


async def test_assess_list_and_retrieve(client: httpx.AsyncClient, merchant: TestMerchant) -> None:
    params = {
        "payment": "pi_http_1",
        "amount": 1_250_00,
        "currency": "INR",
        "rail": "card",
        "payer": "cus_http",
        "instrument_fingerprint": "ab" * 16,
        "device": "dev_http",
        "ip": "198.51.100.7",
        "latitude": 12.97,
        "longitude": 77.59,
        "mcc": "5411",
    }
    created = await _post(client, merchant, "/v1/risk/assessments", params)
    assert created.status_code == 200, created.text
    body = created.json()
    assert body["object"] == "risk.assessment" and body["payment"] == "pi_http_1"
    assert 0 <= body["score"] <= 100 and body["decision"] in ("pass", "challenge", "block")
    assert body["model_version"] and len(body["contributions"]) <= 5
    assert "198.51.100.7" not in created.text and "dev_http" not in created.text
    again = await _post(client, merchant, "/v1/risk/assessments", {**params, "amount": 9})
    assert again.json()["id"] == body["id"]  # the same payment: the stored assessment
    listed = await client.get(
        "/v1/risk/assessments", params={"payment": "pi_http_1"}, headers=merchant.auth()
    )
    assert [item["id"] for item in listed.json()["data"]] == [body["id"]]
    other = await client.get(
        "/v1/risk/assessments", params={"payment": "pi_none"}, headers=merchant.auth()
    )
    assert other.json()["data"] == []
    retrieved = await client.get(f"/v1/risk/assessments/{body['id']}", headers=merchant.auth())
    assert retrieved.json() == body


async def test_form_encoded_context_and_bad_parameters(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    form = {
        "payment": "pi_form",
        "amount": "100",
        "currency": "inr",
        "rail": "upi",
        "payer": "pyr_1",
    }
    answer = await client.post("/v1/risk/assessments", data=form, headers=merchant.auth())
    assert answer.status_code == 200, answer.text
    for bad, param in [
        ({**form, "payment": "pi_b1", "rail": "cash"}, "rail"),
        ({**form, "payment": "pi_b2", "amount": "0"}, "amount"),
        ({**form, "payment": "pi_b3", "ip": "not-an-ip"}, "ip"),
        ({**form, "payment": "pi_b4", "latitude": "91"}, "latitude"),
        (
            {key: value for key, value in form.items() if key != "payer"} | {"payment": "pi_b5"},
            "payer",
        ),
    ]:
        refused = await client.post("/v1/risk/assessments", data=bad, headers=merchant.auth())
        assert refused.status_code == 400, (param, refused.text)
        assert refused.json()["error"]["param"] == param


async def test_rules_crud_and_their_effect(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    form = {
        "action": "block",
        "conditions[0][feature]": "amount_minor",
        "conditions[0][op]": ">=",
        "conditions[0][value]": "1000000",
        "reason": "Nothing over ₹10,000",
    }
    created = await client.post("/v1/risk/rules", data=form, headers=merchant.auth())
    assert created.status_code == 200, created.text
    rule = created.json()
    assert rule["conditions"] == [{"feature": "amount_minor", "op": ">=", "value": "1000000"}]
    big = {
        "payment": "pi_big",
        "amount": 20_000_00,
        "currency": "inr",
        "rail": "upi",
        "payer": "pyr_1",
    }
    assessed = (await _post(client, merchant, "/v1/risk/assessments", big)).json()
    assert assessed["decision"] == "block" and assessed["decline_code"] == "U16"
    assert assessed["rules"] == [
        {"id": rule["id"], "action": "block", "reason": "Nothing over ₹10,000"}
    ]
    updated = await _post(client, merchant, f"/v1/risk/rules/{rule['id']}", {"enabled": False})
    assert updated.json()["enabled"] is False
    listed = await client.get("/v1/risk/rules", headers=merchant.auth())
    assert [item["id"] for item in listed.json()["data"]] == [rule["id"]]
    deleted = await client.delete(f"/v1/risk/rules/{rule['id']}", headers=merchant.auth())
    assert deleted.json() == {"id": rule["id"], "object": "risk.rule", "deleted": True}
    missing = await client.get(f"/v1/risk/rules/{rule['id']}", headers=merchant.auth())
    assert missing.status_code == 404


async def test_a_rule_that_does_not_parse_is_refused(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    for conditions in (
        [{"feature": "__import__", "op": "==", "value": 1}],
        [{"feature": "count_1h", "op": "eval", "value": 1}],
        [],
    ):
        answer = await _post(
            client,
            merchant,
            "/v1/risk/rules",
            {"action": "block", "conditions": conditions, "reason": "x"},
        )
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["param"].startswith("conditions")


async def test_blocklist_items(client: httpx.AsyncClient, merchant: TestMerchant) -> None:
    created = await _post(
        client,
        merchant,
        "/v1/risk/blocklist_items",
        {"kind": "ip", "value": "203.0.113.50", "reason": "chargebacks"},
    )
    assert created.status_code == 200, created.text
    item = created.json()
    assert item["value"] == "203.0.113.*" and "203.0.113.50" not in created.text
    duplicate = await _post(
        client, merchant, "/v1/risk/blocklist_items", {"kind": "ip", "value": "203.0.113.50"}
    )
    assert (
        duplicate.status_code == 400
        and duplicate.json()["error"]["code"] == "blocklist_item_exists"
    )
    bad = await _post(
        client, merchant, "/v1/risk/blocklist_items", {"kind": "card", "value": "4242424242424242"}
    )
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "value"
    assert "4242424242424242" not in bad.text
    context = {
        "payment": "pi_ip",
        "amount": 100,
        "currency": "inr",
        "rail": "upi",
        "payer": "pyr_2",
        "ip": "203.0.113.50",
    }
    blocked = (await _post(client, merchant, "/v1/risk/assessments", context)).json()
    assert blocked["decision"] == "block" and blocked["rules"][0]["id"] == "blocklist"
    listed = await client.get(
        "/v1/risk/blocklist_items", params={"kind": "ip"}, headers=merchant.auth()
    )
    assert [entry["id"] for entry in listed.json()["data"]] == [item["id"]]
    deleted = await client.delete(f"/v1/risk/blocklist_items/{item['id']}", headers=merchant.auth())
    assert deleted.json()["deleted"] is True
    context["payment"] = "pi_ip_2"
    # What the model then says is its own business; the blocklist no longer speaks.
    after = (await _post(client, merchant, "/v1/risk/assessments", context)).json()
    assert "blocklist" not in [fired["id"] for fired in after["rules"]]
