"""Events over HTTP: Stripe's shape, the filters, after_sequence paging, scoping and access."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from beyondpay.customers.schemas import CustomerCreateParams
from beyondpay.customers.service import customer_service
from beyondpay.db.session import Database
from beyondpay.events.service import API_VERSION
from beyondpay.events.tasks import number_events_on
from tests.events.support import caller_of, numbering_pool
from tests.support import TestMerchant, make_merchant

PAGING_WRITERS = 4
PAGING_CREATES_PER_WRITER = 30
PAGE_LIMIT = 7


async def _events(
    client: httpx.AsyncClient, merchant: TestMerchant, key: str = "sk_test", **params: Any
) -> dict[str, Any]:
    response = await client.get("/v1/events", params=params, headers=merchant.auth(key))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _number(database: Database, merchant: TestMerchant, livemode: bool = False) -> None:
    async with numbering_pool(database) as pool:
        await number_events_on(pool, merchant.id, livemode)


async def test_customer_events_in_stripes_shape(
    client: httpx.AsyncClient, database: Database, merchant: TestMerchant
) -> None:
    created = await client.post(
        "/v1/customers",
        json={"name": "Asha", "metadata": {"order": "42"}},
        headers={**merchant.auth(), "Idempotency-Key": "create-asha"},
    )
    assert created.status_code == 200, created.text
    customer = created.json()
    [event] = (await _events(client, merchant, type="customer.created"))["data"]
    assert event["id"].startswith("evt_")
    assert event["object"] == "event"
    assert event["api_version"] == API_VERSION
    assert event["data"] == {"object": customer}
    assert event["livemode"] is False
    assert event["pending_webhooks"] == 0
    assert event["request"] == {
        "id": created.headers["request-id"],
        "idempotency_key": "create-asha",
    }
    assert event["sequence"] is None, "numbered after commit, by the worker"
    assert isinstance(event["created"], int)

    await _number(database, merchant)
    retrieved = await client.get(f"/v1/events/{event['id']}", headers=merchant.auth())
    assert retrieved.json() == {**event, "sequence": 1}

    updated = await client.post(
        f"/v1/customers/{customer['id']}",
        json={"email": "asha@example.com", "metadata": {"tier": "gold"}},
        headers=merchant.auth(),
    )
    assert updated.status_code == 200, updated.text
    [update] = (await _events(client, merchant, type="customer.updated"))["data"]
    assert update["data"]["object"] == updated.json()
    assert update["data"]["previous_attributes"] == {"email": None, "metadata": {"tier": None}}
    assert update["request"]["idempotency_key"] is None
    unchanged = await client.post(
        f"/v1/customers/{customer['id']}", json={"name": "Asha"}, headers=merchant.auth()
    )
    assert unchanged.status_code == 200
    assert len((await _events(client, merchant, type="customer.updated"))["data"]) == 1

    deleted = await client.delete(f"/v1/customers/{customer['id']}", headers=merchant.auth())
    assert deleted.status_code == 200
    [removal] = (await _events(client, merchant, type="customer.deleted"))["data"]
    assert removal["data"]["object"] == updated.json(), "the customer as it was"

    everything = await _events(client, merchant)
    assert [e["type"] for e in everything["data"]] == [
        "customer.deleted",
        "customer.updated",
        "customer.created",
    ]


async def test_ledger_api_events(client: httpx.AsyncClient, merchant: TestMerchant) -> None:
    for account in ("wallet-a", "wallet-b"):
        made = await client.post(
            "/v1/ledger/accounts",
            json={"id": account, "currency": "INR", "code": "wallet"},
            headers=merchant.auth(),
        )
        assert made.status_code == 200, made.text
    transfer = {
        "id": "topup-1",
        "debit_account": "wallet-a",
        "credit_account": "wallet-b",
        "amount": 1_500,
        "currency": "INR",
        "code": "topup",
    }
    for _ in range(2):  # the second time the ledger answers ``exists``: no second event
        batch = await client.post(
            "/v1/ledger/transfers", json={"transfers": [transfer]}, headers=merchant.auth()
        )
        assert batch.status_code == 200, batch.text
    accounts = (await _events(client, merchant, type="ledger_account.*"))["data"]
    assert sorted(e["data"]["object"]["id"] for e in accounts) == ["wallet-a", "wallet-b"]
    [moved] = (await _events(client, merchant, type="ledger_transfer.created"))["data"]
    assert moved["data"]["object"] == batch.json()["data"][0]["transfer"]
    assert moved["data"]["object"]["amount"] == 1_500


async def test_list_filters(client: httpx.AsyncClient, merchant: TestMerchant) -> None:
    customer = await client.post("/v1/customers", json={"name": "A"}, headers=merchant.auth())
    await client.post(
        f"/v1/customers/{customer.json()['id']}", json={"name": "B"}, headers=merchant.auth()
    )
    await client.post(
        "/v1/ledger/accounts",
        json={"id": "w-1", "currency": "INR", "code": "wallet"},
        headers=merchant.auth(),
    )

    def types(body: dict[str, Any]) -> list[str]:
        return [event["type"] for event in body["data"]]

    assert types(await _events(client, merchant, type="customer.*")) == [
        "customer.updated",
        "customer.created",
    ]
    assert types(await _events(client, merchant, type="*")) == [
        "ledger_account.created",
        "customer.updated",
        "customer.created",
    ]
    both_types: dict[str, Any] = {"types[]": ["customer.created", "ledger_account.created"]}
    both = await _events(client, merchant, **both_types)
    assert types(both) == ["ledger_account.created", "customer.created"]
    # ``_`` in a type is a character, not LIKE's any-character.
    assert types(await _events(client, merchant, type="ledgerXaccount.*")) == []
    assert types(await _events(client, merchant, type="ledger.*")) == []
    assert types(await _events(client, merchant, **{"created[lt]": "1"})) == []
    assert len(types(await _events(client, merchant, **{"created[gte]": "1"}))) == 3
    paged = await _events(client, merchant, limit=2)
    assert paged["has_more"] is True
    rest = await _events(client, merchant, starting_after=paged["data"][-1]["id"])
    assert types(rest) == ["customer.created"]

    for params, param in (
        ({"type": "customer*"}, "type"),
        ({"type": "*.created"}, "type"),
        ({"type": "customer.created", "types[]": ["customer.created"]}, "types"),
        ({"after_sequence": 0, "starting_after": paged["data"][0]["id"]}, "after_sequence"),
        ({"after_sequence": -1}, "after_sequence"),
    ):
        refused = await client.get("/v1/events", params=params, headers=merchant.auth())
        assert refused.status_code == 400, (params, refused.text)
        assert refused.json()["error"]["param"] == param, params


async def test_after_sequence_never_misses_an_event_while_writers_commit(
    client: httpx.AsyncClient, database: Database, merchant: TestMerchant
) -> None:
    caller = caller_of(merchant.id)
    writing = True

    async def writer(index: int) -> None:
        for step in range(PAGING_CREATES_PER_WRITER):
            async with database.unit_of_work() as session:
                await customer_service.create(
                    session, caller, CustomerCreateParams(name=f"{index}-{step}")
                )

    seen: list[dict[str, Any]] = []

    async def consumer() -> None:
        cursor = 0
        while True:
            # Read before asking: an empty page means "done" only if the writers had finished
            # (and the last numbering run) before this request began, not merely by its answer.
            finished = not writing
            page = await _events(client, merchant, after_sequence=cursor, limit=PAGE_LIMIT)
            seen.extend(page["data"])
            if page["data"]:
                cursor = page["data"][-1]["sequence"]
            elif finished:
                return
            else:
                await asyncio.sleep(0.005)

    async with numbering_pool(database) as pool:

        async def numberer() -> None:
            while writing:
                await number_events_on(pool, merchant.id, False)
                await asyncio.sleep(0.005)

        background = [asyncio.create_task(numberer()), asyncio.create_task(consumer())]
        await asyncio.gather(*(writer(index) for index in range(PAGING_WRITERS)))
        await number_events_on(pool, merchant.id, False)
        writing = False
        await asyncio.gather(*background)
        await number_events_on(pool, merchant.id, False)

    total = PAGING_WRITERS * PAGING_CREATES_PER_WRITER
    assert [event["sequence"] for event in seen] == list(range(1, total + 1))
    assert len({event["id"] for event in seen}) == total
    last = await _events(client, merchant, after_sequence=total - 2, limit=1)
    assert last["has_more"] is True and last["data"][0]["sequence"] == total - 1


async def test_events_are_scoped_to_the_merchant_and_mode(
    client: httpx.AsyncClient, database: Database, merchant: TestMerchant
) -> None:
    created = await client.post("/v1/customers", json={"name": "A"}, headers=merchant.auth())
    assert created.status_code == 200
    [event] = (await _events(client, merchant))["data"]
    other = await make_merchant(database, name="Other")
    for who, key in ((merchant, "sk_live"), (other, "sk_test")):
        missing = await client.get(f"/v1/events/{event['id']}", headers=who.auth(key))
        assert missing.status_code == 404, missing.text
        assert missing.json()["error"]["code"] == "resource_missing"
        assert (await _events(client, who, key=key))["data"] == []


async def test_events_need_the_events_read_scope(
    client: httpx.AsyncClient, database: Database
) -> None:
    without = await make_merchant(database, name="No events", restricted_scopes=("customers:read",))
    refused = await client.get("/v1/events", headers=without.auth("rk_test"))
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["type"] == "permission_error"
    allowed = await make_merchant(database, name="Events", restricted_scopes=("events:read",))
    assert (await client.get("/v1/events", headers=allowed.auth("rk_test"))).status_code == 200
    publishable = await client.get("/v1/events", headers=allowed.auth("pk_test"))
    assert publishable.status_code == 403
