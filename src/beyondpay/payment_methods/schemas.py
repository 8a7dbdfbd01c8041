"""Payment method parameters and the payment method object, in Stripe's shape.

Card numbers, CVCs and VPAs are ``SecretStr`` from the moment they are parsed, so a repr, a log
line or an error cannot show them. The object shows a card's brand, last four digits, expiry,
funding, country and keyed fingerprint; a VPA only masked (``su*****@sandbox``).
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, Field, SecretStr

from beyondpay.customers.schemas import (
    ADDRESS_FIELD_CHARS_MAX,
    NAME_CHARS_MAX,
    PHONE_CHARS_MAX,
    Address,
    AddressParams,
    Email,
    MetadataParam,
)
from beyondpay.db.pagination import EXPAND_MAX, ListParams
from beyondpay.kit.params import Params
from beyondpay.payment_methods.domain import NETBANKING_BANKS, PaymentMethodType
from beyondpay.payment_methods.models import PaymentMethodRow

ID_CHARS_MAX: Final = 255
BANK_CHARS_MAX: Final = 11  # an IFSC at most; the code is its first four letters

Expand = Annotated[list[str], Field(default_factory=list, max_length=EXPAND_MAX)]
# Whether checkout flows may show the payment method again to its customer (Stripe's).
AllowRedisplay = Literal["always", "limited", "unspecified"]


class CardParams(Params):
    """A card's details, or (``POST /v1/payment_methods`` only) ``token``: a ``tok_…`` whose
    card the payment method becomes. Without a token, number and expiry are required."""

    number: SecretStr | None = None
    exp_month: int | None = None
    exp_year: int | None = None
    # Checked, then forgotten: never stored, never rendered.
    cvc: SecretStr | None = None
    token: Annotated[str | None, Field(min_length=1, max_length=ID_CHARS_MAX)] = None


class UpiParams(Params):
    # None: the intent flow (the payer's UPI app pays a upi://pay link; no VPA is known).
    vpa: SecretStr | None = None


class NetbankingParams(Params):
    bank: Annotated[str, Field(min_length=1, max_length=BANK_CHARS_MAX)]


class BillingDetailsParams(Params):
    address: AddressParams | None = None
    email: Email = None
    name: Annotated[str | None, Field(max_length=NAME_CHARS_MAX)] = None
    phone: Annotated[str | None, Field(max_length=PHONE_CHARS_MAX)] = None


class PaymentMethodDataParams(Params):
    """A payment method's details: ``POST /v1/payment_methods`` without ``customer``, and
    ``payment_method_data`` of a payment intent."""

    type: PaymentMethodType
    card: CardParams | None = None
    upi: UpiParams | None = None
    netbanking: NetbankingParams | None = None
    billing_details: BillingDetailsParams | None = None
    metadata: MetadataParam = None
    allow_redisplay: AllowRedisplay | None = None


class PaymentMethodCreateParams(PaymentMethodDataParams):
    customer: Annotated[str | None, Field(min_length=1, max_length=ID_CHARS_MAX)] = None
    expand: Expand


class CardUpdateParams(Params):
    exp_month: int | None = None
    exp_year: int | None = None


class PaymentMethodUpdateParams(Params):
    billing_details: BillingDetailsParams | None = None
    card: CardUpdateParams | None = None
    metadata: MetadataParam = None
    allow_redisplay: AllowRedisplay | None = None
    expand: Expand


class PaymentMethodAttachParams(Params):
    customer: Annotated[str, Field(min_length=1, max_length=ID_CHARS_MAX)]
    expand: Expand


class PaymentMethodDetachParams(Params):
    expand: Expand


class PaymentMethodListParams(ListParams):
    """As Stripe: the payment methods of one customer, optionally of one type."""

    customer: Annotated[str, Field(min_length=1, max_length=ID_CHARS_MAX)]
    type: PaymentMethodType | None = None


class CustomerPaymentMethodListParams(ListParams):
    type: PaymentMethodType | None = None
    allow_redisplay: AllowRedisplay | None = None


# ---- the object ------------------------------------------------------------------------------


class BillingDetails(BaseModel):
    address: Address
    email: str | None
    name: str | None
    phone: str | None


class CardChecks(BaseModel):
    address_line1_check: str | None
    address_postal_code_check: str | None
    cvc_check: Literal["pass"] | None


class CardNetworks(BaseModel):
    available: list[str]
    preferred: str | None


class ThreeDSecureUsage(BaseModel):
    supported: bool


class Card(BaseModel):
    brand: str
    checks: CardChecks
    country: str | None
    exp_month: int
    exp_year: int
    fingerprint: str
    funding: str
    last4: str
    networks: CardNetworks
    three_d_secure_usage: ThreeDSecureUsage


class Upi(BaseModel):
    vpa: str | None  # masked: su*****@sandbox
    fingerprint: str | None


class Netbanking(BaseModel):
    bank: str
    bank_name: str | None


class PaymentMethod(BaseModel):
    id: str
    object: Literal["payment_method"]
    allow_redisplay: str
    billing_details: BillingDetails
    created: int
    customer: str | None
    livemode: bool
    metadata: dict[str, str]
    type: PaymentMethodType
    card: Card | None = None
    upi: Upi | None = None
    netbanking: Netbanking | None = None


_ADDRESS_FIELDS: Final = ("city", "country", "line1", "line2", "postal_code", "state")
_BILLING_FIELDS: Final = ("email", "name", "phone")


def billing_details_object(stored: dict[str, Any]) -> dict[str, Any]:
    address = stored.get("address") or {}
    return {
        "address": {field: address.get(field) for field in _ADDRESS_FIELDS},
        **{field: stored.get(field) for field in _BILLING_FIELDS},
    }


def _card(row: PaymentMethodRow) -> dict[str, Any]:
    return {
        "brand": row.card_brand,
        "checks": {
            "address_line1_check": None,
            "address_postal_code_check": None,
            "cvc_check": "pass" if row.card_cvc_given else None,
        },
        "country": row.card_country,
        "exp_month": row.card_exp_month,
        "exp_year": row.card_exp_year,
        "fingerprint": row.fingerprint,
        "funding": row.card_funding,
        "last4": row.card_last4,
        "networks": {"available": [row.card_brand], "preferred": None},
        "three_d_secure_usage": {"supported": True},
    }


def _details_of_type(row: PaymentMethodRow) -> dict[str, Any]:
    if row.type == PaymentMethodType.card:
        return _card(row)
    if row.type == PaymentMethodType.upi:
        return {"vpa": row.upi_vpa_masked, "fingerprint": row.fingerprint}
    bank = row.netbanking_bank or ""
    return {"bank": bank, "bank_name": NETBANKING_BANKS.get(bank)}


def payment_method_object(row: PaymentMethodRow) -> dict[str, Any]:
    """The Stripe-shaped, redacted rendering: the API's answer and events' ``data.object``."""
    return {
        "id": row.id,
        "object": "payment_method",
        "allow_redisplay": row.allow_redisplay,
        "billing_details": billing_details_object(row.billing_details),
        "created": int(row.created_at.timestamp()),
        "customer": row.customer_id,
        "livemode": row.livemode,
        "metadata": row.metadata_,
        "type": row.type,
        row.type: _details_of_type(row),
    }


def payment_method_details(row: PaymentMethodRow) -> dict[str, Any]:
    """What a charge shows under ``payment_method_details``."""
    if row.type == PaymentMethodType.card:
        details: dict[str, Any] = {
            "brand": row.card_brand,
            "last4": row.card_last4,
            "exp_month": row.card_exp_month,
            "exp_year": row.card_exp_year,
            "fingerprint": row.fingerprint,
            "funding": row.card_funding,
            "country": row.card_country,
            "network": row.card_brand,
        }
    else:
        details = _details_of_type(row)
    return {"type": row.type, row.type: details}


# ---- tokens ----------------------------------------------------------------------------------

# The card's name and address become its billing details: the same limits as theirs.
CardText = Annotated[str | None, Field(max_length=ADDRESS_FIELD_CHARS_MAX)]


class TokenCardParams(Params):
    """``POST /v1/tokens``'s ``card``: the number, expiry and CVC (checked, never stored),
    and the legacy card's holder name and address (kept as the billing details)."""

    number: SecretStr
    exp_month: int
    exp_year: int
    cvc: SecretStr | None = None
    name: Annotated[str | None, Field(max_length=NAME_CHARS_MAX)] = None
    address_line1: CardText = None
    address_line2: CardText = None
    address_city: CardText = None
    address_state: CardText = None
    address_zip: CardText = None
    address_country: Annotated[str | None, Field(max_length=2)] = None
    currency: Annotated[str | None, Field(max_length=3)] = None


class TokenCreateParams(Params):
    card: TokenCardParams
    expand: Expand


class LegacyCard(BaseModel):
    """The card a token holds, in Stripe's legacy ``card`` object's shape."""

    id: str
    object: Literal["card"]
    address_city: str | None
    address_country: str | None
    address_line1: str | None
    address_line1_check: str | None
    address_line2: str | None
    address_state: str | None
    address_zip: str | None
    address_zip_check: str | None
    brand: str
    country: str | None
    cvc_check: str | None
    dynamic_last4: str | None
    exp_month: int
    exp_year: int
    fingerprint: str
    funding: str
    last4: str
    metadata: dict[str, str]
    name: str | None
    tokenization_method: str | None
    wallet: dict[str, Any] | None


class Token(BaseModel):
    id: str
    object: Literal["token"]
    card: LegacyCard
    client_ip: str | None
    created: int
    livemode: bool
    type: Literal["card"]
    used: bool


def legacy_card_object(card_id: str, row: PaymentMethodRow, brand: str) -> dict[str, Any]:
    """A card payment method as Stripe's legacy ``card`` object (``brand`` spelled as there)."""
    address = row.billing_details.get("address") or {}
    return {
        "id": card_id,
        "object": "card",
        "address_city": address.get("city"),
        "address_country": address.get("country"),
        "address_line1": address.get("line1"),
        "address_line1_check": "unchecked" if address.get("line1") else None,
        "address_line2": address.get("line2"),
        "address_state": address.get("state"),
        "address_zip": address.get("postal_code"),
        "address_zip_check": "unchecked" if address.get("postal_code") else None,
        "brand": brand,
        "country": row.card_country,
        "cvc_check": "pass" if row.card_cvc_given else None,
        "dynamic_last4": None,
        "exp_month": row.card_exp_month,
        "exp_year": row.card_exp_year,
        "fingerprint": row.fingerprint,
        "funding": row.card_funding,
        "last4": row.card_last4,
        "metadata": {},
        "name": row.billing_details.get("name"),
        "tokenization_method": None,
        "wallet": None,
    }
