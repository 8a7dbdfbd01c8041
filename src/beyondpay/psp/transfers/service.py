"""PSP transfers' use cases: review and pay, collect requests, the payer's history.

A payment runs in one transaction, in a fixed order of locks — the debited account's PIN row
(``authorize_debit``), then the payer's limit counter of the day, then the banks' ledger
accounts (``upi_push``) — so two payments of one payer never deadlock, and parallel payments
queue on the counter: the limit they check is the one they update. A payment the switch refused
(Z9, U30, …) is a receipt too (it has a UPI transaction id and an RRN) and is committed; a
payment refused before the switch (limits, PIN, frozen account) leaves nothing but its error.

Nothing here commits: the request owns the transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

import orjson
from pydantic import SecretStr
from sqlalchemy import and_, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.api.lists import created_conditions, page
from beyondpay.events.service import event_service
from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import InvalidRequestError, ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.kit.settings import Settings
from beyondpay.limits.domain import LimitContext
from beyondpay.limits.service import limits_service
from beyondpay.psp.addresses.qr import parse_upi_link
from beyondpay.psp.addresses.service import Payee, address_service
from beyondpay.psp.banking.service import bank_account_service
from beyondpay.psp.identity.auth import PayerContext
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
    PushRequest,
    answer_collect,
    off_collect,
    off_outcome,
    on_collect,
    on_outcome,
    upi_push,
)
from beyondpay.risk.domain import PaymentContext
from beyondpay.risk.service import risk_service

P2P_COLLECT_AMOUNT_MINOR_MAX: Final = 2_000_00  # NPCI's cap on a P2P collect request (₹2,000)
CURRENCY: Final = "inr"


@dataclass(frozen=True, slots=True)
class _Config:
    limits: Limits = Limits()
    ring: KeyRing | None = None


_configured: dict[str, _Config] = {}


def _current() -> _Config:
    return _configured.get("config") or _Config()


# The switch reference this request is answering: the outcome it reports back is ours, not news.
_answering: ContextVar[str | None] = ContextVar("psp_answering_collect", default=None)


def configure(settings: Settings) -> None:
    """Limits from the settings, and the switch told that collects to our VPAs are ours."""
    _configured["config"] = _Config(
        limits=Limits(
            p2p_daily_amount_minor_max=settings.psp_p2p_daily_limit_minor,
            transaction_amount_minor_max=settings.psp_transaction_limit_minor,
            p2p_daily_count_max=settings.psp_p2p_daily_count_max,
            new_device_cooling_s=settings.psp_new_device_cooling_s,
            new_device_daily_amount_minor_max=settings.psp_new_device_limit_minor,
        ),
        ring=settings.key_ring(),
    )
    off_collect(_claim_collect)
    on_collect(_claim_collect)
    off_outcome(_hear_switch)
    on_outcome(_hear_switch)


def limits() -> Limits:
    return _current().limits


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
        payee = await address_service.resolve_payee(session, ring, payer_id, vpa=SecretStr(link.pa))
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
        _current().limits, kind=kind, amount_minor=amount_minor, so_far=so_far, cooling=cooling
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


async def _record(session: AsyncSession, scope: str, type: str, obj: dict[str, Any]) -> None:
    """One event in ``scope`` (a payer's id: each payer has its own sequence of events)."""
    await event_service.record(session, merchant_id=scope, livemode=False, type=type, object=obj)


async def _record_transfer(session: AsyncSession, row: TransferRow) -> None:
    """The payer's event, and the payee's when a payer was paid."""
    mine = transaction_object(row, row.payer_id)
    if row.status != "succeeded":
        await _record(session, row.payer_id, "psp.transaction.failed", mine)
        return
    await _record(session, row.payer_id, "psp.transaction.succeeded", mine)
    if row.payee_payer_id is not None:
        theirs = transaction_object(row, row.payee_payer_id)
        await _record(session, row.payee_payer_id, "psp.transaction.received", theirs)


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
) -> LimitContext:
    """Risk, then the limits policies, before the switch (issue #8): a block is refused with
    NPCI's U16, a challenge needs the payer's passkey (``step_up``), a policy's refusal carries
    its code. The reservation made is returned, to be given back if the switch refuses."""
    now = utcnow()
    payee_key = payee.payer_id or payee.merchant_id or payee.vpa_id or payee.masked
    assessment = await risk_service.assess(
        session,
        PaymentContext(
            payment_id=payment_key,
            scope=ctx.payer_id,
            livemode=False,
            rail="upi",
            amount_minor=amount_minor,
            currency=CURRENCY,
            payer_key=ctx.payer_id,
            payee_key=payee_key,
            occurred_at=now,
            merchant_id=payee.merchant_id,
            device_id=ctx.device_id,
            device_bound_at=bound_at,
            mcc=payee.merchant_category_code,
            payer_created_at=payer.created_at,
        ),
    )
    if assessment.decision == "block":
        raise RiskBlockedError()
    if assessment.decision == "challenge":
        if step_up is None:
            raise StepUpRequiredError(param="step_up")
        await passkey_service.verify_step_up(
            session, ctx.payer_id, step_up.credential, step_up.challenge_id
        )
    limit_ctx = LimitContext(
        scope=ctx.payer_id,
        livemode=False,
        payment_id=payment_key,
        amount_minor=amount_minor,
        currency=CURRENCY,
        occurred_at=now,
        payer_key=ctx.payer_id,
        merchant_id=payee.merchant_id,
        vpa_key=payee.vpa_id,
        device_id=ctx.device_id,
        mcc=payee.merchant_category_code,
    )
    decision = await limits_service.reserve(session, limit_ctx)
    if not decision.allowed:
        raise PolicyRefusedError(
            decision.code or "limits_refused", decision.reason, decision.npci_code
        )
    return limit_ctx


async def _limits_left(
    session: AsyncSession, ctx: PayerContext, so_far: DaySoFar
) -> dict[str, int | None]:
    """What the payer may still pay today; ``new_device_amount_remaining`` only while the
    session's device is in its cooling period."""
    limits = _current().limits
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
        self, session: AsyncSession, ring: KeyRing, ctx: PayerContext, params: PaymentCreateParams
    ) -> TransferRow:
        fingerprint = _fingerprint(params)
        existing = await self._by_request_id(session, ctx.payer_id, params.client_request_id)
        if existing is not None:
            if existing.params_fingerprint != fingerprint:
                raise ClientRequestIdReusedError(param="client_request_id")
            return existing
        payer, bound_at = await _payable(session, ctx)
        target = await _target(session, ring, ctx.payer_id, params)
        account = await bank_account_service.authorize_debit(
            session, ring, ctx.payer_id, params.bank_account, params.pin
        )
        # The PIN's row lock serializes this payer's payments from one account: a retry that
        # raced the first attempt sees its committed receipt now, and returns it.
        existing = await self._by_request_id(session, ctx.payer_id, params.client_request_id)
        if existing is not None:
            if existing.params_fingerprint != fingerprint:
                raise ClientRequestIdReusedError(param="client_request_id")
            return existing
        return await _execute(
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
        mine = {"sent": sent, "received": received}.get(params.direction or "", or_(sent, received))
        conditions: list[Any] = [mine, *created_conditions(TransferRow.created_at, params.created)]
        if params.status is not None:
            conditions.append(TransferRow.status == params.status)
        statement = select(TransferRow).where(*conditions)

        def cursor_exists(cursor: str) -> Any:
            return select(TransferRow.id).where(TransferRow.id == cursor, or_(sent, received))

        return await page(
            session,
            statement,
            TransferRow.id,
            params,
            cursor_exists=cursor_exists,
            object_name="psp_transaction",
        )


async def _execute(
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
    """Limits under the counter's lock, risk and policies, then the switch; the receipt and its
    events."""
    payee = target.payee
    if payee.account_ref == account.account_ref:
        raise PayeeIsPayerAccountError(param="bank_account")
    kind = PayeeKind(payee.kind)
    now = utcnow()
    counter = await _counter(session, ctx.payer_id, day_of(now))
    cooling = in_cooling(bound_at, now, _current().limits)
    _check_limits(kind, target.amount_minor, _so_far(counter), cooling)
    reserved = await _screen(
        session, ctx, payer, bound_at, payee, target.amount_minor, client_request_id, step_up
    )
    transfer_id = new_id("ptx")
    outcome = await upi_push(
        session,
        PushRequest(
            request_id=transfer_id,
            payer_account_ref=account.account_ref,
            payee_account_ref=payee.account_ref,
            amount_minor=target.amount_minor,
            currency=CURRENCY,
            note=target.note,
        ),
    )
    payer_name, payer_masked = await _payer_party(session, payer)
    row = _transfer_row(
        transfer_id,
        ctx,
        account,
        target,
        outcome,
        client_request_id=client_request_id,
        fingerprint=fingerprint,
        payer_name=payer_name,
        payer_masked=payer_masked,
        collect=collect,
        now=now,
    )
    session.add(row)
    if row.status != "succeeded":
        await limits_service.release(session, reserved)
    else:
        _count(counter, kind, target.amount_minor)
        if payee.alias_id is not None:
            await address_service.consume_alias(session, payee.alias_id, ctx.payer_id)
    try:
        await session.flush()
    except IntegrityError:
        # The same request id from two accounts at once (two PIN locks, so no queue): one
        # commits, this one rolls back with everything it moved.
        raise ClientRequestIdReusedError(param="client_request_id") from None
    await _record_transfer(session, row)
    return row


def _transfer_row(
    transfer_id: str,
    ctx: PayerContext,
    account: Any,
    target: _Target,
    outcome: RailOutcome,
    *,
    client_request_id: str,
    fingerprint: bytes,
    payer_name: str,
    payer_masked: str,
    collect: CollectRequestRow | None,
    now: datetime,
) -> TransferRow:
    invariant(outcome.final, "a push through the switch answers at once")
    payee = target.payee
    succeeded = outcome.status == "succeeded"
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
        status="succeeded" if succeeded else "failed",
        npci_code=outcome.code or ("00" if succeeded else "U30"),
        failure_code=None if succeeded else outcome.failure_code,
        failure_message=None if succeeded else outcome.message,
        rail_reference=outcome.reference,
        upi_transaction_id=outcome.details.get("upi_transaction_id", ""),
        rrn=outcome.details.get("rrn", ""),
        day=day_of(now),
        created_at=now,
        completed_at=utcnow(),
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
            await _record(session, scope, "psp.collect_request.created", obj)
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
        conditions: list[Any] = [
            mine,
            *created_conditions(CollectRequestRow.created_at, params.created),
        ]
        now = utcnow()
        if params.status == "pending":
            conditions += [
                CollectRequestRow.status == "pending",
                CollectRequestRow.expires_at > now,
            ]
        elif params.status == "expired":
            conditions.append(
                or_(
                    CollectRequestRow.status == "expired",
                    and_(
                        CollectRequestRow.status == "pending", CollectRequestRow.expires_at <= now
                    ),
                )
            )
        elif params.status is not None:
            conditions.append(CollectRequestRow.status == params.status)

        def cursor_exists(cursor: str) -> Any:
            return select(CollectRequestRow.id).where(CollectRequestRow.id == cursor, mine)

        return await page(
            session,
            select(CollectRequestRow).where(*conditions),
            CollectRequestRow.id,
            params,
            cursor_exists=cursor_exists,
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
        step_up: StepUp | None = None,
    ) -> CollectRequestRow:
        """Pay a pending request with the PIN. A merchant's request is answered on the switch
        (which debits the payer and tells the merchant's payment); a payer's is a push to the
        requester's account. Approving twice pays once."""
        row = await _lock_collect(session, ctx.payer_id, collect_id)
        _check_pending(row)
        payer, bound_at = await _payable(session, ctx)
        account = await bank_account_service.authorize_debit(
            session, ring, ctx.payer_id, bank_account, pin
        )
        if row.requester_kind == "merchant":
            await _approve_merchant_collect(session, ctx, row, payer, account, bound_at, step_up)
        else:
            payee = await address_service.payee_of_vpa(session, row.requester_vpa_id or "")
            target = _Target(payee, "collect", row.amount_minor, None, row.note)
            transfer = await _execute(
                session,
                payer=payer,
                ctx=ctx,
                bound_at=bound_at,
                account=account,
                target=replace(target, payee=replace(payee, account_ref=row.requester_account_ref)),
                client_request_id=f"collect:{row.id}",
                fingerprint=hashlib.sha256(row.id.encode()).digest(),
                step_up=step_up,
                collect=row,
            )
            _settle_collect(row, transfer.status == "succeeded", transfer.npci_code, transfer.id)
        for scope, obj in _collect_scopes(row):
            if row.status == "paid":
                await _record(session, scope, "psp.collect_request.paid", obj)
            else:
                await _record(session, scope, "psp.collect_request.failed", obj)
        return row

    async def decline(
        self, session: AsyncSession, ctx: PayerContext, collect_id: str
    ) -> CollectRequestRow:
        row = await _lock_collect(session, ctx.payer_id, collect_id)
        _check_pending(row)
        if row.rail_reference is not None:
            await _answer(session, row.rail_reference, approve=False, payer_account_ref=None)
        row.status, row.npci_code, row.updated_at = "declined", "ZA", utcnow()
        for scope, obj in _collect_scopes(row):
            await _record(session, scope, "psp.collect_request.declined", obj)
        return row

    async def expire_due(self, session: AsyncSession, *, batch: int = 100) -> int:
        """Marks pending requests past their expiry as expired (U69), with their events. A
        merchant's request expires on the switch by itself at the same moment."""
        statement = (
            select(CollectRequestRow)
            .where(CollectRequestRow.status == "pending", CollectRequestRow.expires_at <= utcnow())
            .order_by(CollectRequestRow.expires_at)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        rows = list((await session.execute(statement)).scalars())
        for row in rows:
            row.status, row.npci_code, row.updated_at = "expired", "U69", utcnow()
            for scope, obj in _collect_scopes(row):
                await _record(session, scope, "psp.collect_request.expired", obj)
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
    row.status = "paid" if paid else "failed"
    row.npci_code, row.transfer_id, row.updated_at = npci_code, transfer_id, utcnow()


async def _approve_merchant_collect(
    session: AsyncSession,
    ctx: PayerContext,
    row: CollectRequestRow,
    payer: Any,
    account: Any,
    bound_at: datetime,
    step_up: StepUp | None,
) -> None:
    """The switch debits the payer and reports to the merchant's payment; the receipt is kept
    in the payer's history like any payment."""
    invariant(row.rail_reference is not None, "a merchant's collect came through the switch")
    payee = Payee(
        kind="merchant",
        payer_id=None,
        merchant_id=row.requester_merchant_id,
        verified_name=row.requester_name,
        masked=row.requester_masked,
        account_ref=row.requester_account_ref,
        vpa_id=None,
        alias_id=None,
        merchant_category_code=None,
    )
    now = utcnow()
    counter = await _counter(session, ctx.payer_id, day_of(now))
    cooling = in_cooling(bound_at, now, _current().limits)
    _check_limits(PayeeKind.merchant, row.amount_minor, _so_far(counter), cooling)
    reserved = await _screen(
        session, ctx, payer, bound_at, payee, row.amount_minor, f"collect:{row.id}", step_up
    )
    outcome = await _answer(
        session, row.rail_reference or "", approve=True, payer_account_ref=account.account_ref
    )
    payer_name, payer_masked = await _payer_party(session, payer)
    transfer = _transfer_row(
        new_id("ptx"),
        ctx,
        account,
        _Target(payee, "collect", row.amount_minor, None, row.note),
        outcome,
        client_request_id=f"collect:{row.id}",
        fingerprint=hashlib.sha256(row.id.encode()).digest(),
        payer_name=payer_name,
        payer_masked=payer_masked,
        collect=row,
        now=now,
    )
    session.add(transfer)
    if transfer.status != "succeeded":
        await limits_service.release(session, reserved)
    else:
        _count(counter, PayeeKind.merchant, row.amount_minor)
    await session.flush()
    await _record_transfer(session, transfer)
    _settle_collect(row, transfer.status == "succeeded", transfer.npci_code, transfer.id)


async def _claim_collect(session: AsyncSession, notice: CollectNotice) -> bool:
    """The switch asks whether a collect's VPA is one of ours: a payer's VPA at our handle
    becomes a pending request in that payer's app (a merchant's collect, through the merchant
    API's UPI payments)."""
    ring = _current().ring
    if ring is None:
        return False
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
        requester_account_ref="switch",
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
        await _record(session, scope, "psp.collect_request.created", obj)
    return True


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


async def _hear_switch(session: AsyncSession, outcome: RailOutcome) -> None:
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
        if row.status == "expired":
            await _record(session, scope, "psp.collect_request.expired", obj)
        else:
            await _record(session, scope, "psp.collect_request.failed", obj)


transfer_service = TransferService()
collect_service = CollectService()

__all__ = [
    "CollectService",
    "PayeeParams",
    "TransferService",
    "collect_service",
    "configure",
    "limits",
    "transfer_service",
]
