"""The per-process cache of a scope's policies: a change made in this process applies to the
next reservation; one made elsewhere (another process: here a second cache over the same
database) within ``POLICIES_CACHE_TTL_S``; a read that raced an uncommitted change is not kept.
"""

from __future__ import annotations

import httpx

from beyondpay.db.cache import ScopeCache
from beyondpay.db.session import Database
from beyondpay.limits.domain import LimitDecision
from beyondpay.limits.schemas import PolicyCreateParams
from beyondpay.limits.service import POLICIES_CACHE_TTL_S, LimitsService, limits_service
from tests.limits.conftest import SCOPE, context
from tests.support import TestMerchant

CAP_MINOR = 5_000


class Clock:
    def __init__(self) -> None:
        self.now_s = 1_000.0

    def __call__(self) -> float:
        return self.now_s


async def _reserve(
    database: Database, limits: LimitsService, scope: str = SCOPE, amount_minor: int = 10_000
) -> LimitDecision:
    async with database.unit_of_work() as session:
        ctx = context(scope=scope, merchant_id=scope, amount_minor=amount_minor)
        return await limits.reserve(session, ctx)


def _cap() -> PolicyCreateParams:
    return PolicyCreateParams(
        kind="cap", subject="payer", period="transaction", amount_max=CAP_MINOR
    )


async def test_a_policy_made_over_http_applies_to_the_next_payment(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    assert (await _reserve(database, limits_service, merchant.id)).allowed  # none, cached
    created = await client.post(
        "/v1/limits/policies",
        json={"kind": "cap", "subject": "payer", "period": "transaction", "amount_max": CAP_MINOR},
        headers=merchant.auth(),
    )
    assert created.status_code == 200, created.text
    refused = await _reserve(database, limits_service, merchant.id)
    assert (refused.allowed, refused.policy_id) == (False, created.json()["id"])
    policy_id = created.json()["id"]
    updated = await client.post(
        f"/v1/limits/policies/{policy_id}", json={"amount_max": 20_000}, headers=merchant.auth()
    )
    assert updated.status_code == 200, updated.text
    assert (await _reserve(database, limits_service, merchant.id)).allowed
    await client.delete(f"/v1/limits/policies/{policy_id}", headers=merchant.auth())
    assert (await _reserve(database, limits_service, merchant.id, 50_000)).allowed


async def test_another_process_sees_a_change_within_the_bound(
    database: Database, limits: LimitsService
) -> None:
    clock = Clock()
    elsewhere = LimitsService(
        limits.store, limits.ring, policies_cache=ScopeCache(POLICIES_CACHE_TTL_S, clock=clock)
    )
    assert (await _reserve(database, elsewhere)).allowed
    assert (await _reserve(database, limits)).allowed
    async with database.unit_of_work() as session:
        policy = await limits.create_policy(session, SCOPE, False, _cap())
    assert not (await _reserve(database, limits)).allowed  # this process: at once
    clock.now_s += POLICIES_CACHE_TTL_S / 2
    assert (await _reserve(database, elsewhere)).allowed  # still its cached read
    clock.now_s += POLICIES_CACHE_TTL_S / 2
    refused = await _reserve(database, elsewhere)  # read again: within the bound
    assert (refused.allowed, refused.policy_id) == (False, policy.id)


async def test_a_read_racing_an_uncommitted_change_is_not_kept(
    database: Database, limits: LimitsService
) -> None:
    async with database.unit_of_work() as writer:
        await limits.create_policy(writer, SCOPE, False, _cap())
        # Another payment of this process reads before the change commits: no policy, which
        # it may use, but which must not outlive the commit.
        assert (await _reserve(database, limits)).allowed
    assert not (await _reserve(database, limits)).allowed
