"""Portal parameters and objects, in Stripe's shape: ``billing_portal.configuration``
(``bpc_…``) and ``billing_portal.session`` (``bps_…``).

A session's ``url`` is a bearer capability (domain.py): it is rendered in the answer to the
request that made it — kept sealed for that request's idempotent replay — and nowhere else: the
``billing_portal.session.created`` event carries ``url: null``.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, Field

from beyondpay.billing.portal.domain import (
    CONFIGURATION_NAME_CHARS_MAX,
    HEADLINE_CHARS_MAX,
    LOCALES,
    PRODUCT_PRICES_MAX,
    QUANTITY_MAX,
    UPDATE_PRODUCTS_MAX,
)
from beyondpay.billing.portal.models import PortalConfigurationRow, PortalSessionRow
from beyondpay.db.pagination import EXPAND_MAX, ListParams
from beyondpay.kit.params import Params, check_metadata

ID_CHARS_MAX: Final = 255
URL_CHARS_MAX: Final = 2_048

MetadataParam = Annotated[dict[str, str] | str | None, AfterValidator(check_metadata)]
Id = Annotated[str, Field(min_length=1, max_length=ID_CHARS_MAX)]
Expand = Annotated[list[str], Field(default_factory=list, max_length=EXPAND_MAX)]
Blank = Literal[""]  # Stripe's "unset this" (a value) or "empty this" (a list)


def _url(value: str | None) -> str | None:
    if value and not value.startswith(("https://", "http://")):
        raise ValueError("it must be an http or https URL")
    return value


Url = Annotated[str | None, Field(default=None, max_length=URL_CHARS_MAX), AfterValidator(_url)]


def _locale(value: str | None) -> str | None:
    if value is not None and value not in LOCALES:
        raise ValueError("it must be one of the portal's locales (auto, en, en-IN, en-GB, …)")
    return value


# ---- configuration parameters -----------------------------------------------------------------


class BusinessProfileParams(Params):
    headline: Annotated[str | None, Field(default=None, max_length=HEADLINE_CHARS_MAX)] = None
    privacy_policy_url: Url = None
    terms_of_service_url: Url = None


class CustomerUpdateFeatureParams(Params):
    allowed_updates: (
        list[Literal["address", "email", "name", "phone", "shipping", "tax_id"]] | Blank | None
    ) = None
    enabled: bool | None = None


class EnabledParams(Params):
    enabled: bool | None = None


class PaymentMethodUpdateFeatureParams(Params):
    enabled: bool | None = None
    payment_method_configuration: Annotated[str | None, Field(max_length=ID_CHARS_MAX)] = None


CancellationReasonOption = Literal[
    "customer_service",
    "low_quality",
    "missing_features",
    "other",
    "switched_service",
    "too_complex",
    "too_expensive",
    "unused",
]


class CancellationReasonParams(Params):
    enabled: bool
    options: Annotated[list[CancellationReasonOption], Field(max_length=8)] | Blank


class SubscriptionCancelFeatureParams(Params):
    cancellation_reason: CancellationReasonParams | None = None
    enabled: bool | None = None
    mode: Literal["at_period_end", "immediately"] | None = None
    # Stripe: always_invoice is refused on a cancellation (nothing is left to invoice).
    proration_behavior: Literal["create_prorations", "none"] | None = None


class AdjustableQuantityParams(Params):
    enabled: bool
    maximum: Annotated[int | None, Field(ge=1, le=QUANTITY_MAX)] = None
    minimum: Annotated[int | None, Field(ge=0, le=QUANTITY_MAX)] = None


class UpdateProductParams(Params):
    adjustable_quantity: AdjustableQuantityParams | None = None
    prices: Annotated[list[Id], Field(min_length=1, max_length=PRODUCT_PRICES_MAX)]
    product: Id


class ScheduleConditionParams(Params):
    type: Literal["decreasing_item_amount", "shortening_interval"]


class ScheduleAtPeriodEndParams(Params):
    conditions: Annotated[list[ScheduleConditionParams], Field(max_length=2)] | Blank | None = None


class SubscriptionUpdateFeatureParams(Params):
    billing_cycle_anchor: Literal["now", "unchanged"] | None = None
    default_allowed_updates: list[Literal["price", "promotion_code", "quantity"]] | Blank | None = (
        None
    )
    enabled: bool | None = None
    products: (
        Annotated[list[UpdateProductParams], Field(max_length=UPDATE_PRODUCTS_MAX)] | Blank | None
    ) = None
    proration_behavior: Literal["always_invoice", "create_prorations", "none"] | None = None
    schedule_at_period_end: ScheduleAtPeriodEndParams | None = None
    trial_update_behavior: Literal["continue_trial", "end_trial"] | None = None


class FeaturesParams(Params):
    customer_update: CustomerUpdateFeatureParams | None = None
    invoice_history: EnabledParams | None = None
    payment_method_update: PaymentMethodUpdateFeatureParams | None = None
    subscription_cancel: SubscriptionCancelFeatureParams | None = None
    subscription_pause: EnabledParams | None = None
    subscription_update: SubscriptionUpdateFeatureParams | None = None


class LoginPageParams(Params):
    enabled: bool


Name = Annotated[str | None, Field(default=None, max_length=CONFIGURATION_NAME_CHARS_MAX)]


class ConfigurationCreateParams(Params):
    business_profile: BusinessProfileParams | None = None
    default_return_url: Url = None
    features: FeaturesParams
    login_page: LoginPageParams | None = None
    metadata: MetadataParam = None
    name: Name = None
    expand: Expand


class ConfigurationUpdateParams(Params):
    active: bool | None = None
    business_profile: BusinessProfileParams | None = None
    default_return_url: Url = None
    features: FeaturesParams | None = None
    login_page: LoginPageParams | None = None
    metadata: MetadataParam = None
    name: Name = None
    expand: Expand


class ConfigurationListParams(ListParams):
    active: bool | None = None
    is_default: bool | None = None


class SessionCreateParams(Params):
    configuration: Id | None = None
    customer: Id
    locale: Annotated[str | None, Field(default=None, max_length=16), AfterValidator(_locale)] = (
        None
    )
    on_behalf_of: Id | None = None
    return_url: Url = None
    expand: Expand


# ---- the objects ------------------------------------------------------------------------------


class BusinessProfile(BaseModel):
    headline: str | None
    privacy_policy_url: str | None
    terms_of_service_url: str | None


class CustomerUpdateFeature(BaseModel):
    allowed_updates: list[str]
    enabled: bool = Field(description="Always false: customers cannot edit their details yet.")


class EnabledFeature(BaseModel):
    enabled: bool


class PaymentMethodUpdateFeature(BaseModel):
    enabled: bool
    payment_method_configuration: str | None


class CancellationReason(BaseModel):
    enabled: bool
    options: list[str]


class SubscriptionCancelFeature(BaseModel):
    cancellation_reason: CancellationReason
    enabled: bool
    mode: str = Field(description="at_period_end or immediately.")
    proration_behavior: str = Field(description="none or create_prorations.")


class AdjustableQuantity(BaseModel):
    enabled: bool
    maximum: int | None
    minimum: int


class UpdateProduct(BaseModel):
    adjustable_quantity: AdjustableQuantity
    prices: list[str]
    product: str


class ScheduleCondition(BaseModel):
    type: str


class ScheduleAtPeriodEnd(BaseModel):
    conditions: list[ScheduleCondition]


class SubscriptionUpdateFeature(BaseModel):
    billing_cycle_anchor: str | None
    default_allowed_updates: list[str]
    enabled: bool
    products: list[UpdateProduct] | None
    proration_behavior: str
    schedule_at_period_end: ScheduleAtPeriodEnd
    trial_update_behavior: str


class Features(BaseModel):
    customer_update: CustomerUpdateFeature
    invoice_history: EnabledFeature
    payment_method_update: PaymentMethodUpdateFeature
    subscription_cancel: SubscriptionCancelFeature
    subscription_pause: EnabledFeature = Field(description="Always off: no pausing here.")
    subscription_update: SubscriptionUpdateFeature


class LoginPage(BaseModel):
    enabled: bool = Field(description="Always false: no hosted login page yet.")
    url: str | None


class PortalConfiguration(BaseModel):
    id: str
    object: Literal["billing_portal.configuration"]
    active: bool
    application: str | None
    business_profile: BusinessProfile
    created: int
    default_return_url: str | None
    features: Features
    is_default: bool
    livemode: bool
    login_page: LoginPage
    metadata: dict[str, str]
    name: str | None
    updated: int


class PortalSession(BaseModel):
    id: str
    object: Literal["billing_portal.session"]
    configuration: str | PortalConfiguration = Field(
        description="The configuration's id (`bpc_…`), or expanded: the configuration."
    )
    created: int
    customer: str
    expires_at: int = Field(
        description="Not in Stripe's object: when the link stops opening, if not opened by then."
    )
    flow: dict[str, Any] | None = Field(description="Always null: no flows yet.")
    livemode: bool
    locale: str | None
    on_behalf_of: str | None
    return_url: str | None
    url: str | None = Field(
        description="The portal's link, opened once by the customer's browser. Shown in the"
        " answer to the request that made the session only: null in its event."
    )


def _unix(moment: Any) -> int:
    return int(moment.timestamp())


def configuration_object(row: PortalConfigurationRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "billing_portal.configuration",
        "active": row.active,
        "application": None,
        "business_profile": {
            "headline": row.business_profile.get("headline"),
            "privacy_policy_url": row.business_profile.get("privacy_policy_url"),
            "terms_of_service_url": row.business_profile.get("terms_of_service_url"),
        },
        "created": _unix(row.created_at),
        "default_return_url": row.default_return_url,
        "features": row.features,
        "is_default": row.is_default,
        "livemode": row.livemode,
        "login_page": {"enabled": False, "url": None},
        "metadata": row.metadata_,
        "name": row.name,
        "updated": _unix(row.updated_at),
    }


def session_object(
    row: PortalSessionRow,
    url: str | None,
    configuration: PortalConfigurationRow | None = None,
) -> dict[str, Any]:
    """The session; ``configuration`` given: expanded."""
    return {
        "id": row.id,
        "object": "billing_portal.session",
        "configuration": configuration_object(configuration)
        if configuration is not None
        else row.configuration_id,
        "created": _unix(row.created_at),
        "customer": row.customer_id,
        "expires_at": _unix(row.link_expires_at),
        "flow": None,
        "livemode": row.livemode,
        "locale": row.locale,
        "on_behalf_of": None,
        "return_url": row.return_url,
        "url": url,
    }
