"""Merchant VPAs through the merchant API: created in test mode only, paid into a sandbox bank
account, previewed by payers under the merchant's display name, and printed as static and
dynamic UPI QR codes that zxing-cpp decodes back to the same fields."""

from __future__ import annotations

import io
from typing import Any

import httpx
import zxingcpp
from PIL import Image

from beyondpay.db.session import Database
from beyondpay.psp.addresses.qr import UpiLink, parse_upi_link
from tests.psp.support import sign_up
from tests.psp.test_vpas import resolve
from tests.support import TestMerchant, make_merchant

MERCHANT_VPAS = "/v1/upi/merchant_vpas"
CHAI = {"username": "chai.co", "merchant_category_code": "5812", "display_name": "Chai & Co — Pune"}


async def create_merchant_vpa(
    client: httpx.AsyncClient, merchant: TestMerchant, **params: Any
) -> dict[str, Any]:
    answer = await client.post(
        MERCHANT_VPAS, json={**CHAI, **params}, headers=merchant.auth("sk_test")
    )
    assert answer.status_code == 200, answer.text
    created: dict[str, Any] = answer.json()
    return created


def _scanned(png: bytes) -> UpiLink:
    (barcode,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    return parse_upi_link(str(barcode.text))


async def test_a_merchant_creates_a_vpa_in_test_mode(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    created = await create_merchant_vpa(client, merchant)
    assert created["id"].startswith("mvpa_")
    assert created == {
        "id": created["id"],
        "object": "upi_merchant_vpa",
        "vpa": "chai.co@beyondpay",
        "display_name": "Chai & Co — Pune",
        "merchant_category_code": "5812",
        "status": "active",
        "created": created["created"],
        "livemode": False,
    }
    listed = await client.get(MERCHANT_VPAS, headers=merchant.auth("sk_test"))
    assert [item["id"] for item in listed.json()["data"]] == [created["id"]]
    one = await client.get(f"{MERCHANT_VPAS}/{created['id']}", headers=merchant.auth("sk_test"))
    assert one.json() == created
    ((kind, data),) = [event for event in await event_objects_of(database, merchant.id)]
    assert kind == "upi.merchant_vpa.created"
    assert data["object"]["masked"] == "ch****@beyondpay"
    assert "chai.co@beyondpay" not in str(data)

    live = await client.post(
        MERCHANT_VPAS, json={**CHAI, "username": "chai.live"}, headers=merchant.auth("sk_live")
    )
    assert (live.status_code, live.json()["error"]["code"]) == (400, "rail_unavailable")
    taken = await client.post(MERCHANT_VPAS, json=CHAI, headers=merchant.auth("sk_test"))
    assert (taken.json()["error"]["code"], taken.json()["error"]["param"]) == (
        "vpa_username_taken",
        "username",
    )
    other = await make_merchant(database, name="Other")
    hidden = await client.get(f"{MERCHANT_VPAS}/{created['id']}", headers=other.auth("sk_test"))
    assert hidden.status_code == 404


async def event_objects_of(
    database: Database, merchant_id: str
) -> list[tuple[str, dict[str, Any]]]:
    from sqlalchemy import text

    async with database.unit_of_work() as session:
        found = await session.execute(
            text("SELECT type, data FROM events WHERE merchant_id = :m AND type LIKE 'upi.%'"),
            {"m": merchant_id},
        )
        return [(str(row[0]), dict(row[1])) for row in found]


async def test_bad_merchant_vpas_are_refused_naming_the_parameter(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    for params, param in (
        ({"username": "Chai"}, "username"),
        ({"username": "support"}, "username"),
        ({"merchant_category_code": "58"}, "merchant_category_code"),
        ({"display_name": "   "}, "display_name"),
        ({"display_name": "null"}, "display_name"),
        ({"display_name": "x" * 100}, "display_name"),
    ):
        answer = await client.post(
            MERCHANT_VPAS, json={**CHAI, **params}, headers=merchant.auth("sk_test")
        )
        assert answer.status_code == 400, (params, answer.text)
        assert answer.json()["error"]["param"] == param, params


async def test_static_and_dynamic_qr_codes_scan_back_to_the_same_fields(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    created = await create_merchant_vpa(client, merchant)
    path = f"{MERCHANT_VPAS}/{created['id']}"
    static = await client.get(f"{path}/qr.png", headers=merchant.auth("sk_test"))
    assert static.status_code == 200, static.text
    assert static.headers["content-type"] == "image/png"
    assert _scanned(static.content) == UpiLink(
        pa="chai.co@beyondpay", pn="Chai & Co — Pune", mc="5812"
    )
    dynamic = await client.get(
        f"{path}/qr.png",
        params={"amount": 14_950, "tr": "ORD-42", "tn": "2 chai + 1 bun", "scale": 4},
        headers=merchant.auth("sk_test"),
    )
    assert dynamic.status_code == 200, dynamic.text
    assert _scanned(dynamic.content) == UpiLink(
        pa="chai.co@beyondpay",
        pn="Chai & Co — Pune",
        mc="5812",
        tr="ORD-42",
        am_minor=14_950,
        tn="2 chai + 1 bun",
    )
    svg = await client.get(
        f"{path}/qr.svg", params={"amount": 100, "tr": "T1"}, headers=merchant.auth("sk_test")
    )
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.startswith("<svg")

    no_reference = await client.get(
        f"{path}/qr.png", params={"amount": 100}, headers=merchant.auth("sk_test")
    )
    assert (no_reference.status_code, no_reference.json()["error"]["param"]) == (400, "tr")
    too_much = await client.get(
        f"{path}/qr.png", params={"amount": 10**12, "tr": "T"}, headers=merchant.auth("sk_test")
    )
    assert (too_much.status_code, too_much.json()["error"]["param"]) == (400, "amount")
    control = await client.get(
        f"{path}/qr.png", params={"tn": "a\x01b"}, headers=merchant.auth("sk_test")
    )
    assert (control.status_code, control.json()["error"]["param"]) == (400, "tn")


async def test_restricted_keys_need_the_upi_scopes(
    client: httpx.AsyncClient, database: Database
) -> None:
    reader = await make_merchant(database, restricted_scopes=("upi:read",))
    refused = await client.post(MERCHANT_VPAS, json=CHAI, headers=reader.auth("rk_test"))
    assert refused.status_code == 403
    allowed = await client.get(MERCHANT_VPAS, headers=reader.auth("rk_test"))
    assert allowed.status_code == 200


async def test_a_payer_previews_a_merchant_vpa_under_its_display_name(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    await create_merchant_vpa(client, merchant)
    payer = await sign_up(client)
    preview = await resolve(client, payer, vpa="chai.co@beyondpay")
    assert preview.status_code == 200, preview.text
    assert preview.json() == {
        "object": "psp_payee_preview",
        "kind": "merchant",
        "verified_name": "Chai & Co — Pune",
        "masked": "ch****@beyondpay",
        "merchant_category_code": "5812",
    }
