"""The sandbox UPI switch's push payments: a payer's bank account pays another bank account (the
PSP's P2P and P2M pay), within one sandbox bank or across two.

The payer's bank debits the payer to its settlement with the switch and the payee's bank credits
the payee from its own, so each bank's books balance on their own; both transfers are one linked
ledger batch (``banks.push_between``), so both move or neither does. Codes (NPCI's): 00 paid, Z9
the ledger refused the payer's debit (nothing moves on either side), Z8 above the switch's cap,
U30 a simulated failure at ``BEYONDPAY_SANDBOX_UPI_FAILURE_RATE`` (nothing moves).

The switch is a network peer: ``upi_push`` takes the caller's session outside any transaction
and runs in a short transaction of its own after its latency (``common.own_transaction``).

A push is a row of ``sandbox_rail_operations`` (operation ``push``), unique per request id: the
row is stored before any money moves, so a concurrent push with the same id waits on it and then
reads the stored answer, and nothing moves twice.

A push that credited its payee is told, in the same transaction, to the credit listeners
(``callbacks.tell_credit``): the PSP owns merchants' VPAs, and a credit to the account behind
one becomes the merchant's payment there, so the money and the merchant's books move together
or not at all. The merchant that claims it is kept on the row (``merchant_id``), and the push
can then be refunded like a captured UPI payment (``upi.SandboxUpiConnector``): the payer's
bank credits the payer back.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.invariants import invariant
from beyondpay.ledger.domain import CreateTransferResult
from beyondpay.rails import callbacks
from beyondpay.rails.domain import AMOUNT_MINOR_MAX
from beyondpay.rails.errors import (
    RailAccountUnknownError,
    RailAmountInvalidError,
    RailCurrencyUnsupportedError,
    RailParameterInvalidError,
    RailReferenceUnknownError,
    RailRequestIdReusedError,
)
from beyondpay.rails.models import SandboxRailOperationRow as Row
from beyondpay.rails.protocol import CreditNotice, PushRequest, Rail, RailOutcome
from beyondpay.rails.sandbox import banks
from beyondpay.rails.sandbox.common import find_operation, own_transaction
from beyondpay.rails.sandbox.upi import SandboxUpiConnector, apply_code, rrn, upi_transaction_id

NOTE_CHARS_MAX: Final = 100  # the sandbox switch's limit on a payer's remark
REQUEST_ID_CHARS_MAX: Final = 255
PAYEE_REFERENCE_CHARS_MAX: Final = 35  # NPCI's ``tr``
# What the payer's PSP tells the payee's side of the payer: bounded, not checked further (a
# PSP's own rules for names and VPAs are its own).
PAYER_NAME_CHARS_MAX: Final = 255
PAYER_VPA_CHARS_MAX: Final = 255
_MOVED: Final = {CreateTransferResult.ok, CreateTransferResult.exists}


def _check_request(request: PushRequest) -> None:
    if not 0 < len(request.request_id) <= REQUEST_ID_CHARS_MAX:
        raise RailParameterInvalidError(
            f"The request id must be 1 to {REQUEST_ID_CHARS_MAX} characters.", param="request_id"
        )
    if request.amount_minor <= 0:
        raise RailAmountInvalidError(param="amount_minor")
    if request.currency.lower() != "inr":
        raise RailCurrencyUnsupportedError("UPI carries INR only.", param="currency")
    if request.note is not None and len(request.note) > NOTE_CHARS_MAX:
        raise RailParameterInvalidError(
            f"The note must be at most {NOTE_CHARS_MAX} characters.", param="note"
        )
    for param, value, chars_max in (
        ("payee_reference", request.payee_reference, PAYEE_REFERENCE_CHARS_MAX),
        ("payer_name", request.payer_name, PAYER_NAME_CHARS_MAX),
        ("payer_vpa_masked", request.payer_vpa_masked, PAYER_VPA_CHARS_MAX),
    ):
        if value is not None and not 0 < len(value) <= chars_max:
            raise RailParameterInvalidError(
                f"The {param} must be 1 to {chars_max} characters.", param=param
            )
    if request.payer_account_ref == request.payee_account_ref:
        raise RailParameterInvalidError(
            "The payer and the payee are the same account.", param="payee_account_ref"
        )


async def _check_accounts(session: AsyncSession, request: PushRequest) -> None:
    found = await banks.payer_balances(
        session, [request.payer_account_ref, request.payee_account_ref]
    )
    for param in ("payer_account_ref", "payee_account_ref"):
        if getattr(request, param) not in found:
            raise RailAccountUnknownError(param=param)


def _check_same_push(row: Row, request: PushRequest) -> None:
    same = (
        row.payer_account_id == request.payer_account_ref
        and row.payee_account_id == request.payee_account_ref
        and row.amount_minor == request.amount_minor
        and row.currency == request.currency.lower()
    )
    if not same:
        raise RailRequestIdReusedError(param="request_id")


async def upi_push(session: AsyncSession, request: PushRequest) -> RailOutcome:
    """Push ``amount_minor`` from the payer's bank account to the payee's. Idempotent by
    ``request_id``: the same id returns the stored outcome (another push under it is refused)."""
    _check_request(request)
    connector = SandboxUpiConnector()
    await connector.config.sleep_latency(Rail.upi)
    async with own_transaction(session):
        return await _push(session, connector, request)


async def _push(
    session: AsyncSession, connector: SandboxUpiConnector, request: PushRequest
) -> RailOutcome:
    existing = await find_operation(session, Rail.upi, "push", request.request_id)
    if existing is not None:
        _check_same_push(existing, request)
        return connector.outcome(existing)
    await _check_accounts(session, request)
    row = connector.new_row(
        "push",
        request.request_id,
        merchant_id=None,
        livemode=False,
        amount_minor=request.amount_minor,
        currency="inr",
        status="pending",
        scenario="push",
        payer_account_id=request.payer_account_ref,
        payee_account_id=request.payee_account_ref,
        details={"upi_transaction_id": upi_transaction_id(), "rrn": rrn()},
    )
    connector.exchange(row.amount_minor, row.currency)
    stored = await connector.insert(session, row)
    if stored is not row:
        _check_same_push(stored, request)
        return connector.outcome(stored)
    apply_code(row, await _move(session, connector, row))
    if row.status == "succeeded":
        row.merchant_id = await callbacks.tell_credit(session, _credit_notice(row, request))
    await session.flush()
    return connector.outcome(row)


def _credit_notice(row: Row, request: PushRequest) -> CreditNotice:
    return CreditNotice(
        reference=row.reference,
        upi_transaction_id=str(row.details["upi_transaction_id"]),
        rrn=row.details.get("rrn"),
        payee_account_ref=request.payee_account_ref,
        amount_minor=row.amount_minor,
        currency=row.currency,
        livemode=row.livemode,
        credited_at=row.created_at,
        payee_reference=request.payee_reference,
        note=request.note,
        payer_name=request.payer_name,
        payer_vpa_masked=request.payer_vpa_masked,
    )


async def _move(session: AsyncSession, connector: SandboxUpiConnector, row: Row) -> str:
    """The switch's answer, with the money moved when it is 00: the payer's debit and the
    payee's credit in one linked ledger batch, so that both move or neither does."""
    if row.amount_minor > AMOUNT_MINOR_MAX:
        return "Z8"
    if connector.config.fails_technically(Rail.upi):
        return "U30"
    result = await banks.push_between(
        session,
        f"upi:{row.reference}",
        row.payer_account_id or "",
        row.payee_account_id or "",
        row.amount_minor,
        code="upi_payment",
    )
    if result == CreateTransferResult.exceeds_credits:
        return "Z9"
    invariant(result in _MOVED, f"the payer's debit: {result}")
    return "00"


async def upi_push_status(session: AsyncSession, reference: str) -> RailOutcome:
    """Where a push stands: always final (the switch answers a push at once)."""
    row = await session.get(Row, reference, populate_existing=True)
    if row is None or row.operation != "push":
        raise RailReferenceUnknownError(param="reference")
    invariant(row.status in ("succeeded", "failed"), "a stored push has its answer")
    return SandboxUpiConnector().outcome(row)
