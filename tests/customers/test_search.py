"""GET /v1/customers/search: Stripe's query language over a merchant's customers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from beyondpay.customers.domain import QueryInvalidError, parse_query
from beyondpay.db.session import Database
from tests.support import TestMerchant, make_merchant


async def _create(client: httpx.AsyncClient, merchant: TestMerchant, **params: Any) -> str:
    response = await client.post("/v1/customers", json=params, headers=merchant.auth())
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def _search(
    client: httpx.AsyncClient, merchant: TestMerchant, query: str, **extra: Any
) -> httpx.Response:
    return await client.get(
        "/v1/customers/search", params={"query": query, **extra}, headers=merchant.auth()
    )


async def _ids(client: httpx.AsyncClient, merchant: TestMerchant, query: str) -> list[str]:
    response = await _search(client, merchant, query)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["object"], body["url"]) == ("search_result", "/v1/customers/search")
    return [item["id"] for item in body["data"]]


async def test_fields_and_connectives(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    asha = await _create(
        client,
        merchant,
        name="Asha Rao",
        email="asha@example.com",
        phone="+919800000001",
        metadata={"tier": "gold"},
    )
    ravi = await _create(
        client, merchant, name="Ravi Kumar", email="ravi@example.org", metadata={"tier": "silver"}
    )
    meera = await _create(client, merchant, name="Meera_Rao%", email="meera@example.com")
    other = await make_merchant(database, name="Other")
    await _create(client, other, name="Asha Rao", email="asha@example.com")

    assert await _ids(client, merchant, "email:'asha@example.com'") == [asha]
    assert await _ids(client, merchant, "email:'ASHA@example.com'") == [asha]
    assert await _ids(client, merchant, "name:'asha rao'") == [asha]
    assert await _ids(client, merchant, "name~'rao'") == [meera, asha]
    assert await _ids(client, merchant, "name~'_Ra'") == [meera]  # LIKE wildcards are literal
    assert await _ids(client, merchant, "phone:'+919800000001'") == [asha]
    assert await _ids(client, merchant, "metadata['tier']:'gold'") == [asha]
    assert await _ids(
        client, merchant, 'metadata["tier"]:"silver" OR email:"meera@example.com"'
    ) == [meera, ravi]
    assert await _ids(client, merchant, "email~'example.com' AND name~'rao'") == [meera, asha]
    assert await _ids(client, merchant, "email~'example.com' AND -name~'meera'") == [asha]
    assert await _ids(client, merchant, "created>0 AND metadata['tier']:'gold'") == [asha]
    assert await _ids(client, merchant, "created<1000") == []
    assert await _ids(client, merchant, r"name:'O\'Brien'") == []

    deleted = await client.delete(f"/v1/customers/{ravi}", headers=merchant.auth())
    assert deleted.status_code == 200
    assert await _ids(client, merchant, "email:'ravi@example.org'") == []


async def test_pages(client: httpx.AsyncClient, merchant: TestMerchant) -> None:
    made = [
        await _create(client, merchant, name=f"Page {n}", email=f"p{n}@example.com")
        for n in range(5)
    ]
    first = (await _search(client, merchant, "name~'page'", limit=2)).json()
    assert [c["id"] for c in first["data"]] == made[::-1][:2]
    assert first["has_more"] is True and first["next_page"]
    second = (
        await _search(client, merchant, "name~'page'", limit=2, page=first["next_page"])
    ).json()
    assert [c["id"] for c in second["data"]] == made[::-1][2:4]
    last = (
        await _search(client, merchant, "name~'page'", limit=2, page=second["next_page"])
    ).json()
    assert [c["id"] for c in last["data"]] == made[:1]
    assert (last["has_more"], last["next_page"]) == (False, None)
    bad = await _search(client, merchant, "name~'page'", page="not-a-page")
    assert (bad.status_code, bad.json()["error"]["param"]) == (400, "page")


@pytest.mark.parametrize(
    "query",
    [
        "",
        "email",
        "email:asha",
        "email:'a' AND name:'b' OR phone:'c'",
        "colour:'red'",
        "name~'ab'",
        "metadata['tier']~'gold'",
        "created:'yesterday'",
        "created>999999999999",
        "email:'unclosed",
        "email:'a' name:'b'",
        " OR ".join(["email:'a@b.c'"] * 11),
    ],
)
async def test_bad_queries_name_the_query(
    client: httpx.AsyncClient, merchant: TestMerchant, query: str
) -> None:
    response = await _search(client, merchant, query)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "query"


async def test_query_is_required_and_scope_enforced(
    client: httpx.AsyncClient, database: Database
) -> None:
    merchant = await make_merchant(database, restricted_scopes=("payment_methods:read",))
    missing = await client.get("/v1/customers/search", headers=merchant.auth())
    assert (missing.status_code, missing.json()["error"]["param"]) == (400, "query")
    refused = await client.get(
        "/v1/customers/search", params={"query": "name:'a'"}, headers=merchant.auth("rk_test")
    )
    assert refused.status_code == 403


def test_parser_messages_never_quote_the_query() -> None:
    with pytest.raises(QueryInvalidError) as caught:
        parse_query("email:'asha@example.com' AND phone~'98'")
    assert "asha" not in caught.value.message
    parsed = parse_query("-email:'a@b.c' OR created>=5")
    assert parsed.connective == "OR"
    assert [c.field for c in parsed.clauses] == ["email", "created"]
    assert parsed.clauses[0].negated
