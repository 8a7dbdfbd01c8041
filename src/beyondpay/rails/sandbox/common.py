"""What every sandbox connector shares: stored operations, idempotent request ids, capture,
void, refund and status, and the edge checks (amounts, the answer's integrity).

A rail module (``card``, ``upi``, ``netbanking``) says how it authorizes, what its wire format
is, what happens when it answers by itself (``resolve``) and what a refund does.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, ClassVar, Final

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.rails import callbacks
from beyondpay.rails.domain import (
    AMOUNT_MINOR_MAX,
    CARD_DISPUTE_REASON,
    DISPUTE_OPENS_AFTER_S,
    DISPUTE_SCENARIO,
    DisputeReason,
    next_status_check,
)
from beyondpay.rails.errors import (
    RailAmountInvalidError,
    RailInstrumentInvalidError,
    RailIntegrityError,
    RailPageNotFoundError,
    RailReferenceUnknownError,
    RailRequestIdReusedError,
)
from beyondpay.rails.models import SandboxRailOperationRow as Row
from beyondpay.rails.protocol import AuthorizeRequest, Operation, Rail, RailOutcome, VerifyRequest
from beyondpay.rails.sandbox.config import CONFIG, SandboxConfig

FINAL: Final = ("succeeded", "failed")
_PAGE_TOKEN_BYTES: Final = 16  # 128 bits of HMAC: the page link cannot be guessed
_PAGE_CONTEXT: Final = "rails.sandbox.page:"
_COLUMNS: Final = tuple(Row.__mapper__.column_attrs)


def new_reference(rail: Rail) -> str:
    """``card_ref_…``, ``upi_ref_…``, ``nb_ref_…``: 48 bits of time and 80 random bits."""
    prefix = {Rail.card: "card_ref", Rail.upi: "upi_ref", Rail.netbanking: "nb_ref"}[rail]
    return f"{prefix}_{new_id('r').partition('_')[2]}"


def page_token(ring: KeyRing, reference: str) -> str:
    """The secret part of a sandbox page's link: the reference and an HMAC of it under the ring
    (nothing stored; checked with every key of the ring, so rotation keeps old links valid)."""
    mac = ring.fingerprint(_PAGE_CONTEXT + reference)[:_PAGE_TOKEN_BYTES]
    return f"{reference}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def reference_of_token(ring: KeyRing, token: str) -> str:
    reference, _, mac_text = token.partition(".")
    for fingerprint in ring.fingerprints(_PAGE_CONTEXT + reference):
        expected = base64.urlsafe_b64encode(fingerprint[:_PAGE_TOKEN_BYTES]).decode().rstrip("=")
        if hmac.compare_digest(expected.encode(), mac_text.encode()):
            return reference
    raise RailPageNotFoundError()


def random_digits(count: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(count))


@asynccontextmanager
async def own_transaction(session: AsyncSession) -> AsyncIterator[None]:
    """The rail's work, in a short transaction of its own on the caller's session.

    A rail is a network peer: the caller must have committed (or not begun) its own transaction
    before calling it, so that no row of ours stays locked while the network answers. The
    sandbox keeps its state in the same database, so it borrows the caller's idle session for
    its own transaction, after the simulated network latency.
    """
    invariant(
        not session.in_transaction(),
        "a rail is called outside any transaction of the caller: no lock held across the network",
    )
    async with session.begin():
        yield


async def lock_operation(session: AsyncSession, reference: str) -> Row | None:
    statement = select(Row).where(Row.reference == reference).with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def find_operation(
    session: AsyncSession, rail: Rail, operation: str, request_id: str
) -> Row | None:
    statement = select(Row).where(
        Row.rail == rail.value, Row.operation == operation, Row.request_id == request_id
    )
    return (await session.execute(statement.execution_options(populate_existing=True))).scalar()


class SandboxConnector:
    rail: Rail
    # Why this rail's scripted disputes say the payer took the money back.
    dispute_reason: ClassVar[DisputeReason] = CARD_DISPUTE_REASON
    # What a later operation (capture, void, refund, …) may name as its parent. A verification
    # is one too: its challenge is withdrawn by a void (nothing else applies to it: it holds
    # nothing to capture or refund).
    parent_operations: ClassVar[tuple[str, ...]] = ("authorize", "verify")

    def __init__(self, ring: KeyRing | None = None) -> None:
        self.ring = ring if ring is not None else CONFIG.current().ring

    @property
    def config(self) -> SandboxConfig:
        return CONFIG.current()

    # --- what each rail says -------------------------------------------------------------

    def to_wire(self, amount_minor: int, currency: str) -> dict[str, Any]:
        raise NotImplementedError

    def from_wire(self, answer: Mapping[str, Any]) -> tuple[int, str]:
        raise NotImplementedError

    async def new_authorization(self, session: AsyncSession, request: AuthorizeRequest) -> Row:
        """The row of a new authorization (not yet stored) with the rail's decision."""
        raise NotImplementedError

    async def new_verification(self, session: AsyncSession, request: VerifyRequest) -> Row:
        """The row of a new zero-amount verification: only the card network makes them (a UPI
        method is saved by a mandate, which is not a verification)."""
        raise RailInstrumentInvalidError(
            f"The {self.rail.value} rail verifies no payment method for later use.",
            param="instrument",
        )

    async def after_insert(self, session: AsyncSession, row: Row) -> None:
        """Effects of a newly stored operation (callbacks scheduled, money moved)."""
        if row.resolves_at is not None:
            await defer_callback(session, row.reference, row.resolves_at, delivery=1)

    async def resolve(self, session: AsyncSession, row: Row) -> None:
        """The rail answers by itself: the row reaches its final state."""
        raise NotImplementedError

    async def refund_effect(self, session: AsyncSession, parent: Row, refund: Row) -> None:
        refund.status, refund.code = "succeeded", "00"

    def action_url(self, row: Row) -> str | None:
        return None

    # --- the edge --------------------------------------------------------------------------

    def switch_answer(self, sent: Mapping[str, Any]) -> dict[str, Any]:
        """The simulated network reads what was sent in its own format and answers in it."""
        amount_minor, currency = self.from_wire(sent)
        return self.to_wire(amount_minor, currency)

    def check_answer(self, amount_minor: int, currency: str, answer: Mapping[str, Any]) -> None:
        """The integrity check: the rail answered for what we sent, or we refuse its answer."""
        try:
            answered = self.from_wire(answer)
        except (KeyError, TypeError, ValueError):
            raise RailIntegrityError("The payment rail's answer has no readable amount.") from None
        if answered != (amount_minor, currency):
            raise RailIntegrityError()

    def exchange(self, amount_minor: int, currency: str) -> None:
        sent = self.to_wire(amount_minor, currency)
        self.check_answer(amount_minor, currency, self.switch_answer(sent))

    # --- the protocol ----------------------------------------------------------------------

    async def authorize(self, session: AsyncSession, request: AuthorizeRequest) -> RailOutcome:
        if not 0 < request.amount_minor <= AMOUNT_MINOR_MAX:
            raise RailAmountInvalidError(param="amount")
        await self.config.sleep_latency(self.rail)
        async with own_transaction(session):
            return await self._authorize(session, request)

    async def _authorize(self, session: AsyncSession, request: AuthorizeRequest) -> RailOutcome:
        # Insert first, read on conflict: a request id is almost always new, so the common case
        # is one statement (the duplicate pays for the read).
        row = await self.new_authorization(session, request)
        self.exchange(row.amount_minor, row.currency)
        stored = await self.insert(session, row)
        if stored is not row:
            self._check_same_authorization(stored, request)
            return self.outcome(stored)
        await self.after_insert(session, row)
        await self.open_scripted_dispute(session, row)
        return self.outcome(row)

    async def verify(self, session: AsyncSession, request: VerifyRequest) -> RailOutcome:
        await self.config.sleep_latency(self.rail)
        async with own_transaction(session):
            row = await self.new_verification(session, request)
            self.exchange(row.amount_minor, row.currency)
            stored = await self.insert(session, row)
            if stored is not row:
                same = (stored.merchant_id, stored.livemode, stored.operation) == (
                    request.merchant_id,
                    request.livemode,
                    "verify",
                )
                if not same:
                    raise RailRequestIdReusedError(param="request_id")
                return self.outcome(stored)
            await self.after_insert(session, row)
            return self.outcome(row)

    def _check_same_authorization(self, row: Row, request: AuthorizeRequest) -> None:
        same = (
            row.amount_minor == request.amount_minor
            and row.currency == request.currency.lower()
            and row.merchant_id == request.merchant_id
            and row.livemode == request.livemode
        )
        if not same:
            raise RailRequestIdReusedError(param="request_id")

    async def insert(self, session: AsyncSession, row: Row) -> Row:
        """Store ``row``; if this request id was stored before (by an earlier try or another
        transaction), that row. One ``INSERT … ON CONFLICT DO NOTHING`` in place of a savepoint
        around an ORM flush: the stored row then joins the session as if loaded."""
        values = {column.key: getattr(row, column.key) for column in _COLUMNS}
        for key, value in values.items():
            setattr(row, key, value)  # every column loaded: nothing for the session to fetch
        statement = (
            pg_insert(Row)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["rail", "operation", "request_id"])
            .returning(Row.reference)
        )
        if (await session.execute(statement)).scalar() is None:
            stored = await find_operation(session, self.rail, row.operation, row.request_id)
            invariant(stored is not None, "a conflict names a stored request id")
            assert stored is not None
            return stored
        make_transient_to_detached(row)
        session.add(row)
        return row

    def new_row(self, operation: Operation, request_id: str, **fields: Any) -> Row:
        now = utcnow()
        fields.setdefault("details", {})
        return Row(
            reference=new_reference(self.rail),
            rail=self.rail.value,
            operation=operation,
            request_id=request_id,
            status_checks=0,
            callbacks_sent=0,
            duplicate_callback=False,
            captured_minor=0,
            refunded_minor=0,
            created_at=now,
            updated_at=now,
            **fields,
        )

    async def _parent(self, session: AsyncSession, reference: str) -> Row:
        parent = await lock_operation(session, reference)
        operations = self.parent_operations
        if parent is None or parent.rail != self.rail.value or parent.operation not in operations:
            raise RailReferenceUnknownError(param="reference")
        return parent

    async def _child(
        self, session: AsyncSession, operation: Operation, request_id: str, parent: Row, amount: int
    ) -> Row | None:
        existing = await find_operation(session, self.rail, operation, request_id)
        if existing is None:
            return None
        if existing.parent_reference != parent.reference or existing.amount_minor != amount:
            raise RailRequestIdReusedError(param="request_id")
        return existing

    def _child_row(self, operation: Operation, request_id: str, parent: Row, amount: int) -> Row:
        return self.new_row(
            operation,
            request_id,
            parent_reference=parent.reference,
            merchant_id=parent.merchant_id,
            livemode=parent.livemode,
            amount_minor=amount,
            currency=parent.currency,
            status="succeeded",
            scenario=operation,
        )

    async def open_scripted_dispute(self, session: AsyncSession, parent: Row) -> None:
        """A captured payment whose test value scripts a dispute (``DISPUTE_SCENARIO``): the
        network reports a chargeback by a callback ``DISPUTE_OPENS_AFTER_S`` later (a
        ``dispute`` operation under the payment's request id, so a payment is disputed once
        however often this runs), for what is left captured then (:meth:`resolve_dispute`)."""
        if parent.scenario != DISPUTE_SCENARIO or parent.hold_state != "captured":
            return
        row = self._child_row("dispute", parent.request_id, parent, parent.captured_minor)
        row.status = "pending"
        row.code = self.dispute_reason.network_reason_code
        row.details = {"reason": self.dispute_reason.reason}
        row.resolves_at = utcnow() + timedelta(seconds=DISPUTE_OPENS_AFTER_S)
        stored = await self.insert(session, row)
        if stored is row:
            await defer_callback(session, row.reference, row.resolves_at, delivery=1)

    async def resolve_dispute(self, session: AsyncSession, row: Row) -> None:
        """The chargeback reported: it takes back what is captured and not refunded by then (a
        refund made meanwhile is not taken twice); nothing left, no chargeback (failed)."""
        parent = await self._parent(session, row.parent_reference or "")
        left_minor = parent.captured_minor - parent.refunded_minor
        if left_minor <= 0:
            self.refuse(row, "charge_already_refunded", "The payment was refunded in full.")
        else:
            row.status, row.amount_minor = "succeeded", left_minor
        row.updated_at = utcnow()

    @staticmethod
    def refuse(row: Row, failure_code: str, message: str) -> Row:
        row.status, row.failure_code, row.message = "failed", failure_code, message
        return row

    async def capture(
        self, session: AsyncSession, request_id: str, reference: str, amount_minor: int
    ) -> RailOutcome:
        if amount_minor <= 0:
            raise RailAmountInvalidError(param="amount")
        await self.config.sleep_latency(self.rail)
        async with own_transaction(session):
            return await self._capture(session, request_id, reference, amount_minor)

    async def _capture(
        self, session: AsyncSession, request_id: str, reference: str, amount_minor: int
    ) -> RailOutcome:
        parent = await self._parent(session, reference)
        existing = await self._child(session, "capture", request_id, parent, amount_minor)
        if existing is not None:
            return self.outcome(existing)
        row = self._child_row("capture", request_id, parent, amount_minor)
        if parent.hold_state != "held" or parent.status != "succeeded":
            self.refuse(row, "charge_not_capturable", "The payment is not held for capture.")
        elif amount_minor > parent.amount_minor:
            self.refuse(row, "amount_too_large", "A capture cannot exceed the amount authorized.")
        else:
            self.exchange(amount_minor, parent.currency)
            # Capturing less than was held releases the rest: nothing more can be captured.
            parent.hold_state, parent.captured_minor = "captured", amount_minor
            parent.updated_at, row.code = utcnow(), "00"
            await self.open_scripted_dispute(session, parent)
        await self.insert(session, row)
        return self.outcome(row)

    async def increment(
        self, session: AsyncSession, request_id: str, reference: str, amount_minor: int
    ) -> RailOutcome:
        if not 0 < amount_minor <= AMOUNT_MINOR_MAX:
            raise RailAmountInvalidError(param="amount")
        await self.config.sleep_latency(self.rail)
        async with own_transaction(session):
            return await self._increment(session, request_id, reference, amount_minor)

    async def _increment(
        self, session: AsyncSession, request_id: str, reference: str, amount_minor: int
    ) -> RailOutcome:
        parent = await self._parent(session, reference)
        existing = await self._child(session, "increment", request_id, parent, amount_minor)
        if existing is not None:
            return self.outcome(existing)
        row = self._child_row("increment", request_id, parent, amount_minor)
        if self.rail is not Rail.card:
            self.refuse(row, "incremental_authorization_unsupported", "Only cards hold money.")
        elif parent.hold_state != "held" or parent.status != "succeeded":
            self.refuse(row, "charge_not_capturable", "The payment is not held for capture.")
        elif amount_minor <= parent.amount_minor:
            self.refuse(row, "amount_too_small", "An increment must raise the amount held.")
        else:
            self.exchange(amount_minor, parent.currency)
            # The network holds the new total: a capture may now take up to it.
            parent.amount_minor, parent.updated_at, row.code = amount_minor, utcnow(), "00"
        await self.insert(session, row)
        return self.outcome(row)

    async def void(self, session: AsyncSession, request_id: str, reference: str) -> RailOutcome:
        await self.config.sleep_latency(self.rail)
        async with own_transaction(session):
            return await self.void_in(session, request_id, reference)

    async def void_in(self, session: AsyncSession, request_id: str, reference: str) -> RailOutcome:
        """The void, in the rail's own transaction that the caller already runs in."""
        parent = await self._parent(session, reference)
        existing = await self._child(session, "void", request_id, parent, parent.amount_minor)
        if existing is not None:
            return self.outcome(existing)
        row = self._child_row("void", request_id, parent, parent.amount_minor)
        if parent.status == "requires_action" or parent.hold_state == "held":
            # The payer's step (challenge, bank page, collect) is withdrawn or the hold released.
            if parent.status == "requires_action":
                self.refuse(parent, "canceled", "The payment was canceled before completion.")
            parent.hold_state, parent.updated_at, row.code = "voided", utcnow(), "00"
        else:
            self.refuse(row, "charge_not_voidable", "Only a hold or an unfinished payment voids.")
        await self.insert(session, row)
        return self.outcome(row)

    async def refund(
        self, session: AsyncSession, request_id: str, reference: str, amount_minor: int
    ) -> RailOutcome:
        if amount_minor <= 0:
            raise RailAmountInvalidError(param="amount")
        await self.config.sleep_latency(self.rail)
        async with own_transaction(session):
            return await self._refund(session, request_id, reference, amount_minor)

    async def _refund(
        self, session: AsyncSession, request_id: str, reference: str, amount_minor: int
    ) -> RailOutcome:
        parent = await self._parent(session, reference)
        existing = await self._child(session, "refund", request_id, parent, amount_minor)
        if existing is not None:
            return self.outcome(existing)
        row = self._child_row("refund", request_id, parent, amount_minor)
        remaining = parent.captured_minor - parent.refunded_minor
        if parent.status != "succeeded" or parent.hold_state != "captured":
            self.refuse(row, "charge_not_refundable", "Only a captured payment can be refunded.")
        elif remaining == 0:
            self.refuse(row, "charge_already_refunded", "The payment is refunded in full.")
        elif amount_minor > remaining:
            self.refuse(row, "amount_too_large", "A refund cannot exceed what is left captured.")
        else:
            self.exchange(amount_minor, parent.currency)
            parent.refunded_minor += amount_minor
            parent.updated_at = utcnow()
            await self.refund_effect(session, parent, row)
        stored = await self.insert(session, row)
        invariant(stored is row, "the parent's lock serializes operations on one payment")
        await self.after_insert(session, row)
        return self.outcome(row)

    async def status(self, session: AsyncSession, reference: str) -> RailOutcome:
        await self.config.sleep_latency(self.rail)
        async with own_transaction(session):
            return await self._status(session, reference)

    async def _status(self, session: AsyncSession, reference: str) -> RailOutcome:
        row = await lock_operation(session, reference)
        if row is None or row.rail != self.rail.value:
            raise RailReferenceUnknownError(param="reference")
        if row.status in FINAL:
            return self.outcome(row)
        now = utcnow()
        if row.resolves_at is not None and now >= row.resolves_at:
            await self.resolve(session, row)
            return self.outcome(row)
        if row.status == "pending" and row.check_after is not None and now >= row.check_after:
            await self.status_check_due(session, row)
        return self.status_outcome(row)

    async def status_check_due(self, session: AsyncSession, row: Row) -> None:
        """A status check made at or after ``check_after``: it counts against the pacing."""
        row.status_checks += 1
        row.check_after = next_status_check(self.rail, row.status_checks, row.created_at)
        row.updated_at = utcnow()

    def status_outcome(self, row: Row) -> RailOutcome:
        return self.outcome(row)

    def outcome(self, row: Row) -> RailOutcome:
        requires_action = row.status == "requires_action"
        return RailOutcome(
            operation=row.operation,  # type: ignore[arg-type]
            status=row.status,  # type: ignore[arg-type]
            reference=row.reference,
            request_id=row.request_id,
            amount_minor=row.amount_minor,
            currency=row.currency,
            code=row.code,
            failure_code=row.failure_code,
            decline_code=row.decline_code,
            message=row.message,
            action_type=row.action_type if requires_action else None,  # type: ignore[arg-type]
            action_url=self.action_url(row) if requires_action else None,
            action_expires_at=row.action_expires_at if requires_action else None,
            check_after=row.check_after if row.status == "pending" else None,
            details={key: str(value) for key, value in (row.details or {}).items()},
        )


async def defer_callback(
    session: AsyncSession, reference: str, at: datetime, *, delivery: int
) -> None:
    """Schedule the rail's callback for ``at``, in the caller's transaction (a rollback
    schedules nothing), with the scheduler the composition root injected."""
    await callbacks.scheduler().callback_at(session, reference, at, delivery=delivery)
