"""The per-process cache of a scope's rules: a change made in this process applies to the next
payment; one made elsewhere (another process: here a second cache over the same database)
within ``RULES_CACHE_TTL_S``; a read that raced an uncommitted change is not kept. And the
model is loaded by ``configure`` (at start-up), not by the first payment."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from beyondpay.db.cache import ScopeCache
from beyondpay.db.session import Database
from beyondpay.kit.settings import Settings
from beyondpay.merchants.domain import Caller, KeyKind, MerchantStatus
from beyondpay.risk import service as risk_module
from beyondpay.risk.model import default_model
from beyondpay.risk.rules import DEFAULT_RULES, Rule
from beyondpay.risk.schemas import RuleCreateParams
from beyondpay.risk.service import RULES_CACHE_TTL_S, RiskService, risk_service
from beyondpay.risk.store import PostgresFeatureStore
from tests.risk.support import FixedScorer, context
from tests.support import TEST_RING_TEXT, TestMerchant

SCOPE = "acct_risk_cache"
BIG_MINOR = 20_000_00


class Clock:
    def __init__(self) -> None:
        self.now_s = 1_000.0

    def __call__(self) -> float:
        return self.now_s


@pytest.fixture
async def scorer() -> AsyncIterator[FixedScorer]:
    fixed = FixedScorer()
    risk_module.configure(
        Settings(secret_keys=TEST_RING_TEXT), store=PostgresFeatureStore(), scorer=fixed
    )
    yield fixed
    risk_module.configure(Settings(secret_keys=TEST_RING_TEXT), store=PostgresFeatureStore())


def _caller() -> Caller:
    return Caller(
        key_id="key_test",
        kind=KeyKind.secret,
        livemode=False,
        merchant_id=SCOPE,
        merchant_status=MerchantStatus.active,
    )


def _block_big() -> RuleCreateParams:
    return RuleCreateParams.model_validate(
        {
            "action": "block",
            "conditions": [{"feature": "amount_minor", "op": ">=", "value": 1_000_000}],
            "reason": "Nothing over ₹10,000",
        }
    )


async def _rule_ids(service: RiskService, database: Database) -> list[str]:
    async with database.unit_of_work() as session:
        return [rule.id for rule in await service.rules(session, SCOPE, False)]


DEFAULT_IDS = [rule.id for rule in DEFAULT_RULES]


async def test_a_rule_made_over_http_applies_to_the_next_payment(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    big = {"amount": BIG_MINOR, "currency": "inr", "rail": "upi", "payer": "pyr_1"}
    first = await client.post(
        "/v1/risk/assessments", json={**big, "payment": "pi_1"}, headers=merchant.auth()
    )
    assert first.json()["decision"] == "pass"  # the defaults, now cached
    created = await client.post(
        "/v1/risk/rules",
        json={
            "action": "block",
            "conditions": [{"feature": "amount_minor", "op": ">=", "value": 1_000_000}],
            "reason": "Nothing over ₹10,000",
        },
        headers=merchant.auth(),
    )
    assert created.status_code == 200, created.text
    second = await client.post(
        "/v1/risk/assessments", json={**big, "payment": "pi_2"}, headers=merchant.auth()
    )
    assert second.json()["decision"] == "block"
    rule_id = created.json()["id"]
    await client.post(f"/v1/risk/rules/{rule_id}", json={"enabled": False}, headers=merchant.auth())
    third = await client.post(
        "/v1/risk/assessments", json={**big, "payment": "pi_3"}, headers=merchant.auth()
    )
    assert third.json()["decision"] == "pass" and third.json()["rules"] == []
    await client.delete(f"/v1/risk/rules/{rule_id}", headers=merchant.auth())
    more = {**big, "payment": "pi_4", "amount": 100}
    fourth = await client.post("/v1/risk/assessments", json=more, headers=merchant.auth())
    assert fourth.json()["decision"] == "pass"


async def test_another_process_sees_a_change_within_the_bound(
    database: Database, scorer: FixedScorer
) -> None:
    clock = Clock()
    elsewhere = RiskService(ScopeCache(RULES_CACHE_TTL_S, clock=clock))
    assert await _rule_ids(elsewhere, database) == DEFAULT_IDS
    assert await _rule_ids(risk_service, database) == DEFAULT_IDS
    async with database.unit_of_work() as session:
        rule = await risk_service.create_rule(session, _caller(), _block_big())
    assert await _rule_ids(risk_service, database) == [rule.id]  # this process: at once
    clock.now_s += RULES_CACHE_TTL_S / 2
    assert await _rule_ids(elsewhere, database) == DEFAULT_IDS  # still its cached read
    clock.now_s += RULES_CACHE_TTL_S / 2
    assert await _rule_ids(elsewhere, database) == [rule.id]  # read again: within the bound
    async with database.unit_of_work() as session:
        assessed = await elsewhere.assess(
            session, context(scope=SCOPE, payee_key=SCOPE, amount_minor=BIG_MINOR)
        )
    assert assessed.decision == "block"


async def test_a_read_racing_an_uncommitted_change_is_not_kept(
    database: Database, scorer: FixedScorer
) -> None:
    async with database.unit_of_work() as writer:
        rule = await risk_service.create_rule(writer, _caller(), _block_big())
        # Another payment of this process reads before the change commits: the old rules,
        # which it may use, but which must not outlive the commit.
        assert await _rule_ids(risk_service, database) == DEFAULT_IDS
    assert await _rule_ids(risk_service, database) == [rule.id]


async def test_each_database_has_its_own_entries(database: Database, database_url: str) -> None:
    cache: ScopeCache[tuple[Rule, ...]] = ScopeCache(60.0)
    other = Database(database_url)
    try:
        async with database.unit_of_work() as session:
            generation, read_at = cache.generation, cache.now()
            cache.put(session, SCOPE, False, DEFAULT_RULES, generation=generation, read_at=read_at)
            assert cache.get(session, SCOPE, False) == DEFAULT_RULES
            assert cache.get(session, SCOPE, True) is None
        async with other.unit_of_work() as session:
            assert cache.get(session, SCOPE, False) is None
    finally:
        await other.dispose()


def test_configure_loads_the_model_at_start_up() -> None:
    risk_module.configure(Settings(secret_keys=TEST_RING_TEXT), store=PostgresFeatureStore())
    assert risk_module.CONFIG.current().scorer is default_model()
