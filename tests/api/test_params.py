"""Request parameters: form with brackets or JSON, errors that name the parameter, metadata
limits, lists and their cursors, all through the customers routes."""

from __future__ import annotations

import httpx
import pytest

from beyondpay.db.session import Database
from tests.support import TestMerchant, make_merchant

FORM = {"content-type": "application/x-www-form-urlencoded"}


async def _post(
    client: httpx.AsyncClient, merchant: TestMerchant, body: str, path: str = "/v1/customers"
) -> httpx.Response:
    return await client.post(path, content=body, headers={**merchant.auth(), **FORM})


@pytest.mark.parametrize(
    ("body", "status", "code", "param"),
    [
        ("nickname=x", 400, "parameter_unknown", "nickname"),
        ("address[town]=Pune", 400, "parameter_unknown", "address[town]"),
        ("email=not-an-email", 400, "parameter_invalid", "email"),
        ("name=" + "n" * 257, 400, "parameter_invalid", "name"),
        ("address=Pune", 400, "parameter_invalid", "address"),
        ("metadata[" + "k" * 41 + "]=v", 400, "parameter_invalid", "metadata"),
        ("metadata[k]=" + "v" * 501, 400, "parameter_invalid", "metadata"),
        ("expand[]=owner", 400, "parameter_invalid", "expand[0]"),
        ("metadata[a][b][c][d][e][f][g]=deep", 400, "body_malformed", None),
    ],
)
async def test_bad_parameters_name_the_parameter(
    client: httpx.AsyncClient,
    merchant: TestMerchant,
    database: Database,
    body: str,
    status: int,
    code: str,
    param: str | None,
) -> None:
    response = await _post(client, merchant, body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error.get("param") == param
    listed = await client.get("/v1/customers", headers=merchant.auth())
    assert listed.json()["data"] == []  # nothing half-written


async def test_metadata_allows_fifty_keys_not_fifty_one(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    fifty = "&".join(f"metadata[k{i}]=v" for i in range(50))
    assert (await _post(client, merchant, fifty)).status_code == 200
    response = await _post(client, merchant, fifty + "&metadata[k50]=v")
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "metadata"


async def test_json_and_form_are_the_same_request(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    form = await _post(client, merchant, "name=Asha&address[city]=Pune&metadata[order]=42")
    as_json = await client.post(
        "/v1/customers",
        json={"name": "Asha", "address": {"city": "Pune"}, "metadata": {"order": "42"}},
        headers=merchant.auth(),
    )
    drop = {"id", "created"}
    assert {k: v for k, v in form.json().items() if k not in drop} == {
        k: v for k, v in as_json.json().items() if k not in drop
    }
    not_an_object = await client.post("/v1/customers", json=["x"], headers=merchant.auth())
    assert not_an_object.status_code == 400
    assert not_an_object.json()["error"]["code"] == "body_malformed"


async def test_lists_page_both_ways_and_filter_by_created(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    ids = [(await _post(client, merchant, f"name=c{i}")).json()["id"] for i in range(5)]
    newest_first = ids[::-1]
    first = (await client.get("/v1/customers?limit=2", headers=merchant.auth())).json()
    assert first["object"] == "list"
    assert first["url"] == "/v1/customers"
    assert [c["id"] for c in first["data"]] == newest_first[:2]
    assert first["has_more"] is True
    after = f"/v1/customers?limit=2&starting_after={newest_first[1]}"
    second = (await client.get(after, headers=merchant.auth())).json()
    assert [c["id"] for c in second["data"]] == newest_first[2:4]
    before = f"/v1/customers?limit=2&ending_before={newest_first[2]}"
    back = (await client.get(before, headers=merchant.auth())).json()
    assert [c["id"] for c in back["data"]] == newest_first[:2]
    assert back["has_more"] is False
    last = await client.get(f"/v1/customers?starting_after={ids[0]}", headers=merchant.auth())
    assert last.json() == {"object": "list", "url": "/v1/customers", "has_more": False, "data": []}
    created = first["data"][0]["created"]
    window = f"/v1/customers?created[gte]={created}&created[lte]={created}&limit=100"
    assert len((await client.get(window, headers=merchant.auth())).json()["data"]) >= 1
    future = f"/v1/customers?created[gt]={created + 3600}"
    assert (await client.get(future, headers=merchant.auth())).json()["data"] == []


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("created[gt]=soon", "created[gt]"),
        ("colour=red", "colour"),
    ],
)
async def test_bad_list_parameters_name_the_parameter(
    client: httpx.AsyncClient, merchant: TestMerchant, query: str, param: str
) -> None:
    response = await client.get(f"/v1/customers?{query}", headers=merchant.auth())
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


async def test_a_cursor_from_another_merchant_is_unknown(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    other = await make_merchant(database, name="Other")
    theirs = (await _post(client, other, "name=x")).json()["id"]
    response = await client.get(f"/v1/customers?starting_after={theirs}", headers=merchant.auth())
    assert response.status_code == 404
    assert response.json()["error"]["param"] == "starting_after"
    both = await client.get(
        f"/v1/customers?starting_after={theirs}&ending_before={theirs}", headers=other.auth()
    )
    assert both.status_code == 400


async def test_a_cursor_outside_the_filters_keeps_its_place(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    """A cursor must be the caller's, not a match of the filters: a client that narrows a list
    (Stripe's lists behave so) pages on from where it was."""
    older, middle, newer = [
        (await _post(client, merchant, f"email={email}%40example.com")).json()["id"]
        for email in ("asha", "ravi", "asha")
    ]
    narrowed = "/v1/customers?email=asha%40example.com&limit=100"
    after = await client.get(f"{narrowed}&starting_after={middle}", headers=merchant.auth())
    assert [c["id"] for c in after.json()["data"]] == [older]
    before = await client.get(f"{narrowed}&ending_before={middle}", headers=merchant.auth())
    assert [c["id"] for c in before.json()["data"]] == [newer]


async def test_a_route_that_names_no_parameters_refuses_what_is_sent(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    """A retrieve takes only ``expand[]``, a delete nothing; anything else is named, as
    Stripe refuses an unknown parameter, and the delete does not happen."""
    customer = (await _post(client, merchant, "name=Asha")).json()
    path = f"/v1/customers/{customer['id']}"
    refused = await client.get(path, params={"nickname": "x"}, headers=merchant.auth())
    assert refused.status_code == 400, refused.text
    assert (refused.json()["error"]["code"], refused.json()["error"]["param"]) == (
        "parameter_unknown",
        "nickname",
    )
    policy = await client.post(
        "/v1/limits/policies",
        json={"kind": "cap", "subject": "payer", "period": "day", "amount_max": 500000},
        headers=merchant.auth(),
    )
    assert policy.status_code == 200, policy.text
    nothing_expands = await client.get(
        f"/v1/limits/policies/{policy.json()['id']}",
        params={"expand[]": "owner"},
        headers=merchant.auth(),
    )
    assert nothing_expands.status_code == 400, nothing_expands.text
    assert nothing_expands.json()["error"]["param"].startswith("expand")
    not_deleted = await client.delete(path, params={"nickname": "x"}, headers=merchant.auth())
    assert not_deleted.status_code == 400, not_deleted.text
    assert not_deleted.json()["error"]["param"] == "nickname"
    assert (await client.get(path, headers=merchant.auth())).json().get("deleted") is None
    deleted = await client.delete(path, headers=merchant.auth())
    assert deleted.json()["deleted"] is True


async def test_a_post_that_names_no_parameters_refuses_what_is_sent(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    key = await _post(client, merchant, "scopes[0]=customers:read&name=r", path="/v1/api_keys")
    assert key.status_code == 200, key.text
    revoke = f"/v1/api_keys/{key.json()['id']}/revoke"
    refused = await _post(client, merchant, "reason=old", path=revoke)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["param"] == "reason"
    assert (await _post(client, merchant, "", path=revoke)).status_code == 200
