"""Refund parameters and the refund object, in Stripe's shape."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

from beyondpay.db.pagination import ListParams
from beyondpay.kit.money import AMOUNT_MINOR_MAX
from beyondpay.kit.params import Params, check_metadata
from beyondpay.refunds.models import RefundRow

MetadataParam = Annotated[dict[str, str] | str | None, AfterValidator(check_metadata)]
Id = Annotated[str, Field(min_length=1, max_length=255)]
Expand = Annotated[list[str], Field(default_factory=list, max_length=20)]


class RefundCreateParams(Params):
    charge: Id | None = None
    payment_intent: Id | None = None
    amount: Annotated[int | None, Field(default=None, ge=1, le=AMOUNT_MINOR_MAX)] = None
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None = None
    metadata: MetadataParam = None
    expand: Expand
    # Connect's destination charges: take back from the connected account, in proportion to
    # the refund, the charge's transfer and (or) its application fee.
    reverse_transfer: bool | None = None
    refund_application_fee: bool | None = None


class RefundUpdateParams(Params):
    metadata: MetadataParam = None
    expand: Expand


class RefundListParams(ListParams):
    charge: Id | None = None
    payment_intent: Id | None = None


class RefundDestinationDetails(BaseModel):
    type: str = Field(description="The rail the money goes back by: card, upi or netbanking.")


class Refund(BaseModel):
    id: str
    object: Literal["refund"]
    amount: int
    balance_transaction: str | dict[str, Any] | None = Field(
        description="The balance transaction's id, or expanded: the balance transaction object."
    )
    charge: str
    created: int
    currency: str
    destination_details: RefundDestinationDetails
    failure_balance_transaction: str | None
    failure_reason: str | None
    metadata: dict[str, str]
    payment_intent: str
    reason: str | None
    receipt_number: str | None
    source_transfer_reversal: str | None
    status: str
    transfer_reversal: str | None


def refund_object(row: RefundRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "refund",
        "amount": row.amount,
        "balance_transaction": row.balance_transaction_id,
        "charge": row.charge_id,
        "created": int(row.created_at.timestamp()),
        "currency": row.currency,
        "destination_details": {"type": row.rail},
        "failure_balance_transaction": row.failure_balance_transaction_id,
        "failure_reason": row.failure_reason,
        "metadata": row.metadata_,
        "payment_intent": row.payment_intent_id,
        "reason": row.reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": row.status,
        "transfer_reversal": None,
    }
