"""The sandbox payout rail: IMPS, NEFT, RTGS and UPI payouts to bank accounts and VPAs.

- IMPS, RTGS and UPI pay at once (after the simulated latency: UPI's settings for IMPS and
  UPI, NPCI's rails; net banking's for RTGS and NEFT, the banks'): the answer is ``paid`` or
  ``failed`` with its RRN or UTR.
- NEFT is ``pending`` until the next half-hourly batch (``payout_domain.next_neft_batch``): a
  job deferred through the injected scheduler settles it then, and every payout listener
  (``rails.service.on_payout_outcome``) hears the outcome in that transaction.
- A deemed payout (its test value) is ``in_transit`` until a status check made from
  ``check_after`` on confirms the credit (``paid``): no callback comes for it, as for UPI's.
- Failures come from test values (``payout_domain``: account numbers, IFSC branch codes,
  VPAs), with Stripe's payout failure codes.

Idempotent by the caller's request id (the payout's id): ``INSERT … ON CONFLICT DO NOTHING`` on
a unique request id, so a retry or a racing duplicate answers the first payout, never a
second. On the wire amounts are rupees as a decimal string and the currency INR; the answer is
checked against what was sent before anything is recorded (the integrity check). The sandbox
moves no ledger money: the payout module posts the ledger transfers from the outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.kit.upi import mask_vpa, vpa_problem
from beyondpay.rails import callbacks
from beyondpay.rails import payout_domain as domain
from beyondpay.rails.domain import IFSC_PATTERN, minor_from_rupees, rupees_from_minor
from beyondpay.rails.errors import (
    RailInstrumentInvalidError,
    RailIntegrityError,
    RailParameterInvalidError,
    RailReferenceUnknownError,
    RailRequestIdReusedError,
)
from beyondpay.rails.models import SandboxPayoutRow as Row
from beyondpay.rails.protocol import (
    BankAccountDestination,
    PayoutOutcome,
    PayoutRail,
    PayoutRequest,
    PayoutStatus,
    Rail,
    VpaDestination,
)
from beyondpay.rails.sandbox.common import own_transaction, random_digits
from beyondpay.rails.sandbox.config import CONFIG, SandboxConfig

REQUEST_ID_CHARS_MAX: Final = 255
NARRATION_CHARS_MAX: Final = 100
FINAL: Final = ("paid", "failed")
# Whose simulated latency each payout rail takes: NPCI's rails (IMPS, UPI) UPI's, the banks'
# RBI rails (NEFT, RTGS) net banking's.
_LATENCY_OF: Final = {
    PayoutRail.imps: Rail.upi,
    PayoutRail.upi: Rail.upi,
    PayoutRail.neft: Rail.netbanking,
    PayoutRail.rtgs: Rail.netbanking,
}
_DESTINATION_CONTEXT: Final = "rails.sandbox.payout_destination:"
_COLUMNS: Final = tuple(Row.__mapper__.column_attrs)


def new_reference() -> str:
    """``po_ref_…``: 48 bits of time and 80 random bits."""
    return f"po_ref_{new_id('r').partition('_')[2]}"


def _utr(rail: PayoutRail, at: datetime) -> str:
    if rail is PayoutRail.neft:
        bank = domain.SANDBOX_REMITTER_BANK
        return domain.neft_utr(bank, at, random_digits(domain.NEFT_SEQUENCE_DIGITS))
    if rail is PayoutRail.rtgs:
        bank = domain.SANDBOX_REMITTER_BANK
        return domain.rtgs_utr(bank, at, random_digits(domain.RTGS_SEQUENCE_DIGITS))
    return domain.rrn(at, random_digits(domain.RRN_SEQUENCE_DIGITS))


class _Destination:
    """A destination checked at the edge: what is stored of it and what the rail does."""

    def __init__(self, request: PayoutRequest) -> None:
        destination = request.destination
        if isinstance(destination, BankAccountDestination):
            number = destination.account_number.get_secret_value()
            if not domain.account_number_valid(number):
                raise RailInstrumentInvalidError(
                    "A bank account number is 9 to 18 digits.",
                    param="destination[account_number]",
                )
            if not IFSC_PATTERN.match(destination.ifsc):
                raise RailInstrumentInvalidError(
                    "An IFSC is 4 letters, a 0, then 6 letters or digits.",
                    param="destination[ifsc]",
                )
            self.kind: domain.Destination = "bank_account"
            self.secret = f"bank_account:{destination.ifsc}:{number}"
            self.masked = domain.mask_account(number)
            self.ifsc: str | None = destination.ifsc
            self.scenario = domain.bank_account_scenario(number, destination.ifsc)
        elif isinstance(destination, VpaDestination):
            vpa = destination.vpa.get_secret_value()
            problem = vpa_problem(vpa)
            if problem is not None:
                raise RailInstrumentInvalidError(
                    f"Invalid destination[vpa]: {problem}.", param="destination[vpa]"
                )
            self.kind = "vpa"
            self.secret = f"vpa:{vpa}"
            self.masked = mask_vpa(vpa)
            self.ifsc = None
            self.scenario = domain.vpa_scenario(vpa)
        else:
            raise RailInstrumentInvalidError("A payout goes to a bank account or a VPA.")


def _check_request(request: PayoutRequest) -> _Destination:
    """Everything about the request the rail refuses before it is sent (4xx naming the
    parameter, nothing stored)."""
    if not 0 < len(request.request_id) <= REQUEST_ID_CHARS_MAX:
        raise RailParameterInvalidError(
            f"A request id is 1 to {REQUEST_ID_CHARS_MAX} characters.", param="request_id"
        )
    if request.narration is not None and len(request.narration) > NARRATION_CHARS_MAX:
        raise RailParameterInvalidError(
            f"A narration is at most {NARRATION_CHARS_MAX} characters.", param="narration"
        )
    domain.check_amount(request.amount_minor, request.currency)
    destination = _Destination(request)
    domain.check_rail(PayoutRail(request.rail), destination.kind, request.amount_minor)
    return destination


class SandboxPayoutConnector:
    """The sandbox's :class:`~beyondpay.rails.protocol.PayoutConnector`."""

    def __init__(self, ring: KeyRing | None = None) -> None:
        self.ring = ring if ring is not None else CONFIG.current().ring

    @property
    def config(self) -> SandboxConfig:
        return CONFIG.current()

    # --- the edge ------------------------------------------------------------------------

    @staticmethod
    def to_wire(amount_minor: int, currency: str) -> dict[str, Any]:
        return {"amount": rupees_from_minor(amount_minor), "currency": currency.upper()}

    @staticmethod
    def from_wire(answer: Mapping[str, Any]) -> tuple[int, str]:
        amount, currency = answer["amount"], answer["currency"]
        if not isinstance(amount, str) or not isinstance(currency, str):
            raise TypeError("the rail's amount and currency are strings")
        return minor_from_rupees(amount), currency.lower()

    def bank_answer(self, sent: Mapping[str, Any]) -> dict[str, Any]:
        """The simulated remitter bank reads what was sent in its format and answers in it."""
        amount_minor, currency = self.from_wire(sent)
        return self.to_wire(amount_minor, currency)

    def check_answer(self, amount_minor: int, currency: str, answer: Mapping[str, Any]) -> None:
        """The integrity check: the rail answered for what we sent, or we refuse its answer."""
        try:
            answered = self.from_wire(answer)
        except (KeyError, TypeError, ValueError):
            raise RailIntegrityError("The payout rail's answer has no readable amount.") from None
        if answered != (amount_minor, currency):
            raise RailIntegrityError("The payout rail answered for another amount or currency.")

    def exchange(self, amount_minor: int, currency: str) -> None:
        sent = self.to_wire(amount_minor, currency)
        self.check_answer(amount_minor, currency, self.bank_answer(sent))

    # --- the protocol ----------------------------------------------------------------------

    async def payout(self, session: AsyncSession, request: PayoutRequest) -> PayoutOutcome:
        destination = _check_request(request)
        await self.config.sleep_latency(_LATENCY_OF[PayoutRail(request.rail)])
        async with own_transaction(session):
            row = self._new_row(request, destination)
            self.exchange(row.amount_minor, row.currency)
            stored = await self._insert(session, row)
            if stored is not row:
                self._check_same(stored, request, destination)
                return outcome(stored)
            if row.status == "pending" and row.settles_at is not None:
                await callbacks.scheduler().payout_settles_at(
                    session, row.reference, row.settles_at
                )
            return outcome(row)

    async def status(self, session: AsyncSession, reference: str) -> PayoutOutcome:
        await self.config.sleep_latency(Rail.netbanking)
        async with own_transaction(session):
            row = await lock_payout(session, reference)
            if row is None:
                raise RailReferenceUnknownError("No such payout on this rail.", param="reference")
            now = utcnow()
            if row.status == "pending" and row.settles_at is not None and now >= row.settles_at:
                settle(row)
            elif row.status == "in_transit" and row.check_after and now >= row.check_after:
                # A status check of a deemed credit: the beneficiary's bank confirms it.
                row.status_checks += 1
                row.status, row.check_after, row.updated_at = "paid", None, now
            return outcome(row)

    # --- the rows ------------------------------------------------------------------------

    def _new_row(self, request: PayoutRequest, destination: _Destination) -> Row:
        now = utcnow()
        rail = PayoutRail(request.rail)
        row = Row(
            reference=new_reference(),
            request_id=request.request_id,
            merchant_id=request.merchant_id,
            livemode=request.livemode,
            rail=rail.value,
            amount_minor=request.amount_minor,
            currency=request.currency.lower(),
            status="pending",
            scenario=destination.scenario,
            failure_code=None,
            failure_message=None,
            utr=_utr(rail, now),
            destination_fingerprint=self.ring.fingerprint(
                _DESTINATION_CONTEXT + destination.secret
            ),
            destination_masked=destination.masked,
            ifsc=destination.ifsc,
            arrival_at=domain.arrival(rail, now),
            settles_at=None,
            check_after=None,
            status_checks=0,
            notified_status=None,
            created_at=now,
            updated_at=now,
        )
        if rail is PayoutRail.neft:
            row.settles_at = row.arrival_at  # waits for its batch
        else:
            settle(row)
        # The caller hears this answer from the call itself: listeners hear what changes later.
        row.notified_status = row.status
        return row

    async def _insert(self, session: AsyncSession, row: Row) -> Row:
        """Store ``row``, or find the payout stored before under its request id (an earlier
        try, or a duplicate racing this one: the unique index makes it wait for the first and
        then find it)."""
        values = {column.key: getattr(row, column.key) for column in _COLUMNS}
        statement = (
            pg_insert(Row)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["request_id"])
            .returning(Row.reference)
        )
        if (await session.execute(statement)).scalar() is None:
            found = select(Row).where(Row.request_id == row.request_id)
            stored = (
                await session.execute(found.execution_options(populate_existing=True))
            ).scalar()
            invariant(stored is not None, "a conflict names a stored request id")
            assert stored is not None
            return stored
        make_transient_to_detached(row)
        session.add(row)
        return row

    def _check_same(self, row: Row, request: PayoutRequest, destination: _Destination) -> None:
        fingerprints = self.ring.fingerprints(_DESTINATION_CONTEXT + destination.secret)
        same = (
            row.amount_minor == request.amount_minor
            and row.currency == request.currency.lower()
            and row.rail == PayoutRail(request.rail).value
            and row.merchant_id == request.merchant_id
            and row.livemode == request.livemode
            and row.destination_fingerprint in fingerprints
        )
        if not same:
            raise RailRequestIdReusedError(param="request_id")


def settle(row: Row) -> None:
    """The rail sends the payout (IMPS, RTGS, UPI at once; NEFT at its batch): paid, failed
    with the test value's failure code, or in transit when the credit is deemed."""
    now = utcnow()
    status: PayoutStatus = "paid"
    if row.scenario in domain.FAILURE_MESSAGES:
        status = "failed"
        row.failure_code = row.scenario
        row.failure_message = domain.FAILURE_MESSAGES[row.scenario]
    elif row.scenario == domain.DEEMED:
        status = "in_transit"
        row.check_after = now + timedelta(seconds=domain.DEEMED_CHECK_AFTER_S)
    row.status, row.settles_at, row.updated_at = status, None, now


async def lock_payout(session: AsyncSession, reference: str) -> Row | None:
    statement = select(Row).where(Row.reference == reference).with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


def outcome(row: Row) -> PayoutOutcome:
    return PayoutOutcome(
        request_id=row.request_id,
        reference=row.reference,
        rail=PayoutRail(row.rail),
        status=row.status,  # type: ignore[arg-type]
        amount_minor=row.amount_minor,
        currency=row.currency,
        utr=row.utr,
        destination_masked=row.destination_masked,
        arrival_at=row.arrival_at,
        failure_code=row.failure_code if row.status == "failed" else None,
        failure_message=row.failure_message if row.status == "failed" else None,
        check_after=row.check_after if row.status == "in_transit" else None,
    )
