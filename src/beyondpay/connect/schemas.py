"""Connect's parameters and objects, in Stripe's shapes: ``transfer`` and ``transfer_reversal``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, Field

from beyondpay.connect.models import TransferReversalRow, TransferRow
from beyondpay.db.pagination import EXPAND_MAX, ListParams
from beyondpay.kit.params import Params
from beyondpay.payments.schemas import Amount, Currency, MetadataParam

DESCRIPTION_CHARS_MAX: Final = 1000
TRANSFER_GROUP_CHARS_MAX: Final = 255
ID_CHARS_MAX: Final = 255
# A transfer shows its first reversals inline, as Stripe's does; the rest are a list away.
REVERSALS_SHOWN_MAX: Final = 10

Expand = Annotated[list[str], Field(default_factory=list, max_length=EXPAND_MAX)]


class ConnectTransferCreateParams(Params):
    amount: Amount
    currency: Currency
    destination: Annotated[str, Field(min_length=1, max_length=ID_CHARS_MAX)]
    description: Annotated[str | None, Field(max_length=DESCRIPTION_CHARS_MAX)] = None
    transfer_group: Annotated[str | None, Field(max_length=TRANSFER_GROUP_CHARS_MAX)] = None
    source_transaction: Annotated[str | None, Field(max_length=ID_CHARS_MAX)] = None
    metadata: MetadataParam = None
    expand: Expand


class ConnectTransferUpdateParams(Params):
    description: Annotated[str | None, Field(max_length=DESCRIPTION_CHARS_MAX)] = None
    metadata: MetadataParam = None
    expand: Expand


class ConnectTransferListParams(ListParams):
    destination: Annotated[str | None, Field(max_length=ID_CHARS_MAX)] = None
    transfer_group: Annotated[str | None, Field(max_length=TRANSFER_GROUP_CHARS_MAX)] = None


class ReversalCreateParams(Params):
    amount: Amount | None = None
    description: Annotated[str | None, Field(max_length=DESCRIPTION_CHARS_MAX)] = None
    # Stripe's: refund the application fee of the transfer's charge too. Destination charges
    # and their fees are not made here yet, so there is never a fee to refund (docs).
    refund_application_fee: bool | None = None
    metadata: MetadataParam = None
    expand: Expand


class ReversalUpdateParams(Params):
    metadata: MetadataParam = None
    expand: Expand


class ReversalListParams(ListParams):
    pass


class TransferReversal(BaseModel):
    id: str
    object: Literal["transfer_reversal"]
    amount: int
    balance_transaction: str
    created: int
    currency: str
    destination_payment_refund: str = Field(
        description="The connected account's side (`pyr_…`): its `payment_refund` balance"
        " transaction's source."
    )
    metadata: dict[str, str]
    source_refund: str | None
    transfer: str


class ReversalList(BaseModel):
    object: Literal["list"]
    data: list[TransferReversal]
    has_more: bool
    total_count: int
    url: str


class Transfer(BaseModel):
    id: str
    object: Literal["transfer"]
    amount: int
    amount_reversed: int
    balance_transaction: str
    created: int
    currency: str
    description: str | None
    destination: str
    destination_payment: str = Field(
        description="The connected account's side (`py_…`): its `payment` balance transaction's"
        " source."
    )
    livemode: bool
    metadata: dict[str, str]
    reversals: ReversalList
    reversed: bool
    source_transaction: str | None
    source_type: Literal["card"]
    transfer_group: str | None


def reversal_object(row: TransferReversalRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "transfer_reversal",
        "amount": row.amount,
        "balance_transaction": row.balance_transaction_id,
        "created": int(row.created_at.timestamp()),
        "currency": row.currency,
        "destination_payment_refund": row.destination_payment_refund_id,
        "metadata": dict(row.metadata_ or {}),
        "source_refund": None,
        "transfer": row.transfer_id,
    }


@dataclass(frozen=True, slots=True)
class TransferView:
    """A transfer and its reversals, newest first (the first few are shown inline)."""

    row: TransferRow
    reversals: Sequence[TransferReversalRow] = ()


def transfer_object(view: TransferView) -> dict[str, Any]:
    row, reversals = view.row, view.reversals
    return {
        "id": row.id,
        "object": "transfer",
        "amount": row.amount,
        "amount_reversed": row.amount_reversed,
        "balance_transaction": row.balance_transaction_id,
        "created": int(row.created_at.timestamp()),
        "currency": row.currency,
        "description": row.description,
        "destination": row.destination_id,
        "destination_payment": row.destination_payment_id,
        "livemode": row.livemode,
        "metadata": dict(row.metadata_ or {}),
        "reversals": {
            "object": "list",
            "data": [reversal_object(item) for item in reversals[:REVERSALS_SHOWN_MAX]],
            "has_more": len(reversals) > REVERSALS_SHOWN_MAX,
            "total_count": len(reversals),
            "url": f"/v1/transfers/{row.id}/reversals",
        },
        "reversed": row.amount_reversed == row.amount,
        "source_transaction": row.source_transaction,
        "source_type": "card",
        "transfer_group": row.transfer_group,
    }
