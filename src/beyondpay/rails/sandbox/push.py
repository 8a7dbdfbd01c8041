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

**Paying an intent link** (``upi://pay?pa=payee.sandbox@beyondpay&tr=…``, a Checkout Session's
QR): the PSP pushes to the switch's collecting VPA (``upi.INTENT_COLLECTION_ACCOUNT``) with the
link's ``tr``, as a real payer app pays a merchant's dynamic QR. The switch, as the acquiring
side, finds the pending intent request with that ``tr`` and that amount, locks it, and pays it
from the payer's account exactly as the simulated intent payer would (the payer's bank debits
the payer to its settlement, so a refund credits the same payer back); the request's handlers
hear it in this transaction, so the merchant's PaymentIntent succeeds with the money. Exactly
once: the request's row lock serialises two pushes of one QR, and a request no longer waiting
(paid already, expired, voided, or one its caller no longer waits for — a PaymentIntent
canceled or tried another way before the void reaches the switch, asked of the caller through
``callbacks.still_payable``) or an unknown ``tr`` is refused before any money moves with
NPCI's ``B3`` (transaction not permitted), as a payee PSP declines a dynamic QR's closed order
in its address validation; the payer's app shows the payment failed and nothing is debited.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.clock import utcnow
from beyondpay.kit.invariants import invariant
from beyondpay.ledger.domain import CreateTransferResult
from beyondpay.merchants.service import merchant_service
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
from beyondpay.rails.protocol import CreditNotice, IntentPayee, PushRequest, Rail, RailOutcome
from beyondpay.rails.sandbox import banks
from beyondpay.rails.sandbox.common import find_operation, own_transaction
from beyondpay.rails.sandbox.upi import (
    INTENT_COLLECTION_ACCOUNT,
    INTENT_REFERENCE,
    PAYEE_NAME,
    PAYEE_VPA,
    SandboxUpiConnector,
    apply_code,
    rrn,
    upi_transaction_id,
)

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


async def _check_accounts_of(session: AsyncSession, refs: list[str], param: str) -> None:
    found = await banks.payer_balances(session, refs)
    if any(ref not in found for ref in refs):
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
    if request.payee_account_ref == INTENT_COLLECTION_ACCOUNT:
        return await _pay_intent(session, connector, request)
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


def _intent_requests(reference: str) -> Any:
    """The intent requests whose link carries ``reference`` as its ``tr``, newest first."""
    return (
        select(Row)
        .where(
            Row.rail == Rail.upi.value,
            Row.operation == "authorize",
            Row.action_type == "upi_intent",
            Row.details[INTENT_REFERENCE].astext == reference,
        )
        .order_by(Row.created_at.desc())
        .limit(1)
    )


async def intent_payee(
    session: AsyncSession, vpa: str, reference: str | None
) -> IntentPayee | None:
    """The switch validating an address (NPCI's ReqValAdd) for a PSP: when ``vpa`` is its
    collecting VPA and ``reference`` (the link's ``tr``) names an intent request, the merchant
    to show and the account to push to; else None (the VPA is not the switch's)."""
    if vpa.strip().lower() != PAYEE_VPA or not reference:
        return None
    row = (await session.execute(_intent_requests(reference))).scalar()
    if row is None or row.merchant_id is None:
        return None
    merchant = await merchant_service.business_name(session, row.merchant_id)
    return IntentPayee(INTENT_COLLECTION_ACCOUNT, row.merchant_id, merchant or PAYEE_NAME)


async def _pay_intent(
    session: AsyncSession, connector: SandboxUpiConnector, request: PushRequest
) -> RailOutcome:
    """A push to the collecting VPA pays the intent request its ``tr`` names, once (module
    docstring); refused with B3 when no such request is waiting for this amount."""
    await _check_accounts_of(session, [request.payer_account_ref], "payer_account_ref")
    target = None
    if request.payee_reference is not None:
        # Locked and read as it stands under the lock: a push racing this one paid it first.
        locked = _intent_requests(request.payee_reference).with_for_update()
        target = (await session.execute(locked.execution_options(populate_existing=True))).scalar()
    row = connector.new_row(
        "push",
        request.request_id,
        merchant_id=target.merchant_id if target is not None else None,
        livemode=False,
        amount_minor=request.amount_minor,
        currency="inr",
        status="pending",
        scenario="intent_payment",
        payer_account_id=request.payer_account_ref,
        payee_account_id=INTENT_COLLECTION_ACCOUNT,
        details={"upi_transaction_id": upi_transaction_id(), "rrn": rrn()},
    )
    stored = await connector.insert(session, row)
    if stored is not row:
        _check_same_push(stored, request)
        return connector.outcome(stored)
    waiting = (
        target is not None
        and target.status == "requires_action"
        and not target.livemode
        and target.amount_minor == request.amount_minor
        and (target.action_expires_at is None or utcnow() < target.action_expires_at)
        and target.hold_state != "voided"
        and await callbacks.still_payable(session, target.request_id)
    )
    if target is None or not waiting:
        apply_code(row, "B3")
        await session.flush()
        return connector.outcome(row)
    code = await connector.debit_payer(session, target, request.payer_account_ref)
    apply_code(row, code)
    if code == "00":
        # The request is paid by this payer: its refunds credit them back.
        target.payer_account_id, target.final_code = request.payer_account_ref, code
        row.details = {**row.details, **{k: str(v) for k, v in target.details.items()}}
        apply_code(target, code)
        target.callbacks_sent = 1  # its scheduled callback finds it answered
        await session.flush()
        await callbacks.notify(session, connector.outcome(target))
    await session.flush()
    return connector.outcome(row)


async def upi_push_status(session: AsyncSession, reference: str) -> RailOutcome:
    """Where a push stands: always final (the switch answers a push at once)."""
    row = await session.get(Row, reference, populate_existing=True)
    if row is None or row.operation != "push":
        raise RailReferenceUnknownError(param="reference")
    invariant(row.status in ("succeeded", "failed"), "a stored push has its answer")
    return SandboxUpiConnector().outcome(row)
