"""risk_service.assess against real PostgreSQL: persisted, idempotent (also under a race),
rules and blocklists over the model, Redis failure handled, events recorded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from beyondpay.db.session import Database
from beyondpay.kit.settings import Settings
from beyondpay.merchants.domain import Caller, KeyKind, MerchantStatus
from beyondpay.risk import service as risk_module
from beyondpay.risk.models import AssessmentRow
from beyondpay.risk.schemas import BlocklistItemCreateParams, RuleCreateParams
from beyondpay.risk.service import ip_key, risk_service
from beyondpay.risk.store import (
    FeatureStoreUnavailableError,
    MemoryFeatureStore,
    PostgresFeatureStore,
)
from tests.risk.support import MOMENT, FixedScorer, context
from tests.support import TEST_RING_TEXT, ring_for_tests

SCOPE = "acct_risk_test"
# The model decides test payments here, as it does live ones: what these tests check.
SETTINGS = Settings(secret_keys=TEST_RING_TEXT, risk_model_decides_in_test_mode=True)


@pytest.fixture
async def scorer() -> AsyncIterator[FixedScorer]:
    fixed = FixedScorer()
    risk_module.configure(SETTINGS, store=PostgresFeatureStore(), scorer=fixed)
    yield fixed
    risk_module.configure(Settings(secret_keys=TEST_RING_TEXT), store=PostgresFeatureStore())


def caller(scope: str = SCOPE) -> Caller:
    return Caller(
        key_id="key_test",
        kind=KeyKind.secret,
        livemode=False,
        merchant_id=scope,
        merchant_status=MerchantStatus.active,
    )


async def assess(database: Database, **changes: object) -> AssessmentRow:
    async with database.unit_of_work() as session:
        return await risk_service.assess(session, context(**changes))


async def test_an_assessment_is_stored_with_its_explanation(
    database: Database, scorer: FixedScorer
) -> None:
    row = await assess(database, payment_id="pi_one")
    assert row.id.startswith("ra_")
    assert (row.score, row.level, row.decision, row.decline_code) == (10, "low", "pass", None)
    assert row.model_version == "fixed-1"
    assert len(row.contributions) == 5
    assert set(row.contributions[0]) == {"feature", "value", "contribution"}
    assert row.features["amount_log"] > 0
    async with database.unit_of_work() as session:
        stored = (await session.execute(select(AssessmentRow))).scalar_one()
        events = (
            (
                await session.execute(
                    text("SELECT type FROM events WHERE merchant_id = :m"), {"m": SCOPE}
                )
            )
            .scalars()
            .all()
        )
    assert stored.id == row.id and stored.payment_id == "pi_one"
    assert list(events) == ["risk.assessment.created"]


async def test_the_same_payment_gets_the_stored_assessment_and_is_counted_once(
    database: Database, scorer: FixedScorer
) -> None:
    first = await assess(database, payment_id="pi_same")
    scorer.probability = 0.99
    second = await assess(database, payment_id="pi_same")
    assert second.id == first.id and second.decision == "pass"
    nxt = await assess(database, payment_id="pi_next", occurred_at=MOMENT + timedelta(minutes=1))
    assert nxt.features["count_1h"] == 1.0  # pi_same counted once
    async with database.unit_of_work() as session:
        events = await session.scalar(text("SELECT count(*) FROM events"))
    assert events == 2


@pytest.mark.slow
async def test_a_race_of_assessments_of_one_payment_stores_one(
    database: Database, scorer: FixedScorer
) -> None:
    rows = await asyncio.gather(*(assess(database, payment_id="pi_race") for _ in range(6)))
    assert len({row.id for row in rows}) == 1
    async with database.unit_of_work() as session:
        stored = await session.scalar(select(func.count()).select_from(AssessmentRow))
        counted = await session.scalar(text("SELECT count(*) FROM risk_feature_payments"))
        events = await session.scalar(text("SELECT count(*) FROM events"))
    assert (stored, counted, events) == (1, 1, 1)


@pytest.mark.parametrize(
    ("probability", "segment", "decision", "level"),
    [
        (0.0, "default", "pass", "very_low"),
        (0.64, "default", "pass", "normal"),
        (0.65, "default", "challenge", "elevated"),
        (0.85, "default", "block", "very_high"),
        (0.5, "minor", "challenge", "normal"),
        (0.7, "minor", "block", "elevated"),
    ],
)
async def test_the_model_decides_by_thresholds_per_segment(
    database: Database,
    scorer: FixedScorer,
    probability: float,
    segment: str,
    decision: str,
    level: str,
) -> None:
    scorer.probability = probability
    row = await assess(database, segment=segment)
    assert (row.decision, row.level) == (decision, level)


async def test_a_block_declines_with_u16_on_upi_and_fraudulent_on_cards(
    database: Database, scorer: FixedScorer
) -> None:
    scorer.probability = 0.95
    assert (await assess(database, rail="upi")).decline_code == "U16"
    assert (await assess(database, rail="card", payer_key="cus_card")).decline_code == "fraudulent"


async def test_default_rules_apply_when_the_merchant_has_none(
    database: Database, scorer: FixedScorer
) -> None:
    # Card testing: five small card payments in the hour, then a sixth is blocked.
    for minute in range(5):
        row = await assess(
            database,
            rail="card",
            amount_minor=50_00,
            occurred_at=MOMENT + timedelta(minutes=minute),
        )
        assert row.decision == "pass"
    row = await assess(
        database, rail="card", amount_minor=50_00, occurred_at=MOMENT + timedelta(minutes=6)
    )
    assert row.decision == "block" and row.decline_code == "fraudulent"
    assert [rule["id"] for rule in row.rules] == ["default_card_testing"]


async def test_merchant_rules_replace_the_defaults_and_allow_beats_the_model(
    database: Database, scorer: FixedScorer
) -> None:
    async with database.unit_of_work() as session:
        await risk_service.create_rule(
            session,
            caller(),
            RuleCreateParams.model_validate(
                {
                    "action": "allow",
                    "conditions": [{"feature": "mcc", "op": "==", "value": "5411"}],
                    "reason": "Groceries are fine",
                }
            ),
        )
    scorer.probability = 0.99
    allowed = await assess(database, mcc="5411")
    assert allowed.decision == "pass" and allowed.rules[0]["action"] == "allow"
    assert (await assess(database, mcc="7995")).decision == "block"
    # The defaults no longer apply: six small card payments pass the rules.
    scorer.probability = 0.1
    for minute in range(7):
        row = await assess(
            database,
            rail="card",
            amount_minor=50_00,
            occurred_at=MOMENT + timedelta(minutes=minute),
        )
    assert row.decision == "pass"


async def test_a_blocklisted_value_blocks_even_an_allowed_payment(
    database: Database, scorer: FixedScorer
) -> None:
    ring = ring_for_tests()
    async with database.unit_of_work() as session:
        await risk_service.create_rule(
            session,
            caller(),
            RuleCreateParams.model_validate(
                {
                    "action": "allow",
                    "conditions": [{"feature": "amount_minor", "op": ">", "value": 0}],
                    "reason": "all",
                }
            ),
        )
        for kind, value in (
            ("card", "ab" * 16),
            ("vpa", "cd" * 16),
            ("device", "dev_1"),
            ("ip", "203.0.113.9"),
            ("payer", "cus_bad"),
        ):
            item = await risk_service.create_blocklist_item(
                session, caller(), BlocklistItemCreateParams(kind=kind, value=value)
            )
            if kind == "ip":
                assert (
                    item.value_key == ip_key(ring, "203.0.113.9") and item.display == "203.0.113.*"
                )
    cases = [
        {"rail": "card", "instrument_fingerprint": "ab" * 16},
        {"rail": "upi", "instrument_fingerprint": "cd" * 16},
        {"device_id": "dev_1"},
        {"ip": "203.0.113.9"},
        {"payer_key": "cus_bad"},
    ]
    for case in cases:
        row = await assess(database, **case)
        assert row.decision == "block", case
        assert row.rules[0]["id"] == "blocklist"
    # A card's fingerprint does not block the same hex as a VPA, nor another merchant's payment.
    assert (await assess(database, rail="upi", instrument_fingerprint="ab" * 16)).decision == "pass"
    assert (await assess(database, scope="acct_other", payer_key="cus_bad")).decision == "pass"
    async with database.unit_of_work() as session:
        stored = (
            (await session.execute(text("SELECT value_key FROM risk_blocklist_items")))
            .scalars()
            .all()
        )
    assert "203.0.113.9" not in stored


class _DownStore(MemoryFeatureStore):
    async def read(self, session, ctx):  # type: ignore[no-untyped-def]
        raise FeatureStoreUnavailableError("ConnectionError")


async def test_an_unreachable_feature_store_challenges_instead_of_passing_or_failing(
    database: Database, scorer: FixedScorer
) -> None:
    risk_module.configure(SETTINGS, store=_DownStore(), scorer=scorer)
    row = await assess(database)
    assert row.decision == "challenge"
    assert row.rules[0]["id"] == "feature_store_unavailable"
    scorer.probability = 0.99
    assert (await assess(database)).decision == "block"  # the model still blocks


async def test_in_test_mode_by_default_the_model_scores_but_only_rules_act(
    database: Database, scorer: FixedScorer
) -> None:
    risk_module.configure(
        Settings(secret_keys=TEST_RING_TEXT), store=PostgresFeatureStore(), scorer=scorer
    )
    scorer.probability = 0.99
    row = await assess(database)
    assert (row.score, row.level, row.decision) == (99, "very_high", "pass")
    assert (await assess(database, livemode=True)).decision == "block"
