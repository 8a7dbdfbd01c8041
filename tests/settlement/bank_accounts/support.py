"""Making bank accounts over HTTP, and reading what the database holds of them."""

from __future__ import annotations

from typing import Any, Final

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from tests.support import TestMerchant

ACCOUNT_NUMBER: Final = "000123456789"
HOLDER: Final = "Asha Rao"
BANK: Final[dict[str, Any]] = {
    "object": "bank_account",
    "country": "IN",
    "currency": "inr",
    "account_number": ACCOUNT_NUMBER,
    "routing_number": "HDFC0001234",
    "account_holder_name": HOLDER,
    "account_holder_type": "individual",
}


def accounts_path(merchant: TestMerchant) -> str:
    return f"/v1/accounts/{merchant.id}/external_accounts"


async def create(
    client: httpx.AsyncClient,
    merchant: TestMerchant,
    key: str = "sk_test",
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> httpx.Response:
    """POST a bank account: ``fields`` replace ``external_account[…]``'s defaults (None drops
    one); ``default_for_currency`` and ``metadata`` go at the top."""
    top = {
        name: fields.pop(name) for name in ("default_for_currency", "metadata") if name in fields
    }
    external = {**BANK, **fields}
    external = {name: value for name, value in external.items() if value is not None}
    return await client.post(
        accounts_path(merchant),
        json={"external_account": external, **top},
        headers={**merchant.auth(key), **(headers or {})},
    )


async def made(
    client: httpx.AsyncClient,
    merchant: TestMerchant,
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    response = await create(client, merchant, headers=headers, **fields)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def rows(database: Database, merchant: TestMerchant) -> list[dict[str, Any]]:
    async with database.unit_of_work() as session:
        result = await session.execute(
            text(
                "SELECT row_to_json(b)::text AS whole, b.* FROM bank_accounts b"
                " WHERE merchant_id = :merchant ORDER BY id"
            ),
            {"merchant": merchant.id},
        )
        return [dict(row._mapping) for row in result]


async def event_types(database: Database, merchant: TestMerchant) -> list[str]:
    async with database.unit_of_work() as session:
        result = await session.execute(
            text(
                "SELECT type FROM events WHERE merchant_id = :merchant"
                " AND type LIKE 'account.external_account.%' ORDER BY created_at, id"
            ),
            {"merchant": merchant.id},
        )
        return [str(row[0]) for row in result]
