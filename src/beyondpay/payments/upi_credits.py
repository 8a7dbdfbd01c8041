"""UPI payments a payer pushed to a merchant's VPA (its static or dynamic QR paid, its VPA typed):
the UPI switch credited the merchant, and the merchant's books show it as they show a UPI payment
taken through the API. Never commits.

A credit becomes a ``succeeded`` payment intent (``payment_method_types`` ``["upi"]``) with its
charge, a payment method showing the payer's VPA masked as their PSP sent it, the balance
transaction and the ledger postings of a captured UPI payment (``outcomes.capture_charge``:
the same fee and availability, hold, capture, fee and availability in one linked batch), and
the events ``payment_intent.created``, ``charge.succeeded`` and ``payment_intent.succeeded``,
in the caller's transaction. The QR's reference (``tr``) is the intent's and the charge's
``description`` and ``metadata[upi_reference]``; ``metadata[upi_transaction_id]`` names the
UPI transaction and ``metadata[upi_merchant_vpa]`` the VPA that was paid.

Exactly once per (merchant, mode, UPI transaction id): the ``upi_credits`` row is claimed
first (``INSERT … ON CONFLICT DO NOTHING``), so a second delivery of the same credit, on
another connection at the same moment, waits for the first to commit and then finds its
payment instead of making one. The intent's and the charge's ids are derived from the UPI
transaction id (``kit.ids.derived_id``), and the ledger's transfer ids from the charge's, so
even the ledger would refuse to move the money twice.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.clock import utcnow
from beyondpay.kit.ids import derived_id
from beyondpay.kit.invariants import invariant
from beyondpay.merchants.service import merchant_service
from beyondpay.payment_methods.service import payment_method_details, payment_method_service
from beyondpay.payments.domain import CaptureMethod, Status
from beyondpay.payments.events import ChargeEvent, PaymentIntentEvent, record
from beyondpay.payments.models import ChargeRow, PaymentIntentRow, UpiCreditRow
from beyondpay.payments.options import calculated_statement_descriptor
from beyondpay.payments.outcomes import capture_charge
from beyondpay.rails.protocol import Rail

CLIENT_SECRET_BYTES: Final = 18
METADATA_REFERENCE: Final = "upi_reference"
METADATA_TRANSACTION_ID: Final = "upi_transaction_id"
METADATA_MERCHANT_VPA: Final = "upi_merchant_vpa"


@dataclass(frozen=True, slots=True)
class UpiCredit:
    """A push the UPI switch credited to a merchant's VPA, as the merchant's payment records it.
    ``payer_vpa_masked`` is masked by the payer's PSP: no VPA in clear reaches the merchant."""

    merchant_id: str
    livemode: bool
    upi_transaction_id: str
    rail_reference: str  # the push on the switch: a refund of the payment names it
    amount_minor: int
    currency: str
    credited_at: datetime
    rrn: str | None = None
    reference: str | None = None  # ``tr`` of the merchant's QR
    merchant_vpa_id: str | None = None
    payer_name: str | None = None
    payer_vpa_masked: str | None = field(default=None, repr=False)

    @property
    def key(self) -> str:
        """What names the credit for its merchant: the derived ids' name."""
        mode = "live" if self.livemode else "test"
        return f"{self.merchant_id}:{mode}:{self.upi_transaction_id}"


async def record_upi_credit(session: AsyncSession, credit: UpiCredit) -> PaymentIntentRow:
    """The merchant's succeeded payment for ``credit``: made now, or the one a first delivery
    made (the same intent, nothing written again)."""
    invariant(credit.amount_minor > 0, "a credit moves money")
    at_ms = int(credit.credited_at.timestamp() * 1000)
    intent_id = derived_id("pi", credit.key, at_ms=at_ms)
    charge_id = derived_id("ch", credit.key, at_ms=at_ms)
    claimed = (
        await session.execute(
            insert(UpiCreditRow)
            .values(
                merchant_id=credit.merchant_id,
                livemode=credit.livemode,
                upi_transaction_id=credit.upi_transaction_id,
                payment_intent_id=intent_id,
                charge_id=charge_id,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing()
            .returning(UpiCreditRow.payment_intent_id)
        )
    ).scalar_one_or_none()
    if claimed is None:
        return await _recorded(session, credit)
    method = await payment_method_service.record_upi_payer(
        session,
        credit.merchant_id,
        credit.livemode,
        payer_name=credit.payer_name,
        vpa_masked=credit.payer_vpa_masked,
    )
    business_name = await merchant_service.business_name(session, credit.merchant_id)
    intent = _intent(credit, intent_id, charge_id, method.id)
    charge = _charge(credit, intent, charge_id, payment_method_details(method), business_name)
    session.add_all([intent, charge])
    await session.flush()
    await capture_charge(session, charge, charge.amount, authorize=True)
    await session.flush()
    await record(session, intent, PaymentIntentEvent.created)
    await record(session, charge, ChargeEvent.succeeded)
    await record(session, intent, PaymentIntentEvent.succeeded)
    return intent


async def _recorded(session: AsyncSession, credit: UpiCredit) -> PaymentIntentRow:
    """The payment an earlier delivery of ``credit`` made (committed: the claim waited)."""
    statement = select(PaymentIntentRow).join(
        UpiCreditRow, UpiCreditRow.payment_intent_id == PaymentIntentRow.id
    )
    statement = statement.where(
        UpiCreditRow.merchant_id == credit.merchant_id,
        UpiCreditRow.livemode == credit.livemode,
        UpiCreditRow.upi_transaction_id == credit.upi_transaction_id,
    )
    intent = (await session.execute(statement)).scalar_one()
    invariant(
        intent.amount == credit.amount_minor and intent.currency == credit.currency,
        "a UPI transaction id is credited for one amount",
    )
    return intent


def _metadata(credit: UpiCredit) -> dict[str, str]:
    metadata = {METADATA_TRANSACTION_ID: credit.upi_transaction_id}
    if credit.reference is not None:
        metadata[METADATA_REFERENCE] = credit.reference
    if credit.merchant_vpa_id is not None:
        metadata[METADATA_MERCHANT_VPA] = credit.merchant_vpa_id
    return metadata


def _intent(
    credit: UpiCredit, intent_id: str, charge_id: str, payment_method_id: str
) -> PaymentIntentRow:
    """Paid already: the payer pushed the money before anyone asked for it."""
    return PaymentIntentRow(
        id=intent_id,
        merchant_id=credit.merchant_id,
        livemode=credit.livemode,
        amount=credit.amount_minor,
        currency=credit.currency,
        status=Status.succeeded,
        capture_method=CaptureMethod.automatic,
        customer_id=None,
        payment_method_id=payment_method_id,
        payment_method_types=[Rail.upi.value],
        description=credit.reference,
        receipt_email=None,
        statement_descriptor=None,
        return_url=None,
        client_secret=f"{intent_id}_secret_{secrets.token_urlsafe(CLIENT_SECRET_BYTES)}",
        amount_capturable=0,
        amount_received=credit.amount_minor,
        latest_charge_id=charge_id,
        metadata_=_metadata(credit),
        created_at=credit.credited_at,
        updated_at=credit.credited_at,
        setup_future_usage=None,
        off_session=False,
        automatic_payment_methods=None,
        allowed_payment_method_types=None,
        excluded_payment_method_types=None,
        payment_method_options={},
        shipping=None,
        statement_descriptor_suffix=None,
    )


def _charge(
    credit: UpiCredit,
    intent: PaymentIntentRow,
    charge_id: str,
    details: dict[str, Any],
    business_name: str,
) -> ChargeRow:
    """Authorized and succeeded; ``capture_charge`` captures it with its postings."""
    rail_details = {"upi_transaction_id": credit.upi_transaction_id}
    if credit.rrn is not None:
        rail_details["rrn"] = credit.rrn
    return ChargeRow(
        id=charge_id,
        merchant_id=credit.merchant_id,
        livemode=credit.livemode,
        payment_intent_id=intent.id,
        customer_id=None,
        payment_method_id=intent.payment_method_id,
        payment_method_details=details,
        rail=Rail.upi.value,
        rail_reference=credit.rail_reference,
        amount=credit.amount_minor,
        amount_captured=0,
        amount_refunded=0,
        currency=credit.currency,
        status="succeeded",
        authorized=True,
        captured=False,
        voided=False,
        capture_requested=True,
        outcome={
            "network_status": "approved_by_network",
            "reason": None,
            # Nothing screened it: the payer's PSP screened the payment before the switch, and
            # money already moved cannot be refused here.
            "risk_level": "not_assessed",
            "risk_score": None,
            "risk_assessment": None,
            "seller_message": "Payment complete.",
            "type": "authorized",
        },
        rail_details=rail_details,
        description=credit.reference,
        metadata_=dict(intent.metadata_),
        checks_made=0,
        rail_operation=None,
        next_check_at=None,
        disputed=False,
        authorization_increments=0,
        created_at=credit.credited_at,
        updated_at=credit.credited_at,
        shipping=None,
        statement_descriptor=None,
        statement_descriptor_suffix=None,
        calculated_statement_descriptor=calculated_statement_descriptor(
            business_name, card=False, descriptor=None, suffix=None
        ),
    )
