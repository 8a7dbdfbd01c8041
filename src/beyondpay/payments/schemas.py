"""Payment intent, charge, balance and balance transaction parameters and objects, in Stripe's
shape. Renderings hold no card number, CVC, VPA or client secret in events (``for_event``)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

from beyondpay.customers.schemas import Shipping as CustomerShipping
from beyondpay.customers.schemas import ShippingParams as CustomerShippingParams
from beyondpay.db.pagination import ListParams
from beyondpay.db.search import SearchParams
from beyondpay.kit.money import (
    AMOUNT_MINOR_MAX,
    UnknownCurrencyError,
    accepted_currencies_message,
    normalize_currency,
)
from beyondpay.kit.params import Params, check_metadata
from beyondpay.payment_methods.schemas import PaymentMethodDataParams
from beyondpay.payments.domain import CaptureMethod
from beyondpay.payments.models import BalanceTransactionRow, ChargeRow, PaymentIntentRow
from beyondpay.payments.options import descriptor_problem, rendered_options
from beyondpay.payments.receipts import receipt_url

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
        raise ValueError(accepted_currencies_message()) from None


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


def _descriptor(value: str | None) -> str | None:
    problem = None if not value else descriptor_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


StatementDescriptor = Annotated[
    str | None,
    Field(default=None, max_length=STATEMENT_DESCRIPTOR_CHARS_MAX),
    AfterValidator(_descriptor),
]
EMAIL_PATTERN: Final = re.compile(r"^[^\s@]+@[^\s@]+$")


def _email(value: str | None) -> str | None:
    # Stripe refuses an address that cannot be one; empty clears it.
    if value and not EMAIL_PATTERN.match(value):
        raise ValueError("it must be an email address")
    return value


Email = Annotated[str | None, Field(default=None, max_length=512), AfterValidator(_email)]


SetupFutureUsage = Literal["on_session", "off_session"]
# Stripe's off_session: true, or the kind of merchant-initiated payment it is.
OffSession = bool | Literal["one_off", "recurring"]
# Stripe's payment method type names (``klarna``, ``upi``, …): an allowed or excluded list may
# name types this deployment does not offer, as it may name types an account has not enabled.
STRIPE_TYPE_NAME_PATTERN: Final = "^[a-z][a-z0-9_]{0,63}$"
STRIPE_TYPES_MAX: Final = 100
ShippingText = Annotated[str | None, Field(default=None, max_length=200)]


def _type_names(value: list[str] | None) -> list[str] | None:
    return None if value is None else list(dict.fromkeys(value))


TypeNames = Annotated[
    list[Annotated[str, Field(pattern=STRIPE_TYPE_NAME_PATTERN)]] | None,
    Field(default=None, min_length=1, max_length=STRIPE_TYPES_MAX),
    AfterValidator(_type_names),
]


class AutomaticPaymentMethods(Params):
    enabled: bool
    allow_redirects: Literal["always", "never"] | None = None


def _blank_is_unset(value: Any) -> Any:
    """A hash sent as "" (``shipping=``) is unset on an update, as in Stripe."""
    return None if value == "" else value


class PaymentShippingParams(CustomerShippingParams):
    """An intent's (and a charge's) ``shipping``: a customer's, with the parcel's carrier and
    tracking number."""

    carrier: ShippingText = None
    tracking_number: ShippingText = None


ShippingParam = Annotated[PaymentShippingParams | None, BeforeValidator(_blank_is_unset)]


def _no_upi_saving(value: str | None) -> str | None:
    if value in ("on_session", "off_session"):
        raise ValueError(
            "saving a UPI payment method for later is a UPI mandate, which this API does not"
            " offer yet (it comes with mandates)"
        )
    return value


class UpiMandateOptionsParams(Params):
    amount: Amount | None = None
    amount_type: Literal["fixed", "maximum"] | None = None
    description: Description = None
    end_date: Annotated[int | None, Field(default=None, ge=0)] = None


def _no_mandate(value: UpiMandateOptionsParams | None) -> UpiMandateOptionsParams | None:
    if value is not None:
        raise ValueError("UPI mandates are not offered by this API yet (they come with mandates)")
    return value


class CardOptionsParams(Params):
    """``payment_method_options[card]``: what this deployment's card rail acts on."""

    capture_method: Literal["", "manual"] | None = None
    request_three_d_secure: Literal["automatic", "any", "challenge"] | None = None
    # Stripe: an authorization may be incremented only where this was asked at confirmation.
    request_incremental_authorization: Literal["", "if_available", "never"] | None = None


class UpiOptionsParams(Params):
    """``payment_method_options[upi]``: saving and mandates are refused, naming them."""

    setup_future_usage: Annotated[
        Literal["", "none", "off_session", "on_session"] | None, AfterValidator(_no_upi_saving)
    ] = None
    mandate_options: Annotated[UpiMandateOptionsParams | None, AfterValidator(_no_mandate)] = None


class PaymentMethodOptionsParams(Params):
    card: CardOptionsParams | None = None
    upi: UpiOptionsParams | None = None

    def stored(self) -> dict[str, Any]:
        """The options sent, by type, as :func:`payments.options.merge_options` takes them."""
        return {
            kind: fields.model_dump(exclude_unset=True)
            for kind, fields in (("card", self.card), ("upi", self.upi))
            if fields is not None
        }


class TransferDataParams(Params):
    """Connect's destination charge: the connected account the charge's money goes to, and
    how much of it (default: all, less the application fee)."""

    destination: Id
    amount: Amount | None = None


TransferGroup = Annotated[str | None, Field(default=None, max_length=DESCRIPTION_CHARS_MAX)]


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
    setup_future_usage: SetupFutureUsage | None = None
    off_session: OffSession | None = None
    allowed_payment_method_types: TypeNames = None
    excluded_payment_method_types: TypeNames = None
    payment_method_options: PaymentMethodOptionsParams | None = None
    shipping: ShippingParam = None
    statement_descriptor_suffix: StatementDescriptor = None
    transfer_data: TransferDataParams | None = None
    application_fee_amount: Amount | None = None
    on_behalf_of: Id | None = None
    transfer_group: TransferGroup = None


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
    # "" unsets it, as in Stripe.
    setup_future_usage: SetupFutureUsage | Literal[""] | None = None
    allowed_payment_method_types: TypeNames = None
    excluded_payment_method_types: TypeNames = None
    payment_method_options: PaymentMethodOptionsParams | None = None
    shipping: ShippingParam = None
    statement_descriptor_suffix: StatementDescriptor = None
    transfer_data: TransferDataParams | None = None
    application_fee_amount: Amount | None = None
    on_behalf_of: Id | None = None
    transfer_group: TransferGroup = None


# The secret a browser holds to confirm or retrieve one PaymentIntent with a publishable key.
ClientSecret = Annotated[str | None, Field(default=None, min_length=1, max_length=ID_CHARS_MAX)]


class PaymentIntentConfirmParams(Params):
    # Required of publishable keys (the card element, Stripe.js): it names the intent it may
    # confirm; secret keys need not send it.
    client_secret: ClientSecret = None
    payment_method: Id | None = None
    payment_method_data: PaymentMethodDataParams | None = None
    return_url: ReturnUrl = None
    capture_method: CaptureMethod | None = None
    receipt_email: Email = None
    expand: Expand
    setup_future_usage: SetupFutureUsage | Literal[""] | None = None
    off_session: OffSession | None = None
    allowed_payment_method_types: TypeNames = None
    excluded_payment_method_types: TypeNames = None
    payment_method_options: PaymentMethodOptionsParams | None = None
    shipping: ShippingParam = None


class PaymentIntentCaptureParams(Params):
    amount_to_capture: Amount | None = None
    metadata: MetadataParam = None
    expand: Expand


class PaymentIntentCancelParams(Params):
    cancellation_reason: (
        Literal["duplicate", "fraudulent", "requested_by_customer", "abandoned"] | None
    ) = None
    expand: Expand


class PaymentRetrieveParams(Params):
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
    receipt_email: Email = None
    metadata: MetadataParam = None
    expand: Expand
    shipping: ShippingParam = None


class BalanceTransactionListParams(ListParams):
    type: Annotated[str | None, Field(default=None, max_length=64)] = None
    source: Id | None = None
    currency: Currency | None = None


# Response models: what the OpenAPI document promises, every field the renderings below write.
# Shapes stored as JSON (a rail's details, a risk outcome) admit keys beyond those named.
class PaymentIntentAmountDetails(BaseModel):
    tip: dict[str, int] = Field(description="Stripe's tip details: always empty here.")


class NextActionRedirectToUrl(BaseModel):
    url: str | None
    return_url: str | None


class NextActionUpiCollect(BaseModel):
    expires_at: int | None = Field(description="When the payer's collect request expires.")


class NextActionUpiIntent(BaseModel):
    url: str | None = Field(description="The `upi://pay` link the payer's UPI app opens.")
    expires_at: int | None


class PaymentIntentNextAction(BaseModel, extra="allow"):
    """What the customer must do: only the hash named by ``type`` is rendered."""

    type: str = Field(description="redirect_to_url, upi_collect or upi_intent.")
    redirect_to_url: NextActionRedirectToUrl | None = None
    upi_collect: NextActionUpiCollect | None = None
    upi_intent: NextActionUpiIntent | None = None


class PaymentIntentLastPaymentError(BaseModel, extra="allow"):
    """Why the last attempt failed, as Stripe's error object."""

    type: str
    code: str | None = None
    message: str | None = None
    charge: str | None = None
    decline_code: str | None = None
    network_decline_code: str | None = Field(
        default=None, description="The rail's own code (a UPI response code, say)."
    )
    payment_method: dict[str, Any] | None = Field(
        default=None, description="The payment method object that was tried."
    )


class PaymentIntentAutomaticPaymentMethods(BaseModel):
    allow_redirects: str | None = Field(description="always or never (no net banking).")
    enabled: bool


class PaymentIntentCardOptions(BaseModel):
    capture_method: str | None = Field(description="manual: cards are held for a capture.")
    installments: dict[str, Any] | None
    mandate_options: dict[str, Any] | None
    network: str | None
    request_three_d_secure: str = Field(description="automatic, any or challenge.")
    request_incremental_authorization: str | None = Field(
        description="if_available: the held authorization may be incremented."
    )


class PaymentIntentUpiOptions(BaseModel):
    setup_future_usage: str | None


class PaymentIntentPaymentMethodOptions(BaseModel):
    """A hash for each of the intent's types that takes options."""

    card: PaymentIntentCardOptions | None = None
    upi: PaymentIntentUpiOptions | None = None


class ShippingDetails(CustomerShipping):
    carrier: str | None
    tracking_number: str | None


class PaymentIntent(BaseModel):
    id: str
    object: Literal["payment_intent"]
    amount: int
    amount_capturable: int
    amount_details: PaymentIntentAmountDetails
    amount_received: int
    application: str | None
    application_fee_amount: int | None
    allowed_payment_method_types: list[str] | None
    automatic_payment_methods: PaymentIntentAutomaticPaymentMethods | None
    canceled_at: int | None
    cancellation_reason: str | None
    capture_method: str
    client_secret: str | None
    confirmation_method: str
    created: int
    currency: str
    customer: str | dict[str, Any] | None
    description: str | None
    excluded_payment_method_types: list[str] | None
    last_payment_error: PaymentIntentLastPaymentError | None
    latest_charge: str | Charge | None = Field(description="The charge's id, or expanded.")
    livemode: bool
    metadata: dict[str, str]
    next_action: PaymentIntentNextAction | None
    on_behalf_of: str | None
    payment_method: str | dict[str, Any] | None = Field(
        description="The payment method's id, or expanded: the payment method object."
    )
    payment_method_options: PaymentIntentPaymentMethodOptions
    payment_method_types: list[str]
    processing: dict[str, Any] | None
    receipt_email: str | None
    review: str | None
    setup_future_usage: str | None
    shipping: ShippingDetails | None
    statement_descriptor: str | None
    statement_descriptor_suffix: str | None
    status: str
    transfer_data: dict[str, Any] | None
    transfer_group: str | None


class ChargeBillingDetails(BaseModel):
    address: dict[str, str | None] | None
    email: str | None
    name: str | None
    phone: str | None


class ChargeOutcome(BaseModel, extra="allow"):
    """Screening writes the risk fields before the rail is asked; the rail's answer the rest."""

    network_status: str | None = None
    reason: str | None = None
    risk_level: str | None = None
    risk_score: int | None = None
    risk_assessment: str | None = Field(default=None, description="The `risk.assessment` id.")
    seller_message: str | None = None
    type: str | None = None


class ChargeCardDetails(BaseModel):
    brand: str | None
    last4: str | None
    exp_month: int | None
    exp_year: int | None
    fingerprint: str | None
    funding: str | None
    country: str | None
    network: str | None


class ChargeUpiDetails(BaseModel):
    vpa: str | None = Field(description="Masked: su*****@sandbox.")
    fingerprint: str | None


class ChargeNetbankingDetails(BaseModel):
    bank: str
    bank_name: str | None


class ChargePaymentMethodDetails(BaseModel):
    """The payment method as it was charged: only the hash named by ``type`` is rendered."""

    type: str | None = None
    card: ChargeCardDetails | None = None
    upi: ChargeUpiDetails | None = None
    netbanking: ChargeNetbankingDetails | None = None


class ChargeRail(BaseModel, extra="allow"):
    """The rail that carried the charge and the references it answered with."""

    name: str = Field(description="card, upi or netbanking.")
    network_transaction_id: str | None = None
    upi_transaction_id: str | None = None
    rrn: str | None = None
    bank: str | None = None
    bank_reference: str | None = None
    authentication_requested: str | None = Field(
        default=None,
        description="Who asked for authentication (3-D Secure): `risk`, or"
        " `request_three_d_secure` (`payment_method_options[card]`).",
    )


class Charge(BaseModel):
    id: str
    object: Literal["charge"]
    amount: int
    amount_captured: int
    amount_refunded: int
    application_fee_amount: int | None
    balance_transaction: str | BalanceTransaction | None = Field(
        description="The balance transaction's id, or expanded."
    )
    billing_details: ChargeBillingDetails
    calculated_statement_descriptor: str | None
    captured: bool
    created: int
    currency: str
    customer: str | None
    description: str | None
    disputed: bool
    failure_balance_transaction: str | None
    failure_code: str | None
    failure_message: str | None
    livemode: bool
    metadata: dict[str, str]
    outcome: ChargeOutcome | None
    paid: bool
    payment_intent: str | PaymentIntent = Field(description="The intent's id, or expanded.")
    payment_method: str
    payment_method_details: ChargePaymentMethodDetails
    receipt_email: str | None
    receipt_number: str | None = Field(
        description="Set when the first receipt is sent: consecutive per merchant and mode."
    )
    receipt_url: str | None = Field(description="The hosted receipt, once the charge succeeded.")
    refunded: bool
    rail: ChargeRail
    shipping: ShippingDetails | None
    statement_descriptor: str | None
    statement_descriptor_suffix: str | None
    status: str
    application_fee: str | None = Field(
        default=None, description="The application fee (``fee_…``) of a destination charge."
    )
    destination: str | None = None
    on_behalf_of: str | None = None
    transfer: str | None = Field(
        default=None, description="The transfer (``tr_…``) a destination charge's capture made."
    )
    transfer_data: dict[str, Any] | None = None
    transfer_group: str | None = None


class FeeDetail(BaseModel):
    amount: int
    currency: str
    description: str | None
    type: str


class BalanceTransaction(BaseModel):
    id: str
    object: Literal["balance_transaction"]
    amount: int
    available_on: int
    created: int
    currency: str
    description: str | None
    exchange_rate: float | None
    fee: int
    fee_details: list[FeeDetail]
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


def _automatic(stored: dict[str, Any] | None) -> dict[str, Any] | None:
    """Stripe's rendering: ``allow_redirects`` is ``always`` unless ``never`` was asked."""
    if stored is None:
        return None
    enabled = bool(stored.get("enabled"))
    default = "always" if enabled else None
    return {"allow_redirects": stored.get("allow_redirects") or default, "enabled": enabled}


def payment_intent_object(row: PaymentIntentRow, *, for_event: bool = False) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "payment_intent",
        "amount": row.amount,
        "amount_capturable": row.amount_capturable,
        "amount_details": {"tip": {}},
        "amount_received": row.amount_received,
        "application": None,
        "application_fee_amount": row.application_fee_amount,
        "allowed_payment_method_types": row.allowed_payment_method_types,
        "automatic_payment_methods": _automatic(row.automatic_payment_methods),
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
        "excluded_payment_method_types": row.excluded_payment_method_types,
        "last_payment_error": row.last_payment_error,
        "latest_charge": row.latest_charge_id,
        "livemode": row.livemode,
        "metadata": row.metadata_,
        "next_action": row.next_action,
        "on_behalf_of": row.on_behalf_of,
        "payment_method": row.payment_method_id,
        "payment_method_options": rendered_options(
            row.payment_method_options, row.payment_method_types
        ),
        "payment_method_types": row.payment_method_types,
        "processing": None,
        "receipt_email": row.receipt_email,
        "review": None,
        "setup_future_usage": row.setup_future_usage,
        "shipping": row.shipping,
        "statement_descriptor": row.statement_descriptor,
        "statement_descriptor_suffix": row.statement_descriptor_suffix,
        "status": row.status,
        "transfer_data": _intent_transfer_data(row),
        "transfer_group": row.transfer_group,
    }


def _intent_transfer_data(row: PaymentIntentRow) -> dict[str, Any] | None:
    """Stripe's ``transfer_data``: the destination, and the amount when one was asked."""
    if row.transfer_destination is None:
        return None
    rendered: dict[str, Any] = {"destination": row.transfer_destination}
    if row.transfer_amount is not None:
        rendered["amount"] = row.transfer_amount
    return rendered


# What a publishable key (a browser holding the client secret) sees of a PaymentIntent, as
# Stripe renders it to Stripe.js: enough to finish paying, never the merchant's own fields
# (customer, metadata, charges, statement descriptors).
PUBLISHABLE_INTENT_FIELDS: Final = (
    "id",
    "object",
    "amount",
    "amount_details",
    "automatic_payment_methods",
    "canceled_at",
    "cancellation_reason",
    "capture_method",
    "client_secret",
    "confirmation_method",
    "created",
    "currency",
    "description",
    "last_payment_error",
    "livemode",
    "next_action",
    "payment_method",
    "payment_method_types",
    "processing",
    "receipt_email",
    "setup_future_usage",
    "shipping",
    "status",
)


def publishable_payment_intent_object(row: PaymentIntentRow) -> dict[str, Any]:
    rendered = payment_intent_object(row)
    return {field: rendered[field] for field in PUBLISHABLE_INTENT_FIELDS}


def charge_object(row: ChargeRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "charge",
        "amount": row.amount,
        "amount_captured": row.amount_captured,
        "amount_refunded": row.amount_refunded,
        "application_fee": row.application_fee_id,
        "application_fee_amount": row.application_fee_amount,
        "balance_transaction": row.balance_transaction_id,
        "billing_details": {"address": None, "email": None, "name": None, "phone": None},
        "calculated_statement_descriptor": row.calculated_statement_descriptor,
        "captured": row.captured,
        "created": _unix(row.created_at),
        "currency": row.currency,
        "customer": row.customer_id,
        "description": row.description,
        "disputed": bool(row.disputed),
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
        "receipt_email": row.receipt_email,
        "receipt_number": row.receipt_number,
        "receipt_url": receipt_url(row),
        "refunded": row.amount_captured > 0 and row.amount_refunded == row.amount_captured,
        "rail": {"name": row.rail, **row.rail_details},
        "shipping": row.shipping,
        "statement_descriptor": row.statement_descriptor,
        "statement_descriptor_suffix": row.statement_descriptor_suffix,
        "status": row.status,
        # Connect's destination charge (migration 0059).
        "destination": row.transfer_destination,
        "on_behalf_of": row.on_behalf_of,
        "transfer": row.transfer_id,
        "transfer_data": (
            None
            if row.transfer_destination is None
            else {"amount": row.transfer_amount, "destination": row.transfer_destination}
        ),
        "transfer_group": row.transfer_group,
    }


# What a fee is, where it is not the processing fee (Stripe's words for a dispute's).
_FEE_DESCRIPTIONS: Final = {"dispute": "Dispute fee", "dispute_reversal": "Dispute fee refund"}


def balance_transaction_object(row: BalanceTransactionRow) -> dict[str, Any]:
    fee_details = (
        [
            {
                "amount": row.fee,
                "currency": row.currency,
                "description": _FEE_DESCRIPTIONS.get(
                    row.reporting_category, "beyondpay processing fees"
                ),
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


# ---- search (Stripe's search query language: kit.search) --------------------------------------


class PaymentIntentSearchParams(SearchParams):
    """Search payment intents: ``query`` over ``amount``, ``created``, ``currency``,
    ``customer``, ``status`` and ``metadata['key']``."""


class ChargeSearchParams(SearchParams):
    """Search charges: ``query`` over ``amount``, ``created``, ``currency``, ``customer``,
    ``payment_intent``, ``status``, ``refunded``, ``metadata['key']`` and
    ``payment_method_details.card.{brand,last4,exp_month,exp_year,fingerprint}``."""


class PaymentIntentSearchResult(BaseModel):
    object: Literal["search_result"]
    url: str
    has_more: bool
    data: list[PaymentIntent]
    next_page: str | None


class ChargeSearchResult(BaseModel):
    object: Literal["search_result"]
    url: str
    has_more: bool
    data: list[Charge]
    next_page: str | None


# ---- legacy charges (POST /v1/charges, its capture) -----------------------------------------


class ChargeCreateParams(Params):
    """Stripe's ``POST /v1/charges``: ``source`` a token (``tok_…``, ``tok_visa``), a saved
    card's id (``card_…``, with its ``customer``) or a payment method (``pm_…``,
    ``pm_card_visa``); ``capture=false`` authorizes only."""

    amount: Amount
    currency: Currency
    source: Id | None = None
    customer: Id | None = None
    capture: bool = True
    description: Description = None
    receipt_email: Email = None
    statement_descriptor: StatementDescriptor = None
    metadata: MetadataParam = None
    expand: Expand


class ChargeCaptureParams(Params):
    amount: Amount | None = None
    receipt_email: Email = None
    expand: Expand


class PaymentIntentIncrementAuthorizationParams(Params):
    """``amount``: the new total to hold, more than the intent's amount now."""

    amount: Amount
    description: Description = None
    metadata: MetadataParam = None
    expand: Expand
