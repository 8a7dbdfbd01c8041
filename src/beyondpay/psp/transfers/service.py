"""PSP transfers' use cases: review and pay, collect requests, the payer's history.

A payment never holds a lock of ours while the UPI switch answers; it runs in three phases
(docs/psp.md, "Paying in phases"):

1. In the request's transaction, in a fixed order of locks — the debited account's PIN row
   (``authorize_debit``), then the payer's limit counter of the day — the PIN is checked, the
   NPCI caps, risk and the limits policies are checked and reserved, and the transfer is written
   ``pending`` with the request id the switch will see (the transfer's id), counted in the day's
   counter at once. Parallel payments of one payer queue on the counter: the limit they check
   is the one they update, pending payments included. Then ``phases.checkpoint`` commits.
2. The switch is asked (``upi_push``, or ``answer_collect`` for a merchant's collect) outside
   any transaction; it moves the money in the banks' ledgers in a transaction of its own.
3. A new short transaction locks the transfer again and applies the answer: succeeded, or
   failed with its count and limits reservation given back; the events go with it. A transfer
   already answered (by a racing retry or the reconciliation job) is left as it is.

A process killed between the phases leaves a pending transfer: the retry of the same
``client_request_id`` or the reconciliation job (``tasks.reconcile_psp_transfers``) asks the
switch again with the same request id (the switch answers a request id once, so nothing moves
twice) and applies the answer. A payment the switch refused (Z9, U30, …) is a receipt too; a
payment refused before the switch (limits, PIN, frozen account) leaves nothing but its error.

Nothing here commits but through ``phases``: the request or the job owns the transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final

import orjson
from pydantic import SecretStr
from sqlalchemy import and_, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.pagination import created_conditions, owned_page
from beyondpay.db.phases import Phases
from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import BeyondpayError, InvalidRequestError, ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.kit.module_settings import ModuleSettings
from beyondpay.kit.settings import Settings
from beyondpay.limits.domain import LimitContext
from beyondpay.limits.service import limits_service
from beyondpay.payments.service import UpiCredit, record_upi_credit
from beyondpay.psp.addresses.qr import parse_upi_link
from beyondpay.psp.addresses.service import Payee, address_service
from beyondpay.psp.banking.service import bank_account_service
from beyondpay.psp.identity.domain import PayerContext
from beyondpay.psp.identity.service import device_service, passkey_service, payer_service
from beyondpay.psp.transfers.domain import (
    DaySoFar,
    Limits,
    PayeeKind,
    breach,
    collect_expires_at,
    day_of,
    in_cooling,
)
from beyondpay.psp.transfers.errors import (
    ClientRequestIdReusedError,
    CollectPayeeUnsupportedError,
    CollectRequestExpiredError,
    CollectRequestNotPendingError,
    DeviceNotBoundError,
    PayeeIsPayerAccountError,
    PayerFrozenError,
    PolicyRefusedError,
    RiskBlockedError,
    StepUpRequiredError,
    TransferLimitExceededError,
)
from beyondpay.psp.transfers.events import (
    TransferEvent,
    collect_request_ended,
    record,
    record_transfer,
)
from beyondpay.psp.transfers.models import CollectRequestRow, LimitCounterRow, TransferRow
from beyondpay.psp.transfers.schemas import (
    CollectCreateParams,
    CollectListParams,
    PayeeParams,
    PaymentCreateParams,
    PaymentReviewParams,
    StepUp,
    TransactionListParams,
    collect_request_object,
    collect_status,
    transaction_object,
)
from beyondpay.rails.protocol import RailOutcome
from beyondpay.rails.service import (
    CollectNotice,
    CreditNotice,
    PushRequest,
    answer_collect,
    upi_intent_payee,
    upi_push,
)
from beyondpay.screening.domain import Payment, Stop
from beyondpay.screening.service import screening_service

P2P_COLLECT_AMOUNT_MINOR_MAX: Final = 2_000_00  # NPCI's cap on a P2P collect request (₹2,000)
CURRENCY: Final = "inr"
# A transfer pending this long was left by a process that died between the phases (a push takes
# the switch's latency, seconds at most, and applying its answer milliseconds): the
# reconciliation job asks the switch again. Asking earlier would be harmless, only wasted. The
# settings' ``rail_answer_wait_s`` (also the API's lease on a request past its recovery point)
# replaces it once configured.
UNANSWERED_AFTER_S: Final = 30
# A merchant's collect is paid on the switch, not to an account the PSP names.
MERCHANT_COLLECT_ACCOUNT: Final = "switch"
# The answer kept when the switch refuses a request outright (it stored and moved nothing).
SWITCH_REFUSED_NPCI_CODE: Final = "U30"
REQUEST_ID_REUSED_CODE: Final = "rail_request_id_reused"


@dataclass(frozen=True, slots=True)
class TransfersConfig:
    limits: Limits
    ring: KeyRing
    unanswered_after_s: float = UNANSWERED_AFTER_S

    @classmethod
    def from_settings(cls, settings: Settings) -> TransfersConfig:
        return cls(
            limits=Limits(
                p2p_daily_amount_minor_max=settings.psp_p2p_daily_limit_minor,
                transaction_amount_minor_max=settings.psp_transaction_limit_minor,
                p2p_daily_count_max=settings.psp_p2p_daily_count_max,
                new_device_cooling_s=settings.psp_new_device_cooling_s,
                new_device_daily_amount_minor_max=settings.psp_new_device_limit_minor,
            ),
            ring=settings.key_ring(),
            unanswered_after_s=settings.rail_answer_wait_s,
        )


CONFIG: ModuleSettings[TransfersConfig] = ModuleSettings(TransfersConfig.from_settings)

# The switch reference this request is answering: the outcome it reports back is ours, not news.
_answering: ContextVar[str | None] = ContextVar("psp_answering_collect", default=None)


def configure(settings: Settings) -> TransfersConfig:
    """The PSP's limits from the settings (the composition root, ``app.configure_modules``,
    calls it; ``app.wire_modules`` tells the switch that collects to our VPAs are ours)."""
    return CONFIG.set(TransfersConfig.from_settings(settings))


def limits() -> Limits:
    return CONFIG.current().limits


def _fingerprint(params: PaymentCreateParams) -> bytes:
    """What the payment asked for, secrets included (as their SHA-256, never stored in clear),
    so a reused request id with another payee or amount is told apart."""
    terms = {
        name: getattr(params, name).get_secret_value()
        if isinstance(getattr(params, name), SecretStr)
        else getattr(params, name)
        for name in ("vpa", "alias", "mobile", "beneficiary", "qr_payload", "amount", "note")
    }
    terms["bank_account"] = params.bank_account
    return hashlib.sha256(orjson.dumps(terms, option=orjson.OPT_SORT_KEYS)).digest()


@dataclass(frozen=True, slots=True)
class _Target:
    """A resolved payee and what the payment carries from a QR (amount, reference)."""

    payee: Payee
    via: str
    amount_minor: int
    reference: str | None
    note: str | None


async def _target(
    session: AsyncSession, ring: KeyRing, payer_id: str, params: PaymentReviewParams
) -> _Target:
    amount, reference, note = params.amount, None, params.note
    if params.qr_payload is not None:
        link = parse_upi_link(params.qr_payload.get_secret_value())
        if link.cu.upper() != "INR":
            raise InvalidRequestError("The QR's currency must be INR.", param="qr_payload")
        if link.am_minor is not None:
            if amount is not None and amount != link.am_minor:
                raise InvalidRequestError(
                    "The amount differs from the amount the QR asks for.", param="amount"
                )
            amount = link.am_minor
        if amount is not None and link.mam_minor is not None and amount < link.mam_minor:
            raise InvalidRequestError(
                "The amount is below the minimum the QR asks for.", param="amount"
            )
        payee = await _switch_payee(session, link.pa, link.tr) or (
            await address_service.resolve_payee(session, ring, payer_id, vpa=SecretStr(link.pa))
        )
        reference, note = link.tr, note or link.tn
        via = "qr"
    else:
        payee = await address_service.resolve_payee(
            session,
            ring,
            payer_id,
            vpa=params.vpa,
            alias=params.alias,
            mobile=params.mobile,
            beneficiary=params.beneficiary,
        )
        via = next(name for name in _PAYEE_NAMES if getattr(params, name) is not None)
    if amount is None:
        raise InvalidRequestError("Missing required param: amount.", param="amount")
    return _Target(payee, via, amount, reference, note)


_PAYEE_NAMES: Final = ("vpa", "alias", "mobile", "beneficiary")


async def _switch_payee(session: AsyncSession, vpa: str, reference: str | None) -> Payee | None:
    """A merchant's intent link (a Checkout Session's QR): the switch's collecting VPA, which
    the switch validates by the link's ``tr`` and names the merchant of; None for any other
    VPA. The push carries the ``tr``, and the switch pays the waiting request with it."""
    found = await upi_intent_payee(session, vpa, reference)
    if found is None:
        return None
    return Payee(
        kind="merchant",
        payer_id=None,
        merchant_id=found.merchant_id,
        verified_name=found.name,
        masked=found.name,
        account_ref=found.account_ref,
        vpa_id=None,
        alias_id=None,
        merchant_category_code=None,
    )


async def _counter(session: AsyncSession, payer_id: str, day: Any) -> LimitCounterRow:
    """The payer's counter of ``day``, locked until the transaction ends."""
    await session.execute(
        insert(LimitCounterRow)
        .values(payer_id=payer_id, day=day, amount_minor=0, p2p_amount_minor=0, p2p_count=0)
        .on_conflict_do_nothing()
    )
    statement = (
        select(LimitCounterRow)
        .where(LimitCounterRow.payer_id == payer_id, LimitCounterRow.day == day)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one()


async def _read_counter(session: AsyncSession, payer_id: str, day: Any) -> DaySoFar:
    statement = select(LimitCounterRow).where(
        LimitCounterRow.payer_id == payer_id, LimitCounterRow.day == day
    )
    row = (await session.execute(statement)).scalar_one_or_none()
    if row is None:
        return DaySoFar()
    return DaySoFar(row.p2p_amount_minor, row.p2p_count, row.amount_minor)


def _so_far(row: LimitCounterRow) -> DaySoFar:
    return DaySoFar(row.p2p_amount_minor, row.p2p_count, row.amount_minor)


async def _payable(session: AsyncSession, ctx: PayerContext) -> tuple[Any, datetime]:
    """The payer, refused when frozen or not on a bound device; and when the device was bound
    (its new-device cooling period runs from then)."""
    payer = await payer_service.get(session, ctx.payer_id)
    if payer_service.is_frozen(payer):
        raise PayerFrozenError()
    if ctx.device_id is None:
        raise DeviceNotBoundError()
    bound_at = await device_service.bound_at(session, ctx.device_id)
    if bound_at is None:
        raise DeviceNotBoundError()
    return payer, bound_at


def _check_limits(kind: PayeeKind, amount_minor: int, so_far: DaySoFar, cooling: bool) -> None:
    found = breach(
        CONFIG.current().limits,
        kind=kind,
        amount_minor=amount_minor,
        so_far=so_far,
        cooling=cooling,
    )
    if found is not None:
        raise TransferLimitExceededError(found.code, found.message, found.npci_code)


def _count(counter: LimitCounterRow, kind: PayeeKind, amount_minor: int) -> None:
    counter.amount_minor += amount_minor
    if kind is PayeeKind.payer:
        counter.p2p_amount_minor += amount_minor
        counter.p2p_count += 1


async def _payer_party(session: AsyncSession, payer: Any) -> tuple[str, str]:
    """The name and masked address a payee sees of who paid them."""
    vpa = await address_service.primary_vpa(session, payer.id)
    masked = vpa.masked if vpa is not None else payer.mobile_masked
    return payer.name, masked


def _collect_scopes(row: CollectRequestRow) -> list[tuple[str, dict[str, Any]]]:
    """Who hears of a collect request's change: the payer asked, and a payer who asked."""
    now = utcnow()
    scopes = [row.payer_id]
    if row.requester_payer_id is not None:
        scopes.append(row.requester_payer_id)
    return [(scope, collect_request_object(row, scope, now)) for scope in scopes]


async def _screen(
    session: AsyncSession,
    ctx: PayerContext,
    payer: Any,
    bound_at: datetime,
    payee: Payee,
    amount_minor: int,
    payment_key: str,
    step_up: StepUp | None,
) -> None:
    """Risk, then the limits policies, before the switch (issue #8), through the gate merchant
    payments share (``beyondpay.screening``): a block is refused with NPCI's U16, a challenge
    needs the payer's passkey (``step_up``) before anything is reserved, a policy's refusal
    carries its code. A reservation made is given back if the switch refuses."""

    async def answer_challenge() -> None:
        if step_up is None:
            raise StepUpRequiredError(param="step_up")
        await passkey_service.verify_step_up(
            session, ctx.payer_id, step_up.credential, step_up.challenge_id
        )

    payment = Payment(
        payment_id=payment_key,
        scope=ctx.payer_id,
        livemode=False,
        rail="upi",
        amount_minor=amount_minor,
        currency=CURRENCY,
        payer_key=ctx.payer_id,
        payee_key=payee.payer_id or payee.merchant_id or payee.vpa_id or payee.masked,
        occurred_at=utcnow(),
        merchant_id=payee.merchant_id,
        device_id=ctx.device_id,
        device_bound_at=bound_at,
        mcc=payee.merchant_category_code,
        payer_created_at=payer.created_at,
        vpa_key=payee.vpa_id,
    )
    verdict = await screening_service.screen(session, payment, answer_challenge=answer_challenge)
    refusal = verdict.refusal
    if refusal is None:
        return
    if refusal.stop is Stop.risk_blocked:
        raise RiskBlockedError()
    raise PolicyRefusedError(refusal.code or "limits_refused", refusal.reason, refusal.npci_code)


async def _limits_left(
    session: AsyncSession, ctx: PayerContext, so_far: DaySoFar
) -> dict[str, int | None]:
    """What the payer may still pay today; ``new_device_amount_remaining`` only while the
    session's device is in its cooling period."""
    limits = CONFIG.current().limits
    bound_at = await device_service.bound_at(session, ctx.device_id) if ctx.device_id else None
    cooling = in_cooling(bound_at, utcnow(), limits)
    return {
        "transaction_amount_max": limits.transaction_amount_minor_max,
        "p2p_daily_amount_remaining": max(
            limits.p2p_daily_amount_minor_max - so_far.p2p_amount_minor, 0
        ),
        "p2p_daily_count_remaining": max(limits.p2p_daily_count_max - so_far.p2p_count, 0),
        "new_device_amount_remaining": max(
            limits.new_device_daily_amount_minor_max - so_far.amount_minor, 0
        )
        if cooling
        else None,
    }


class TransferService:
    async def review(
        self, session: AsyncSession, ring: KeyRing, ctx: PayerContext, params: PaymentReviewParams
    ) -> dict[str, Any]:
        """What the payer sees before entering the PIN: the payee's verified name, the amount,
        and how much of the day's limits is left. Changes nothing."""
        target = await _target(session, ring, ctx.payer_id, params)
        so_far = await _read_counter(session, ctx.payer_id, day_of(utcnow()))
        return {
            "object": "psp_payment_review",
            "payee": {
                "kind": target.payee.kind,
                "name": target.payee.verified_name,
                "masked": target.payee.masked,
            },
            "amount": target.amount_minor,
            "currency": CURRENCY,
            "note": target.note,
            "reference": target.reference,
            "merchant_category_code": target.payee.merchant_category_code,
            "limits": await _limits_left(session, ctx, so_far),
        }

    async def pay(
        self,
        session: AsyncSession,
        ring: KeyRing,
        ctx: PayerContext,
        params: PaymentCreateParams,
        phases: Phases,
    ) -> TransferRow:
        """Pay in three phases (module docstring): the same ``client_request_id`` returns the
        first receipt, and finishes it first if its switch's answer was never applied."""
        fingerprint = _fingerprint(params)
        existing = await self._by_request_id(session, ctx.payer_id, params.client_request_id)
        if existing is not None:
            return await _resumed(session, phases, existing, fingerprint)
        payer, bound_at = await _payable(session, ctx)
        target = await _target(session, ring, ctx.payer_id, params)
        account = await bank_account_service.authorize_debit(
            session, ring, ctx.payer_id, params.bank_account, params.pin
        )
        # The PIN's row lock serializes this payer's payments from one account: a retry that
        # raced the first attempt sees its committed (maybe pending) transfer now.
        existing = await self._by_request_id(session, ctx.payer_id, params.client_request_id)
        if existing is not None:
            return await _resumed(session, phases, existing, fingerprint)
        row = await _ask(
            session,
            payer=payer,
            ctx=ctx,
            bound_at=bound_at,
            account=account,
            target=target,
            client_request_id=params.client_request_id,
            fingerprint=fingerprint,
            step_up=params.step_up,
        )
        return await _complete(session, phases, row)

    async def unanswered(
        self, session: AsyncSession, limit: int, *, older_than_s: float | None = None
    ) -> list[str]:
        """Transfers asked of the switch whose answer was never applied (the process died
        between the phases), oldest first."""
        wait_s = CONFIG.current().unanswered_after_s if older_than_s is None else older_than_s
        before = utcnow() - timedelta(seconds=wait_s)
        statement = (
            select(TransferRow.id)
            .where(TransferRow.status == "pending", TransferRow.created_at <= before)
            .order_by(TransferRow.created_at)
            .limit(limit)
        )
        return list((await session.execute(statement)).scalars())

    async def finish(
        self, session: AsyncSession, phases: Phases, transfer_id: str
    ) -> TransferRow | None:
        """Ask the switch again with the same request and apply its answer (the reconciliation
        job); a transfer already answered is returned as it is."""
        row = await session.get(TransferRow, transfer_id, populate_existing=True)
        if row is None:
            return None
        if row.status != "pending":
            return row
        return await _complete(session, phases, row)

    async def _by_request_id(
        self, session: AsyncSession, payer_id: str, client_request_id: str
    ) -> TransferRow | None:
        statement = select(TransferRow).where(
            TransferRow.payer_id == payer_id, TransferRow.client_request_id == client_request_id
        )
        return (await session.execute(statement)).scalar_one_or_none()

    async def get(self, session: AsyncSession, payer_id: str, transfer_id: str) -> TransferRow:
        row = await session.get(TransferRow, transfer_id)
        # A payee sees what reached them: a failed payment never did.
        received = row is not None and row.payee_payer_id == payer_id and row.status == "succeeded"
        if row is None or not (row.payer_id == payer_id or received):
            raise ResourceMissingError.for_object("psp_transaction", transfer_id, param="id")
        return row

    async def list(
        self, session: AsyncSession, payer_id: str, params: TransactionListParams
    ) -> tuple[Sequence[TransferRow], bool]:
        """The payer's history, newest first, paged by id (ids are time-ordered: the keyset)."""
        sent = TransferRow.payer_id == payer_id
        # What others paid them; a payment that failed never reached the payee.
        received = and_(TransferRow.payee_payer_id == payer_id, TransferRow.status == "succeeded")
        conditions: list[Any] = created_conditions(TransferRow.created_at, params.created)
        if params.direction is not None:
            conditions.append({"sent": sent, "received": received}[params.direction])
        if params.status is not None:
            conditions.append(TransferRow.status == params.status)
        return await owned_page(
            session,
            TransferRow,
            params,
            owner=[or_(sent, received)],
            filters=conditions,
            object_name="psp_transaction",
        )


async def _resumed(
    session: AsyncSession, phases: Phases, existing: TransferRow, fingerprint: bytes
) -> TransferRow:
    """The same request again: its receipt, once its answer is applied. A pending transfer
    is asked of the switch again under the same request id, which moves nothing twice."""
    if existing.params_fingerprint != fingerprint:
        raise ClientRequestIdReusedError(param="client_request_id")
    if existing.status != "pending":
        return existing
    return await _complete(session, phases, existing)


async def _ask(
    session: AsyncSession,
    *,
    payer: Any,
    ctx: PayerContext,
    bound_at: datetime,
    account: Any,
    target: _Target,
    client_request_id: str,
    fingerprint: bytes,
    step_up: StepUp | None,
    collect: CollectRequestRow | None = None,
) -> TransferRow:
    """Phase 1: the limits under the counter's lock, risk and policies, and the transfer
    written as pending, counted in the day's counter at once (given back if the switch
    refuses) so that payments racing this one check their limits against it."""
    payee = target.payee
    if payee.account_ref == account.account_ref:
        raise PayeeIsPayerAccountError(param="bank_account")
    kind = PayeeKind(payee.kind)
    now = utcnow()
    counter = await _counter(session, ctx.payer_id, day_of(now))
    cooling = in_cooling(bound_at, now, CONFIG.current().limits)
    _check_limits(kind, target.amount_minor, _so_far(counter), cooling)
    await _screen(
        session, ctx, payer, bound_at, payee, target.amount_minor, client_request_id, step_up
    )
    payer_name, payer_masked = await _payer_party(session, payer)
    row = _pending_row(
        new_id("ptx"),
        ctx,
        account,
        target,
        client_request_id=client_request_id,
        fingerprint=fingerprint,
        payer_name=payer_name,
        payer_masked=payer_masked,
        collect=collect,
        now=now,
    )
    session.add(row)
    _count(counter, kind, target.amount_minor)
    try:
        await session.flush()
    except IntegrityError:
        # The same request id from two accounts at once (two PIN locks, so no queue): the
        # first committed its transfer; this one rolls back with everything it counted.
        raise ClientRequestIdReusedError(param="client_request_id") from None
    mine = transaction_object(row, row.payer_id)
    await record(session, row.payer_id, TransferEvent.transaction_created, mine)
    return row


@dataclass(frozen=True, slots=True)
class _Asked:
    """What phase 2 asks the switch, read from the pending transfer before its commit."""

    transfer_id: str
    payer_account_ref: str
    payee_account_ref: str
    amount_minor: int
    note: str | None
    # A merchant's collect is answered on the switch under its reference; the rest are pushes
    # under the transfer's id as the request id.
    collect_reference: str | None
    # What the payee's side is told: their QR's reference, and the payer as a payee sees them.
    payee_reference: str | None
    payer_name: str
    payer_vpa_masked: str | None

    @classmethod
    def of(cls, row: TransferRow) -> _Asked:
        invariant(row.status == "pending", "only a pending transfer is asked of the switch")
        invariant(row.payer_account_ref is not None, "a pending transfer names its accounts")
        answers_collect = row.payee_account_ref == MERCHANT_COLLECT_ACCOUNT
        return cls(
            transfer_id=row.id,
            payer_account_ref=row.payer_account_ref or "",
            payee_account_ref=row.payee_account_ref or "",
            amount_minor=row.amount_minor,
            note=row.note,
            collect_reference=row.rail_reference if answers_collect else None,
            payee_reference=row.reference,
            payer_name=row.payer_name,
            # A payer with no VPA yet is shown by their masked mobile number: not a VPA.
            payer_vpa_masked=row.payer_masked if "@" in row.payer_masked else None,
        )

    @property
    def recovery_point(self) -> str:
        verb = "answer" if self.collect_reference is not None else "push"
        return f"{verb}:{self.transfer_id}"


@dataclass(frozen=True, slots=True)
class _Answer:
    """The switch's answer, as the transfer keeps it."""

    succeeded: bool
    npci_code: str
    failure_code: str | None
    failure_message: str | None
    rail_reference: str | None
    upi_transaction_id: str | None
    rrn: str | None

    @classmethod
    def of(cls, outcome: RailOutcome) -> _Answer:
        invariant(outcome.final, "the switch answers a push or a collect's approval at once")
        succeeded = outcome.status == "succeeded"
        return cls(
            succeeded=succeeded,
            npci_code=outcome.code or ("00" if succeeded else "U30"),
            failure_code=None if succeeded else outcome.failure_code,
            failure_message=None if succeeded else outcome.message,
            rail_reference=outcome.reference,
            upi_transaction_id=outcome.details.get("upi_transaction_id"),
            rrn=outcome.details.get("rrn"),
        )

    @classmethod
    def refused(cls, refusal: BeyondpayError) -> _Answer:
        return cls(False, SWITCH_REFUSED_NPCI_CODE, refusal.code, refusal.message, None, None, None)


async def _complete(session: AsyncSession, phases: Phases, row: TransferRow) -> TransferRow:
    """Phases 2 and 3 of a pending transfer: commit, ask the switch outside any transaction,
    apply its answer in a new short transaction (which the request or job commits)."""
    asked = _Asked.of(row)
    await phases.checkpoint(asked.recovery_point)
    answer = await _ask_switch(session, asked)
    return await _apply(session, asked.transfer_id, answer)


async def _ask_switch(session: AsyncSession, asked: _Asked) -> _Answer:
    """Phase 2. The switch is idempotent by the request id (a push) or the reference (a
    collect's answer): asking again after a crash moves nothing twice."""
    try:
        if asked.collect_reference is not None:
            outcome = await _answer(
                session,
                asked.collect_reference,
                approve=True,
                payer_account_ref=asked.payer_account_ref,
            )
        else:
            outcome = await upi_push(
                session,
                PushRequest(
                    request_id=asked.transfer_id,
                    payer_account_ref=asked.payer_account_ref,
                    payee_account_ref=asked.payee_account_ref,
                    amount_minor=asked.amount_minor,
                    currency=CURRENCY,
                    note=asked.note,
                    payee_reference=asked.payee_reference,
                    payer_name=asked.payer_name,
                    payer_vpa_masked=asked.payer_vpa_masked,
                ),
            )
    except (InvalidRequestError, ResourceMissingError) as refusal:
        # One request id is one transfer: the switch knowing it with other terms is a bug.
        invariant(refusal.code != REQUEST_ID_REUSED_CODE, "a transfer's push is asked the same")
        # The switch refused the request itself (an account it does not know, say): it stored
        # and moved nothing, and asking again would be refused the same way.
        return _Answer.refused(refusal)
    return _Answer.of(outcome)


async def _apply(session: AsyncSession, transfer_id: str, answer: _Answer) -> TransferRow:
    """Phase 3: the transfer, locked again, takes the answer unless another attempt applied
    one already; its collect request, if any, is paid or failed with it. Locks in the order
    of phase 1: the collect request, then the transfer, then the payer's counter."""
    collect_id = (
        await session.execute(
            select(TransferRow.collect_request_id).where(TransferRow.id == transfer_id)
        )
    ).scalar_one()
    collect = await _lock_collect_by_id(session, collect_id) if collect_id else None
    statement = (
        select(TransferRow)
        .where(TransferRow.id == transfer_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    row = (await session.execute(statement)).scalar_one()
    if row.status == "pending":
        await _settle_transfer(session, row, answer)
    if collect is not None and collect.status == "pending" and collect.transfer_id == row.id:
        _settle_collect(collect, row.status == "succeeded", row.npci_code or "U30", row.id)
        for scope, obj in _collect_scopes(collect):
            await record(session, scope, collect_request_ended(collect.status), obj)
    return row


async def _settle_transfer(session: AsyncSession, row: TransferRow, answer: _Answer) -> None:
    row.status = "succeeded" if answer.succeeded else "failed"
    row.npci_code, row.failure_code = answer.npci_code, answer.failure_code
    row.failure_message = answer.failure_message
    row.rail_reference = answer.rail_reference or row.rail_reference
    row.upi_transaction_id, row.rrn = answer.upi_transaction_id, answer.rrn
    row.completed_at = utcnow()
    if not answer.succeeded:
        # Only money that moved counts toward a cap: the provisional count goes back.
        counter = await _counter(session, row.payer_id, row.day)
        _count(counter, PayeeKind(row.payee_kind), -row.amount_minor)
        await limits_service.release(session, _limit_context(row))
    elif row.alias_id is not None:
        await address_service.consume_alias(session, row.alias_id, row.payer_id)
    await session.flush()
    await record_transfer(session, row)


def _limit_context(row: TransferRow) -> LimitContext:
    """The payment as phase 1 reserved it (the reservation is found by its payment id)."""
    return LimitContext(
        scope=row.payer_id,
        livemode=False,
        payment_id=row.client_request_id,
        amount_minor=row.amount_minor,
        currency=CURRENCY,
        occurred_at=row.created_at,
        payer_key=row.payer_id,
        merchant_id=row.payee_merchant_id,
        vpa_key=row.payee_vpa_id,
        device_id=row.device_id,
        mcc=row.merchant_category_code,
    )


def _pending_row(
    transfer_id: str,
    ctx: PayerContext,
    account: Any,
    target: _Target,
    *,
    client_request_id: str,
    fingerprint: bytes,
    payer_name: str,
    payer_masked: str,
    collect: CollectRequestRow | None,
    now: datetime,
) -> TransferRow:
    payee = target.payee
    return TransferRow(
        id=transfer_id,
        payer_id=ctx.payer_id,
        payer_name=payer_name,
        payer_masked=payer_masked,
        client_request_id=client_request_id,
        params_fingerprint=fingerprint,
        bank_account_id=account.id,
        device_id=ctx.device_id,
        payee_kind=payee.kind,
        payee_payer_id=payee.payer_id,
        payee_merchant_id=payee.merchant_id,
        payee_name=payee.verified_name,
        payee_masked=payee.masked,
        payee_vpa_id=payee.vpa_id,
        alias_id=payee.alias_id,
        merchant_category_code=payee.merchant_category_code,
        via=target.via,
        amount_minor=target.amount_minor,
        currency=CURRENCY,
        note=target.note,
        reference=target.reference,
        collect_request_id=collect.id if collect is not None else None,
        status="pending",
        npci_code=None,
        failure_code=None,
        failure_message=None,
        rail_reference=collect.rail_reference if collect is not None else None,
        upi_transaction_id=None,
        rrn=None,
        payer_account_ref=account.account_ref,
        payee_account_ref=payee.account_ref,
        day=day_of(now),
        created_at=now,
        completed_at=None,
    )


# ---- collect requests ---------------------------------------------------------------------------


async def _lock_collect(
    session: AsyncSession, payer_id: str, collect_id: str, *, as_payer: bool = True
) -> CollectRequestRow:
    statement = (
        select(CollectRequestRow)
        .where(CollectRequestRow.id == collect_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    row = (await session.execute(statement)).scalar_one_or_none()
    allowed: tuple[str, ...] = ()
    if row is not None:
        allowed = (row.payer_id,) if as_payer else (row.payer_id, row.requester_payer_id or "")
    if row is None or payer_id not in allowed:
        raise ResourceMissingError.for_object("psp_collect_request", collect_id, param="id")
    return row


class CollectService:
    async def create(
        self, session: AsyncSession, ring: KeyRing, ctx: PayerContext, params: CollectCreateParams
    ) -> CollectRequestRow:
        """A payer asks another payer of this PSP to pay them, into the requester's primary
        VPA's account."""
        if params.amount > P2P_COLLECT_AMOUNT_MINOR_MAX:
            raise TransferLimitExceededError(
                "collect_limit_exceeded",
                "A collect request to a person can ask for at most ₹2,000.",
                "Z8",
            )
        await payer_service.get(session, ctx.payer_id)
        asked = await address_service.resolve_payee(
            session,
            ring,
            ctx.payer_id,
            vpa=params.vpa,
            mobile=params.mobile,
            beneficiary=params.beneficiary,
        )
        if asked.kind != "payer" or asked.payer_id is None or asked.vpa_id is None:
            raise CollectPayeeUnsupportedError(param="vpa")
        if asked.payer_id == ctx.payer_id:
            raise InvalidRequestError("A payer cannot ask themself for money.", param="vpa")
        mine = await address_service.primary_vpa(session, ctx.payer_id)
        if mine is None:
            raise InvalidRequestError(
                "Create a VPA first: the money is collected into your primary VPA.", param="vpa"
            )
        receiving = await address_service.payee_of_vpa(session, mine.id)
        now = utcnow()
        row = CollectRequestRow(
            id=new_id("pcr"),
            payer_id=asked.payer_id,
            payer_vpa_id=asked.vpa_id,
            requester_kind="payer",
            requester_payer_id=ctx.payer_id,
            requester_merchant_id=None,
            requester_name=receiving.verified_name,
            requester_masked=receiving.masked,
            requester_vpa_id=mine.id,
            requester_account_ref=receiving.account_ref,
            rail_reference=None,
            amount_minor=params.amount,
            currency=CURRENCY,
            note=params.note,
            status="pending",
            npci_code=None,
            transfer_id=None,
            expires_at=collect_expires_at(now, params.expires_in_s),
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        await session.flush()
        for scope, obj in _collect_scopes(row):
            await record(session, scope, TransferEvent.collect_request_created, obj)
        return row

    async def get(self, session: AsyncSession, payer_id: str, collect_id: str) -> CollectRequestRow:
        row = await session.get(CollectRequestRow, collect_id)
        if row is None or payer_id not in (row.payer_id, row.requester_payer_id):
            raise ResourceMissingError.for_object("psp_collect_request", collect_id, param="id")
        return row

    async def list(
        self, session: AsyncSession, payer_id: str, params: CollectListParams
    ) -> tuple[Sequence[CollectRequestRow], bool]:
        mine = (
            CollectRequestRow.payer_id == payer_id
            if params.role == "payer"
            else CollectRequestRow.requester_payer_id == payer_id
        )
        conditions: list[Any] = created_conditions(CollectRequestRow.created_at, params.created)
        now = utcnow()
        # As ``schemas.collect_status`` reads them: a request being paid is pending until its
        # approval's answer, whatever the time.
        being_paid = CollectRequestRow.transfer_id.is_not(None)
        if params.status == "pending":
            conditions += [
                CollectRequestRow.status == "pending",
                or_(CollectRequestRow.expires_at > now, being_paid),
            ]
        elif params.status == "expired":
            conditions.append(
                or_(
                    CollectRequestRow.status == "expired",
                    and_(
                        CollectRequestRow.status == "pending",
                        CollectRequestRow.expires_at <= now,
                        ~being_paid,
                    ),
                )
            )
        elif params.status is not None:
            conditions.append(CollectRequestRow.status == params.status)

        return await owned_page(
            session,
            CollectRequestRow,
            params,
            owner=[mine],
            filters=conditions,
            object_name="psp_collect_request",
        )

    async def approve(
        self,
        session: AsyncSession,
        ring: KeyRing,
        ctx: PayerContext,
        collect_id: str,
        *,
        pin: SecretStr,
        bank_account: str | None,
        phases: Phases,
        step_up: StepUp | None = None,
    ) -> CollectRequestRow:
        """Pay a pending request with the PIN, in the phases of a payment. A merchant's request
        is answered on the switch (which debits the payer and tells the merchant's payment); a
        payer's is a push to the requester's account. Approving twice pays once: an approval
        whose answer was never applied is finished, without asking for the PIN again."""
        row = await _lock_collect(session, ctx.payer_id, collect_id)
        if row.status == "pending" and row.transfer_id is not None:
            asked = await session.get(TransferRow, row.transfer_id, populate_existing=True)
            invariant(asked is not None, "a collect being paid names its transfer")
            if asked is not None and asked.status == "pending":
                await _complete(session, phases, asked)
                return await _collect_now(session, collect_id)
        _check_pending(row)
        payer, bound_at = await _payable(session, ctx)
        account = await bank_account_service.authorize_debit(
            session, ring, ctx.payer_id, bank_account, pin
        )
        if row.requester_kind == "merchant":
            invariant(row.rail_reference is not None, "a merchant's collect is on the switch")
            payee = _merchant_payee(row)
        else:
            payee = await address_service.payee_of_vpa(session, row.requester_vpa_id or "")
            payee = replace(payee, account_ref=row.requester_account_ref)
        transfer = await _ask(
            session,
            payer=payer,
            ctx=ctx,
            bound_at=bound_at,
            account=account,
            target=_Target(payee, "collect", row.amount_minor, None, row.note),
            client_request_id=f"collect:{row.id}",
            fingerprint=hashlib.sha256(row.id.encode()).digest(),
            step_up=step_up,
            collect=row,
        )
        # The request is being paid: a decline or the expiry job leaves it to this answer.
        row.transfer_id, row.updated_at = transfer.id, utcnow()
        await _complete(session, phases, transfer)
        return await _collect_now(session, collect_id)

    async def decline(
        self, session: AsyncSession, ctx: PayerContext, collect_id: str, phases: Phases
    ) -> CollectRequestRow:
        """Refuse a pending request (ZA). A merchant's is answered on the switch, outside any
        transaction: the refusal is checked and committed first (nothing is written), the switch
        told, and the request ended in a new short transaction — unless the switch's answer says
        it ended otherwise meanwhile (expired, or an approval got there first). A process that
        dies before telling the switch leaves the request pending: it can be declined again,
        and it expires on the switch by itself."""
        row = await _lock_collect(session, ctx.payer_id, collect_id)
        _check_pending(row)
        if row.transfer_id is not None:
            raise CollectRequestNotPendingError("This collect request is being paid.")
        code = "ZA"
        if row.rail_reference is not None:
            reference = row.rail_reference
            await phases.checkpoint(f"decline:{collect_id}")
            outcome = await _answer(session, reference, approve=False, payer_account_ref=None)
            row = await _lock_collect_by_id(session, collect_id)
            if row.status != "pending" or row.transfer_id is not None:
                return row  # ended or being paid meanwhile: that answer stands
            code = outcome.code or code
        if code == "U69":  # the switch had expired it: the request says so
            row.status, row.npci_code, row.updated_at = "expired", "U69", utcnow()
            for scope, obj in _collect_scopes(row):
                await record(session, scope, TransferEvent.collect_request_expired, obj)
            return row
        row.status, row.npci_code, row.updated_at = "declined", "ZA", utcnow()
        for scope, obj in _collect_scopes(row):
            await record(session, scope, TransferEvent.collect_request_declined, obj)
        return row

    async def expire_due(self, session: AsyncSession, *, batch: int = 100) -> int:
        """Marks pending requests past their expiry as expired (U69), with their events. A
        merchant's request expires on the switch by itself at the same moment."""
        statement = (
            select(CollectRequestRow)
            .where(
                CollectRequestRow.status == "pending",
                CollectRequestRow.expires_at <= utcnow(),
                # Being paid: the switch's answer to the approval ends it (U69 when too late).
                CollectRequestRow.transfer_id.is_(None),
            )
            .order_by(CollectRequestRow.expires_at)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        rows = list((await session.execute(statement)).scalars())
        for row in rows:
            row.status, row.npci_code, row.updated_at = "expired", "U69", utcnow()
            for scope, obj in _collect_scopes(row):
                await record(session, scope, TransferEvent.collect_request_expired, obj)
        return len(rows)


def _check_pending(row: CollectRequestRow) -> None:
    status = collect_status(row, utcnow())
    if status == "expired":
        raise CollectRequestExpiredError()
    if status != "pending":
        raise CollectRequestNotPendingError(
            f"This collect request is {status} already.", npci_code=row.npci_code
        )


def _settle_collect(
    row: CollectRequestRow, paid: bool, npci_code: str, transfer_id: str | None
) -> None:
    row.status = "paid" if paid else ("expired" if npci_code == "U69" else "failed")
    row.npci_code, row.transfer_id, row.updated_at = npci_code, transfer_id, utcnow()


def _merchant_payee(row: CollectRequestRow) -> Payee:
    """A merchant's collect is paid on the switch, which credits the merchant's payment."""
    return Payee(
        kind="merchant",
        payer_id=None,
        merchant_id=row.requester_merchant_id,
        verified_name=row.requester_name,
        masked=row.requester_masked,
        account_ref=MERCHANT_COLLECT_ACCOUNT,
        vpa_id=None,
        alias_id=None,
        merchant_category_code=None,
    )


async def _collect_now(session: AsyncSession, collect_id: str) -> CollectRequestRow:
    row = await session.get(CollectRequestRow, collect_id, populate_existing=True)
    invariant(row is not None, "a collect request is never deleted")
    return row  # type: ignore[return-value]


async def _lock_collect_by_id(session: AsyncSession, collect_id: str) -> CollectRequestRow:
    statement = (
        select(CollectRequestRow)
        .where(CollectRequestRow.id == collect_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one()


async def claim_collect(session: AsyncSession, notice: CollectNotice) -> bool:
    """The switch asks whether a collect's VPA is one of ours: a payer's VPA at our handle
    becomes a pending request in that payer's app (a merchant's collect, through the merchant
    API's UPI payments)."""
    ring = CONFIG.current().ring
    vpa = await address_service.owner_of_vpa(session, ring, notice.vpa)
    if vpa is None or vpa.payer_id is None or notice.livemode:
        return False  # not ours, a merchant's VPA (it cannot be asked to pay), or live mode
    now = utcnow()
    row = CollectRequestRow(
        id=new_id("pcr"),
        payer_id=vpa.payer_id,
        payer_vpa_id=vpa.id,
        requester_kind="merchant",
        requester_payer_id=None,
        requester_merchant_id=notice.merchant_id,
        requester_name=notice.payee_name,
        requester_masked=notice.payee_name,
        requester_vpa_id=None,
        requester_account_ref=MERCHANT_COLLECT_ACCOUNT,
        rail_reference=notice.reference,
        amount_minor=notice.amount_minor,
        currency=notice.currency,
        note=notice.note,
        status="pending",
        npci_code=None,
        transfer_id=None,
        expires_at=notice.expires_at,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    for scope, obj in _collect_scopes(row):
        await record(session, scope, TransferEvent.collect_request_created, obj)
    return True


async def credit_merchant(session: AsyncSession, notice: CreditNotice) -> str | None:
    """The switch credited an account (a push, in its own transaction): when it is the account
    behind a merchant's VPA, the credit becomes the merchant's succeeded payment, in the same
    transaction, so the money and the merchant's books move together (``payments.upi_credits``:
    once per UPI transaction id). The merchant's id, or None when the account is no merchant's
    (a payer paid a payer)."""
    vpa = await address_service.merchant_vpa_of_account(session, notice.payee_account_ref)
    if vpa is None or vpa.merchant_id is None or vpa.livemode != notice.livemode:
        return None
    credit = UpiCredit(
        merchant_id=vpa.merchant_id,
        livemode=vpa.livemode,
        upi_transaction_id=notice.upi_transaction_id,
        rail_reference=notice.reference,
        amount_minor=notice.amount_minor,
        currency=notice.currency,
        credited_at=notice.credited_at,
        rrn=notice.rrn,
        reference=notice.payee_reference,
        merchant_vpa_id=vpa.id,
        payer_name=notice.payer_name,
        payer_vpa_masked=notice.payer_vpa_masked,
    )
    await record_upi_credit(session, credit)
    return vpa.merchant_id


async def _answer(
    session: AsyncSession, reference: str, *, approve: bool, payer_account_ref: str | None
) -> RailOutcome:
    token = _answering.set(reference)
    try:
        return await answer_collect(
            session, reference, approve=approve, payer_account_ref=payer_account_ref
        )
    finally:
        _answering.reset(token)


async def handle_rail_outcome(session: AsyncSession, outcome: RailOutcome) -> None:
    """The switch ended a merchant's collect by itself — it expired (U69), or the merchant
    canceled the payment — while the payer's request was pending: the request ends too."""
    if not outcome.final or outcome.operation != "authorize":
        return
    if _answering.get() == outcome.reference:
        return  # our own answer coming back
    statement = (
        select(CollectRequestRow)
        .where(CollectRequestRow.rail_reference == outcome.reference)
        .with_for_update()
    )
    row = (await session.execute(statement)).scalar_one_or_none()
    if row is None or row.status != "pending":
        return
    code = outcome.code or "U30"
    row.status = "expired" if code == "U69" else "failed"
    row.npci_code, row.updated_at = code, utcnow()
    for scope, obj in _collect_scopes(row):
        await record(session, scope, collect_request_ended(row.status), obj)


transfer_service = TransferService()
collect_service = CollectService()

__all__ = [
    "CONFIG",
    "CollectService",
    "PayeeParams",
    "TransferService",
    "TransfersConfig",
    "claim_collect",
    "collect_service",
    "configure",
    "credit_merchant",
    "handle_rail_outcome",
    "limits",
    "transfer_service",
]
