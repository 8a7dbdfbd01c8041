"""Tax rates and tax ids over HTTP: Stripe's shapes, their events, 400s naming the parameter,
idempotency, and who may call what (the owner, another merchant, restricted keys)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from tests.payments.support import get, post
from tests.support import TestMerchant, make_merchant

GSTIN = "27AAPFU0939F1ZV"  # the example GST guides print (Maharashtra)
GST_18 = {"display_name": "GST", "percentage": "18", "inclusive": "false", "tax_type": "gst"}


async def _events(database: Database, object_id: str) -> list[dict[str, Any]]:
    async with database.unit_of_work() as session:
        rows = await session.execute(
            text("SELECT type, data FROM events WHERE object_id = :id ORDER BY inserted"),
            {"id": object_id},
        )
        return [{"type": row[0], **row[1]} for row in rows]


async def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _error(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


async def _customer(client: httpx.AsyncClient, merchant: TestMerchant, **params: Any) -> str:
    return str((await _ok(await post(client, merchant, "/v1/customers", **params)))["id"])


# ---- tax rates --------------------------------------------------------------------------------


async def test_a_tax_rate_made_read_archived_and_listed(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    created = await _ok(
        await post(
            client,
            merchant,
            "/v1/tax_rates",
            **GST_18,
            country="in",
            state="ka",
            jurisdiction="IN-KA",
            description="GST on services",
            **{"metadata[code]": "9983"},
        )
    )
    assert created["id"].startswith("txr_") and created["object"] == "tax_rate"
    assert created["percentage"] == 18.0 and created["effective_percentage"] == 18.0
    assert (created["country"], created["state"], created["tax_type"]) == ("IN", "KA", "gst")
    assert created["active"] is True and created["inclusive"] is False
    assert created["livemode"] is False and created["metadata"] == {"code": "9983"}
    assert created["jurisdiction_level"] is None and created["flat_amount"] is None
    assert await get(client, merchant, f"/v1/tax_rates/{created['id']}") == created

    archived = await _ok(
        await post(
            client,
            merchant,
            f"/v1/tax_rates/{created['id']}",
            active="false",
            description="",
            display_name="IGST",
        )
    )
    assert archived["active"] is False and archived["description"] is None
    assert archived["display_name"] == "IGST" and archived["percentage"] == 18.0
    events = await _events(database, created["id"])
    assert [event["type"] for event in events] == ["tax_rate.created", "tax_rate.updated"]
    assert events[1]["previous_attributes"] == {
        "active": True,
        "description": "GST on services",
        "display_name": "GST",
    }
    # Nothing changed: nothing announced.
    await _ok(await post(client, merchant, f"/v1/tax_rates/{created['id']}", active="false"))
    assert len(await _events(database, created["id"])) == 2

    inclusive = await _ok(
        await post(
            client, merchant, "/v1/tax_rates", display_name="GST", percentage="5", inclusive="true"
        )
    )
    listed = await get(client, merchant, "/v1/tax_rates")
    assert listed["object"] == "list" and listed["url"] == "/v1/tax_rates"
    assert [rate["id"] for rate in listed["data"]] == [inclusive["id"], created["id"]]
    active = await get(client, merchant, "/v1/tax_rates", active="true")
    assert [rate["id"] for rate in active["data"]] == [inclusive["id"]]
    exclusive = await get(client, merchant, "/v1/tax_rates", inclusive="false")
    assert [rate["id"] for rate in exclusive["data"]] == [created["id"]]


async def test_percentages_keep_two_decimals_exactly(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    for sent, shown in (("0.25", 0.25), ("12.5", 12.5), ("100", 100.0), ("0", 0.0)):
        rate = await _ok(
            await post(
                client,
                merchant,
                "/v1/tax_rates",
                display_name="Rate",
                percentage=sent,
                inclusive="false",
            )
        )
        assert rate["percentage"] == shown
    as_json = await client.post(
        "/v1/tax_rates",
        json={"display_name": "GST", "percentage": 28.0, "inclusive": True},
        headers=merchant.auth(),
    )
    assert (await _ok(as_json))["percentage"] == 28.0


async def test_tax_rate_refusals_name_the_parameter(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    cases: list[tuple[dict[str, str], str, str]] = [
        ({**GST_18, "percentage": "18.125"}, "percentage", "parameter_invalid"),
        ({**GST_18, "percentage": "100.01"}, "percentage", "parameter_invalid"),
        ({**GST_18, "percentage": "-1"}, "percentage", "parameter_invalid"),
        ({**GST_18, "percentage": "NaN"}, "percentage", "parameter_invalid"),
        ({**GST_18, "percentage": "eighteen"}, "percentage", "parameter_invalid"),
        ({"display_name": "GST", "percentage": "18"}, "inclusive", "parameter_missing"),
        ({**GST_18, "display_name": ""}, "display_name", "parameter_invalid_empty"),
        ({**GST_18, "display_name": "G" * 51}, "display_name", "parameter_invalid"),
        ({**GST_18, "tax_type": "cgst"}, "tax_type", "parameter_invalid"),
        ({**GST_18, "country": "IND"}, "country", "parameter_invalid"),
        ({**GST_18, "country": "IN", "state": "XX"}, "state", "parameter_invalid"),
        ({**GST_18, "state": "IN-KA"}, "state", "parameter_invalid"),
        ({**GST_18, "rate": "18"}, "rate", "parameter_unknown"),
    ]
    for params, param, code in cases:
        error = _error(await post(client, merchant, "/v1/tax_rates", **params))
        assert (error["param"], error["code"]) == (param, code), (params, error)
    rate = await _ok(await post(client, merchant, "/v1/tax_rates", **GST_18))
    for frozen in ("percentage", "inclusive"):
        value = "5" if frozen == "percentage" else "true"
        error = _error(
            await post(client, merchant, f"/v1/tax_rates/{rate['id']}", **{frozen: value})
        )
        assert (error["param"], error["code"]) == (frozen, "parameter_unknown")
    error = _error(
        await post(client, merchant, f"/v1/tax_rates/{rate['id']}", country="IN", state="ZZ")
    )
    assert error["param"] == "state"
    missing = _error(await client.get("/v1/tax_rates/txr_nope", headers=merchant.auth()), 404)
    assert missing["code"] == "resource_missing"


async def test_creating_a_tax_rate_is_idempotent(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    headers = {**merchant.auth(), "Idempotency-Key": uuid.uuid4().hex}
    first = await client.post("/v1/tax_rates", data=GST_18, headers=headers)
    again = await client.post("/v1/tax_rates", data=GST_18, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    listed = await get(client, merchant, "/v1/tax_rates")
    assert len(listed["data"]) == 1
    other = await client.post("/v1/tax_rates", data={**GST_18, "percentage": "5"}, headers=headers)
    assert _error(other)["type"] == "idempotency_error"


async def test_who_may_see_and_change_tax_rates(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    rate = await _ok(await post(client, merchant, "/v1/tax_rates", **GST_18))
    path = f"/v1/tax_rates/{rate['id']}"
    other = await make_merchant(database, name="Other")
    assert _error(await client.get(path, headers=other.auth()), 404)["code"] == "resource_missing"
    assert (await get(client, other, "/v1/tax_rates"))["data"] == []
    assert _error(await client.get(path, headers=merchant.auth("sk_live")), 404)

    reader = await make_merchant(database, restricted_scopes=("tax_rates:read",))
    rate = await _ok(await post(client, reader, "/v1/tax_rates", **GST_18))
    key = {"Authorization": f"Bearer {reader.keys['rk_test']}"}
    assert (await client.get(f"/v1/tax_rates/{rate['id']}", headers=key)).status_code == 200
    refused = await client.post("/v1/tax_rates", data=GST_18, headers=key)
    assert _error(refused, 403)["code"] == "scope_missing"
    assert (await client.get("/v1/tax_ids", headers=key)).status_code == 403


# ---- tax ids ----------------------------------------------------------------------------------


async def test_a_customer_s_gstin_added_listed_and_deleted(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    customer = await _customer(client, merchant, name="Asha Traders")
    path = f"/v1/customers/{customer}/tax_ids"
    tax_id = await _ok(
        await post(client, merchant, path, type="in_gst", value=f" {GSTIN.lower()} ")
    )
    assert tax_id["id"].startswith("txi_") and tax_id["object"] == "tax_id"
    assert (tax_id["type"], tax_id["value"], tax_id["country"]) == ("in_gst", GSTIN, "IN")
    assert tax_id["customer"] == customer and tax_id["livemode"] is False
    assert tax_id["owner"] == {
        "account": None,
        "application": None,
        "customer": customer,
        "customer_account": None,
        "type": "customer",
    }
    assert tax_id["verification"] == {
        "status": "unavailable",
        "verified_address": None,
        "verified_name": None,
    }
    assert await get(client, merchant, f"{path}/{tax_id['id']}") == tax_id
    assert await get(client, merchant, f"/v1/tax_ids/{tax_id['id']}") == tax_id
    listed = await get(client, merchant, path)
    assert listed["url"] == path and [item["id"] for item in listed["data"]] == [tax_id["id"]]
    by_owner = await get(
        client, merchant, "/v1/tax_ids", **{"owner[type]": "customer", "owner[customer]": customer}
    )
    assert [item["id"] for item in by_owner["data"]] == [tax_id["id"]]
    # The merchant's own list (the default owner) does not hold customers' tax ids.
    assert (await get(client, merchant, "/v1/tax_ids"))["data"] == []

    again = _error(await post(client, merchant, path, type="in_gst", value=GSTIN))
    assert (again["code"], again["param"]) == ("resource_already_exists", "value")

    deleted = await client.delete(f"{path}/{tax_id['id']}", headers=merchant.auth())
    assert await _ok(deleted) == {"id": tax_id["id"], "object": "tax_id", "deleted": True}
    gone = await client.get(f"{path}/{tax_id['id']}", headers=merchant.auth())
    assert _error(gone, 404)["code"] == "resource_missing"
    assert (await get(client, merchant, path))["data"] == []
    events = await _events(database, tax_id["id"])
    assert [event["type"] for event in events] == [
        "customer.tax_id.created",
        "customer.tax_id.deleted",
    ]
    assert events[1]["object"]["value"] == GSTIN  # the tax id as it was
    # Deleted, the same GSTIN may be added again.
    await _ok(await post(client, merchant, path, type="in_gst", value=GSTIN))


async def test_a_wrong_gstin_is_a_400_naming_value_and_saying_why(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    customer = await _customer(client, merchant)
    path = f"/v1/customers/{customer}/tax_ids"
    cases = {
        "27AAPFU0939F1ZW": "check character",
        "27AAPFU0939F1Z": "15 characters",
        "27AAPFU0939F0ZV": "13th character",
        "39AAPFU0939F1ZV": "state code",
        "27AAPF10939F1ZV": "PAN",
        "22AAAAA0000A1Z5": "check character",
    }
    for value, reason in cases.items():
        error = _error(await post(client, merchant, path, type="in_gst", value=value))
        assert (error["code"], error["param"]) == ("tax_id_invalid", "value"), error
        assert reason in error["message"], error
    error = _error(await post(client, merchant, path, type="in_vat", value=GSTIN))
    assert error["param"] == "type"
    error = _error(await post(client, merchant, path, type="eu_vat", value="123"))
    assert (error["code"], error["param"]) == ("tax_id_invalid", "value")
    assert (await get(client, merchant, path))["data"] == []
    async with database.unit_of_work() as session:
        count = (await session.execute(text("SELECT count(*) FROM tax_ids"))).scalar_one()
    assert count == 0  # nothing half-written


async def test_the_merchant_s_own_tax_ids(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    own = await _ok(await post(client, merchant, "/v1/tax_ids", type="in_gst", value=GSTIN))
    assert own["owner"]["type"] == "self" and own["customer"] is None
    vat = await _ok(
        await post(
            client,
            merchant,
            "/v1/tax_ids",
            type="eu_vat",
            value="DE123456789",
            **{"owner[type]": "self"},
        )
    )
    assert vat["country"] == "DE"
    listed = await get(client, merchant, "/v1/tax_ids", **{"owner[type]": "self"})
    assert [item["id"] for item in listed["data"]] == [vat["id"], own["id"]]
    assert [event["type"] for event in await _events(database, own["id"])] == ["tax_id.created"]

    customer = await _customer(client, merchant)
    theirs = await _ok(
        await post(
            client,
            merchant,
            "/v1/tax_ids",
            type="in_gst",
            value=GSTIN,  # the same GSTIN, another owner
            **{"owner[type]": "customer", "owner[customer]": customer},
        )
    )
    assert theirs["customer"] == customer
    assert [event["type"] for event in await _events(database, theirs["id"])] == [
        "customer.tax_id.created"
    ]
    # A customer's tax id is not found under another customer; the global route deletes any.
    someone = await _customer(client, merchant)
    hidden = await client.get(
        f"/v1/customers/{someone}/tax_ids/{theirs['id']}", headers=merchant.auth()
    )
    assert _error(hidden, 404)["code"] == "resource_missing"
    deleted = await client.delete(f"/v1/tax_ids/{own['id']}", headers=merchant.auth())
    assert (await _ok(deleted))["deleted"] is True
    assert [event["type"] for event in await _events(database, own["id"])] == [
        "tax_id.created",
        "tax_id.deleted",
    ]


async def test_tax_id_owner_refusals(client: httpx.AsyncClient, merchant: TestMerchant) -> None:
    base = {"type": "in_gst", "value": GSTIN}
    cases: list[tuple[dict[str, str], str, str]] = [
        (
            {"owner[type]": "account", "owner[account]": "acct_1"},
            "owner[type]",
            "tax_id_owner_unsupported",
        ),
        ({"owner[type]": "application"}, "owner[type]", "tax_id_owner_unsupported"),
        ({"owner[type]": "customer"}, "owner[customer]", "parameter_missing"),
        (
            {"owner[type]": "customer", "owner[customer]": "cus_nope"},
            "owner[customer]",
            "resource_missing",
        ),
        ({"owner[type]": "nobody"}, "owner[type]", "parameter_invalid"),
    ]
    for owner, param, code in cases:
        response = await post(client, merchant, "/v1/tax_ids", **base, **owner)
        error = _error(response, 404 if code == "resource_missing" else 400)
        assert (error["param"], error["code"]) == (param, code), (owner, error)
    listed = await client.get(
        "/v1/tax_ids", params={"owner[type]": "customer"}, headers=merchant.auth()
    )
    assert _error(listed)["param"] == "owner[customer]"


async def test_a_deleted_customer_s_tax_ids_go_with_it(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    customer = await _customer(client, merchant)
    path = f"/v1/customers/{customer}/tax_ids"
    tax_id = await _ok(await post(client, merchant, path, type="in_gst", value=GSTIN))
    await _ok(await client.delete(f"/v1/customers/{customer}", headers=merchant.auth()))
    response = await post(client, merchant, path, type="in_gst", value=GSTIN)
    assert _error(response, 404)["param"] == "customer"
    assert _error(await client.get(path, headers=merchant.auth()), 404)["param"] == "customer"
    gone = await client.get(f"/v1/tax_ids/{tax_id['id']}", headers=merchant.auth())
    assert _error(gone, 404)["code"] == "resource_missing"


async def test_the_same_gstin_added_twice_at_once_is_added_once(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    """Two requests race with different idempotency keys: the owner's lock puts them one after
    the other, so one adds the tax id and the other finds it."""
    customer = await _customer(client, merchant)
    path = f"/v1/customers/{customer}/tax_ids"
    responses = await asyncio.gather(
        *(
            client.post(
                path,
                data={"type": "in_gst", "value": GSTIN},
                headers={**merchant.auth(), "Idempotency-Key": uuid.uuid4().hex},
            )
            for _ in range(4)
        )
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 400, 400, 400], [response.text for response in responses]
    async with database.unit_of_work() as session:
        count = (
            await session.execute(
                text("SELECT count(*) FROM tax_ids WHERE customer_id = :c"), {"c": customer}
            )
        ).scalar_one()
    assert count == 1
