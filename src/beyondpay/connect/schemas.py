"""Connect's parameters and objects, in Stripe's shapes: ``account`` (connected accounts),
``transfer`` and ``transfer_reversal``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, Field

from beyondpay.connect.models import (
    ApplicationFeeRefundRow,
    ApplicationFeeRow,
    TransferReversalRow,
    TransferRow,
)
from beyondpay.db.pagination import EXPAND_MAX, ListParams
from beyondpay.kit.params import Params
from beyondpay.merchants.connected import AccountFields
from beyondpay.payments.schemas import Amount, Currency, MetadataParam
from beyondpay.settlement.payouts.domain import DELAY_DAYS_MAX, MONTHLY_ANCHOR_MAX

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
    # Stripe's: refund the application fee of the transfer's charge too (a destination
    # charge's), in proportion to the reversal; a transfer without one has nothing to refund.
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
        "source_refund": row.source_refund,
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


# ---- Connect: connected accounts ---------------------------------------------------------------

EMAIL_CHARS_MAX: Final = 254
PROFILE_TEXT_CHARS_MAX: Final = 500
ProfileText = Annotated[str | None, Field(default=None, max_length=PROFILE_TEXT_CHARS_MAX)]
# Stripe's controller[stripe_dashboard][type] says which kind of account the platform means.
_TYPE_OF_DASHBOARD: Final = {"express": "express", "full": "standard", "none": "custom"}


def _email(value: str | None) -> str | None:
    if value is not None and (
        value.count("@") != 1 or value.startswith("@") or value.endswith("@")
    ):
        raise ValueError("must be an email address")
    return value


Email = Annotated[
    str | None, Field(default=None, max_length=EMAIL_CHARS_MAX), AfterValidator(_email)
]


class CapabilityParams(Params):
    requested: bool | None = None


class CapabilitiesParams(Params):
    card_payments: CapabilityParams | None = None
    transfers: CapabilityParams | None = None

    def requested(self) -> dict[str, bool]:
        asked = {"card_payments": self.card_payments, "transfers": self.transfers}
        return {
            name: bool(item.requested)
            for name, item in asked.items()
            if item is not None and item.requested is not None
        }


class AccountBusinessProfileParams(Params):
    name: ProfileText = None
    url: ProfileText = None
    mcc: Annotated[str | None, Field(default=None, pattern=r"^[0-9]{4}$")] = None
    product_description: ProfileText = None
    support_email: Email = None
    support_phone: ProfileText = None
    support_url: ProfileText = None


class DashboardParams(Params):
    type: Literal["express", "full", "none"] | None = None


class ControllerParams(Params):
    """Stripe's controller properties; only ``stripe_dashboard[type]`` changes anything here
    (which kind of account it is); the others are accepted as Stripe's SDKs send them."""

    fees: dict[str, str] | None = None
    losses: dict[str, str] | None = None
    requirement_collection: Literal["application", "stripe"] | None = None
    stripe_dashboard: DashboardParams | None = None


BusinessType = Literal["individual", "company", "non_profit", "government_entity"]


Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class PayoutScheduleParams(Params):
    """Stripe's ``settings[payouts][schedule]``: checked here (a bad value is a 400 naming
    ``settings[payouts][schedule][…]`` before the account is written), kept by settlement's
    payout schedules. ``delay_days`` is the settlement windows' speed: 0 to 2 working days."""

    interval: Literal["manual", "daily", "weekly", "monthly"] | None = None
    delay_days: Annotated[int | None, Field(ge=0, le=DELAY_DAYS_MAX, strict=False)] = None
    weekly_anchor: Weekday | None = None
    monthly_anchor: Annotated[int | None, Field(ge=1, le=MONTHLY_ANCHOR_MAX)] = None


class PayoutSettingsParams(Params):
    schedule: PayoutScheduleParams | None = None


class AccountSettingsParams(Params):
    payouts: PayoutSettingsParams | None = None

    def schedule(self) -> PayoutScheduleParams | None:
        return self.payouts.schedule if self.payouts is not None else None


class ConnectedAccountUpdateParams(Params):
    settings: AccountSettingsParams | None = None
    email: Email = None
    business_type: BusinessType | None = None
    business_profile: AccountBusinessProfileParams | None = None
    capabilities: CapabilitiesParams | None = None
    metadata: MetadataParam = None
    expand: list[str] = Field(default_factory=list, max_length=EXPAND_MAX)

    def fields(self) -> AccountFields:
        profile = self.business_profile
        return AccountFields(
            email=self.email,
            business_type=self.business_type,
            business_profile=profile.model_dump(exclude_none=True) if profile else None,
            capabilities_requested=self.capabilities.requested() if self.capabilities else {},
            metadata=self.metadata if isinstance(self.metadata, dict) else None,
        )

    def payout_schedule(self) -> PayoutScheduleParams | None:
        return self.settings.schedule() if self.settings is not None else None


class ConnectedAccountCreateParams(ConnectedAccountUpdateParams):
    type: Literal["custom", "express", "standard"] | None = None
    controller: ControllerParams | None = None
    country: Annotated[str | None, Field(default=None, min_length=2, max_length=2)] = None

    def fields(self) -> AccountFields:
        dashboard = self.controller.stripe_dashboard if self.controller else None
        account_type: str | None = self.type
        if account_type is None and dashboard is not None and dashboard.type is not None:
            account_type = _TYPE_OF_DASHBOARD[dashboard.type]
        return replace(super().fields(), account_type=account_type, country=self.country)


class ConnectedAccountListParams(ListParams):
    pass


class AccountRequirements(BaseModel):
    currently_due: list[str]
    eventually_due: list[str]
    past_due: list[str]
    pending_verification: list[str]
    disabled_reason: str | None = Field(
        description="Why charges and payouts are off: `requirements.past_due` (KYC documents to"
        " send), `requirements.pending_verification` (under review), `rejected.other`."
    )
    current_deadline: int | None
    errors: list[dict[str, Any]]


class ConnectedAccountObject(BaseModel):
    id: str
    object: Literal["account"]
    type: Literal["custom", "express", "standard", "none"]
    business_profile: dict[str, Any]
    business_type: str | None
    capabilities: dict[str, Literal["active", "inactive", "pending"]]
    charges_enabled: bool = Field(description="True once the account's KYC is approved.")
    payouts_enabled: bool
    details_submitted: bool
    country: str
    default_currency: str
    email: str | None
    created: int
    metadata: dict[str, str]
    requirements: AccountRequirements
    settings: dict[str, Any]


class DeletedAccount(BaseModel):
    id: str
    object: Literal["account"]
    deleted: Literal[True]


# ---- Connect: application fees (destination charges) -------------------------------------------

# An application fee shows its first refunds inline, as Stripe's does.
FEE_REFUNDS_SHOWN_MAX: Final = 10


class ApplicationFeeListParams(ListParams):
    charge: Annotated[str | None, Field(max_length=ID_CHARS_MAX)] = None


class FeeRefundCreateParams(Params):
    amount: Amount | None = None
    metadata: MetadataParam = None
    expand: Expand


class FeeRefundUpdateParams(Params):
    metadata: MetadataParam = None
    expand: Expand


class FeeRefundListParams(ListParams):
    pass


class FeeRefund(BaseModel):
    id: str
    object: Literal["fee_refund"]
    amount: int
    balance_transaction: str
    created: int
    currency: str
    fee: str
    metadata: dict[str, str]


class FeeRefundList(BaseModel):
    object: Literal["list"]
    data: list[FeeRefund]
    has_more: bool
    total_count: int
    url: str


class ApplicationFee(BaseModel):
    id: str
    object: Literal["application_fee"]
    account: str = Field(description="The connected account the fee was collected from.")
    amount: int
    amount_refunded: int
    application: str | None
    balance_transaction: str = Field(
        description="The platform's `application_fee` balance transaction."
    )
    charge: str
    created: int
    currency: str
    fee_source: dict[str, str]
    livemode: bool
    originating_transaction: str
    refunded: bool
    refunds: FeeRefundList


def fee_refund_object(row: ApplicationFeeRefundRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "fee_refund",
        "amount": row.amount,
        "balance_transaction": row.balance_transaction_id,
        "created": int(row.created_at.timestamp()),
        "currency": row.currency,
        "fee": row.fee_id,
        "metadata": dict(row.metadata_ or {}),
    }


@dataclass(frozen=True, slots=True)
class ApplicationFeeView:
    """An application fee and its refunds, newest first."""

    row: ApplicationFeeRow
    refunds: Sequence[ApplicationFeeRefundRow] = ()


def application_fee_object(view: ApplicationFeeView) -> dict[str, Any]:
    row, refunds = view.row, view.refunds
    return {
        "id": row.id,
        "object": "application_fee",
        "account": row.account_id,
        "amount": row.amount,
        "amount_refunded": row.amount_refunded,
        "application": None,
        "balance_transaction": row.balance_transaction_id,
        "charge": row.charge_id,
        "created": int(row.created_at.timestamp()),
        "currency": row.currency,
        "fee_source": {"charge": row.charge_id, "type": "charge"},
        "livemode": row.livemode,
        "originating_transaction": row.charge_id,
        "refunded": row.amount_refunded == row.amount,
        "refunds": {
            "object": "list",
            "data": [fee_refund_object(item) for item in refunds[:FEE_REFUNDS_SHOWN_MAX]],
            "has_more": len(refunds) > FEE_REFUNDS_SHOWN_MAX,
            "total_count": len(refunds),
            "url": f"/v1/application_fees/{row.id}/refunds",
        },
    }
