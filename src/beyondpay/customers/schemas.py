"""Customer parameters and the customer object, in Stripe's shape."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

from beyondpay.customers.domain import QUERY_CHARS_MAX
from beyondpay.customers.models import CustomerRow
from beyondpay.db.pagination import LIMIT_DEFAULT, LIMIT_MAX, ListParams
from beyondpay.kit.params import Params, check_metadata

NAME_CHARS_MAX: Final = 256
EMAIL_CHARS_MAX: Final = 512
PHONE_CHARS_MAX: Final = 20
DESCRIPTION_CHARS_MAX: Final = 350
ADDRESS_FIELD_CHARS_MAX: Final = 200
PAGE_CHARS_MAX: Final = 200
ID_CHARS_MAX: Final = 255

MetadataParam = Annotated[dict[str, str] | str | None, AfterValidator(check_metadata)]


def _email(value: str | None) -> str | None:
    # Stripe checks only the shape; deliverability is the mail system's business.
    if value and (value.count("@") != 1 or value.startswith("@") or value.endswith("@")):
        raise ValueError("it is not a valid email address")
    return value


Email = Annotated[
    str | None, Field(default=None, max_length=EMAIL_CHARS_MAX), AfterValidator(_email)
]
Text = Annotated[str | None, Field(default=None, max_length=ADDRESS_FIELD_CHARS_MAX)]


class AddressParams(Params):
    line1: Text = None
    line2: Text = None
    city: Text = None
    state: Text = None
    postal_code: Text = None
    country: Annotated[str | None, Field(default=None, max_length=2)] = None


class InvoiceSettingsParams(Params):
    # "" unsets it (update), as in Stripe.
    default_payment_method: Annotated[str | None, Field(default=None, max_length=ID_CHARS_MAX)]


def _blank_is_unset(value: Any) -> Any:
    """``shipping=`` (an empty string) unsets the hash on an update, as in Stripe."""
    return None if value == "" else value


class ShippingParams(Params):
    """A shipping hash (Stripe's ``shipping``): ``name`` and ``address`` are required."""

    address: AddressParams
    name: Annotated[str, Field(min_length=1, max_length=NAME_CHARS_MAX)]
    phone: Annotated[str | None, Field(max_length=PHONE_CHARS_MAX)] = None


CustomerShipping = Annotated[ShippingParams | None, BeforeValidator(_blank_is_unset)]


class CustomerParams(Params):
    """What creating and updating a customer share."""

    name: Annotated[str | None, Field(max_length=NAME_CHARS_MAX)] = None
    email: Email = None
    phone: Annotated[str | None, Field(max_length=PHONE_CHARS_MAX)] = None
    description: Annotated[str | None, Field(max_length=DESCRIPTION_CHARS_MAX)] = None
    address: AddressParams | None = None
    metadata: MetadataParam = None
    expand: list[str] = Field(default_factory=list, max_length=20)
    invoice_settings: InvoiceSettingsParams | None = None
    shipping: CustomerShipping = None


class CustomerCreateParams(CustomerParams):
    # Attached to the new customer (a payment method's id, or a test token: pm_card_visa).
    payment_method: Annotated[
        str | None, Field(default=None, min_length=1, max_length=ID_CHARS_MAX)
    ]
    test_clock: Annotated[
        str | None,
        Field(
            default=None,
            max_length=255,
            description="The test clock to attach the customer to (test mode only; at creation"
            " only): the customer's objects live at the clock's frozen time.",
        ),
    ] = None


class CustomerUpdateParams(CustomerParams):
    """As create (but ``payment_method`` and ``test_clock``, set at creation only, as Stripe's);
    a parameter sent as "" is unset, as in Stripe."""


class CustomerListParams(ListParams):
    email: Annotated[str | None, Field(max_length=EMAIL_CHARS_MAX)] = None
    test_clock: Annotated[str | None, Field(default=None, max_length=255)] = None


class CustomerSearchParams(Params):
    """Stripe's search: ``query`` in its query language, ``page`` the previous ``next_page``."""

    query: Annotated[str, Field(max_length=QUERY_CHARS_MAX)]
    limit: int = Field(default=LIMIT_DEFAULT, ge=1, le=LIMIT_MAX)
    page: Annotated[str | None, Field(default=None, min_length=1, max_length=PAGE_CHARS_MAX)] = None
    expand: list[str] = Field(default_factory=list, max_length=20)


class Address(BaseModel):
    line1: str | None
    line2: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    country: str | None


class CustomerInvoiceSettings(BaseModel):
    custom_fields: list[dict[str, str]] | None
    default_payment_method: str | None = Field(
        description="The payment method (`pm_…`, attached to this customer) invoices and"
        " subscriptions charge by default."
    )
    footer: str | None
    rendering_options: dict[str, Any] | None


class Shipping(BaseModel):
    address: Address
    name: str
    phone: str | None


class Customer(BaseModel):
    id: str
    object: Literal["customer"]
    address: Address | None
    balance: int
    created: int
    currency: str | None
    delinquent: bool
    description: str | None
    email: str | None
    livemode: bool
    metadata: dict[str, str]
    name: str | None
    phone: str | None
    preferred_locales: list[str]
    test_clock: str | None = Field(description="The test clock the customer is attached to.")
    invoice_settings: CustomerInvoiceSettings
    shipping: Shipping | None


class CustomerSearchResult(BaseModel):
    object: Literal["search_result"]
    url: str
    has_more: bool
    data: list[Customer]
    next_page: str | None


class DeletedCustomer(BaseModel):
    id: str
    object: Literal["customer"]
    deleted: Literal[True]


_ADDRESS_FIELDS: Final = ("line1", "line2", "city", "state", "postal_code", "country")


def shipping_stored(params: ShippingParams | None) -> dict[str, Any] | None:
    """The shipping hash as stored: every address field present (None where not sent)."""
    if params is None:
        return None
    stored = params.model_dump()
    stored["address"] = {field: stored["address"].get(field) or None for field in _ADDRESS_FIELDS}
    return stored


def customer_object(row: CustomerRow) -> dict[str, Any]:
    if row.deleted_at is not None:
        return {"id": row.id, "object": "customer", "deleted": True}
    address = None
    if row.address is not None:
        address = {field: row.address.get(field) for field in _ADDRESS_FIELDS}
    return {
        "id": row.id,
        "object": "customer",
        "address": address,
        "balance": row.balance or 0,
        "created": int(row.created_at.timestamp()),
        "currency": row.currency,
        "delinquent": False,
        "description": row.description,
        "email": row.email,
        "livemode": row.livemode,
        "metadata": row.metadata_,
        "name": row.name,
        "phone": row.phone,
        "preferred_locales": [],
        "test_clock": row.test_clock,
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": row.default_payment_method_id,
            "footer": None,
            "rendering_options": None,
        },
        "shipping": row.shipping,
    }
