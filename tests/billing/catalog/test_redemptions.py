"""Counting redemptions (``coupon_service.redeem``): once per redemption id, within the
coupon's and the promotion code's limits, and exactly once for the last redemption when
callers race on real connections."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.catalog.errors import (
    CouponExpiredError,
    PromotionCodeInvalidError,
    RedemptionIdReusedError,
)
from beyondpay.billing.catalog.service import coupon_service
from beyondpay.db.session import Database
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import BeyondpayError
from beyondpay.merchants.domain import Caller
from tests.billing.catalog.support import caller_of, get, post
from tests.support import TestMerchant

RACERS = 8
ROUNDS = 3


async def _redeem(database: Database, caller: Caller, redemption_id: str, **options: Any) -> Any:
    async with database.unit_of_work() as session:
        return await coupon_service.redeem(session, caller, redemption_id, **options)


async def test_a_redemption_counts_once_per_id(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    coupon = await post(client, merchant, "/v1/coupons", {"percent_off": 10, "max_redemptions": 2})
    caller = caller_of(merchant)
    first = await _redeem(
        database, caller, "sub_1:discount", coupon_id=coupon["id"], customer_id="cus_1"
    )
    again = await _redeem(
        database, caller, "sub_1:discount", coupon_id=coupon["id"], customer_id="cus_1"
    )
    assert (again.id, again.created_at) == (first.id, first.created_at)
    assert (await get(client, merchant, f"/v1/coupons/{coupon['id']}"))["times_redeemed"] == 1
    other = await post(client, merchant, "/v1/coupons", {"percent_off": 5})
    with pytest.raises(RedemptionIdReusedError):
        await _redeem(database, caller, "sub_1:discount", coupon_id=other["id"])
    await _redeem(database, caller, "sub_2:discount", coupon_id=coupon["id"])
    with pytest.raises(CouponExpiredError, match="max_redemptions") as raised:
        await _redeem(database, caller, "sub_3:discount", coupon_id=coupon["id"], param="coupon")
    assert raised.value.param == "coupon"
    after = await get(client, merchant, f"/v1/coupons/{coupon['id']}")
    assert (after["times_redeemed"], after["valid"]) == (2, False)
    # The refused redemption was not recorded: its id is free once the coupon allows more.
    unlimited = await post(client, merchant, "/v1/coupons", {"percent_off": 1})
    await _redeem(database, caller, "sub_3:discount", coupon_id=unlimited["id"])


async def test_a_coupon_past_its_limits_is_not_redeemed(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    caller = caller_of(merchant)
    soon = await post(
        client,
        merchant,
        "/v1/coupons",
        {"percent_off": 10, "redeem_by": int(utcnow().timestamp()) + 60},
    )
    with pytest.raises(CouponExpiredError, match="redeem_by"):
        await _redeem(
            database, caller, "r1", coupon_id=soon["id"], at=utcnow() + timedelta(minutes=2)
        )
    gone = await post(client, merchant, "/v1/coupons", {"percent_off": 10})
    await client.delete(f"/v1/coupons/{gone['id']}", headers=merchant.auth())
    with pytest.raises(CouponExpiredError, match="deleted"):
        await _redeem(database, caller, "r2", coupon_id=gone["id"])
    with pytest.raises(BeyondpayError) as missing:
        await _redeem(database, caller, "r3", coupon_id="NOPE")
    assert missing.value.code == "resource_missing"
    # A deleted coupon is still read for the discounts given with it.
    async with database.unit_of_work() as session:
        kept = await coupon_service.get(session, caller, gone["id"], include_deleted=True)
    assert kept.deleted_at is not None


async def test_a_promotion_code_counts_with_its_coupon(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    coupon = await post(client, merchant, "/v1/coupons", {"percent_off": 10, "max_redemptions": 5})
    code = await post(
        client,
        merchant,
        "/v1/promotion_codes",
        {"coupon": coupon["id"], "code": "ONCE", "max_redemptions": 1},
    )
    caller = caller_of(merchant)
    options = {"coupon_id": coupon["id"], "promotion_code_id": code["id"]}
    await _redeem(database, caller, "inv_1", **options)
    await _redeem(database, caller, "inv_1", **options)  # the same redemption: counted once
    assert (await get(client, merchant, f"/v1/promotion_codes/{code['id']}"))["times_redeemed"] == 1
    assert (await get(client, merchant, f"/v1/coupons/{coupon['id']}"))["times_redeemed"] == 1
    with pytest.raises(PromotionCodeInvalidError, match="max_redemptions"):
        await _redeem(database, caller, "inv_2", **options)
    # The refusal rolled the coupon's count back with it.
    assert (await get(client, merchant, f"/v1/coupons/{coupon['id']}"))["times_redeemed"] == 1
    other = await post(client, merchant, "/v1/coupons", {"percent_off": 1})
    with pytest.raises(BeyondpayError) as mismatched:
        await _redeem(
            database, caller, "inv_3", coupon_id=other["id"], promotion_code_id=code["id"]
        )
    assert mismatched.value.code == "resource_missing"


async def test_racing_redemptions_of_the_last_use_count_once(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    """Racers on real connections of the pool redeem a coupon with one use left: the
    conditional update serializes them on the coupon's row, one counts and the rest are
    refused, whatever order they arrive in."""
    caller = caller_of(merchant)
    for round_ in range(ROUNDS):
        coupon = await post(
            client, merchant, "/v1/coupons", {"percent_off": 10, "max_redemptions": 1}
        )

        async def race(index: int, coupon_id: str = coupon["id"], round_: int = round_) -> str:
            try:
                await _redeem(database, caller, f"sub_{round_}_{index}", coupon_id=coupon_id)
            except CouponExpiredError:
                return "refused"
            return "counted"

        outcomes = Counter(await asyncio.gather(*(race(index) for index in range(RACERS))))
        assert outcomes == {"counted": 1, "refused": RACERS - 1}, outcomes
        after = await get(client, merchant, f"/v1/coupons/{coupon['id']}")
        assert (after["times_redeemed"], after["valid"]) == (1, False)


async def test_the_second_of_two_interleaved_redemptions_waits_and_is_refused(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    """Two subscriptions redeem the last use of a coupon: the first holds the coupon's row
    until it commits; the second, on another connection, waits for it, re-reads the row the
    first committed and counts nothing."""
    caller = caller_of(merchant)
    coupon = await post(client, merchant, "/v1/coupons", {"percent_off": 10, "max_redemptions": 1})
    first_counted = asyncio.Event()

    async def first() -> None:
        async with database.unit_of_work() as session:
            await coupon_service.redeem(session, caller, "sub_a", coupon_id=coupon["id"])
            first_counted.set()
            await asyncio.sleep(0.3)  # the second is waiting on the row meanwhile

    async def second() -> str:
        await first_counted.wait()
        session: AsyncSession
        async with database.unit_of_work() as session:
            try:
                await coupon_service.redeem(session, caller, "sub_b", coupon_id=coupon["id"])
            except CouponExpiredError:
                return "refused"
        return "counted"

    _, outcome = await asyncio.gather(first(), second())
    assert outcome == "refused"
    after = await get(client, merchant, f"/v1/coupons/{coupon['id']}")
    assert after["times_redeemed"] == 1
