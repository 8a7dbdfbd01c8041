"""Payout parameters and the payout object, in Stripe's shape (with our extensions: ``rail``,
``settlement_window``, and the rail's RRN or UTR as ``trace_id``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

from beyondpay.db.pagination import CreatedFilter, ListParams
from beyondpay.kit.params import Params, check_metadata
from beyondpay.rails.payout_domain import PAYOUT_AMOUNT_MINOR_MAX
from beyondpay.settlement.payouts.domain import trace_id
from beyondpay.settlement.payouts.models import PayoutRow

MetadataParam = Annotated[dict[str, str] | str | None, AfterValidator(check_metadata)]
Id = Annotated[str, Field(min_length=1, max_length=255)]
DESCRIPTION_CHARS_MAX = 1000
STATEMENT_DESCRIPTOR_CHARS_MAX = 22  # Stripe's limit for a payout's statement descriptor
RailName = Literal["imps", "neft", "rtgs", "upi"]
StatusName = Literal["pending", "in_transit", "paid", "failed", "canceled"]


class PayoutCreateParams(Params):
    amount: Annotated[int, Field(ge=1, le=PAYOUT_AMOUNT_MINOR_MAX)]
    currency: Annotated[str, Field(min_length=3, max_length=3)]
    description: Annotated[str | None, Field(max_length=DESCRIPTION_CHARS_MAX)] = None
    destination: Id | None = Field(
        default=None, description="A verified bank account (`ba_…`); the currency's default."
    )
    metadata: MetadataParam = None
    method: Literal["standard", "instant"] = Field(
        default="standard", description="`instant` is sent by IMPS (up to ₹5,00,000)."
    )
    statement_descriptor: Annotated[
        str | None, Field(max_length=STATEMENT_DESCRIPTOR_CHARS_MAX)
    ] = None
    rail: RailName | None = Field(
        default=None, description="Our extension: the rail to pay by (refused if it cannot)."
    )


class PayoutUpdateParams(Params):
    metadata: MetadataParam = None
    description: Annotated[str | None, Field(max_length=DESCRIPTION_CHARS_MAX)] = None


class PayoutReverseParams(Params):
    metadata: MetadataParam = None


class PayoutListParams(ListParams):
    status: StatusName | None = None
    arrival_date: CreatedFilter | None = None
    destination: Id | None = None


class TraceId(BaseModel):
    status: str
    value: str | None


class Payout(BaseModel):
    id: str
    object: Literal["payout"]
    amount: int
    arrival_date: int
    automatic: bool
    balance_transaction: str | None
    created: int
    currency: str
    description: str | None
    destination: str
    failure_balance_transaction: str | None
    failure_code: str | None
    failure_message: str | None
    livemode: bool
    metadata: dict[str, str]
    method: str
    original_payout: str | None
    reconciliation_status: str
    reversed_by: str | None
    source_type: str
    statement_descriptor: str | None
    status: StatusName
    trace_id: TraceId
    type: Literal["bank_account"]
    rail: RailName = Field(description="Our extension: the rail the payout left by.")
    settlement_window: str | None = Field(
        description="Our extension: the settlement window an automatic payout pays (`sw_…`)."
    )


class PayoutSchedule(BaseModel):
    delay_days: int
    interval: Literal["manual", "daily", "weekly", "monthly"]
    monthly_anchor: int | None
    weekly_anchor: str | None


def payout_object(row: PayoutRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "payout",
        "amount": row.amount,
        "arrival_date": int(row.arrival_at.timestamp()),
        "automatic": row.automatic,
        "balance_transaction": row.balance_transaction_id,
        "created": int(row.created_at.timestamp()),
        "currency": row.currency,
        "description": row.description,
        "destination": row.destination,
        "failure_balance_transaction": row.failure_balance_transaction_id,
        "failure_code": row.failure_code,
        "failure_message": row.failure_message,
        "livemode": row.livemode,
        "metadata": row.metadata_,
        "method": row.method,
        "original_payout": row.original_payout_id,
        # Stripe's: whether the payout's balance transactions are reconciled (automatic payouts
        # are, by construction: each pays a closed window's netted transactions).
        "reconciliation_status": "completed" if row.automatic else "not_applicable",
        "reversed_by": row.reversed_by_id,
        "source_type": "card",
        "statement_descriptor": row.statement_descriptor,
        "status": row.status,
        "trace_id": trace_id(row.utr, row.status),
        "type": "bank_account",
        "rail": row.rail,
        "settlement_window": row.settlement_window_id,
    }
