"""Payment intent, charge, balance and balance transaction parameters and objects, in Stripe's
shape. Renderings hold no card number, CVC, VPA or client secret in events (``for_event``)."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, Field

from beyondpay.db.pagination import ListParams
from beyondpay.kit.money import AMOUNT_MINOR_MAX, UnknownCurrencyError, normalize_currency
from beyondpay.kit.params import Params, check_metadata
from beyondpay.payment_methods.schemas import PaymentMethodDataParams
from beyondpay.payments.domain import CaptureMethod
from beyondpay.payments.models import BalanceTransactionRow, ChargeRow, PaymentIntentRow

DESCRIPTION_CHARS_MAX: Final = 1_000
STATEMENT_DESCRIPTOR_CHARS_MAX: Final = 22
URL_CHARS_MAX: Final = 2_048
ID_CHARS_MAX: Final = 255
PAYMENT_METHOD_TYPES: Final = ("card", "upi", "netbanking")
CANCELLATION_REASONS: Final = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")

MetadataParam = Annotated[dict[str, str] | str | None, AfterValidator(check_metadata)]
Amount = Annotated[int, Field(ge=1, le=AMOUNT_MINOR_MAX)]
Id = Annotated[str, Field(min_length=1, max_length=ID_CHARS_MAX)]
Expand = Annotated[list[str], Field(default_factory=list, max_length=20)]


def _currency(value: str) -> str:
    try:
        return normalize_currency(value)
    except UnknownCurrencyError:
        raise ValueError("it is not a currency this platform handles") from None


def _url(value: str | None) -> str | None:
    if value is not None and not value.startswith(("https://", "http://")):
        raise ValueError("it must be an http or https URL")
    return value


def _types(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    if not value:
        raise ValueError("it must name at least one payment method type")
    for item in value:
        if item not in PAYMENT_METHOD_TYPES:
            raise ValueError(f"it must be one of {', '.join(PAYMENT_METHOD_TYPES)}")
    return list(dict.fromkeys(value))


Currency = Annotated[
    str, Field(json_schema_extra={"pattern": "^[A-Za-z]{3}$"}), AfterValidator(_currency)
]
ReturnUrl = Annotated[
    str | None, Field(default=None, max_length=URL_CHARS_MAX), AfterValidator(_url)
]
PaymentMethodTypes = Annotated[
    list[str] | None,
    Field(default=None, max_length=len(PAYMENT_METHOD_TYPES) * 2),
    AfterValidator(_types),
]
Description = Annotated[str | None, Field(default=None, max_length=DESCRIPTION_CHARS_MAX)]
StatementDescriptor = Annotated[
    str | None, Field(default=None, max_length=STATEMENT_DESCRIPTOR_CHARS_MAX)
]
Email = Annotated[str | None, Field(default=None, max_length=512)]


class AutomaticPaymentMethods(Params):
    enabled: bool
    allow_redirects: Literal["always", "never"] | None = None


class PaymentIntentCreateParams(Params):
    amount: Amount
    currency: Currency
    payment_method_types: PaymentMethodTypes = None
    automatic_payment_methods: AutomaticPaymentMethods | None = None
    payment_method: Id | None = None
    payment_method_data: PaymentMethodDataParams | None = None
    customer: Id | None = None
    confirm: bool = False
    capture_method: CaptureMethod = CaptureMethod.automatic
    description: Description = None
    receipt_email: Email = None
    statement_descriptor: StatementDescriptor = None
    return_url: ReturnUrl = None
    metadata: MetadataParam = None
    expand: Expand


class PaymentIntentUpdateParams(Params):
    amount: Amount | None = None
    currency: Currency | None = None
    payment_method_types: PaymentMethodTypes = None
    payment_method: Id | None = None
    payment_method_data: PaymentMethodDataParams | None = None
    customer: Id | None = None
    capture_method: CaptureMethod | None = None
    description: Description = None
    receipt_email: Email = None
    statement_descriptor: StatementDescriptor = None
    metadata: MetadataParam = None
    expand: Expand


class PaymentIntentConfirmParams(Params):
    payment_method: Id | None = None
    payment_method_data: PaymentMethodDataParams | None = None
    return_url: ReturnUrl = None
    capture_method: CaptureMethod | None = None
    receipt_email: Email = None
    expand: Expand


class PaymentIntentCaptureParams(Params):
    amount_to_capture: Amount | None = None
    metadata: MetadataParam = None
    expand: Expand


class PaymentIntentCancelParams(Params):
    cancellation_reason: (
        Literal["duplicate", "fraudulent", "requested_by_customer", "abandoned"] | None
    ) = None
    expand: Expand


class RetrieveParams(Params):
    # Stripe's SDKs send the client secret on retrieve from publishable-key clients; accepted.
    client_secret: Annotated[str | None, Field(default=None, max_length=ID_CHARS_MAX)] = None
    expand: Expand


class PaymentIntentListParams(ListParams):
    customer: Id | None = None


class ChargeListParams(ListParams):
    customer: Id | None = None
    payment_intent: Id | None = None


class ChargeUpdateParams(Params):
    description: Description = None
    metadata: MetadataParam = None
    expand: Expand


class BalanceTransactionListParams(ListParams):
    type: Annotated[str | None, Field(default=None, max_length=64)] = None
    source: Id | None = None
    currency: Currency | None = None


class BalanceRetrieveParams(Params):
    expand: Expand


# Response models: what the OpenAPI document promises. Nested Stripe objects are open dicts.
class PaymentIntent(BaseModel):
    id: str
    object: Literal["payment_intent"]
    amount: int
    amount_capturable: int
    amount_received: int
    capture_method: str
    client_secret: str | None
    confirmation_method: str
    created: int
    currency: str
    customer: str | dict[str, Any] | None
    description: str | None
    last_payment_error: dict[str, Any] | None
    latest_charge: str | dict[str, Any] | None
    livemode: bool
    metadata: dict[str, str]
    next_action: dict[str, Any] | None
    payment_method: str | dict[str, Any] | None
    payment_method_types: list[str]
    status: str
    canceled_at: int | None
    cancellation_reason: str | None


class Charge(BaseModel):
    id: str
    object: Literal["charge"]
    amount: int
    amount_captured: int
    amount_refunded: int
    balance_transaction: str | dict[str, Any] | None
    captured: bool
    created: int
    currency: str
    customer: str | None
    failure_code: str | None
    failure_message: str | None
    livemode: bool
    metadata: dict[str, str]
    outcome: dict[str, Any] | None
    paid: bool
    payment_intent: str
    payment_method: str
    payment_method_details: dict[str, Any]
    refunded: bool
    status: str


class BalanceTransaction(BaseModel):
    id: str
    object: Literal["balance_transaction"]
    amount: int
    available_on: int
    created: int
    currency: str
    description: str | None
    fee: int
    fee_details: list[dict[str, Any]]
    net: int
    reporting_category: str
    source: str
    status: str
    type: str


class BalanceAmount(BaseModel):
    amount: int
    currency: str
    source_types: dict[str, int]


class Balance(BaseModel):
    object: Literal["balance"]
    available: list[BalanceAmount]
    pending: list[BalanceAmount]
    livemode: bool


def _unix(moment: Any) -> int | None:
    return None if moment is None else int(moment.timestamp())


def payment_intent_object(row: PaymentIntentRow, *, for_event: bool = False) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "payment_intent",
        "amount": row.amount,
        "amount_capturable": row.amount_capturable,
        "amount_details": {"tip": {}},
        "amount_received": row.amount_received,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": _unix(row.canceled_at),
        "cancellation_reason": row.cancellation_reason,
        "capture_method": row.capture_method,
        # The client secret lets a browser confirm with a publishable key: never in an event.
        "client_secret": None if for_event else row.client_secret,
        "confirmation_method": "automatic",
        "created": _unix(row.created_at),
        "currency": row.currency,
        "customer": row.customer_id,
        "description": row.description,
        "last_payment_error": row.last_payment_error,
        "latest_charge": row.latest_charge_id,
        "livemode": row.livemode,
        "metadata": row.metadata_,
        "next_action": row.next_action,
        "on_behalf_of": None,
        "payment_method": row.payment_method_id,
        "payment_method_options": {},
        "payment_method_types": row.payment_method_types,
        "processing": None,
        "receipt_email": row.receipt_email,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "statement_descriptor": row.statement_descriptor,
        "statement_descriptor_suffix": None,
        "status": row.status,
        "transfer_data": None,
        "transfer_group": None,
    }


def charge_object(row: ChargeRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "charge",
        "amount": row.amount,
        "amount_captured": row.amount_captured,
        "amount_refunded": row.amount_refunded,
        "application_fee_amount": None,
        "balance_transaction": row.balance_transaction_id,
        "billing_details": {"address": None, "email": None, "name": None, "phone": None},
        "calculated_statement_descriptor": None,
        "captured": row.captured,
        "created": _unix(row.created_at),
        "currency": row.currency,
        "customer": row.customer_id,
        "description": row.description,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": row.failure_code,
        "failure_message": row.failure_message,
        "livemode": row.livemode,
        "metadata": row.metadata_,
        "outcome": row.outcome,
        "paid": row.status == "succeeded",
        "payment_intent": row.payment_intent_id,
        "payment_method": row.payment_method_id,
        "payment_method_details": row.payment_method_details,
        "receipt_email": None,
        "refunded": row.amount_captured > 0 and row.amount_refunded == row.amount_captured,
        "rail": {"name": row.rail, **row.rail_details},
        "status": row.status,
    }


def balance_transaction_object(row: BalanceTransactionRow) -> dict[str, Any]:
    fee_details = (
        [
            {
                "amount": row.fee,
                "currency": row.currency,
                "description": "beyondpay processing fees",
                "type": "stripe_fee",
            }
        ]
        if row.fee
        else []
    )
    return {
        "id": row.id,
        "object": "balance_transaction",
        "amount": row.amount,
        "available_on": _unix(row.available_on),
        "created": _unix(row.created_at),
        "currency": row.currency,
        "description": row.description,
        "exchange_rate": None,
        "fee": row.fee,
        "fee_details": fee_details,
        "net": row.net,
        "reporting_category": row.reporting_category,
        "source": row.source,
        "status": row.status,
        "type": row.type,
    }
