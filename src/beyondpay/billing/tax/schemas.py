"""Tax rate and tax id parameters and objects, in Stripe's shape."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

from beyondpay.billing.tax.domain import (
    RATE_BASIS_POINTS_MAX,
    TAX_ID_TYPES,
    TAX_ID_VALUE_CHARS_MAX,
    TAX_TYPES,
    percentage_of,
)
from beyondpay.billing.tax.models import TaxIdRow, TaxRateRow
from beyondpay.db.pagination import EXPAND_MAX, ListParams
from beyondpay.kit.params import Params, check_metadata

ID_CHARS_MAX: Final = 255
# Stripe's limits: a display name of at most 50 characters, a jurisdiction of at most 50.
DISPLAY_NAME_CHARS_MAX: Final = 50
JURISDICTION_CHARS_MAX: Final = 50
DESCRIPTION_CHARS_MAX: Final = 500
PERCENTAGE_MAX: Final = RATE_BASIS_POINTS_MAX // 100
PERCENTAGE_DECIMALS_MAX: Final = 2  # stored as basis points of a percent: 18.25% is 1825
# A GSTIN with room for spaces around it; other tax ids are at most TAX_ID_VALUE_CHARS_MAX.
TAX_ID_VALUE_PARAM_CHARS_MAX: Final = TAX_ID_VALUE_CHARS_MAX + 10
_COUNTRY: Final = re.compile(r"[A-Za-z]{2}")
_SUBDIVISION: Final = re.compile(r"[A-Za-z0-9]{1,3}")

MetadataParam = Annotated[dict[str, str] | str | None, AfterValidator(check_metadata)]
Expand = Annotated[list[str], Field(default_factory=list, max_length=EXPAND_MAX)]
Id = Annotated[str, Field(min_length=1, max_length=ID_CHARS_MAX)]


def _blank_is_unset(value: Any) -> Any:
    """``description=`` (an empty string) unsets it on an update, as in Stripe."""
    return None if value == "" else value


def _country(value: str | None) -> str | None:
    if value is None:
        return None
    if not _COUNTRY.fullmatch(value):
        raise ValueError("it is a two-letter country code (ISO 3166-1 alpha-2), such as IN")
    return value.upper()


def _subdivision(value: str | None) -> str | None:
    if value is None:
        return None
    if not _SUBDIVISION.fullmatch(value):
        raise ValueError(
            "it is an ISO 3166-2 subdivision code without its country, such as KA for Karnataka"
        )
    return value.upper()


def _tax_type(value: str | None) -> str | None:
    if value is not None and value not in TAX_TYPES:
        raise ValueError("it is one of Stripe's tax types: gst, igst, vat, sales_tax, …")
    return value


def _tax_id_type(value: str) -> str:
    if value not in TAX_ID_TYPES:
        raise ValueError("it is one of Stripe's tax id types: in_gst, eu_vat, gb_vat, …")
    return value


Country = Annotated[
    str | None,
    BeforeValidator(_blank_is_unset),
    Field(default=None, json_schema_extra={"pattern": "^[A-Za-z]{2}$"}),
    AfterValidator(_country),
]
Subdivision = Annotated[
    str | None,
    BeforeValidator(_blank_is_unset),
    Field(default=None, json_schema_extra={"pattern": "^[A-Za-z0-9]{1,3}$"}),
    AfterValidator(_subdivision),
]
TaxType = Annotated[
    str | None,
    BeforeValidator(_blank_is_unset),
    Field(default=None, json_schema_extra={"enum": sorted(TAX_TYPES)}),
    AfterValidator(_tax_type),
]
Jurisdiction = Annotated[
    Annotated[str, Field(max_length=JURISDICTION_CHARS_MAX)] | None,
    BeforeValidator(_blank_is_unset),
    Field(default=None),
]
Description = Annotated[
    Annotated[str, Field(max_length=DESCRIPTION_CHARS_MAX)] | None,
    BeforeValidator(_blank_is_unset),
    Field(default=None),
]
DisplayName = Annotated[str, Field(min_length=1, max_length=DISPLAY_NAME_CHARS_MAX)]
Percentage = Annotated[
    Decimal,
    Field(
        ge=0,
        le=PERCENTAGE_MAX,
        decimal_places=PERCENTAGE_DECIMALS_MAX,
        description="The rate, out of 100, with at most 2 decimals (18, 18.0, 0.25).",
    ),
]
TaxIdType = Annotated[
    str, Field(json_schema_extra={"enum": sorted(TAX_ID_TYPES)}), AfterValidator(_tax_id_type)
]
TaxIdValue = Annotated[str, Field(min_length=1, max_length=TAX_ID_VALUE_PARAM_CHARS_MAX)]


class TaxRateCreateParams(Params):
    display_name: DisplayName
    percentage: Percentage
    inclusive: bool
    active: bool = True
    country: Country = None
    state: Subdivision = None
    jurisdiction: Jurisdiction = None
    description: Description = None
    tax_type: TaxType = None
    metadata: MetadataParam = None
    expand: Expand


class TaxRateUpdateParams(Params):
    """What may change: not ``percentage`` nor ``inclusive`` (as Stripe's, a rate is fixed once
    made; archive it and make another). A parameter sent as "" is unset."""

    active: bool | None = None
    display_name: DisplayName | None = None
    country: Country = None
    state: Subdivision = None
    jurisdiction: Jurisdiction = None
    description: Description = None
    tax_type: TaxType = None
    metadata: MetadataParam = None
    expand: Expand


class TaxRateListParams(ListParams):
    active: bool | None = None
    inclusive: bool | None = None


class TaxIdOwnerParams(Params):
    """Whose tax id: ``self`` (the merchant; the default) or a ``customer`` (with
    ``customer``). ``account`` and ``application`` (Stripe Connect) are refused."""

    type: Literal["account", "application", "customer", "self"]
    customer: Id | None = None
    account: Id | None = None
    customer_account: Id | None = None


class TaxIdCreateParams(Params):
    type: TaxIdType
    value: TaxIdValue
    owner: TaxIdOwnerParams | None = None
    expand: Expand


class CustomerTaxIdCreateParams(Params):
    type: TaxIdType
    value: TaxIdValue
    expand: Expand


class TaxIdListParams(ListParams):
    owner: TaxIdOwnerParams | None = None


class CustomerTaxIdListParams(ListParams):
    """A customer's tax ids, newest first."""


class TaxRate(BaseModel):
    id: str
    object: Literal["tax_rate"]
    active: bool
    country: str | None
    created: int
    description: str | None
    display_name: str
    effective_percentage: float | None = Field(
        description="The rate applied: the percentage (no rate here is computed by automatic tax)."
    )
    flat_amount: dict[str, Any] | None
    inclusive: bool
    jurisdiction: str | None
    jurisdiction_level: str | None
    livemode: bool
    metadata: dict[str, str]
    percentage: float
    rate_type: str | None
    state: str | None
    tax_type: str | None


class TaxIdOwner(BaseModel):
    account: str | None
    application: str | None
    customer: str | None
    customer_account: str | None
    type: str = Field(description="self (the merchant) or customer.")


class TaxIdVerification(BaseModel):
    status: str = Field(
        description="unavailable: no registry is asked (a GSTIN's checksum is checked when it"
        " is added)."
    )
    verified_address: str | None
    verified_name: str | None


class TaxId(BaseModel):
    id: str
    object: Literal["tax_id"]
    country: str | None
    created: int
    customer: str | None
    customer_account: str | None
    livemode: bool
    owner: TaxIdOwner
    type: str
    value: str
    verification: TaxIdVerification


class DeletedTaxId(BaseModel):
    id: str
    object: Literal["tax_id"]
    deleted: Literal[True]


def tax_rate_object(row: TaxRateRow) -> dict[str, Any]:
    percentage = percentage_of(row.rate_basis_points)
    return {
        "id": row.id,
        "object": "tax_rate",
        "active": row.active,
        "country": row.country,
        "created": int(row.created_at.timestamp()),
        "description": row.description,
        "display_name": row.display_name,
        "effective_percentage": percentage,
        "flat_amount": None,
        "inclusive": row.inclusive,
        "jurisdiction": row.jurisdiction,
        "jurisdiction_level": None,
        "livemode": row.livemode,
        "metadata": row.metadata_,
        "percentage": percentage,
        "rate_type": None,  # set only on rates Stripe Tax makes
        "state": row.state,
        "tax_type": row.tax_type,
    }


def tax_id_object(row: TaxIdRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "tax_id",
        "country": row.country,
        "created": int(row.created_at.timestamp()),
        "customer": row.customer_id,
        "customer_account": None,
        "livemode": row.livemode,
        "owner": {
            "account": None,
            "application": None,
            "customer": row.customer_id,
            "customer_account": None,
            "type": row.owner_type,
        },
        "type": row.type,
        "value": row.value,
        "verification": {
            "status": row.verification_status,
            "verified_address": None,
            "verified_name": None,
        },
    }


def deleted_tax_id_object(row: TaxIdRow) -> dict[str, Any]:
    return {"id": row.id, "object": "tax_id", "deleted": True}
