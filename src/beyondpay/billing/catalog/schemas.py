"""Product, price, coupon and promotion code parameters and objects, in Stripe's shape.

One extension of ours: a product's ``hsn_sac``, the HSN (goods) or SAC (services) code GST
invoices print on its lines. It is a field of its own, not derived from ``tax_code``: Stripe's
tax codes (``txcd_…``) classify products for Stripe Tax and map to no HSN or SAC code.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    ValidationInfo,
    field_validator,
)

from beyondpay.billing.catalog.domain import (
    DURATION_IN_MONTHS_MAX,
    INTERVAL_COUNT_MAX,
    TRIAL_PERIOD_DAYS_MAX,
    BillingScheme,
    Duration,
    Interval,
    PriceType,
    ProductType,
    TaxBehavior,
    UsageType,
    hsn_sac_problem,
    interval_problem,
    percent_from_basis_points,
    percent_off_basis_points,
)
from beyondpay.billing.catalog.models import CouponRow, PriceRow, ProductRow, PromotionCodeRow
from beyondpay.db.pagination import EXPAND_MAX, UNIX_S_MAX, ListParams
from beyondpay.db.search import SearchParams
from beyondpay.kit.money import (
    AMOUNT_MINOR_MAX,
    UnknownCurrencyError,
    accepted_currencies_message,
    normalize_currency,
)
from beyondpay.kit.params import Params, check_metadata
from beyondpay.payments.schemas import Currency, StatementDescriptor

ID_CHARS_MAX: Final = 255
# Ours: an id a merchant chooses (a product's, a coupon's) is a path segment; letters, digits,
# "_" and "-", at most 100 characters.
CHOSEN_ID_CHARS_MAX: Final = 100
CHOSEN_ID_PATTERN: Final = r"^[A-Za-z0-9_-]+$"
# Stripe's limits.
NAME_CHARS_MAX: Final = 5_000
DESCRIPTION_CHARS_MAX: Final = 40_000
IMAGES_MAX: Final = 8
URL_CHARS_MAX: Final = 2_048
UNIT_LABEL_CHARS_MAX: Final = 12
MARKETING_FEATURES_MAX: Final = 15
MARKETING_FEATURE_CHARS_MAX: Final = 80
TAX_CODE_PATTERN: Final = r"^txcd_[0-9]{8}$"
LOOKUP_KEY_CHARS_MAX: Final = 200
NICKNAME_CHARS_MAX: Final = 5_000
LOOKUP_KEYS_MAX: Final = 10
COUPON_NAME_CHARS_MAX: Final = 40
PROMOTION_CODE_CHARS_MAX: Final = 500
PROMOTION_CODE_PATTERN: Final = r"^[A-Za-z0-9-]+$"
# Ours: how many products a coupon may be limited to, and how many ids one list may name.
APPLIES_TO_PRODUCTS_MAX: Final = 100
LIST_IDS_MAX: Final = 100
# Ours: a package dimension (inches, ounces) is positive and below a million.
PACKAGE_DIMENSION_MAX: Final = 1_000_000
# A redemption count is a PostgreSQL integer.
REDEMPTIONS_MAX: Final = 2**31 - 1
# A product, price or coupon whose id is "search" could not be read: GET /v1/products/search
# is the search.
RESERVED_IDS: Final = frozenset({"search"})

MetadataParam = Annotated[dict[str, str] | str | None, AfterValidator(check_metadata)]
Id = Annotated[str, Field(min_length=1, max_length=ID_CHARS_MAX)]
Expand = Annotated[list[str], Field(default_factory=list, max_length=EXPAND_MAX)]
UnixTime = Annotated[int, Field(ge=0, le=UNIX_S_MAX)]
UnitAmount = Annotated[int, Field(ge=0, le=AMOUNT_MINOR_MAX)]
PositiveAmount = Annotated[int, Field(ge=1, le=AMOUNT_MINOR_MAX)]
Redemptions = Annotated[int, Field(ge=1, le=REDEMPTIONS_MAX)]


def _chosen_id(value: str | None) -> str | None:
    if value is not None and value in RESERVED_IDS:
        raise ValueError(f"{value!r} is reserved: choose another id")
    return value


ChosenId = Annotated[
    str | None,
    Field(default=None, min_length=1, max_length=CHOSEN_ID_CHARS_MAX, pattern=CHOSEN_ID_PATTERN),
    AfterValidator(_chosen_id),
]


def _blank_is_none(value: Any) -> Any:
    """A parameter sent as "" is unset (an update) or not given (a create), as in Stripe."""
    return None if value == "" else value


def _blank_is_empty_list(value: Any) -> Any:
    return [] if value == "" else value


def _url(value: str | None) -> str | None:
    if value is not None and not value.startswith(("https://", "http://")):
        raise ValueError("it must be an http or https URL")
    return value


def _hsn_sac(value: str | None) -> str | None:
    problem = None if value is None else hsn_sac_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _percent(value: Decimal | None) -> Decimal | None:
    if value is not None:
        percent_off_basis_points(value)  # raises ValueError saying why not
    return value


def _whole_minor_units(value: Decimal | None) -> Decimal | None:
    """``unit_amount_decimal``: accepted where it is a whole number of minor units (what
    ``unit_amount`` says); fractions of a paisa may wait."""
    if value is None:
        return None
    if not value.is_finite() or value != value.to_integral_value():
        raise ValueError(
            "fractions of the currency's smallest unit may wait: send a whole number of minor"
            " units (or unit_amount)"
        )
    if not 0 <= value <= AMOUNT_MINOR_MAX:
        raise ValueError(f"it must be from 0 to {AMOUNT_MINOR_MAX}")
    return value


def _currency_keys(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """A hash keyed by currency (Stripe's ``currency_options``): keys in lower case."""
    if value is None:
        return None
    keyed: dict[str, Any] = {}
    for key, item in value.items():
        try:
            keyed[normalize_currency(key)] = item
        except UnknownCurrencyError:
            raise ValueError(f"its keys are currencies: {accepted_currencies_message()}") from None
    return keyed


Description = Annotated[
    str | None,
    Field(default=None, max_length=DESCRIPTION_CHARS_MAX),
    BeforeValidator(_blank_is_none),
]
Url = Annotated[
    str | None,
    Field(default=None, max_length=URL_CHARS_MAX),
    BeforeValidator(_blank_is_none),
    AfterValidator(_url),
]
Images = Annotated[
    list[Annotated[str, Field(max_length=URL_CHARS_MAX), AfterValidator(_url)]] | None,
    Field(default=None, max_length=IMAGES_MAX),
    BeforeValidator(_blank_is_empty_list),
]
UnitLabel = Annotated[
    str | None,
    Field(default=None, max_length=UNIT_LABEL_CHARS_MAX),
    BeforeValidator(_blank_is_none),
]
TaxCode = Annotated[
    str | None,
    Field(default=None, pattern=TAX_CODE_PATTERN, description="A Stripe tax code (`txcd_…`)."),
    BeforeValidator(_blank_is_none),
]
HsnSac = Annotated[
    str | None,
    Field(
        default=None,
        max_length=8,
        description="Ours: the HSN code (goods) or SAC code (services, chapter 99) GST"
        " invoices print on this product's lines; 4, 6 or 8 digits.",
    ),
    BeforeValidator(_blank_is_none),
    AfterValidator(_hsn_sac),
]
LookupKey = Annotated[str, Field(min_length=1, max_length=LOOKUP_KEY_CHARS_MAX)]
Nickname = Annotated[
    str | None, Field(default=None, max_length=NICKNAME_CHARS_MAX), BeforeValidator(_blank_is_none)
]
UnitAmountDecimal = Annotated[
    Decimal | None,
    Field(default=None, description="A whole number of minor units, as text."),
    AfterValidator(_whole_minor_units),
]


# ---- products ----------------------------------------------------------------------------------


class MarketingFeatureParams(Params):
    name: Annotated[str, Field(min_length=1, max_length=MARKETING_FEATURE_CHARS_MAX)]


MarketingFeatures = Annotated[
    list[MarketingFeatureParams] | None,
    Field(default=None, max_length=MARKETING_FEATURES_MAX),
    BeforeValidator(_blank_is_empty_list),
]
Dimension = Annotated[float, Field(gt=0, le=PACKAGE_DIMENSION_MAX)]


class PackageDimensionsParams(Params):
    """Stripe's ``package_dimensions``: inches and ounces, all four required."""

    height: Dimension
    length: Dimension
    weight: Dimension
    width: Dimension


PackageDimensionsParam = Annotated[PackageDimensionsParams | None, BeforeValidator(_blank_is_none)]


class DefaultPriceRecurringParams(Params):
    interval: Interval
    interval_count: Annotated[int, Field(ge=1, le=INTERVAL_COUNT_MAX[Interval.day])] = 1

    @field_validator("interval_count")
    @classmethod
    def _at_most_a_year(cls, value: int, info: ValidationInfo) -> int:
        interval = info.data.get("interval")
        problem = None if interval is None else interval_problem(interval, value)
        if problem is not None:
            raise ValueError(problem)
        return value


class DefaultPriceDataParams(Params):
    """A product's first price, made with it (``default_price_data``)."""

    currency: Currency
    unit_amount: UnitAmount | None = None
    unit_amount_decimal: UnitAmountDecimal = None
    recurring: DefaultPriceRecurringParams | None = None
    tax_behavior: TaxBehavior | None = None
    metadata: MetadataParam = None


class ProductParams(Params):
    """What creating and updating a product share; "" unsets a field on an update."""

    active: bool | None = None
    description: Description = None
    images: Images = None
    marketing_features: MarketingFeatures = None
    metadata: MetadataParam = None
    package_dimensions: PackageDimensionsParam = None
    shippable: bool | None = None
    statement_descriptor: Annotated[StatementDescriptor, BeforeValidator(_blank_is_none)] = None
    tax_code: TaxCode = None
    unit_label: UnitLabel = None
    url: Url = None
    hsn_sac: HsnSac = None
    expand: Expand


class ProductCreateParams(ProductParams):
    id: ChosenId = None
    active: bool = True
    name: Annotated[str, Field(min_length=1, max_length=NAME_CHARS_MAX)]
    default_price_data: DefaultPriceDataParams | None = None
    type: Annotated[
        ProductType | None,
        Field(
            default=None,
            description="good or service; without it, the HSN/SAC code decides (a SAC code, "
            "chapter 99, is a service), else service.",
        ),
    ] = None


class ProductUpdateParams(ProductParams):
    name: Annotated[str | None, Field(default=None, min_length=1, max_length=NAME_CHARS_MAX)]
    default_price: Annotated[
        str | None,
        Field(default=None, max_length=ID_CHARS_MAX, description="A price of this product."),
    ] = None


class ProductListParams(ListParams):
    active: bool | None = None
    ids: Annotated[list[Id] | None, Field(default=None, max_length=LIST_IDS_MAX)] = None
    shippable: bool | None = None
    type: ProductType | None = None
    url: Annotated[str | None, Field(default=None, max_length=URL_CHARS_MAX)] = None


class ProductSearchParams(SearchParams):
    """Products searched by ``active``, ``created``, ``description``, ``name``, ``shippable``,
    ``url`` and ``metadata['key']``."""


# ---- prices ------------------------------------------------------------------------------------


class PriceRecurringParams(Params):
    interval: Interval
    interval_count: Annotated[int, Field(ge=1, le=INTERVAL_COUNT_MAX[Interval.day])] = 1
    trial_period_days: Annotated[
        int | None, Field(default=None, ge=0, le=TRIAL_PERIOD_DAYS_MAX)
    ] = None
    usage_type: UsageType = UsageType.licensed

    @field_validator("interval_count")
    @classmethod
    def _at_most_a_year(cls, value: int, info: ValidationInfo) -> int:
        interval = info.data.get("interval")
        problem = None if interval is None else interval_problem(interval, value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("usage_type")
    @classmethod
    def _licensed_only(cls, value: UsageType) -> UsageType:
        if value is UsageType.metered:
            raise ValueError(
                "metered prices (billed on reported usage) may wait: only licensed prices"
                " (billed per quantity) are offered"
            )
        return value


def _per_unit_only(value: BillingScheme) -> BillingScheme:
    if value is BillingScheme.tiered:
        raise ValueError("tiers may wait: only per_unit prices are offered")
    return value


class PriceProductDataParams(Params):
    """The product a price is made with (``product_data``)."""

    name: Annotated[str, Field(min_length=1, max_length=NAME_CHARS_MAX)]
    id: ChosenId = None
    active: bool = True
    metadata: MetadataParam = None
    statement_descriptor: StatementDescriptor = None
    tax_code: TaxCode = None
    unit_label: UnitLabel = None
    hsn_sac: HsnSac = None


class PriceCreateParams(Params):
    currency: Currency
    active: bool = True
    billing_scheme: Annotated[BillingScheme, AfterValidator(_per_unit_only)] = (
        BillingScheme.per_unit
    )
    lookup_key: LookupKey | None = None
    metadata: MetadataParam = None
    nickname: Nickname = None
    product: Id | None = None
    product_data: PriceProductDataParams | None = None
    recurring: PriceRecurringParams | None = None
    tax_behavior: TaxBehavior | None = None
    transfer_lookup_key: bool = False
    unit_amount: UnitAmount | None = None
    unit_amount_decimal: UnitAmountDecimal = None
    expand: Expand


class PriceUpdateParams(Params):
    """What Stripe lets change on a price: the rest makes a new price."""

    active: bool | None = None
    lookup_key: Annotated[str | None, Field(default=None, max_length=LOOKUP_KEY_CHARS_MAX)] = (
        None  # "" removes it
    )
    metadata: MetadataParam = None
    nickname: Nickname = None
    tax_behavior: TaxBehavior | None = None
    transfer_lookup_key: bool = False
    expand: Expand


class PriceListRecurringParams(Params):
    interval: Interval | None = None
    usage_type: UsageType | None = None


class PriceListParams(ListParams):
    # Stripe's list shows active prices unless asked for the archived ones (active=false).
    active: bool = True
    currency: Currency | None = None
    product: Id | None = None
    type: PriceType | None = None
    lookup_keys: Annotated[list[LookupKey] | None, Field(default=None, max_length=LOOKUP_KEYS_MAX)]
    recurring: PriceListRecurringParams | None = None


class PriceSearchParams(SearchParams):
    """Prices searched by ``active``, ``created``, ``currency``, ``lookup_key``, ``product``,
    ``type`` and ``metadata['key']``."""


# ---- coupons -----------------------------------------------------------------------------------


class CouponAppliesToParams(Params):
    products: Annotated[list[Id], Field(min_length=1, max_length=APPLIES_TO_PRODUCTS_MAX)]


class CouponCurrencyOptionParams(Params):
    amount_off: PositiveAmount


CouponCurrencyOptions = Annotated[
    dict[str, CouponCurrencyOptionParams] | None,
    Field(default=None),
    AfterValidator(_currency_keys),
]


class CouponCreateParams(Params):
    id: ChosenId = None
    amount_off: PositiveAmount | None = None
    currency: Currency | None = None
    currency_options: CouponCurrencyOptions = None
    duration: Duration = Duration.once
    duration_in_months: Annotated[
        int | None, Field(default=None, ge=1, le=DURATION_IN_MONTHS_MAX)
    ] = None
    max_redemptions: Redemptions | None = None
    metadata: MetadataParam = None
    name: Annotated[str | None, Field(default=None, max_length=COUPON_NAME_CHARS_MAX)] = None
    percent_off: Annotated[
        Decimal | None,
        Field(default=None, description="More than 0, at most 100, at most two decimals."),
        AfterValidator(_percent),
    ] = None
    redeem_by: UnixTime | None = None
    applies_to: CouponAppliesToParams | None = None
    expand: Expand


class CouponUpdateParams(Params):
    currency_options: CouponCurrencyOptions = None
    metadata: MetadataParam = None
    name: Annotated[str | None, Field(default=None, max_length=COUPON_NAME_CHARS_MAX)] = (
        None  # "" removes it
    )
    expand: Expand


class CouponListParams(ListParams):
    pass


# ---- promotion codes ---------------------------------------------------------------------------


class PromotionParams(Params):
    """Stripe's ``promotion``: what the code redeems (a coupon, today its only kind)."""

    type: Literal["coupon"]
    coupon: Id | None = None


class MinimumAmountOptionParams(Params):
    minimum_amount: PositiveAmount


MinimumAmountOptions = Annotated[
    dict[str, MinimumAmountOptionParams] | None,
    Field(default=None),
    AfterValidator(_currency_keys),
]


class PromotionCodeRestrictionsParams(Params):
    first_time_transaction: bool = False
    minimum_amount: PositiveAmount | None = None
    minimum_amount_currency: Currency | None = None
    currency_options: MinimumAmountOptions = None


class PromotionCodeUpdateRestrictionsParams(Params):
    currency_options: MinimumAmountOptions = None


PromotionCodeText = Annotated[
    str, Field(min_length=1, max_length=PROMOTION_CODE_CHARS_MAX, pattern=PROMOTION_CODE_PATTERN)
]


class PromotionCodeCreateParams(Params):
    active: bool = True
    code: PromotionCodeText | None = None
    # Stripe's newer promotion[coupon] and its older coupon: one of them.
    coupon: Id | None = None
    promotion: PromotionParams | None = None
    customer: Id | None = None
    expires_at: UnixTime | None = None
    max_redemptions: Redemptions | None = None
    metadata: MetadataParam = None
    restrictions: PromotionCodeRestrictionsParams | None = None
    expand: Expand


class PromotionCodeUpdateParams(Params):
    active: bool | None = None
    metadata: MetadataParam = None
    restrictions: PromotionCodeUpdateRestrictionsParams | None = None
    expand: Expand


class PromotionCodeListParams(ListParams):
    active: bool | None = None
    code: Annotated[str | None, Field(default=None, max_length=PROMOTION_CODE_CHARS_MAX)] = None
    coupon: Id | None = None
    customer: Id | None = None


# ---- objects -----------------------------------------------------------------------------------


class MarketingFeature(BaseModel):
    name: str


class PackageDimensions(BaseModel):
    height: float
    length: float
    weight: float
    width: float


class Product(BaseModel):
    id: str
    object: Literal["product"]
    active: bool
    created: int
    default_price: str | Price | None = Field(description="The price's id, or expanded.")
    description: str | None
    hsn_sac: str | None = Field(
        description="Ours: the HSN (goods) or SAC (services) code GST invoices print."
    )
    images: list[str]
    livemode: bool
    marketing_features: list[MarketingFeature]
    metadata: dict[str, str]
    name: str
    package_dimensions: PackageDimensions | None
    shippable: bool | None
    statement_descriptor: str | None
    tax_code: str | None
    type: str = Field(description="good or service.")
    unit_label: str | None
    updated: int
    url: str | None


class DeletedProduct(BaseModel):
    id: str
    object: Literal["product"]
    deleted: Literal[True]


class PriceRecurring(BaseModel):
    interval: str
    interval_count: int
    meter: None = None
    trial_period_days: int | None
    usage_type: str


class Price(BaseModel):
    id: str
    object: Literal["price"]
    active: bool
    billing_scheme: str = Field(description="per_unit (tiers may wait).")
    created: int
    currency: str
    currency_options: None = None
    custom_unit_amount: None = None
    livemode: bool
    lookup_key: str | None
    metadata: dict[str, str]
    nickname: str | None
    product: str | Product = Field(description="The product's id, or expanded.")
    recurring: PriceRecurring | None
    tax_behavior: str = Field(description="inclusive, exclusive or unspecified.")
    tiers_mode: None = None
    transform_quantity: None = None
    type: str = Field(description="one_time or recurring.")
    unit_amount: int
    unit_amount_decimal: str


class ProductSearchResult(BaseModel):
    object: Literal["search_result"]
    url: str
    has_more: bool
    data: list[Product]
    next_page: str | None


class PriceSearchResult(BaseModel):
    object: Literal["search_result"]
    url: str
    has_more: bool
    data: list[Price]
    next_page: str | None


class CouponAppliesTo(BaseModel):
    products: list[str]


class CouponCurrencyOption(BaseModel):
    amount_off: int


class Coupon(BaseModel):
    id: str
    object: Literal["coupon"]
    amount_off: int | None
    applies_to: CouponAppliesTo | None
    created: int
    currency: str | None
    currency_options: dict[str, CouponCurrencyOption] | None
    duration: str = Field(description="once, repeating or forever.")
    duration_in_months: int | None
    livemode: bool
    max_redemptions: int | None
    metadata: dict[str, str]
    name: str | None
    percent_off: float | None
    redeem_by: int | None
    times_redeemed: int
    valid: bool = Field(description="Whether the coupon can still be redeemed now.")


class DeletedCoupon(BaseModel):
    id: str
    object: Literal["coupon"]
    deleted: Literal[True]


class Promotion(BaseModel):
    type: Literal["coupon"]
    coupon: str | Coupon = Field(description="The coupon's id, or expanded.")


class MinimumAmountOption(BaseModel):
    minimum_amount: int


class PromotionCodeRestrictions(BaseModel):
    # Always a hash (empty without options): Stripe's SDKs read it as one.
    currency_options: dict[str, MinimumAmountOption]
    first_time_transaction: bool
    minimum_amount: int | None
    minimum_amount_currency: str | None


class PromotionCode(BaseModel):
    id: str
    object: Literal["promotion_code"]
    active: bool
    code: str
    created: int
    customer: str | None
    customer_account: None = None
    expires_at: int | None
    livemode: bool
    max_redemptions: int | None
    metadata: dict[str, str]
    promotion: Promotion
    restrictions: PromotionCodeRestrictions
    times_redeemed: int


Product.model_rebuild()
Price.model_rebuild()


# ---- renderings --------------------------------------------------------------------------------


def _unix(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


def product_object(row: ProductRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "product",
        "active": row.active,
        "created": int(row.created_at.timestamp()),
        "default_price": row.default_price_id,
        "description": row.description,
        "hsn_sac": row.hsn_sac,
        "images": list(row.images),
        "livemode": row.livemode,
        "marketing_features": list(row.marketing_features),
        "metadata": row.metadata_,
        "name": row.name,
        "package_dimensions": row.package_dimensions,
        "shippable": row.shippable,
        "statement_descriptor": row.statement_descriptor,
        "tax_code": row.tax_code,
        "type": row.type,
        "unit_label": row.unit_label,
        "updated": int(row.updated_at.timestamp()),
        "url": row.url,
    }


def deleted_product_object(product_id: str) -> dict[str, Any]:
    return {"id": product_id, "object": "product", "deleted": True}


def price_object(row: PriceRow) -> dict[str, Any]:
    recurring = None
    if row.recurring_interval is not None:
        recurring = {
            "interval": row.recurring_interval,
            "interval_count": row.recurring_interval_count,
            "meter": None,
            "trial_period_days": row.recurring_trial_period_days,
            "usage_type": row.recurring_usage_type,
        }
    return {
        "id": row.id,
        "object": "price",
        "active": row.active,
        "billing_scheme": row.billing_scheme,
        "created": int(row.created_at.timestamp()),
        "currency": row.currency,
        "currency_options": None,
        "custom_unit_amount": None,
        "livemode": row.livemode,
        "lookup_key": row.lookup_key,
        "metadata": row.metadata_,
        "nickname": row.nickname,
        "product": row.product_id,
        "recurring": recurring,
        "tax_behavior": row.tax_behavior,
        "tiers_mode": None,
        "transform_quantity": None,
        "type": row.type,
        "unit_amount": row.unit_amount,
        "unit_amount_decimal": str(row.unit_amount),
    }


def coupon_object(row: CouponRow, valid: bool) -> dict[str, Any]:
    """The coupon; ``valid`` is whether it can be redeemed now (the service decides)."""
    percent = row.percent_off_basis_points
    return {
        "id": row.id,
        "object": "coupon",
        "amount_off": row.amount_off,
        "applies_to": (
            None if row.applies_to_products is None else {"products": row.applies_to_products}
        ),
        "created": int(row.created_at.timestamp()),
        "currency": row.currency,
        "currency_options": (
            {currency: {"amount_off": amount} for currency, amount in row.currency_options.items()}
            if row.currency_options
            else None
        ),
        "duration": row.duration,
        "duration_in_months": row.duration_in_months,
        "livemode": row.livemode,
        "max_redemptions": row.max_redemptions,
        "metadata": row.metadata_,
        "name": row.name,
        "percent_off": None if percent is None else percent_from_basis_points(percent),
        "redeem_by": _unix(row.redeem_by),
        "times_redeemed": row.times_redeemed,
        "valid": valid,
    }


def deleted_coupon_object(coupon_id: str) -> dict[str, Any]:
    return {"id": coupon_id, "object": "coupon", "deleted": True}


def promotion_code_object(row: PromotionCodeRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "promotion_code",
        "active": row.active,
        "code": row.code,
        "created": int(row.created_at.timestamp()),
        "customer": row.customer_id,
        "customer_account": None,
        "expires_at": _unix(row.expires_at),
        "livemode": row.livemode,
        "max_redemptions": row.max_redemptions,
        "metadata": row.metadata_,
        "promotion": {"type": "coupon", "coupon": row.coupon_id},
        "restrictions": {
            "currency_options": {
                currency: {"minimum_amount": amount}
                for currency, amount in row.minimum_amounts.items()
            },
            "first_time_transaction": row.first_time_transaction,
            "minimum_amount": row.minimum_amount,
            "minimum_amount_currency": row.minimum_amount_currency,
        },
        "times_redeemed": row.times_redeemed,
    }


def unix_to_datetime(unix_s: int | None) -> datetime | None:
    return None if unix_s is None else datetime.fromtimestamp(unix_s, tz=UTC)
