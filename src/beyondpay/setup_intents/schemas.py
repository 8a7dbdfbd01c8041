"""SetupIntent parameters and the SetupIntent object, in Stripe's shape. The rendering for an
event holds no client secret (``for_event``)."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, Field

from beyondpay.db.pagination import EXPAND_MAX, ListParams
from beyondpay.kit.params import Params, check_metadata
from beyondpay.payment_methods.schemas import PaymentMethodDataParams
from beyondpay.setup_intents.domain import Usage
from beyondpay.setup_intents.models import SetupIntentRow

ID_CHARS_MAX: Final = 255
DESCRIPTION_CHARS_MAX: Final = 1_000
URL_CHARS_MAX: Final = 2_048
# The types a payment method may be named by (card, upi, netbanking); only a card can be set
# up (domain.SETUP_PAYMENT_METHOD_TYPES), the others are refused naming why.
KNOWN_TYPES: Final = ("card", "upi", "netbanking")

MetadataParam = Annotated[dict[str, str] | str | None, AfterValidator(check_metadata)]
Id = Annotated[str, Field(min_length=1, max_length=ID_CHARS_MAX)]
Expand = Annotated[list[str], Field(default_factory=list, max_length=EXPAND_MAX)]
Description = Annotated[str | None, Field(default=None, max_length=DESCRIPTION_CHARS_MAX)]
CancellationReason = Literal["abandoned", "duplicate", "requested_by_customer"]


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
        if item not in KNOWN_TYPES:
            raise ValueError(f"it must be one of {', '.join(KNOWN_TYPES)}")
    return list(dict.fromkeys(value))


ReturnUrl = Annotated[
    str | None, Field(default=None, max_length=URL_CHARS_MAX), AfterValidator(_url)
]
PaymentMethodTypes = Annotated[
    list[str] | None,
    Field(default=None, max_length=len(KNOWN_TYPES) * 2),
    AfterValidator(_types),
]


class SetupIntentCreateParams(Params):
    confirm: bool = False
    customer: Id | None = None
    description: Description = None
    metadata: MetadataParam = None
    payment_method: Id | None = None
    payment_method_data: PaymentMethodDataParams | None = None
    payment_method_types: PaymentMethodTypes = None
    return_url: ReturnUrl = None
    usage: Usage = Usage.off_session
    expand: Expand


class SetupIntentUpdateParams(Params):
    customer: Id | None = None
    description: Description = None
    metadata: MetadataParam = None
    payment_method: Id | None = None
    payment_method_data: PaymentMethodDataParams | None = None
    payment_method_types: PaymentMethodTypes = None
    expand: Expand


ClientSecret = Annotated[str | None, Field(default=None, min_length=1, max_length=ID_CHARS_MAX)]


class SetupIntentConfirmParams(Params):
    # Required of publishable keys (the card element's confirmCardSetup, Stripe.js): it names
    # the intent they may confirm; secret keys need not send it.
    client_secret: Annotated[
        str | None, Field(default=None, min_length=1, max_length=ID_CHARS_MAX)
    ] = None
    payment_method: Id | None = None
    payment_method_data: PaymentMethodDataParams | None = None
    return_url: ReturnUrl = None
    expand: Expand


class SetupIntentCancelParams(Params):
    cancellation_reason: CancellationReason | None = None
    expand: Expand


class SetupIntentRetrieveParams(Params):
    # Stripe's SDKs send the client secret on retrieve from publishable-key clients; accepted.
    client_secret: Annotated[str | None, Field(default=None, max_length=ID_CHARS_MAX)] = None
    expand: Expand


class SetupIntentListParams(ListParams):
    customer: Id | None = None
    payment_method: Id | None = None


# ---- the object -----------------------------------------------------------------------------


class SetupIntentRedirectToUrl(BaseModel):
    url: str | None
    return_url: str | None


class SetupIntentNextAction(BaseModel, extra="allow"):
    """What the customer must do: only the hash named by ``type`` is rendered."""

    type: str = Field(description="redirect_to_url: the 3-D Secure page.")
    redirect_to_url: SetupIntentRedirectToUrl | None = None


class SetupIntentLastSetupError(BaseModel, extra="allow"):
    """Why the last attempt failed, as Stripe's error object."""

    type: str
    code: str | None = None
    decline_code: str | None = None
    message: str | None = None
    network_decline_code: str | None = None
    payment_method: dict[str, Any] | None = Field(
        default=None, description="The payment method object that was tried."
    )


class SetupIntentCardOptions(BaseModel):
    mandate_options: dict[str, Any] | None
    network: str | None
    request_three_d_secure: str


class SetupIntentPaymentMethodOptions(BaseModel, extra="allow"):
    card: SetupIntentCardOptions | None = None


class SetupIntent(BaseModel):
    id: str
    object: Literal["setup_intent"]
    application: str | None
    automatic_payment_methods: dict[str, Any] | None
    cancellation_reason: str | None
    client_secret: str | None
    created: int
    customer: str | None
    description: str | None
    flow_directions: list[str] | None
    last_setup_error: SetupIntentLastSetupError | None
    latest_attempt: str | None = Field(description="The latest attempt's id (`setatt_…`).")
    livemode: bool
    mandate: str | None
    metadata: dict[str, str]
    next_action: SetupIntentNextAction | None
    on_behalf_of: str | None
    payment_method: str | dict[str, Any] | None = Field(
        description="The payment method's id, or expanded: the payment method object."
    )
    payment_method_configuration_details: dict[str, Any] | None
    payment_method_options: SetupIntentPaymentMethodOptions
    payment_method_types: list[str]
    single_use_mandate: str | None
    status: str
    usage: str


def _unix(moment: Any) -> int | None:
    return None if moment is None else int(moment.timestamp())


def setup_intent_object(row: SetupIntentRow, *, for_event: bool = False) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if "card" in row.payment_method_types:
        options["card"] = {
            "mandate_options": None,
            "network": None,
            "request_three_d_secure": "automatic",
        }
    return {
        "id": row.id,
        "object": "setup_intent",
        "application": None,
        "automatic_payment_methods": None,
        "cancellation_reason": row.cancellation_reason,
        # The client secret lets a browser confirm with a publishable key: never in an event.
        "client_secret": None if for_event else row.client_secret,
        "created": _unix(row.created_at),
        "customer": row.customer_id,
        "description": row.description,
        "flow_directions": None,
        "last_setup_error": row.last_setup_error,
        "latest_attempt": row.latest_attempt_id,
        "livemode": row.livemode,
        "mandate": None,
        "metadata": row.metadata_,
        "next_action": row.next_action,
        "on_behalf_of": None,
        "payment_method": row.payment_method_id,
        "payment_method_configuration_details": None,
        "payment_method_options": options,
        "payment_method_types": row.payment_method_types,
        "single_use_mandate": None,
        "status": row.status,
        "usage": row.usage,
    }


# What a publishable key (a browser holding the client secret) sees of a SetupIntent, as
# Stripe renders it to Stripe.js: never the customer, the metadata or the latest attempt.
PUBLISHABLE_SETUP_INTENT_FIELDS: Final = (
    "id",
    "object",
    "automatic_payment_methods",
    "cancellation_reason",
    "client_secret",
    "created",
    "description",
    "last_setup_error",
    "livemode",
    "next_action",
    "payment_method",
    "payment_method_types",
    "status",
    "usage",
)


def publishable_setup_intent_object(row: SetupIntentRow) -> dict[str, Any]:
    rendered = setup_intent_object(row)
    return {field: rendered[field] for field in PUBLISHABLE_SETUP_INTENT_FIELDS}
