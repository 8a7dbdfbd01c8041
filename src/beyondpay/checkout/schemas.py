"""Checkout's API objects: the parameters it takes and the ``checkout.session`` and line
``item`` objects, Stripe's shape (payment, setup and subscription mode)."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, Field

from beyondpay.checkout.domain import LINE_ITEMS_MAX, QUANTITY_MAX, Status
from beyondpay.checkout.models import CheckoutSessionRow
from beyondpay.db.pagination import EXPAND_MAX, ListParams
from beyondpay.kit.money import AMOUNT_MINOR_MAX
from beyondpay.kit.params import Params, check_metadata
from beyondpay.payments.schemas import Currency, Email

ID_CHARS_MAX: Final = 255
URL_CHARS_MAX: Final = 2_048
CLIENT_REFERENCE_CHARS_MAX: Final = 200  # Stripe's limit
NAME_CHARS_MAX: Final = 250
DESCRIPTION_CHARS_MAX: Final = 500
UNIX_S_MAX: Final = 253_402_300_799
INTERVAL_COUNT_MAX: Final = 365  # billing's own bounds per interval are checked by its prices

MetadataParam = Annotated[dict[str, str] | str | None, AfterValidator(check_metadata)]
Id = Annotated[str, Field(min_length=1, max_length=ID_CHARS_MAX)]
Expand = Annotated[list[str], Field(default_factory=list, max_length=EXPAND_MAX)]
PaymentMethodType = Literal["card", "upi", "netbanking"]


def _url(value: str | None) -> str | None:
    if value and not value.startswith(("https://", "http://")):
        raise ValueError("it must be an http or https URL")
    return value


Url = Annotated[str | None, Field(default=None, max_length=URL_CHARS_MAX), AfterValidator(_url)]


class CheckoutProductDataParams(Params):
    """The product an inline price is made with (``price_data[product_data]``)."""

    name: Annotated[str, Field(min_length=1, max_length=NAME_CHARS_MAX)]
    description: Annotated[str | None, Field(default=None, max_length=DESCRIPTION_CHARS_MAX)]
    metadata: MetadataParam = None


class CheckoutPriceRecurringParams(Params):
    """``price_data[recurring]``: an inline recurring price (subscription mode only)."""

    interval: Literal["day", "week", "month", "year"]
    interval_count: Annotated[int, Field(ge=1, le=INTERVAL_COUNT_MAX)] = 1


class CheckoutPriceDataParams(Params):
    """An inline price (``line_items[n][price_data]``): made with the session, not for reuse
    (``active=false``, as Stripe makes it); recurring in subscription mode."""

    currency: Currency
    unit_amount: Annotated[int, Field(ge=0, le=AMOUNT_MINOR_MAX)]
    product: Id | None = None
    product_data: CheckoutProductDataParams | None = None
    recurring: CheckoutPriceRecurringParams | None = None


class CheckoutSubscriptionDataParams(Params):
    """``subscription_data``: what the subscription a session makes starts with (Stripe's
    names). A trial is refused for now (docs/checkout.md, "Subscription mode")."""

    trial_period_days: Annotated[int | None, Field(default=None, ge=1, le=730)] = None
    metadata: MetadataParam = None
    description: Annotated[
        str | None, Field(default=None, min_length=1, max_length=DESCRIPTION_CHARS_MAX)
    ] = None


class CheckoutLineItemParams(Params):
    price: Id | None = None
    price_data: CheckoutPriceDataParams | None = None
    quantity: Annotated[int, Field(ge=1, le=QUANTITY_MAX)]


class CheckoutDiscountParams(Params):
    """``discounts[0]``: a coupon or a promotion code applied when the session is made."""

    coupon: Id | None = None
    promotion_code: Id | None = None


class CheckoutSetupIntentDataParams(Params):
    """``setup_intent_data``: what the session's SetupIntent carries (setup mode)."""

    description: Annotated[str | None, Field(default=None, max_length=DESCRIPTION_CHARS_MAX)]
    metadata: MetadataParam = None


class CheckoutSessionCreateParams(Params):
    mode: Literal["payment", "setup", "subscription"]
    line_items: Annotated[list[CheckoutLineItemParams] | None, Field(max_length=LINE_ITEMS_MAX)] = (
        None
    )
    success_url: Url = None
    cancel_url: Url = None
    customer: Id | None = None
    customer_email: Email = None
    customer_creation: Literal["always", "if_required"] | None = None
    client_reference_id: Annotated[
        str | None, Field(default=None, min_length=1, max_length=CLIENT_REFERENCE_CHARS_MAX)
    ] = None
    expires_at: Annotated[int | None, Field(default=None, ge=0, le=UNIX_S_MAX)] = None
    payment_method_types: Annotated[
        list[PaymentMethodType] | None, Field(default=None, min_length=1, max_length=3)
    ] = None
    allow_promotion_codes: bool | None = None
    # Stripe's: one discount at most in payment mode.
    discounts: Annotated[list[CheckoutDiscountParams] | None, Field(max_length=1)] = None
    metadata: MetadataParam = None
    # Setup mode only (checkout/setup_mode.py).
    currency: Currency | None = None
    setup_intent_data: CheckoutSetupIntentDataParams | None = None
    expand: Expand
    subscription_data: CheckoutSubscriptionDataParams | None = None  # subscription mode


class CheckoutSessionListParams(ListParams):
    payment_intent: Id | None = None
    subscription: Id | None = None
    customer: Id | None = None
    status: Literal["open", "complete", "expired"] | None = None


class CheckoutSessionExpireParams(Params):
    expand: Expand


class CheckoutLineItemListParams(Params):
    limit: int = Field(default=10, ge=1, le=100)
    starting_after: Id | None = None
    ending_before: Id | None = None
    expand: Expand


# ---- the objects ------------------------------------------------------------------------------


class CheckoutTotalDetails(BaseModel):
    amount_discount: int
    amount_shipping: int
    amount_tax: int


class CheckoutAutomaticTax(BaseModel):
    enabled: bool = Field(description="Always false: no automatic tax in Checkout yet.")
    liability: None
    status: None


class CheckoutCustomerDetails(BaseModel):
    email: str | None


class CheckoutDiscount(BaseModel):
    coupon: str
    promotion_code: str | None


class CheckoutSession(BaseModel):
    id: str = Field(description="`cs_test_…` or `cs_live_…`.")
    object: Literal["checkout.session"]
    after_expiration: None
    automatic_tax: CheckoutAutomaticTax
    billing_address_collection: None
    client_secret: None = Field(description="Always null: only hosted (`ui_mode=hosted`) pages.")
    customer_details: CheckoutCustomerDetails | None = Field(
        description="Once complete: the email the session had or its page collected."
    )
    discounts: list[CheckoutDiscount] = Field(
        description="The coupon or promotion code applied (at most one in payment mode)."
    )
    invoice: str | None = Field(
        description="Subscription mode: the subscription's first invoice, once the customer"
        " first pays on the page."
    )
    locale: None
    submit_type: None
    allow_promotion_codes: bool | None
    amount_subtotal: int
    amount_total: int
    cancel_url: str | None
    client_reference_id: str | None
    created: int
    currency: str
    customer: str | None
    customer_creation: str | None
    customer_email: str | None
    expires_at: int
    livemode: bool
    metadata: dict[str, str]
    mode: Literal["payment", "setup", "subscription"]
    payment_intent: str | None = Field(
        description="Made when the customer first pays on the page (Stripe's way), else null."
    )
    payment_link: str | None = Field(description="The Payment Link it was opened from.")
    payment_method_types: list[str]
    payment_status: Literal["unpaid", "paid", "no_payment_required"]
    setup_intent: str | None = Field(
        description="Setup mode: the SetupIntent made when the customer first submits a card"
        " on the page, else null."
    )
    status: Literal["open", "complete", "expired"]
    subscription: str | dict[str, Any] | None = Field(
        description="Subscription mode: made when the customer first pays on the page (Stripe"
        " makes it at completion); `expand[]=subscription` renders it."
    )
    success_url: str | None
    total_details: CheckoutTotalDetails
    ui_mode: Literal["hosted"]
    url: str | None = Field(description="The hosted page, while the session is open; else null.")


class CheckoutLineItem(BaseModel):
    id: str
    object: Literal["item"]
    amount_discount: int
    amount_subtotal: int
    amount_tax: int
    amount_total: int
    currency: str
    description: str
    price: dict[str, Any]
    quantity: int


def _unix(moment: Any) -> int:
    return int(moment.timestamp())


def session_object(row: CheckoutSessionRow, url: str | None) -> dict[str, Any]:
    """The session as Stripe renders it; ``url`` only while it is open (Stripe's is null once
    the session is complete or expired)."""
    return {
        "id": row.id,
        "object": "checkout.session",
        "after_expiration": None,
        "allow_promotion_codes": row.allow_promotion_codes,
        "amount_subtotal": row.amount_subtotal,
        "amount_total": row.amount_total,
        "automatic_tax": {"enabled": False, "liability": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": row.cancel_url,
        "client_reference_id": row.client_reference_id,
        "client_secret": None,
        "created": _unix(row.created_at),
        "currency": row.currency,
        "customer": row.customer_id,
        "customer_creation": row.customer_creation,
        "customer_details": (
            {"email": row.customer_email or row.collected_email}
            if row.status == Status.complete
            else None
        ),
        "customer_email": row.customer_email,
        "discounts": [
            {"coupon": entry["coupon"], "promotion_code": entry["promotion_code"]}
            for entry in row.discounts or []
        ],
        "expires_at": _unix(row.expires_at),
        "invoice": row.invoice_id,
        "livemode": row.livemode,
        "locale": None,
        "metadata": dict(row.metadata_),
        "mode": row.mode,
        "payment_intent": row.payment_intent_id,
        "payment_link": row.payment_link_id,
        "payment_method_types": list(row.payment_method_types),
        "payment_status": row.payment_status,
        "setup_intent": row.setup_intent_id,
        "status": row.status,
        "submit_type": None,
        "subscription": row.subscription_id,
        "success_url": row.success_url,
        "total_details": {
            "amount_discount": row.amount_discount or 0,
            "amount_shipping": 0,
            "amount_tax": 0,
        },
        "ui_mode": "hosted",
        "url": url if row.status == Status.open else None,
    }


def line_item_object(line: dict[str, Any], price: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": line["id"],
        "object": "item",
        "amount_discount": line.get("amount_discount", 0),
        "amount_subtotal": line["amount_subtotal"],
        "amount_tax": 0,
        "amount_total": line["amount_total"],
        "currency": line["currency"],
        "description": line["description"],
        "price": price,
        "quantity": line["quantity"],
    }
