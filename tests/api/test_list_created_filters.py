"""``created`` filters at the ends of their range (found by schemathesis: the day after the last
second of 9999 does not exist, and ``created[lte]=253402300799`` was a 500)."""

from __future__ import annotations

import httpx
import pytest

from beyondpay.db.pagination import UNIX_S_MAX
from tests.support import TestMerchant


@pytest.mark.parametrize(
    ("filter_", "listed"),
    [
        ("created[lte]", True),
        ("created[lt]", True),
        ("created[gte]", False),
        ("created[gt]", False),
        ("created", False),
    ],
)
async def test_the_last_second_of_the_range(
    client: httpx.AsyncClient, merchant: TestMerchant, filter_: str, listed: bool
) -> None:
    created = await client.post("/v1/customers", json={"name": "Asha"}, headers=merchant.auth())
    assert created.status_code == 200, created.text
    for path in ("/v1/customers", "/v1/audit_events"):
        page = await client.get(path, params={filter_: UNIX_S_MAX}, headers=merchant.auth())
        assert page.status_code == 200, page.text
        assert bool(page.json()["data"]) is listed


@pytest.mark.parametrize(
    ("filter_", "listed"),
    [("created[gte]", True), ("created[gt]", True), ("created[lt]", False), ("created", False)],
)
async def test_the_first_second_of_the_range(
    client: httpx.AsyncClient, merchant: TestMerchant, filter_: str, listed: bool
) -> None:
    created = await client.post("/v1/customers", json={"name": "Asha"}, headers=merchant.auth())
    assert created.status_code == 200, created.text
    page = await client.get("/v1/customers", params={filter_: 0}, headers=merchant.auth())
    assert page.status_code == 200, page.text
    assert bool(page.json()["data"]) is listed


async def test_lte_admits_the_whole_second(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    created = await client.post("/v1/customers", json={"name": "Asha"}, headers=merchant.auth())
    second = created.json()["created"]
    for filter_, value, listed in [
        ("created[lte]", second, True),
        ("created[lt]", second, False),
        ("created[gte]", second, True),
        ("created[gt]", second, False),
        ("created", second, True),
        ("created[gt]", second - 1, True),
        ("created[lt]", second + 1, True),
    ]:
        page = await client.get("/v1/customers", params={filter_: value}, headers=merchant.auth())
        assert page.status_code == 200, page.text
        assert bool(page.json()["data"]) is listed, (filter_, value)
