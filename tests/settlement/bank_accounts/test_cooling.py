"""The takeover guard: a new payout account, or a change of a currency's default, holds payouts
for the cooling period; payouts read it through the service."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.kit.clock import utcnow
from beyondpay.merchants.domain import Caller, KeyKind, MerchantStatus
from beyondpay.settlement.bank_accounts.service import bank_account_service
from tests.settlement.bank_accounts.support import accounts_path, made
from tests.support import TestMerchant, make_merchant

COOLING_H = 24  # the default (BEYONDPAY_PAYOUT_ACCOUNT_COOLING_PERIOD_H)


def _owner(merchant: TestMerchant, livemode: bool = False) -> Caller:
    return Caller(
        key_id="key_test",
        kind=KeyKind.secret,
        livemode=livemode,
        merchant_id=merchant.id,
        merchant_status=MerchantStatus.active,
    )


async def _held(database: Database, merchant: TestMerchant, livemode: bool = False):  # type: ignore[no-untyped-def]
    async with database.unit_of_work() as session:
        return await bank_account_service.payouts_held_until(
            session, _owner(merchant, livemode), "inr"
        )


async def _expire_hold(database: Database, merchant: TestMerchant) -> None:
    async with database.unit_of_work() as session:
        await session.execute(
            text(
                "UPDATE payout_account_holds SET held_until = now() - interval '1 hour'"
                " WHERE merchant_id = :m"
            ),
            {"m": merchant.id},
        )


async def test_adding_an_account_holds_payouts_for_the_cooling_period(
    client: httpx.AsyncClient, database: Database, merchant: TestMerchant
) -> None:
    assert await _held(database, merchant) is None
    before = utcnow()
    await made(client, merchant)
    held = await _held(database, merchant)
    assert held is not None
    assert before + timedelta(hours=COOLING_H) <= held <= utcnow() + timedelta(hours=COOLING_H)
    assert await _held(database, merchant, livemode=True) is None  # the other mode is not held
    other = await make_merchant(database, name="Other")
    assert await _held(database, other) is None


async def test_changing_the_default_holds_payouts_and_other_changes_do_not(
    client: httpx.AsyncClient, database: Database, merchant: TestMerchant
) -> None:
    await made(client, merchant)
    second = await made(client, merchant, account_number="000987654321")
    await _expire_hold(database, merchant)
    assert await _held(database, merchant) is None
    path = f"{accounts_path(merchant)}/{second['id']}"
    await client.post(
        path,
        json={"metadata": {"a": "b"}, "account_holder_type": "company"},
        headers=merchant.auth(),
    )
    assert await _held(database, merchant) is None
    await client.post(path, json={"default_for_currency": True}, headers=merchant.auth())
    held = await _held(database, merchant)
    assert held is not None and held > utcnow() + timedelta(hours=COOLING_H - 1)


async def test_the_payout_account_is_the_currencys_default(
    client: httpx.AsyncClient, database: Database, merchant: TestMerchant
) -> None:
    first = await made(client, merchant)
    await made(client, merchant, account_number="000987654321")
    async with database.unit_of_work() as session:
        account = await bank_account_service.payout_account(session, _owner(merchant), "inr")
    assert account is not None and account.id == first["id"]
