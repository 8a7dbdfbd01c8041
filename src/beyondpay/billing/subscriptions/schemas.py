"""Subscription and subscription item parameters and objects, in the shape of Stripe's API
version stripe-python 16 targets: a period lives on each item (``current_period_start`` and
``current_period_end``), the subscription names its ``latest_invoice``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, Field

from beyondpay.billing.invoices.domain import DAYS_UNTIL_DUE_MAX, QUANTITY_MAX, CollectionMethod
from beyondpay.billing.invoices.schemas import Blank, TaxRateIds
from beyondpay.billing.subscriptions.domain import (
    TRIAL_PERIOD_DAYS_MAX,
    FinalAction,
    MissingPaymentMethod,
    PauseCollectionBehavior,
    ProrationBehavior,
    Status,
)
from beyondpay.billing.subscriptions.dunning import FinalInvoice, MandateCategory
from beyondpay.billing.subscriptions.models import SubscriptionItemRow, SubscriptionRow
from beyondpay.db.pagination import EXPAND_MAX, UNIX_S_MAX, ListParams
from beyondpay.db.pagination import CreatedFilter as DateFilter
from beyondpay.db.search import SearchParams
from beyondpay.kit.params import Params, check_metadata

ID_CHARS_MAX: Final = 255
# Stripe's limit on a subscription's items.
ITEMS_PER_SUBSCRIPTION_MAX: Final = 20

MetadataParam = Annotated[dict[str, str] | str | None, AfterValidator(check_metadata)]
Id = Annotated[str, Field(min_length=1, max_length=ID_CHARS_MAX)]
Expand = Annotated[list[str], Field(default_factory=list, max_length=EXPAND_MAX)]
Quantity = Annotated[int, Field(ge=0, le=QUANTITY_MAX)]
UnixTime = Annotated[int, Field(ge=0, le=UNIX_S_MAX)]
# Stripe's limit on cancellation_details[comment].
CANCELLATION_COMMENT_CHARS_MAX: Final = 5_000
CancellationFeedback = Literal[
    "customer_service",
    "low_quality",
    "missing_features",
    "other",
    "switched_service",
    "too_complex",
    "too_expensive",
    "unused",
]


class CancellationDetailsParams(Params):
    """Stripe's ``cancellation_details``: why the customer canceled, in their words and as one
    of Stripe's reasons; ``""`` clears either."""

    comment: Annotated[str, Field(max_length=CANCELLATION_COMMENT_CHARS_MAX)] | None = None
    feedback: CancellationFeedback | Blank | None = None


class PauseCollectionParams(Params):
    behavior: PauseCollectionBehavior
    resumes_at: UnixTime | None = None


class EndBehaviorParams(Params):
    missing_payment_method: MissingPaymentMethod


class TrialSettingsParams(Params):
    end_behavior: EndBehaviorParams


class ItemParams(Params):
    price: Id
    quantity: Quantity | None = None
    metadata: MetadataParam = None
    tax_rates: TaxRateIds | None = None


class AddInvoiceItemParams(Params):
    """``add_invoice_items[n]``: a one-time price billed once, on the first invoice."""

    price: Id
    quantity: Quantity | None = None


class PaymentSettingsParams(Params):
    """``payment_settings``: only ``save_default_payment_method`` (``on_subscription``: the
    payment method that pays the first invoice becomes the subscription's default)."""

    save_default_payment_method: Literal["off", "on_subscription"] = "off"


DESCRIPTION_CHARS_MAX = 500

PaymentBehavior = Literal[
    "allow_incomplete", "default_incomplete", "error_if_incomplete", "pending_if_incomplete"
]


class SubscriptionCreateParams(Params):
    customer: Id
    items: Annotated[list[ItemParams], Field(min_length=1, max_length=ITEMS_PER_SUBSCRIPTION_MAX)]
    default_payment_method: Id | None = None
    collection_method: CollectionMethod = CollectionMethod.charge_automatically
    days_until_due: Annotated[int, Field(ge=0, le=DAYS_UNTIL_DUE_MAX)] | None = None
    trial_period_days: Annotated[int, Field(ge=0, le=TRIAL_PERIOD_DAYS_MAX)] | None = None
    # A Unix time, or "now" (no trial), as Stripe takes it.
    trial_end: UnixTime | Literal["now"] | None = None
    trial_from_plan: bool | None = None
    billing_cycle_anchor: UnixTime | None = None
    proration_behavior: ProrationBehavior = ProrationBehavior.create_prorations
    payment_behavior: PaymentBehavior = "allow_incomplete"
    cancel_at_period_end: bool | None = None
    off_session: bool | None = None
    metadata: MetadataParam = None
    default_tax_rates: TaxRateIds | None = None
    expand: Expand
    # billing/subscriptions/changes.py: a cancellation set in advance, and what a trial that
    # ends without a payment method leads to.
    cancel_at: UnixTime | None = None
    trial_settings: TrialSettingsParams | None = None
    # Migration 0051 (Checkout's subscription mode uses both).
    payment_settings: PaymentSettingsParams | None = None
    add_invoice_items: (
        Annotated[list[AddInvoiceItemParams], Field(max_length=ITEMS_PER_SUBSCRIPTION_MAX)] | None
    ) = None
    description: Annotated[str | None, Field(default=None, max_length=DESCRIPTION_CHARS_MAX)] = None


class ItemUpdateParams(Params):
    id: Id | None = None  # an existing item; without it, a new one (price required)
    price: Id | None = None
    quantity: Quantity | None = None
    deleted: bool | None = None
    metadata: MetadataParam = None
    tax_rates: TaxRateIds | Blank | None = None  # "" clears them, as in Stripe


class SubscriptionUpdateParams(Params):
    items: (
        Annotated[list[ItemUpdateParams], Field(max_length=ITEMS_PER_SUBSCRIPTION_MAX)] | None
    ) = None
    cancel_at_period_end: bool | None = None
    default_payment_method: Annotated[str | None, Field(default=None, max_length=ID_CHARS_MAX)]
    proration_behavior: ProrationBehavior = ProrationBehavior.create_prorations
    metadata: MetadataParam = None
    default_tax_rates: TaxRateIds | Blank | None = None  # "" clears them, as in Stripe
    expand: Expand
    # billing/subscriptions/changes.py: "" clears pause_collection and cancel_at, as in Stripe.
    pause_collection: PauseCollectionParams | Blank | None = None
    cancel_at: UnixTime | Blank | None = None
    cancellation_details: CancellationDetailsParams | None = None
    billing_cycle_anchor: Literal["now", "unchanged"] | None = None
    proration_date: UnixTime | None = None
    payment_behavior: PaymentBehavior | None = None
    off_session: bool | None = None


class SubscriptionCancelParams(Params):
    invoice_now: bool | None = None
    prorate: bool | None = None
    expand: Expand
    cancellation_details: CancellationDetailsParams | None = None


class SubscriptionResumeParams(Params):
    """``POST /v1/subscriptions/{id}/resume``: a paused subscription starts a new cycle now
    (Stripe's default) or keeps its anchor, the rest of the current period prorated.
    ``payment_behavior`` is accepted: the invoice is collected by its job, as every one is."""

    billing_cycle_anchor: Literal["now", "unchanged"] = "now"
    proration_behavior: ProrationBehavior = ProrationBehavior.create_prorations
    proration_date: UnixTime | None = None
    payment_behavior: PaymentBehavior | None = None
    expand: Expand


class SubscriptionSearchParams(SearchParams):
    """Search subscriptions: ``query`` over ``created``, ``status`` and ``metadata['key']``
    (Stripe's query fields for subscriptions)."""


class SubscriptionItemCreateParams(Params):
    subscription: Id
    price: Id
    quantity: Quantity | None = None
    metadata: MetadataParam = None
    proration_behavior: ProrationBehavior = ProrationBehavior.create_prorations
    proration_date: UnixTime | None = None
    payment_behavior: PaymentBehavior | None = None
    expand: Expand


class SubscriptionItemUpdateParams(Params):
    price: Id | None = None
    quantity: Quantity | None = None
    metadata: MetadataParam = None
    proration_behavior: ProrationBehavior = ProrationBehavior.create_prorations
    proration_date: UnixTime | None = None
    payment_behavior: PaymentBehavior | None = None
    off_session: bool | None = None
    expand: Expand


class SubscriptionItemDeleteParams(Params):
    proration_behavior: ProrationBehavior = ProrationBehavior.create_prorations
    proration_date: UnixTime | None = None
    clear_usage: bool | None = None
    payment_behavior: PaymentBehavior | None = None


class SubscriptionListParams(ListParams):
    customer: Id | None = None
    price: Id | None = None
    # Stripe's list takes "all" and "ended" besides the statuses; its default leaves out
    # canceled subscriptions.
    status: Status | Literal["all", "ended"] | None = None
    collection_method: CollectionMethod | None = None
    current_period_start: DateFilter | None = None
    current_period_end: DateFilter | None = None


class SubscriptionItemListParams(ListParams):
    subscription: Id


class SubscriptionItem(BaseModel):
    id: str
    object: Literal["subscription_item"]
    billing_thresholds: None
    created: int
    current_period_end: int
    current_period_start: int
    discounts: list[str]
    metadata: dict[str, str]
    price: dict[str, Any] = Field(description="The price, as /v1/prices renders it.")
    quantity: int
    subscription: str
    tax_rates: list[dict[str, Any]]


class Subscription(BaseModel):
    id: str
    object: Literal["subscription"]
    application: None
    application_fee_percent: None
    automatic_tax: dict[str, Any]
    billing_cycle_anchor: int
    billing_cycle_anchor_config: None
    billing_thresholds: None
    cancel_at: int | None
    cancel_at_period_end: bool
    canceled_at: int | None
    cancellation_details: dict[str, Any]
    collection_method: CollectionMethod
    created: int
    currency: str
    customer: str
    days_until_due: int | None
    default_payment_method: str | None
    default_source: None
    default_tax_rates: list[dict[str, Any]]
    description: str | None
    discounts: list[str]
    ended_at: int | None
    invoice_settings: dict[str, Any]
    items: dict[str, Any] = Field(description="A list of subscription_item objects.")
    latest_invoice: str | None
    livemode: bool
    metadata: dict[str, str]
    next_pending_invoice_item_invoice: None
    on_behalf_of: None
    pause_collection: dict[str, Any] | None
    payment_settings: dict[str, Any]
    pending_invoice_item_interval: None
    pending_setup_intent: str | None
    pending_update: dict[str, Any] | None
    schedule: None
    start_date: int
    status: Status
    test_clock: str | None
    transfer_data: None
    trial_end: int | None
    trial_settings: dict[str, Any]
    trial_start: int | None


def unix(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


def _unix(moment: datetime) -> int:
    return int(moment.timestamp())


def item_object(
    item: SubscriptionItemRow, subscription: SubscriptionRow, price: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": item.id,
        "object": "subscription_item",
        "billing_thresholds": None,
        "created": _unix(item.created_at),
        "current_period_end": _unix(subscription.current_period_end),
        "current_period_start": _unix(subscription.current_period_start),
        "discounts": [],
        "metadata": item.metadata_,
        "price": price,
        "quantity": item.quantity,
        "subscription": item.subscription_id,
        "tax_rates": item.tax_rates,
    }


def subscription_object(
    subscription: SubscriptionRow, items: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "id": subscription.id,
        "object": "subscription",
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": _unix(subscription.billing_cycle_anchor),
        "billing_cycle_anchor_config": None,
        "billing_thresholds": None,
        "cancel_at": unix(subscription.cancel_at),
        "cancel_at_period_end": subscription.cancel_at_period_end,
        "canceled_at": unix(subscription.canceled_at),
        "cancellation_details": {
            "comment": subscription.cancellation_comment,
            "feedback": subscription.cancellation_feedback,
            "reason": subscription.cancellation_reason,
        },
        "collection_method": subscription.collection_method,
        "created": _unix(subscription.created_at),
        "currency": subscription.currency,
        "customer": subscription.customer_id,
        "days_until_due": subscription.days_until_due,
        "default_payment_method": subscription.default_payment_method_id,
        "default_source": None,
        "default_tax_rates": subscription.default_tax_rates,
        "description": subscription.description,
        "discounts": [],
        "ended_at": unix(subscription.ended_at),
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": {
            "object": "list",
            "data": items,
            "has_more": False,
            "total_count": len(items),
            "url": f"/v1/subscription_items?subscription={subscription.id}",
        },
        "latest_invoice": subscription.latest_invoice_id,
        "livemode": subscription.livemode,
        "metadata": subscription.metadata_,
        "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None,
        "pause_collection": (
            None
            if subscription.pause_collection_behavior is None
            else {
                "behavior": subscription.pause_collection_behavior,
                "resumes_at": unix(subscription.pause_collection_resumes_at),
            }
        ),
        "payment_settings": {
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": subscription.save_default_payment_method,
        },
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "schedule": None,
        "start_date": _unix(subscription.created_at),
        "status": subscription.status,
        "test_clock": subscription.test_clock,
        "transfer_data": None,
        "trial_end": unix(subscription.trial_end),
        "trial_settings": {
            "end_behavior": {"missing_payment_method": subscription.missing_payment_method}
        },
        "trial_start": unix(subscription.trial_start),
    }


# ---- the merchant's dunning settings (an extension: Stripe keeps them in its Dashboard) -------

# Bounds that only keep a schedule's arithmetic finite; dunning's own rule (at most 8 retries,
# increasing, within 60 days) answers 400 retry_schedule_invalid naming the parameter.
RETRY_OFFSETS_MAX: Final = 100
RETRY_OFFSET_DAYS_BOUND: Final = 100_000
RETRY_OFFSET_S_BOUND: Final = RETRY_OFFSET_DAYS_BOUND * 86_400
OffsetDays = Annotated[int, Field(ge=-RETRY_OFFSET_DAYS_BOUND, le=RETRY_OFFSET_DAYS_BOUND)]
OffsetSeconds = Annotated[int, Field(ge=-RETRY_OFFSET_S_BOUND, le=RETRY_OFFSET_S_BOUND)]


class DunningSettingsUpdateParams(Params):
    """Any of: the retry schedule (offsets after the first failed charge, in days or in
    seconds, not both), the final action, what becomes of the invoice, the mandate category."""

    retry_offsets_days: Annotated[list[OffsetDays], Field(max_length=RETRY_OFFSETS_MAX)] | None = (
        None
    )
    retry_offsets_seconds: (
        Annotated[list[OffsetSeconds], Field(max_length=RETRY_OFFSETS_MAX)] | None
    ) = None
    final_action: FinalAction | None = None
    final_invoice: FinalInvoice | None = None
    mandate_category: MandateCategory | None = None


class DunningSettings(BaseModel):
    object: Literal["dunning_settings"]
    livemode: bool
    retry_offsets_seconds: list[int] = Field(
        description="When each retry is charged at the earliest, in seconds after the first"
        " failed charge (RBI's pre-debit notice can only move it later)."
    )
    final_action: FinalAction = Field(
        description="After the last failed retry: `cancel`, `mark_unpaid` or `leave_past_due`."
    )
    final_invoice: FinalInvoice = Field(
        description="After the last failed retry: `leave_open` or `mark_uncollectible`."
    )
    mandate_category: MandateCategory = Field(
        description="What the merchant sells, as RBI's authentication limits tell it apart."
    )
    authentication_limit: int = Field(
        description="The largest renewal (in paise) charged without the customer's additional"
        " authentication: ₹15,000, or ₹1,00,000 for mutual funds, insurance premiums and"
        " credit-card bills."
    )


class SubscriptionSearchResult(BaseModel):
    object: Literal["search_result"]
    url: str
    has_more: bool
    data: list[Subscription]
    next_page: str | None


class DeletedSubscriptionItem(BaseModel):
    id: str
    object: Literal["subscription_item"]
    deleted: Literal[True]


def deleted_item_object(item_id: str) -> dict[str, Any]:
    return {"id": item_id, "object": "subscription_item", "deleted": True}
