"""Limits decisions, one test per policy kind, over both counter stores (PostgreSQL, Redis)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from beyondpay.db.session import Database
from beyondpay.limits.domain import LimitContext, LimitDecision
from beyondpay.limits.models import LimitDecisionRow
from beyondpay.limits.service import LimitsService, vpa_key
from tests.limits.conftest import NOON_ISH, add_policy, context
from tests.support import ring_for_tests


async def _reserve(database: Database, limits: LimitsService, ctx: LimitContext) -> LimitDecision:
    async with database.unit_of_work() as session:
        return await limits.reserve(session, ctx)


async def _check(database: Database, limits: LimitsService, ctx: LimitContext) -> LimitDecision:
    async with database.unit_of_work() as session:
        return await limits.check(session, ctx)


async def _release(database: Database, limits: LimitsService, ctx: LimitContext) -> bool:
    async with database.unit_of_work() as session:
        return await limits.release(session, ctx)


async def test_no_policy_allows(database: Database, limits: LimitsService) -> None:
    decision = await _reserve(database, limits, context())
    assert decision.allowed and decision.code is None


async def test_per_transaction_cap(database: Database, limits: LimitsService) -> None:
    policy = await add_policy(
        database, limits, kind="cap", subject="payer", period="transaction", amount_max=5_000
    )
    assert (await _reserve(database, limits, context(amount_minor=5_000))).allowed
    refused = await _reserve(database, limits, context(amount_minor=5_001))
    assert not refused.allowed
    assert (refused.policy_id, refused.code, refused.npci_code) == (
        policy,
        "limits_transaction_amount_exceeded",
        "Z8",
    )


async def test_daily_amount_cap_per_payer(database: Database, limits: LimitsService) -> None:
    policy = await add_policy(
        database, limits, kind="cap", subject="payer", period="day", amount_max=10_000
    )
    outcomes = [
        (await _reserve(database, limits, context(amount_minor=4_000))).allowed for _ in range(3)
    ]
    assert outcomes == [True, True, False]
    refused = await _reserve(database, limits, context(amount_minor=4_000))
    assert (refused.policy_id, refused.code) == (policy, "limits_amount_exceeded")
    # Another payer has a counter of its own; the next IST day starts from zero.
    assert (await _reserve(database, limits, context(payer_key="pyr_ravi"))).allowed
    tomorrow = NOON_ISH + timedelta(days=1)
    assert (
        await _reserve(database, limits, context(amount_minor=4_000, occurred_at=tomorrow))
    ).allowed


async def test_the_ist_day_ends_at_ist_midnight(database: Database, limits: LimitsService) -> None:
    await add_policy(database, limits, kind="cap", subject="payer", period="day", amount_max=1_000)
    # 23:59 IST on the 18th and 00:01 IST on the 19th are 18:29 and 18:31 UTC of the 18th.
    before = NOON_ISH.replace(hour=18, minute=29)
    after = NOON_ISH.replace(hour=18, minute=31)
    assert (await _reserve(database, limits, context(occurred_at=before))).allowed
    assert (await _reserve(database, limits, context(occurred_at=after))).allowed
    assert not (await _reserve(database, limits, context(occurred_at=after))).allowed


async def test_monthly_count_cap_per_device(database: Database, limits: LimitsService) -> None:
    await add_policy(database, limits, kind="cap", subject="device", period="month", count_max=2)
    outcomes = [(await _reserve(database, limits, context())).allowed for _ in range(3)]
    assert outcomes == [True, True, False]
    refused = await _reserve(database, limits, context())
    assert (refused.code, refused.npci_code) == ("limits_count_exceeded", "Z7")
    # A payment with no device has nothing to count by; the next month starts from zero.
    assert (await _reserve(database, limits, context(device_id=None))).allowed
    next_month = NOON_ISH + timedelta(days=15)
    assert (await _reserve(database, limits, context(occurred_at=next_month))).allowed


async def test_caps_count_all_or_nothing(database: Database, limits: LimitsService) -> None:
    """A payment refused by one cap is counted by none: the merchant's cap still has room."""
    await add_policy(
        database, limits, kind="cap", subject="merchant", period="day", amount_max=3_000
    )
    await add_policy(database, limits, kind="cap", subject="vpa", period="day", amount_max=1_500)
    vpa = vpa_key(ring_for_tests(), "asha@okbank")
    assert (await _reserve(database, limits, context(vpa_key=vpa))).allowed
    refused = await _reserve(database, limits, context(vpa_key=vpa))
    assert refused.code == "limits_amount_exceeded"
    other = vpa_key(ring_for_tests(), "ravi@okbank")
    assert (await _reserve(database, limits, context(vpa_key=other))).allowed
    # 3,000 on the merchant's cap only if the refused payment was not counted.
    assert (await _reserve(database, limits, context(vpa_key=None))).allowed
    assert not (await _reserve(database, limits, context(vpa_key=None))).allowed


async def test_mcc_allow_and_deny(database: Database, limits: LimitsService) -> None:
    policy = await add_policy(database, limits, kind="mcc", action="deny", mccs=["7995"])
    refused = await _reserve(database, limits, context(mcc="7995"))
    assert (refused.policy_id, refused.code, refused.npci_code) == (
        policy,
        "limits_mcc_not_allowed",
        "B3",
    )
    assert (await _reserve(database, limits, context(mcc="5411"))).allowed
    await add_policy(database, limits, kind="mcc", action="allow", mccs=["5411", "5812"])
    assert (await _reserve(database, limits, context(mcc="5812"))).allowed
    assert not (await _reserve(database, limits, context(mcc="4829"))).allowed
    assert not (await _reserve(database, limits, context(mcc=None))).allowed


async def test_time_of_day_window_in_ist(database: Database, limits: LimitsService) -> None:
    await add_policy(
        database, limits, kind="time_window", action="allow", start_minute=540, end_minute=1080
    )
    ten_thirty = NOON_ISH  # 10:30 IST
    eight_pm = NOON_ISH.replace(hour=14, minute=30)  # 20:00 IST
    assert (await _reserve(database, limits, context(occurred_at=ten_thirty))).allowed
    refused = await _reserve(database, limits, context(occurred_at=eight_pm))
    assert refused.code == "limits_outside_time_window"
    assert "09:00-18:00 IST" in refused.reason


async def test_deny_window_over_midnight(database: Database, limits: LimitsService) -> None:
    await add_policy(
        database, limits, kind="time_window", action="deny", start_minute=1380, end_minute=300
    )
    one_am = NOON_ISH.replace(hour=19, minute=30)  # 01:00 IST the next day
    assert not (await _reserve(database, limits, context(occurred_at=one_am))).allowed
    assert (await _reserve(database, limits, context())).allowed


async def test_geo_window(database: Database, limits: LimitsService) -> None:
    # Within 25 km of central Bengaluru.
    await add_policy(
        database,
        limits,
        kind="geo_window",
        action="allow",
        latitude=12.9716,
        longitude=77.5946,
        radius_m=25_000,
    )
    assert (await _reserve(database, limits, context(latitude=13.0, longitude=77.6))).allowed
    mumbai = context(latitude=19.076, longitude=72.8777)
    assert (await _reserve(database, limits, mumbai)).code == "limits_outside_geo_window"
    unknown = context(latitude=None, longitude=None)
    assert not (await _reserve(database, limits, unknown)).allowed


async def test_deny_and_allow_lists(database: Database, limits: LimitsService) -> None:
    denied = await add_policy(
        database, limits, kind="list", action="deny", subject="device", values=["dev_stolen"]
    )
    refused = await _reserve(database, limits, context(device_id="dev_stolen"))
    assert (refused.policy_id, refused.code) == (denied, "limits_deny_listed")
    await add_policy(
        database, limits, kind="list", action="allow", subject="payer", values=["pyr_asha"]
    )
    assert (await _reserve(database, limits, context())).allowed
    assert (await _reserve(database, limits, context(payer_key="pyr_ravi"))).code == (
        "limits_not_allow_listed"
    )


async def test_vpa_deny_list_matches_the_fingerprint(
    database: Database, limits: LimitsService
) -> None:
    await add_policy(
        database, limits, kind="list", action="deny", subject="vpa", values=["Mule@OkBank"]
    )
    mule = vpa_key(ring_for_tests(), "mule@okbank")
    assert (await _reserve(database, limits, context(vpa_key=mule))).code == "limits_deny_listed"
    clean = vpa_key(ring_for_tests(), "asha@okbank")
    assert (await _reserve(database, limits, context(vpa_key=clean))).allowed


async def test_deny_list_decides_before_caps(database: Database, limits: LimitsService) -> None:
    await add_policy(
        database, limits, kind="cap", subject="payer", period="transaction", amount_max=10
    )
    denied = await add_policy(
        database, limits, kind="list", action="deny", subject="ip", values=["203.0.113.7"]
    )
    assert (await _reserve(database, limits, context())).policy_id == denied


async def test_a_segment_policy_binds_only_its_segment(
    database: Database, limits: LimitsService
) -> None:
    await add_policy(
        database,
        limits,
        kind="cap",
        subject="payer",
        period="transaction",
        amount_max=500,
        segment="minor",
    )
    assert (await _reserve(database, limits, context())).allowed
    assert not (await _reserve(database, limits, context(segment="minor"))).allowed


async def test_release_gives_the_amount_back(database: Database, limits: LimitsService) -> None:
    await add_policy(database, limits, kind="cap", subject="payer", period="day", amount_max=2_000)
    first = context(amount_minor=2_000)
    assert (await _reserve(database, limits, first)).allowed
    assert not (await _reserve(database, limits, context())).allowed
    assert await _release(database, limits, first)
    assert not await _release(database, limits, first)  # given back once only
    assert (await _reserve(database, limits, context(amount_minor=2_000))).allowed
    refused = context()
    assert not (await _reserve(database, limits, refused)).allowed
    assert not await _release(database, limits, refused)  # nothing was counted


async def test_reserve_is_idempotent_per_payment(database: Database, limits: LimitsService) -> None:
    await add_policy(database, limits, kind="cap", subject="payer", period="day", amount_max=2_000)
    ctx = context()
    first = await _reserve(database, limits, ctx)
    assert first == await _reserve(database, limits, ctx)
    # Counted once: 1,000 of 2,000 used, so another 1,000 fits.
    assert (await _reserve(database, limits, context())).allowed


async def test_check_counts_nothing_and_every_decision_is_audited(
    database: Database, limits: LimitsService
) -> None:
    policy = await add_policy(
        database, limits, kind="cap", subject="payer", period="day", amount_max=1_000
    )
    ctx = context()
    for _ in range(3):
        assert (await _check(database, limits, ctx)).allowed
    assert (await _reserve(database, limits, ctx)).allowed
    refused = context()
    assert (await _check(database, limits, refused)).policy_id == policy
    assert not (await _reserve(database, limits, refused)).allowed
    async with database.unit_of_work() as session:
        trail = await limits.decisions(session, ctx.scope, False, ctx.payment_id)
        assert [(row.operation, row.allowed) for row in trail] == [
            ("check", True),
            ("check", True),
            ("check", True),
            ("reserve", True),
        ]
        refusals = (
            await session.execute(
                select(LimitDecisionRow).where(LimitDecisionRow.payment_id == refused.payment_id)
            )
        ).scalars()
        assert {(row.operation, row.policy_id, row.code) for row in refusals} == {
            ("check", policy, "limits_amount_exceeded"),
            ("reserve", policy, "limits_amount_exceeded"),
        }
