"""Limits use cases: policies per scope, and the decision asked before every money movement.

``check`` says whether a payment fits now and counts nothing; ``reserve`` counts it against every
matching cap atomically (all or none) and is idempotent per payment; ``release`` gives a reserved
payment's amount back (it failed after all). Every decision is a row of ``limit_decisions`` in
the caller's transaction: the audit trail of limits, with the deciding policy and its reason.

When the counter store cannot answer (Redis down or slow), the decision is a refusal with code
``limits_unavailable``: a cap that cannot be counted is not a cap, so the engine fails closed.
Never commits: the request or job owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from psycopg.types.json import Jsonb
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.cache import ScopeCache
from beyondpay.db.pagination import created_conditions, owned_page
from beyondpay.db.session import driver_connection
from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.kit.logging import get_logger
from beyondpay.kit.module_settings import ModuleSettings
from beyondpay.kit.params import merge_metadata
from beyondpay.kit.settings import Settings
from beyondpay.kit.upi import VPA_PATTERN, mask_vpa
from beyondpay.limits import events
from beyondpay.limits.domain import (
    ALLOWED,
    CODE_UNAVAILABLE,
    UNAVAILABLE,
    Action,
    Kind,
    LimitContext,
    LimitDecision,
    Period,
    Policy,
    Subject,
    cap_refusal,
    evaluate,
    increments,
    shape_problem,
)
from beyondpay.limits.errors import LimitPolicyInvalidError
from beyondpay.limits.events import LimitPolicyEvent
from beyondpay.limits.models import LimitDecisionRow, LimitPolicyRow
from beyondpay.limits.schemas import (
    PolicyCreateParams,
    PolicyListParams,
    PolicyUpdateParams,
    policy_object,
)
from beyondpay.limits.store import (
    ADD_CTE,
    CounterStore,
    CounterStoreUnavailableError,
    PostgresCounterStore,
    RedisCounterStore,
)

# What a claimed reservation holds until its counters answer (Redis); never returned.
CLAIMING: Final = LimitDecision(
    allowed=False, policy_id=None, reason="deciding", code=None, npci_code=None
)
POLICIES_PER_SCOPE_MAX: Final = 200
# A VPA list shows each VPA as the PSP shows an address: four stars whatever the name's length.
VPA_MASK_STARS: Final = 4
_SHAPED: Final = (
    "action",
    "subject",
    "period",
    "amount_max",
    "count_max",
    "currency",
    "mccs",
    "start_minute",
    "end_minute",
    "latitude",
    "longitude",
    "radius_m",
    "values",
)

_log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class LimitsConfig:
    """The counter store of this process (Redis when ``BEYONDPAY_REDIS_URL`` is set, else
    PostgreSQL) and the key ring that fingerprints VPAs in lists."""

    store: CounterStore
    ring: KeyRing

    @classmethod
    def from_settings(cls, settings: Settings) -> LimitsConfig:
        url = settings.redis_url_value()
        store: CounterStore = (
            RedisCounterStore(url, key_prefix=settings.redis_key_prefix)
            if url
            else PostgresCounterStore()
        )
        return cls(store=store, ring=settings.key_ring())


CONFIG: ModuleSettings[LimitsConfig] = ModuleSettings(LimitsConfig.from_settings)


def configure(settings: Settings) -> LimitsConfig:
    """The composition root (``app.configure_modules``) calls it when the API or worker starts."""
    return CONFIG.set(LimitsConfig.from_settings(settings))


def vpa_key(ring: KeyRing, vpa: str) -> str:
    """The pseudonymous key of a VPA a ``LimitContext.vpa_key`` carries: its keyed fingerprint
    in hex, as the PSP stores it (``vpa:<vpa>``)."""
    return ring.fingerprint(f"vpa:{vpa.lower()}").hex()


# On the driver, not the ORM: read on every payment whose scope the cache does not hold (a PSP
# payer's scope is rarely paid from twice within its lifetime).
_POLICIES_SQL: Final = (
    "SELECT id, kind, action, subject, period, amount_minor_max, count_max, currency, mccs,"
    " start_minute, end_minute, latitude, longitude, radius_m, list_values, segment"
    " FROM limit_policies WHERE scope = %s AND livemode = %s AND deleted_at IS NULL LIMIT %s"
)


def _policy_of(row: Sequence[Any]) -> Policy:
    """A policy from a row of ``_POLICIES_SQL``."""
    (policy_id, kind, action, subject, period, amount_max, count_max, currency, mccs) = row[:9]
    start_minute, end_minute, latitude, longitude, radius_m, values, segment = row[9:]
    return Policy(
        id=policy_id,
        kind=Kind(kind),
        action=Action(action),
        subject=Subject(subject) if subject else None,
        period=Period(period) if period else None,
        amount_minor_max=amount_max,
        count_max=count_max,
        currency=currency,
        mccs=tuple(mccs),
        start_minute=start_minute,
        end_minute=end_minute,
        latitude=latitude,
        longitude=longitude,
        radius_m=radius_m,
        values=frozenset(values),
        segment=segment,
    )


def _decision(row: LimitDecisionRow) -> LimitDecision:
    return LimitDecision(
        allowed=row.allowed,
        policy_id=row.policy_id,
        reason=row.reason,
        code=row.code,
        npci_code=row.npci_code,
    )


# How long a process uses a scope's policies without reading them again: the bound on how late
# a change made in another process applies (one made in this process applies at once).
POLICIES_CACHE_TTL_S: Final = 1.0
_POLICIES_CACHE: ScopeCache[tuple[Policy, ...]] = ScopeCache(POLICIES_CACHE_TTL_S)

_DECISION_COLUMNS: Final = (
    "id, scope, livemode, payment_id, operation, allowed, policy_id, reason, code, npci_code,"
    " amount_minor, currency, counters, store, created_at"
)
_DECISION_VALUES: Final = (
    "%(id)s, %(scope)s, %(livemode)s, %(payment_id)s, 'reserve', %(allowed)s, %(policy_id)s,"
    " %(reason)s, %(code)s, %(npci_code)s, %(amount_minor)s, %(currency)s, %(counters)s,"
    " %(store)s, %(now)s"
)
_ON_RESERVED: Final = (
    " ON CONFLICT (scope, livemode, payment_id)"
    " WHERE operation = 'reserve' AND code IS DISTINCT FROM 'limits_unavailable'"
)
# The reservation decided in one statement (PostgreSQL counters, locked beforehand): the
# decision row, unless the payment has one (then nothing is added), and the payment added to
# the counters it was allowed under.
_DECIDE_SQL: Final = (
    f"WITH decided AS (INSERT INTO limit_decisions ({_DECISION_COLUMNS}) VALUES"
    f" ({_DECISION_VALUES}){_ON_RESERVED} DO NOTHING RETURNING id), {ADD_CTE}"
    " SELECT id FROM decided"
)
# Counters outside the transaction (Redis): the payment claims its reservation before they are
# counted, so a payment is counted once; the claim waits for a racing claim of the same payment
# and yields to it. The decision is written over the claim once the counters answered.
_CLAIM_SQL: Final = (
    f"INSERT INTO limit_decisions ({_DECISION_COLUMNS}) VALUES ({_DECISION_VALUES})"
    f"{_ON_RESERVED} DO NOTHING RETURNING id"
)
_DECISION_SQL: Final = (
    "UPDATE limit_decisions SET allowed = %(allowed)s, policy_id = %(policy_id)s,"
    " reason = %(reason)s, code = %(code)s, npci_code = %(npci_code)s, counters = %(counters)s"
    " WHERE id = %(id)s"
)


def _decision_parameters(decision: LimitDecision, counted: Sequence[str]) -> dict[str, Any]:
    return {
        "allowed": decision.allowed,
        "policy_id": decision.policy_id,
        "reason": decision.reason,
        "code": decision.code,
        "npci_code": decision.npci_code,
        "counters": Jsonb(list(counted)),
    }


class LimitsService:
    """``limits_service``; a test may build one over a store and key ring of its own."""

    def __init__(
        self,
        store: CounterStore | None = None,
        ring: KeyRing | None = None,
        *,
        policies_cache: ScopeCache[tuple[Policy, ...]] | None = None,
    ) -> None:
        self._own_store = store
        self._own_ring = ring
        # One cache per process, whichever instance reads or writes (tests build several);
        # another cache stands for another process.
        self._policies_cache = policies_cache if policies_cache is not None else _POLICIES_CACHE

    @property
    def store(self) -> CounterStore:
        return self._own_store if self._own_store is not None else CONFIG.current().store

    @property
    def ring(self) -> KeyRing:
        return self._own_ring if self._own_ring is not None else CONFIG.current().ring

    async def _policies(
        self, session: AsyncSession, scope: str, livemode: bool
    ) -> tuple[Policy, ...]:
        """The scope's policies: from this process's cache (``POLICIES_CACHE_TTL_S``), else
        read."""
        cache = self._policies_cache
        cached = cache.get(session, scope, livemode)
        if cached is not None:
            return cached
        generation, read_at = cache.generation, cache.now()
        driver = await driver_connection(session)
        cursor = await driver.execute(_POLICIES_SQL, (scope, livemode, POLICIES_PER_SCOPE_MAX))
        policies = tuple(_policy_of(row) for row in await cursor.fetchall())
        cache.put(session, scope, livemode, policies, generation=generation, read_at=read_at)
        return policies

    async def _audit(
        self,
        session: AsyncSession,
        ctx: LimitContext,
        operation: str,
        decision: LimitDecision,
        *,
        counters: Sequence[str] = (),
    ) -> None:
        session.add(
            LimitDecisionRow(
                id=new_id("ldec"),
                scope=ctx.scope,
                livemode=ctx.livemode,
                payment_id=ctx.payment_id,
                operation=operation,
                allowed=decision.allowed,
                policy_id=decision.policy_id,
                reason=decision.reason,
                code=decision.code,
                npci_code=decision.npci_code,
                amount_minor=ctx.amount_minor,
                currency=ctx.currency.lower(),
                counters=list(counters),
                store=self.store.name,
                released_at=None,
                created_at=utcnow(),
            )
        )
        await session.flush()

    async def check(self, session: AsyncSession, ctx: LimitContext) -> LimitDecision:
        """Whether the payment fits every policy now; counts nothing."""
        policies = await self._policies(session, ctx.scope, ctx.livemode)
        decision = evaluate(policies, ctx)
        if decision is None:
            try:
                exceeded = await self.store.peek(session, ctx.scope, increments(policies, ctx))
            except CounterStoreUnavailableError as error:
                _log.warning("limits.store_unavailable", scope=ctx.scope, error=str(error))
                exceeded, decision = None, UNAVAILABLE
            if exceeded is not None:
                decision = cap_refusal(exceeded.policy_id, exceeded.amount_exceeded, policies)
        decision = decision or ALLOWED
        await self._audit(session, ctx, "check", decision)
        return decision

    async def reserve(self, session: AsyncSession, ctx: LimitContext) -> LimitDecision:
        """Counts the payment against every matching cap, all or none, and returns the decision;
        the same payment again gets the first decision and counts nothing again."""
        invariant(ctx.amount_minor > 0, "a reservation is for a positive amount")
        policies = await self._policies(session, ctx.scope, ctx.livemode)
        store = self.store
        row = {
            "id": new_id("ldec"),
            "scope": ctx.scope,
            "livemode": ctx.livemode,
            "payment_id": ctx.payment_id,
            "amount_minor": ctx.amount_minor,
            "currency": ctx.currency.lower(),
            "store": store.name,
            "now": utcnow(),
        }
        driver = await driver_connection(session)
        if isinstance(store, PostgresCounterStore):
            decision, counted = await self._decide_in_transaction(session, store, ctx, policies)
            cursor = await driver.execute(
                _DECIDE_SQL,
                {
                    **row,
                    **_decision_parameters(decision, counted),
                    "add_amount": ctx.amount_minor,
                    "add_keys": list(counted),
                },
            )
            if await cursor.fetchone() is None:  # decided already (or by a racing call)
                return _decision(await self._reservation(session, ctx, for_update=False))
            return decision
        claiming = {**row, **_decision_parameters(CLAIMING, ())}
        if await (await driver.execute(_CLAIM_SQL, claiming)).fetchone() is None:
            return _decision(await self._reservation(session, ctx, for_update=False))
        refusal = evaluate(policies, ctx)
        added: list[str] = []
        if refusal is None:
            found = increments(policies, ctx)
            try:
                exceeded = await store.reserve(session, ctx.scope, found)
            except CounterStoreUnavailableError as error:
                _log.warning("limits.store_unavailable", scope=ctx.scope, error=str(error))
                exceeded, refusal = None, UNAVAILABLE
            if exceeded is not None:
                refusal = cap_refusal(exceeded.policy_id, exceeded.amount_exceeded, policies)
            elif refusal is None:
                added = [increment.key for increment in found]
        outcome = refusal or ALLOWED
        await driver.execute(
            _DECISION_SQL, {"id": row["id"], **_decision_parameters(outcome, added)}
        )
        return outcome

    async def _decide_in_transaction(
        self,
        session: AsyncSession,
        store: PostgresCounterStore,
        ctx: LimitContext,
        policies: Sequence[Policy],
    ) -> tuple[LimitDecision, list[str]]:
        """The decision over counters in the caller's transaction, locked (not yet added to)
        until it ends, and the counters the payment is to be added to."""
        decision = evaluate(policies, ctx)
        if decision is not None:
            return decision, []
        found = increments(policies, ctx)
        exceeded = await store.lock(session, found)
        if exceeded is not None:
            return cap_refusal(exceeded.policy_id, exceeded.amount_exceeded, policies), []
        return ALLOWED, [increment.key for increment in found]

    async def _reservation(
        self, session: AsyncSession, ctx: LimitContext, *, for_update: bool
    ) -> LimitDecisionRow:
        statement = select(LimitDecisionRow).where(
            LimitDecisionRow.scope == ctx.scope,
            LimitDecisionRow.livemode == ctx.livemode,
            LimitDecisionRow.payment_id == ctx.payment_id,
            LimitDecisionRow.operation == "reserve",
            LimitDecisionRow.code.is_distinct_from(CODE_UNAVAILABLE),
        )
        if for_update:
            statement = statement.with_for_update()
        row: LimitDecisionRow = (await session.execute(statement)).scalar_one()
        return row

    async def release(self, session: AsyncSession, ctx: LimitContext) -> bool:
        """Gives an allowed reservation's amount back to the counters it was added to; True if
        something was given back now. A second release, or one of a refused payment, gives
        nothing. If the store cannot be reached the reservation stays counted (closed), is
        audited as such, and a later release may retry."""
        statement = select(LimitDecisionRow).where(
            LimitDecisionRow.scope == ctx.scope,
            LimitDecisionRow.livemode == ctx.livemode,
            LimitDecisionRow.payment_id == ctx.payment_id,
            LimitDecisionRow.operation == "reserve",
            LimitDecisionRow.allowed.is_(True),
            LimitDecisionRow.released_at.is_(None),
        )
        row = (await session.execute(statement.with_for_update())).scalar_one_or_none()
        if row is None:
            return False
        keys = [str(key) for key in row.counters]
        try:
            await self.store.release(session, ctx.scope, keys, row.amount_minor)
        except CounterStoreUnavailableError as error:
            _log.warning("limits.store_unavailable", scope=ctx.scope, error=str(error))
            await self._audit(session, ctx, "release", UNAVAILABLE, counters=keys)
            return False
        row.released_at = utcnow()
        given_back = LimitDecision(
            allowed=True,
            policy_id=None,
            reason="the payment's amount given back",
            code=None,
            npci_code=None,
        )
        await self._audit(session, ctx, "release", given_back, counters=keys)
        return True

    async def decisions(
        self, session: AsyncSession, scope: str, livemode: bool, payment_id: str
    ) -> Sequence[LimitDecisionRow]:
        """A payment's audit trail of limits, oldest first."""
        statement = (
            select(LimitDecisionRow)
            .where(
                LimitDecisionRow.scope == scope,
                LimitDecisionRow.livemode == livemode,
                LimitDecisionRow.payment_id == payment_id,
            )
            .order_by(LimitDecisionRow.created_at, LimitDecisionRow.id)
        )
        return list((await session.execute(statement)).scalars())

    # Policies -------------------------------------------------------------------------------

    def _values(self, subject: str | None, values: list[str]) -> tuple[list[str], list[str]]:
        """What a list stores and what it shows: a VPA list keeps fingerprints only."""
        if subject != Subject.vpa:
            return values, values
        stored, shown = [], []
        for index, value in enumerate(values):
            vpa = value.lower()
            if not VPA_PATTERN.match(vpa):
                raise LimitPolicyInvalidError(
                    f"values[{index}] is not a VPA (local@handle).", param=f"values[{index}]"
                )
            stored.append(vpa_key(self.ring, vpa))
            shown.append(mask_vpa(vpa, stars=VPA_MASK_STARS))
        return stored, shown

    async def create_policy(
        self, session: AsyncSession, scope: str, livemode: bool, params: PolicyCreateParams
    ) -> LimitPolicyRow:
        kind = params.kind
        given: dict[str, object] = {
            name: getattr(params, name)
            for name in _SHAPED
            if name in params.model_fields_set and getattr(params, name) not in (None, [])
        }
        if kind is Kind.cap:
            given["currency"] = params.currency.lower()
        _check_shape(kind, given)
        stored, shown = self._values(params.subject, list(params.values or []))
        now = utcnow()
        row = LimitPolicyRow(
            id=new_id("lpol"),
            scope=scope,
            livemode=livemode,
            kind=kind,
            action=params.action or Action.deny,
            subject=params.subject,
            period=params.period,
            amount_minor_max=params.amount_max,
            count_max=params.count_max,
            currency=given.get("currency"),
            mccs=list(params.mccs or []),
            start_minute=params.start_minute,
            end_minute=params.end_minute,
            latitude=params.latitude,
            longitude=params.longitude,
            radius_m=params.radius_m,
            list_values=stored,
            list_values_shown=shown,
            segment=params.segment or None,
            description=params.description or None,
            metadata_=merge_metadata(
                {}, params.metadata if isinstance(params.metadata, dict) else None
            ),
            created_at=now,
            updated_at=now,
            deleted_at=None,
        )
        session.add(row)
        await session.flush()
        await events.record(session, row, LimitPolicyEvent.created)
        self._policies_cache.invalidate_on_commit(session, scope, livemode)
        return row

    async def get_policy(
        self,
        session: AsyncSession,
        scope: str,
        livemode: bool,
        policy_id: str,
        *,
        for_update: bool = False,
    ) -> LimitPolicyRow:
        statement = select(LimitPolicyRow).where(
            LimitPolicyRow.scope == scope,
            LimitPolicyRow.livemode == livemode,
            LimitPolicyRow.id == policy_id,
            LimitPolicyRow.deleted_at.is_(None),
        )
        if for_update:
            statement = statement.with_for_update()
        row = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object("limits.policy", policy_id)
        return row

    async def update_policy(
        self,
        session: AsyncSession,
        scope: str,
        livemode: bool,
        policy_id: str,
        params: PolicyUpdateParams,
    ) -> LimitPolicyRow:
        row = await self.get_policy(session, scope, livemode, policy_id, for_update=True)
        sent = params.model_fields_set
        shaped = _shaped_of(row)
        for name in sent & set(_SHAPED):
            value = getattr(params, name)
            if value in (None, []):
                shaped.pop(name, None)
            else:
                shaped[name] = value
        _check_shape(Kind(row.kind), shaped)
        before = policy_object(row)
        for name in sent & set(_SHAPED) - {"values"}:
            setattr(row, _ATTRIBUTES.get(name, name), getattr(params, name))
        if row.action is None:
            row.action = Action.deny
        if "values" in sent:
            row.list_values, row.list_values_shown = self._values(
                row.subject, list(params.values or [])
            )
        if "mccs" in sent:
            row.mccs = list(params.mccs or [])
        for name in ("segment", "description"):
            if name in sent:
                setattr(row, name, getattr(params, name) or None)
        if "metadata" in sent:
            metadata = params.metadata if isinstance(params.metadata, dict) else {}
            row.metadata_ = merge_metadata(row.metadata_, metadata)
        row.updated_at = utcnow()
        await session.flush()
        after = policy_object(row)
        previous = {key: value for key, value in before.items() if after.get(key) != value}
        if previous:
            await events.record(
                session, row, LimitPolicyEvent.updated, previous_attributes=previous
            )
        self._policies_cache.invalidate_on_commit(session, scope, livemode)
        return row

    async def delete_policy(
        self, session: AsyncSession, scope: str, livemode: bool, policy_id: str
    ) -> LimitPolicyRow:
        row = await self.get_policy(session, scope, livemode, policy_id, for_update=True)
        await events.record(session, row, LimitPolicyEvent.deleted)
        row.deleted_at = utcnow()
        await session.flush()
        self._policies_cache.invalidate_on_commit(session, scope, livemode)
        return row

    async def list_policies(
        self, session: AsyncSession, scope: str, livemode: bool, params: PolicyListParams
    ) -> tuple[Sequence[LimitPolicyRow], bool]:
        conditions: list[Any] = [
            LimitPolicyRow.deleted_at.is_(None),
            *created_conditions(LimitPolicyRow.created_at, params.created),
        ]
        if params.kind is not None:
            conditions.append(LimitPolicyRow.kind == params.kind)
        return await owned_page(
            session,
            LimitPolicyRow,
            params,
            owner=[LimitPolicyRow.scope == scope, LimitPolicyRow.livemode == livemode],
            filters=conditions,
            object_name="limits.policy",
        )


_ATTRIBUTES: Final = {"amount_max": "amount_minor_max"}


def _shaped_of(row: LimitPolicyRow) -> dict[str, object]:
    """The shaped parameters a stored policy has set, under their API names."""
    shaped: dict[str, object] = {}
    for name in _SHAPED:
        value = row.list_values if name == "values" else getattr(row, _ATTRIBUTES.get(name, name))
        if value is not None and value != []:
            shaped[name] = value
    if row.kind == Kind.cap:
        shaped.pop("action", None)  # a cap has no action; the column holds "deny"
    return shaped


def _check_shape(kind: Kind, given: dict[str, object]) -> None:
    problem = shape_problem(kind, given)
    if problem is not None:
        raise LimitPolicyInvalidError(problem[1], param=problem[0])


limits_service = LimitsService()
