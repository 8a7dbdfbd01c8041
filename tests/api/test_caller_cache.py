"""The per-process cache of key → caller: what it may and may not make stale."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select, update

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock, utcnow
from beyondpay.merchants.caller_cache import callers
from beyondpay.merchants.domain import MerchantStatus
from beyondpay.merchants.models import ApiKeyRow
from beyondpay.merchants.service import api_key_service, merchant_service
from tests.support import TestMerchant, ring_for_tests


async def _secret_test_key(database: Database, merchant: TestMerchant) -> ApiKeyRow:
    async with database.unit_of_work() as session:
        row = (
            await session.execute(
                select(ApiKeyRow).where(
                    ApiKeyRow.merchant_id == merchant.id,
                    ApiKeyRow.kind == "secret",
                    ApiKeyRow.livemode.is_(False),
                )
            )
        ).scalar_one()
        return row


async def test_a_revoked_key_is_refused_at_once(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    assert (await client.get("/v1/customers", headers=merchant.auth())).status_code == 200
    key = await _secret_test_key(database, merchant)
    async with database.unit_of_work() as session:
        row = await session.get(ApiKeyRow, key.id)
        assert row is not None
        row.revoked_at = utcnow()
    assert (await client.get("/v1/customers", headers=merchant.auth())).status_code == 401


async def test_a_core_update_of_a_key_is_seen_at_once(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    assert (await client.get("/v1/customers", headers=merchant.auth())).status_code == 200
    async with database.unit_of_work() as session:
        await session.execute(
            update(ApiKeyRow)
            .where(ApiKeyRow.merchant_id == merchant.id)
            .values(revoked_at=utcnow())
        )
    assert (await client.get("/v1/customers", headers=merchant.auth())).status_code == 401


async def test_a_suspension_is_seen_at_once(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    assert (await client.get("/v1/customers", headers=merchant.auth())).status_code == 200
    async with database.unit_of_work() as session:
        await merchant_service.set_status(session, merchant.id, MerchantStatus.suspended)
    refused = await client.get("/v1/customers", headers=merchant.auth())
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "account_suspended"


async def test_expiry_is_checked_on_a_cached_key(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock = FrozenClock(utcnow())
    with use_clock(clock):
        key = await _secret_test_key(database, merchant)
        async with database.unit_of_work() as session:
            row = await session.get(ApiKeyRow, key.id)
            assert row is not None
            row.expires_at = clock.now() + timedelta(seconds=30)
        assert (await client.get("/v1/customers", headers=merchant.auth())).status_code == 200
        clock.advance(timedelta(seconds=31))
        expired = await client.get("/v1/customers", headers=merchant.auth())
        assert expired.status_code == 401


async def test_a_read_from_before_a_change_is_not_stored(
    merchant: TestMerchant, database: Database
) -> None:
    ring, text = ring_for_tests(), merchant.keys["sk_test"]
    async with database.unit_of_work() as session:
        caller = await api_key_service.authenticate(session, ring, text)
    read_at = callers.generation
    callers.forget_all()  # a change commits between the read and the store
    callers.put(ring, text, caller, None, read_at)
    assert callers.get(ring, text) is None
    callers.put(ring, text, caller, None, callers.generation)
    cached = callers.get(ring, text)
    assert cached is not None and cached.caller == caller
