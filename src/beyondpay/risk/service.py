"""Risk use cases: assess a payment, and a merchant's rules and blocklists. Never commits.

``risk_service.assess(session, ctx)`` is what payment confirmation and the PSP's pay call inline,
before money moves, in their own transaction: it reads the payer's history from the feature
store, computes the features, evaluates the rules in Radar's order, scores with the model and
decides, then stores the explainability snapshot, records the payment in the feature store and
the ``risk.assessment.created`` event. The same payment (scope, mode, payment id) is assessed
once: a second call, or a racing one, gets the stored assessment and records nothing again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import orjson
from psycopg.types.json import Jsonb
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.cache import ScopeCache
from beyondpay.db.pagination import created_conditions, owned_page
from beyondpay.db.session import driver_connection
from beyondpay.events.follower import CHANNEL, scope_payload
from beyondpay.events.service import API_VERSION
from beyondpay.kit.clock import utcnow
from beyondpay.kit.context import current_request
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import InvalidRequestError, ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.kit.module_settings import ModuleSettings
from beyondpay.kit.settings import Settings
from beyondpay.merchants.domain import Caller
from beyondpay.risk import domain, events
from beyondpay.risk.domain import PaymentContext
from beyondpay.risk.errors import BlocklistItemExistsError
from beyondpay.risk.events import RiskEvent
from beyondpay.risk.features import History, compute
from beyondpay.risk.models import AssessmentRow, BlocklistItemRow, RuleRow
from beyondpay.risk.rules import (
    DEFAULT_RULES,
    Action,
    Condition,
    Rule,
    evaluate,
    parse_condition,
    values_of,
)
from beyondpay.risk.schemas import (
    AssessmentListParams,
    BlocklistItemCreateParams,
    BlocklistItemListParams,
    RuleCreateParams,
    RuleListParams,
    RuleUpdateParams,
    check_fingerprint,
    check_ip,
)
from beyondpay.risk.store import (
    RECORD_CTES,
    FeatureStore,
    FeatureStoreUnavailableError,
    PostgresFeatureStore,
    RedisFeatureStore,
    record_parameters,
)

CONTRIBUTIONS_SHOWN: Final = 5
RULES_PER_SCOPE_MAX: Final = 200  # read on every assessment: a bound on its cost
UNAVAILABLE_RULE: Final = {
    "id": "feature_store_unavailable",
    "action": "challenge",
    "reason": "The payer's history could not be read: the payment is challenged.",
}
BLOCKLIST_RULE_ID: Final = "blocklist"
TEST_CARD_BLOCKED_RULE: Final = {
    "id": "test_card_blocked",
    "action": "block",
    "reason": "Test mode: 4100 0000 0000 0019 is always blocked.",
}

# How long a process uses a scope's rules without reading them again: the bound on how late a
# change made in another process applies (one made in this process applies at once).
RULES_CACHE_TTL_S: Final = 1.0

# The scope's rules in their order, as one JSON column [[id, action, segment, conditions,
# reason, enabled], …]: read with the history when the cache has none (a PSP payer's scope, say,
# is rarely paid from twice within the cache's lifetime), alone by ``rules``.
_RULES_COLUMN: Final = """(
SELECT coalesce(json_agg(json_build_array(id, action, segment, conditions, reason, enabled)
                         ORDER BY position, id), '[]')
FROM (SELECT id, action, segment, conditions, reason, enabled, position FROM risk_rules
      WHERE scope = %(blocklist_scope)s AND livemode = %(blocklist_livemode)s
      ORDER BY position, id LIMIT %(rules_max)s) AS rule)"""
_RULES_SQL: Final = f"SELECT {_RULES_COLUMN}"

# The first blocklist item the payment matches (its kind and id), as one column of a statement
# (with the PostgreSQL feature store, of the history's read).
_BLOCKLIST_COLUMN: Final = """(
SELECT kind || ' ' || id FROM risk_blocklist_items
WHERE scope = %(blocklist_scope)s AND livemode = %(blocklist_livemode)s
  AND (kind, value_key) IN
      (SELECT * FROM unnest(%(blocklist_kinds)s::text[], %(blocklist_values)s::text[]))
ORDER BY id LIMIT 1)"""
_SCREEN_COLUMNS: Final = f"{_BLOCKLIST_COLUMN}, {_RULES_COLUMN}"
_BLOCKLIST_ONLY_COLUMNS: Final = f"{_BLOCKLIST_COLUMN}, NULL"
_SCREEN_SQL: Final = f"SELECT {_SCREEN_COLUMNS}"
_BLOCKLIST_SQL: Final = f"SELECT {_BLOCKLIST_ONLY_COLUMNS}"

# The assessment, its event (and the notification of the events follower, as
# ``events.service`` writes them) and, with the PostgreSQL feature store, the payment recorded
# in the history: one statement, all only if this payment had no assessment yet. ON CONFLICT
# waits for a racing insert of the same payment and yields to it; the rest then writes nothing.
_ASSESSED_CTE: Final = """
assessed AS (
    INSERT INTO risk_assessments (id, scope, livemode, payment_id, rail, amount_minor, currency,
        segment, score, level, decision, decline_code, rules, contributions, features,
        model_version, created_at)
    VALUES (%(id)s, %(scope)s, %(assessment_livemode)s, %(payment_id)s, %(rail)s,
        %(amount_minor)s, %(currency)s, %(segment)s, %(score)s, %(level)s, %(decision)s,
        %(decline_code)s, %(rules)s, %(contributions)s, %(features)s, %(model_version)s,
        %(created_at)s)
    ON CONFLICT (scope, livemode, payment_id) DO NOTHING RETURNING id
), event AS (
    INSERT INTO events (id, merchant_id, livemode, type, api_version, object_id, data,
        request_id, idempotency_key, created_at)
    SELECT %(event_id)s, %(scope)s, %(assessment_livemode)s, %(event_type)s,
        %(api_version)s, id, %(event_data)s, %(request_id)s, %(idempotency_key)s,
        %(created_at)s
    FROM assessed
)"""
_ASSESSED_TAIL: Final = " SELECT pg_notify(%(channel)s, %(channel_payload)s) FROM assessed"
_INSERT_SQL: Final = f"WITH {_ASSESSED_CTE}{_ASSESSED_TAIL}"
_INSERT_AND_RECORD_SQL: Final = f"WITH {_ASSESSED_CTE}, {RECORD_CTES}{_ASSESSED_TAIL}"


class Scorer(Protocol):
    """What the model gives (risk.model.Model): a probability and its explanation."""

    version: str

    def predict(self, features: Mapping[str, float]) -> tuple[float, Sequence[Any]]: ...


@dataclass(frozen=True, slots=True)
class RiskConfig:
    """The feature store (Redis when ``BEYONDPAY_REDIS_URL`` is set, else PostgreSQL), the key
    ring and the model of this process; tests and the benchmark may hand a store or a model of
    their own."""

    store: FeatureStore
    ring: KeyRing
    scorer: Scorer
    # Test mode scores every payment but lets the model decide only when asked (see
    # domain.decide): a model trained on synthetic data must not make test payments flaky.
    model_decides_in_test_mode: bool = False

    @classmethod
    def from_settings(
        cls, settings: Settings, *, store: FeatureStore | None = None, scorer: Scorer | None = None
    ) -> RiskConfig:
        url = settings.redis_url_value()
        if store is None:
            store = (
                RedisFeatureStore.from_url(url, settings.redis_key_prefix)
                if url is not None
                else PostgresFeatureStore()
            )
        return cls(
            store=store,
            ring=settings.key_ring(),
            scorer=scorer if scorer is not None else _default_scorer(),
            model_decides_in_test_mode=settings.risk_model_decides_in_test_mode,
        )


CONFIG: ModuleSettings[RiskConfig] = ModuleSettings(RiskConfig.from_settings)
_RULES_CACHE: ScopeCache[Sequence[Rule]] = ScopeCache(RULES_CACHE_TTL_S)


def configure(
    settings: Settings, *, store: FeatureStore | None = None, scorer: Scorer | None = None
) -> RiskConfig:
    """Called by the composition root (``app.configure_modules``) when the API and the worker
    start: the model is loaded here (seconds: the file is a scikit-learn pickle), so no payment
    waits for it and none imports scikit-learn."""
    return CONFIG.set(RiskConfig.from_settings(settings, store=store, scorer=scorer))


def _default_scorer() -> Scorer:
    # Loaded once per process (lru_cache in risk.model); imported here so that merely importing
    # risk does not load numpy and the model file.
    from beyondpay.risk.model import default_model

    return default_model()


def _store() -> FeatureStore:
    return CONFIG.current().store


def _ring() -> KeyRing:
    return CONFIG.current().ring


def _scorer() -> Scorer:
    return CONFIG.current().scorer


def ip_key(ring: KeyRing, ip: str) -> str:
    """An IP address as the blocklist keeps it: a keyed fingerprint, never the address."""
    return ring.fingerprint(f"risk-ip:{ip}").hex()


def _contribution(item: Any) -> dict[str, Any]:
    if isinstance(item, Mapping):
        feature, value, contribution = item["feature"], item["value"], item["contribution"]
    else:
        feature, value, contribution = item.feature, item.value, item.contribution
    return {
        "feature": str(feature),
        "value": float(value),
        "contribution": round(float(contribution), 6),
    }


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _rules_of(stored: Sequence[Sequence[Any]]) -> Sequence[Rule]:
    """The enabled rules of ``_RULES_COLUMN``'s rows (in their order), or the defaults if the
    scope has none: a disabled rule still sets the defaults aside."""
    if not stored:
        return DEFAULT_RULES
    return tuple(
        Rule(rule_id, Action(action), _conditions(conditions), reason, segment)
        for rule_id, action, segment, conditions, reason, enabled in stored
        if enabled
    )


def _conditions(stored: Sequence[Mapping[str, Any]]) -> tuple[Condition, ...]:
    return tuple(parse_condition(condition) for condition in stored)


def _blocked_by(found: str | None) -> dict[str, str] | None:
    """The rule a blocklist match fires, from the column ``_BLOCKLIST_COLUMN`` reads."""
    if found is None:
        return None
    kind, _, item_id = found.partition(" ")
    return {
        "id": BLOCKLIST_RULE_ID,
        "action": "block",
        "reason": f"The {kind} is on the blocklist ({item_id}).",
    }


def _fired(rule: Rule) -> dict[str, str]:
    return {"id": rule.id, "action": rule.action.value, "reason": rule.reason}


@dataclass(frozen=True, slots=True)
class _Verdict:
    score: int
    decision: domain.Decision
    fired: list[dict[str, str]]
    contributions: list[dict[str, Any]]
    model_version: str


class RiskService:
    """``risk_service``; a test may build another over a rules cache of its own (as another
    process would have)."""

    def __init__(self, rules_cache: ScopeCache[Sequence[Rule]] | None = None) -> None:
        self._rules_cache = rules_cache if rules_cache is not None else _RULES_CACHE

    async def assess(self, session: AsyncSession, ctx: PaymentContext) -> AssessmentRow:
        """The assessment of ``ctx``'s payment: the stored one if it was assessed already."""
        invariant(ctx.amount_minor > 0, "a payment assessed moves a positive amount")
        invariant(ctx.occurred_at.tzinfo is not None, "the payment's time is timezone-aware")
        # No look for a stored assessment first: a payment is nearly always assessed once, and
        # the insert below finds the stored one anyway (one round trip fewer on every payment).
        store = _store()
        cache = self._rules_cache
        rules = cache.get(session, ctx.scope, ctx.livemode)
        generation, read_at = cache.generation, cache.now()
        history, blocked_by, stored_rules, unavailable = await self._read(
            session, store, ctx, with_rules=rules is None
        )
        if rules is None:
            rules = _rules_of(stored_rules)
            cache.put(
                session, ctx.scope, ctx.livemode, rules, generation=generation, read_at=read_at
            )
        features = compute(ctx, history)
        verdict = self._verdict(ctx, features, rules, blocked_by, unavailable=unavailable)
        recorded = isinstance(store, PostgresFeatureStore) and not unavailable
        row = await self._insert(session, ctx, features, verdict, record=recorded)
        if row is None:  # assessed already, or by a racing call (which recorded the payment)
            raced = await self._stored(session, ctx.scope, ctx.livemode, ctx.payment_id)
            invariant(raced is not None, "a conflicting assessment is visible once it commits")
            assert raced is not None
            return raced
        if not unavailable and not recorded:
            # Should Redis fail now, the verdict stands; the payment is missing from the counts.
            with contextlib.suppress(FeatureStoreUnavailableError):
                await store.record(session, ctx)
        return row

    async def rules(self, session: AsyncSession, scope: str, livemode: bool) -> Sequence[Rule]:
        """The scope's enabled rules in their order, or the defaults when it has none at all:
        from this process's cache (``RULES_CACHE_TTL_S``), else read."""
        cache = self._rules_cache
        cached = cache.get(session, scope, livemode)
        if cached is not None:
            return cached
        generation, read_at = cache.generation, cache.now()
        driver = await driver_connection(session)
        cursor = await driver.execute(
            _RULES_SQL,
            {
                "blocklist_scope": scope,
                "blocklist_livemode": livemode,
                "rules_max": RULES_PER_SCOPE_MAX,
            },
        )
        found = await cursor.fetchone()
        rules = _rules_of(found[0] if found else [])
        cache.put(session, scope, livemode, rules, generation=generation, read_at=read_at)
        return rules

    async def _read(
        self, session: AsyncSession, store: FeatureStore, ctx: PaymentContext, *, with_rules: bool
    ) -> tuple[History, dict[str, str] | None, Any, bool]:
        """The payer's history, the blocklist item the payment matches, the scope's stored rules
        (if asked for) and whether the store failed: with the PostgreSQL store in one
        statement, with Redis one round trip to each."""
        candidates = _blocklist_candidates(ctx, _ring())
        parameters = {
            "blocklist_scope": ctx.scope,
            "blocklist_livemode": ctx.livemode,
            "blocklist_kinds": [kind for kind, _ in candidates],
            "blocklist_values": [value for _, value in candidates],
            "rules_max": RULES_PER_SCOPE_MAX,
        }
        if isinstance(store, PostgresFeatureStore):
            columns = _SCREEN_COLUMNS if with_rules else _BLOCKLIST_ONLY_COLUMNS
            history, (blocked, rules) = await store.read_with(session, ctx, columns, parameters)
            return history, _blocked_by(blocked), rules, False
        unavailable = False
        try:
            history = await store.read(session, ctx)
        except FeatureStoreUnavailableError:
            history, unavailable = History(), True
        driver = await driver_connection(session)
        statement = _SCREEN_SQL if with_rules else _BLOCKLIST_SQL
        found = await (await driver.execute(statement, parameters)).fetchone()
        assert found is not None  # a SELECT without FROM answers one row
        return history, _blocked_by(found[0]), found[1], unavailable

    def _verdict(
        self,
        ctx: PaymentContext,
        features: dict[str, float],
        rules: Sequence[Rule],
        blocked_by: dict[str, str] | None,
        *,
        unavailable: bool,
    ) -> _Verdict:
        test_card = ctx.test_card()
        if test_card is not None:
            # Stripe's test mode: a documented test card meets only the merchant's own rules.
            rules = [rule for rule in rules if rule not in DEFAULT_RULES]
        outcome = evaluate(rules, values_of(ctx, features), ctx.segment)
        fired = [_fired(rule) for rule in outcome.fired]
        action = outcome.action.value if outcome.action is not None else None
        if unavailable:
            fired.insert(0, dict(UNAVAILABLE_RULE))
            if action in (None, Action.review.value):
                action = Action.challenge.value
        if test_card is domain.TestCardRisk.blocked:
            blocked_by = blocked_by or dict(TEST_CARD_BLOCKED_RULE)
        if blocked_by is not None:
            fired.insert(0, blocked_by)
        scorer = _scorer()
        probability, explanation = scorer.predict(features)
        score = domain.score_of(min(1.0, max(0.0, float(probability))))
        model_decides = ctx.livemode or CONFIG.current().model_decides_in_test_mode
        if test_card is not None:
            score = domain.test_card_score(test_card, score)
            model_decides = test_card is domain.TestCardRisk.highest
        decision = domain.decide(
            score,
            ctx.segment,
            rule_action=action,
            blocklisted=blocked_by is not None,
            model_decides=model_decides,
        )
        contributions = [_contribution(item) for item in explanation][:CONTRIBUTIONS_SHOWN]
        return _Verdict(score, decision, fired, contributions, str(scorer.version))

    async def _insert(
        self,
        session: AsyncSession,
        ctx: PaymentContext,
        features: dict[str, float],
        verdict: _Verdict,
        *,
        record: bool,
    ) -> AssessmentRow | None:
        """Stores the assessment and its event (and records the payment in the PostgreSQL
        feature store): one statement on the driver, before every payment. The row stays out of
        the session. None if the payment was assessed already."""
        row = AssessmentRow(
            id=new_id("ra"),
            scope=ctx.scope,
            livemode=ctx.livemode,
            payment_id=ctx.payment_id,
            rail=ctx.rail,
            amount_minor=ctx.amount_minor,
            currency=ctx.currency.lower(),
            segment=ctx.segment,
            score=verdict.score,
            level=domain.level_of(verdict.score).value,
            decision=verdict.decision.value,
            decline_code=domain.decline_code_for(ctx.rail, verdict.decision),
            rules=verdict.fired,
            contributions=verdict.contributions,
            features=features,
            model_version=verdict.model_version,
            created_at=utcnow(),
        )
        request = current_request()
        parameters: dict[str, Any] = {
            "id": row.id,
            "scope": row.scope,
            "assessment_livemode": row.livemode,
            "payment_id": row.payment_id,
            "rail": row.rail,
            "amount_minor": row.amount_minor,
            "currency": row.currency,
            "segment": row.segment,
            "score": row.score,
            "level": row.level,
            "decision": row.decision,
            "decline_code": row.decline_code,
            "rules": Jsonb(row.rules),
            "contributions": Jsonb(row.contributions),
            "features": Jsonb(row.features),
            "model_version": row.model_version,
            "created_at": row.created_at,
            "event_id": new_id("evt"),
            "event_type": RiskEvent.assessment_created.value,
            "api_version": API_VERSION,
            "event_data": Jsonb(events.assessment_created_data(row), dumps=_dumps),
            "request_id": request.id,
            "idempotency_key": request.idempotency_key,
            "channel": CHANNEL,
            "channel_payload": scope_payload(row.scope, row.livemode),
        }
        statement = _INSERT_SQL
        if record:
            statement = _INSERT_AND_RECORD_SQL
            parameters.update(record_parameters(ctx))
        driver = await driver_connection(session)
        cursor = await driver.execute(statement, parameters)
        return row if await cursor.fetchone() is not None else None

    async def _stored(
        self, session: AsyncSession, scope: str, livemode: bool, payment_id: str
    ) -> AssessmentRow | None:
        statement = select(AssessmentRow).where(
            AssessmentRow.scope == scope,
            AssessmentRow.livemode == livemode,
            AssessmentRow.payment_id == payment_id,
        )
        row: AssessmentRow | None = (await session.execute(statement)).scalar_one_or_none()
        return row

    async def get_assessment(
        self, session: AsyncSession, caller: Caller, assessment_id: str
    ) -> AssessmentRow:
        statement = select(AssessmentRow).where(
            AssessmentRow.scope == caller.merchant,
            AssessmentRow.livemode == caller.livemode,
            AssessmentRow.id == assessment_id,
        )
        row: AssessmentRow | None = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object("risk assessment", assessment_id)
        return row

    async def list_assessments(
        self, session: AsyncSession, caller: Caller, params: AssessmentListParams
    ) -> tuple[Sequence[AssessmentRow], bool]:
        conditions: list[Any] = created_conditions(AssessmentRow.created_at, params.created)
        if params.payment is not None:
            conditions.append(AssessmentRow.payment_id == params.payment)
        return await _page(session, caller, AssessmentRow, conditions, params, "risk assessment")

    # Rules -------------------------------------------------------------------------------

    async def create_rule(
        self, session: AsyncSession, caller: Caller, params: RuleCreateParams
    ) -> RuleRow:
        now = utcnow()
        row = RuleRow(
            id=new_id("rsr"),
            scope=caller.merchant,
            livemode=caller.livemode,
            action=params.action,
            segment=params.segment,
            conditions=[condition.model_dump() for condition in params.conditions],
            reason=params.reason,
            position=params.position,
            enabled=params.enabled,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        await session.flush()
        await events.record(session, row, RiskEvent.rule_created)
        self._rules_cache.invalidate_on_commit(session, row.scope, row.livemode)
        return row

    async def get_rule(
        self, session: AsyncSession, caller: Caller, rule_id: str, *, for_update: bool = False
    ) -> RuleRow:
        statement = select(RuleRow).where(
            RuleRow.scope == caller.merchant,
            RuleRow.livemode == caller.livemode,
            RuleRow.id == rule_id,
        )
        if for_update:
            statement = statement.with_for_update()
        row: RuleRow | None = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object("risk rule", rule_id)
        return row

    async def update_rule(
        self, session: AsyncSession, caller: Caller, rule_id: str, params: RuleUpdateParams
    ) -> RuleRow:
        row = await self.get_rule(session, caller, rule_id, for_update=True)
        sent = params.model_fields_set
        if params.action is not None:
            row.action = params.action
        if params.conditions is not None:
            row.conditions = [condition.model_dump() for condition in params.conditions]
        if params.reason is not None:
            row.reason = params.reason
        if "segment" in sent:
            row.segment = params.segment or None
        if params.position is not None:
            row.position = params.position
        if params.enabled is not None:
            row.enabled = params.enabled
        row.updated_at = utcnow()
        await session.flush()
        await events.record(session, row, RiskEvent.rule_updated)
        self._rules_cache.invalidate_on_commit(session, row.scope, row.livemode)
        return row

    async def delete_rule(self, session: AsyncSession, caller: Caller, rule_id: str) -> RuleRow:
        row = await self.get_rule(session, caller, rule_id, for_update=True)
        await session.delete(row)
        await session.flush()
        await events.record(session, row, RiskEvent.rule_deleted)
        self._rules_cache.invalidate_on_commit(session, row.scope, row.livemode)
        return row

    async def list_rules(
        self, session: AsyncSession, caller: Caller, params: RuleListParams
    ) -> tuple[Sequence[RuleRow], bool]:
        conditions: list[Any] = created_conditions(RuleRow.created_at, params.created)
        if params.action is not None:
            conditions.append(RuleRow.action == params.action)
        return await _page(session, caller, RuleRow, conditions, params, "risk rule")

    # Blocklists --------------------------------------------------------------------------

    async def create_blocklist_item(
        self, session: AsyncSession, caller: Caller, params: BlocklistItemCreateParams
    ) -> BlocklistItemRow:
        value_key, display = _blocklist_value(params.kind, params.value, _ring())
        exists = select(BlocklistItemRow.id).where(
            BlocklistItemRow.scope == caller.merchant,
            BlocklistItemRow.livemode == caller.livemode,
            BlocklistItemRow.kind == params.kind,
            BlocklistItemRow.value_key == value_key,
        )
        if (await session.execute(exists)).first() is not None:
            raise BlocklistItemExistsError(param="value")
        row = BlocklistItemRow(
            id=new_id("rbl"),
            scope=caller.merchant,
            livemode=caller.livemode,
            kind=params.kind,
            value_key=value_key,
            display=display,
            reason=params.reason,
            created_at=utcnow(),
        )
        session.add(row)
        await session.flush()
        await events.record(session, row, RiskEvent.blocklist_item_created)
        return row

    async def get_blocklist_item(
        self, session: AsyncSession, caller: Caller, item_id: str, *, for_update: bool = False
    ) -> BlocklistItemRow:
        statement = select(BlocklistItemRow).where(
            BlocklistItemRow.scope == caller.merchant,
            BlocklistItemRow.livemode == caller.livemode,
            BlocklistItemRow.id == item_id,
        )
        if for_update:
            statement = statement.with_for_update()
        row: BlocklistItemRow | None = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object("risk blocklist item", item_id)
        return row

    async def delete_blocklist_item(
        self, session: AsyncSession, caller: Caller, item_id: str
    ) -> BlocklistItemRow:
        row = await self.get_blocklist_item(session, caller, item_id, for_update=True)
        await session.delete(row)
        await session.flush()
        await events.record(session, row, RiskEvent.blocklist_item_deleted)
        return row

    async def list_blocklist_items(
        self, session: AsyncSession, caller: Caller, params: BlocklistItemListParams
    ) -> tuple[Sequence[BlocklistItemRow], bool]:
        conditions: list[Any] = created_conditions(BlocklistItemRow.created_at, params.created)
        if params.kind is not None:
            conditions.append(BlocklistItemRow.kind == params.kind)
        return await _page(
            session, caller, BlocklistItemRow, conditions, params, "risk blocklist item"
        )


def _blocklist_value(kind: str, value: str, ring: KeyRing) -> tuple[str, str]:
    """What is stored and what is shown: an IP only as a keyed fingerprint and a masked form;
    a fingerprint shown by its head; ids as they are."""
    try:
        if kind in ("vpa", "card"):
            check_fingerprint(value)
        elif kind == "ip":
            value = check_ip(value) or ""
    except ValueError as error:
        raise InvalidRequestError(f"Invalid value: {error}.", param="value") from None
    if kind == "ip":
        if ":" in value:
            display = value.split(":", 1)[0] + ":…"
        else:
            display = ".".join(value.split(".")[:3]) + ".*"
        return ip_key(ring, value), display
    if kind in ("vpa", "card"):
        return value, value[:8] + "…"
    return value, value


def _blocklist_candidates(ctx: PaymentContext, ring: KeyRing) -> list[tuple[str, str]]:
    candidates = [("payer", ctx.payer_key)]
    if ctx.instrument_fingerprint is not None:
        kind = "vpa" if ctx.rail == domain.Rail.upi else "card"
        candidates.append((kind, ctx.instrument_fingerprint))
    if ctx.device_id is not None:
        candidates.append(("device", ctx.device_id))
    if ctx.ip is not None:
        candidates.append(("ip", ip_key(ring, ctx.ip)))
    return candidates


async def _page(
    session: AsyncSession,
    caller: Caller,
    model: Any,
    conditions: list[Any],
    params: Any,
    object_name: str,
) -> tuple[Sequence[Any], bool]:
    """A page of ``model``'s rows of the caller's scope and mode (risk's owner)."""
    return await owned_page(
        session,
        model,
        params,
        owner=[model.scope == caller.merchant, model.livemode == caller.livemode],
        filters=conditions,
        object_name=object_name,
    )


risk_service = RiskService()
