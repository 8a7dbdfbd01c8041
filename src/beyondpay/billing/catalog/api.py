"""Product, price, coupon and promotion code routes: parse, authorize, call the service,
render."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import Path
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.api.access import (
    CouponsReader,
    CouponsWriter,
    PricesReader,
    PricesWriter,
    ProductsReader,
    ProductsWriter,
    PromotionCodesReader,
    PromotionCodesWriter,
)
from beyondpay.api.auth import SessionDep
from beyondpay.api.mutation import Outcome
from beyondpay.api.routing import Body, Listed, Query, Router, listed
from beyondpay.billing.catalog.models import PriceRow, ProductRow, PromotionCodeRow
from beyondpay.billing.catalog.schemas import (
    Coupon,
    CouponCreateParams,
    CouponListParams,
    CouponUpdateParams,
    DeletedCoupon,
    DeletedProduct,
    Price,
    PriceCreateParams,
    PriceListParams,
    PriceSearchParams,
    PriceSearchResult,
    PriceUpdateParams,
    Product,
    ProductCreateParams,
    ProductListParams,
    ProductSearchParams,
    ProductSearchResult,
    ProductUpdateParams,
    PromotionCode,
    PromotionCodeCreateParams,
    PromotionCodeListParams,
    PromotionCodeUpdateParams,
    deleted_coupon_object,
    deleted_product_object,
    price_object,
    product_object,
    promotion_code_object,
)
from beyondpay.billing.catalog.service import (
    coupon_rendered,
    coupon_service,
    price_service,
    product_service,
    promotion_code_service,
)
from beyondpay.merchants.domain import Caller

PRODUCT_EXPANSIONS: Final = frozenset({"default_price"})
PRICE_EXPANSIONS: Final = frozenset({"product"})
PROMOTION_CODE_EXPANSIONS: Final = frozenset({"promotion.coupon"})

products = Router(prefix="/v1/products", tags=["products"])
prices = Router(prefix="/v1/prices", tags=["prices"])
coupons = Router(prefix="/v1/coupons", tags=["coupons"])
promotion_codes = Router(prefix="/v1/promotion_codes", tags=["promotion_codes"])

ProductId = Annotated[str, Path(max_length=255, description="The product's id (`prod_…`).")]
PriceId = Annotated[str, Path(max_length=255, description="The price's id (`price_…`).")]
CouponId = Annotated[str, Path(max_length=255, description="The coupon's id.")]
PromotionCodeId = Annotated[
    str, Path(max_length=255, description="The promotion code's id (`promo_…`).")
]


async def render_product(
    session: AsyncSession, caller: Caller, row: ProductRow, expand: list[str]
) -> dict[str, Any]:
    rendered = product_object(row)
    if "default_price" in expand and row.default_price_id is not None:
        price = await price_service.get(session, caller, row.default_price_id)
        rendered["default_price"] = price_object(price)
    return rendered


async def render_price(
    session: AsyncSession, caller: Caller, row: PriceRow, expand: list[str]
) -> dict[str, Any]:
    rendered = price_object(row)
    if "product" in expand:
        product = await product_service.get(session, caller, row.product_id)
        rendered["product"] = product_object(product)
    return rendered


async def render_promotion_code(
    session: AsyncSession, caller: Caller, row: PromotionCodeRow, expand: list[str]
) -> dict[str, Any]:
    rendered = promotion_code_object(row)
    if "promotion.coupon" in expand:
        coupon = await coupon_service.get(session, caller, row.coupon_id, include_deleted=True)
        rendered["promotion"]["coupon"] = coupon_rendered(coupon)
    return rendered


# ---- products ----------------------------------------------------------------------------------


@products.post("", returns=Product, expand=PRODUCT_EXPANSIONS)
async def create_product(
    session: SessionDep,
    caller: ProductsWriter,
    params: Body[ProductCreateParams],
    expand: list[str],
) -> Outcome:
    """Create a product.

    ``default_price_data`` makes its first price with it, as its ``default_price``;
    ``hsn_sac`` (ours) is the HSN or SAC code GST invoices print on its lines.
    """
    row = await product_service.create(session, caller, params)
    return Outcome(await render_product(session, caller, row, expand))


# Declared before /{product}, which would otherwise take "search" for an id.
@products.get("/search", returns=ProductSearchResult, expand=PRODUCT_EXPANSIONS, listing=True)
async def search_products(
    session: SessionDep,
    caller: ProductsReader,
    params: Query[ProductSearchParams],
    expand: list[str],
) -> Listed:
    """Search products with Stripe's search query language.

    Fields: ``active``, ``created``, ``description``, ``name``, ``shippable``, ``url`` and
    ``metadata['key']``.
    """
    rows, has_more, next_page = await product_service.search(session, caller, params)
    data = [await render_product(session, caller, row, expand) for row in rows]
    return Listed(data, has_more, object="search_result", extra={"next_page": next_page})


@products.get("/{product}", returns=Product, expand=PRODUCT_EXPANSIONS)
async def retrieve_product(
    product: ProductId, session: SessionDep, caller: ProductsReader, expand: list[str]
) -> dict[str, Any]:
    """Retrieve a product."""
    row = await product_service.get(session, caller, product)
    return await render_product(session, caller, row, expand)


@products.post("/{product}", returns=Product, expand=PRODUCT_EXPANSIONS)
async def update_product(
    product: ProductId,
    session: SessionDep,
    caller: ProductsWriter,
    params: Body[ProductUpdateParams],
    expand: list[str],
) -> Outcome:
    """Update a product."""
    row = await product_service.update(session, caller, product, params)
    return Outcome(await render_product(session, caller, row, expand))


@products.delete("/{product}", returns=DeletedProduct)
async def delete_product(
    product: ProductId, session: SessionDep, caller: ProductsWriter
) -> Outcome:
    """Delete a product.

    Only a product no price names can be deleted, as Stripe's (archive it with
    ``active=false`` otherwise); a deleted product reads as missing.
    """
    return Outcome(deleted_product_object(await product_service.delete(session, caller, product)))


@products.get("", returns=Product, expand=PRODUCT_EXPANSIONS)
async def list_products(
    session: SessionDep,
    caller: ProductsReader,
    params: Query[ProductListParams],
    expand: list[str],
) -> Listed:
    """List products, newest first."""
    rows, has_more = await product_service.list(session, caller, params)
    return Listed([await render_product(session, caller, row, expand) for row in rows], has_more)


# ---- prices ------------------------------------------------------------------------------------


@prices.post("", returns=Price, expand=PRICE_EXPANSIONS)
async def create_price(
    session: SessionDep, caller: PricesWriter, params: Body[PriceCreateParams], expand: list[str]
) -> Outcome:
    """Create a price.

    One-time, or recurring (``recurring[interval]`` day, week, month or year, at least once a
    year); per unit, in integer minor units. Tiered and metered prices may wait.
    """
    row = await price_service.create(session, caller, params)
    return Outcome(await render_price(session, caller, row, expand))


@prices.get("/search", returns=PriceSearchResult, expand=PRICE_EXPANSIONS, listing=True)
async def search_prices(
    session: SessionDep, caller: PricesReader, params: Query[PriceSearchParams], expand: list[str]
) -> Listed:
    """Search prices with Stripe's search query language.

    Fields: ``active``, ``created``, ``currency``, ``lookup_key``, ``product``, ``type`` and
    ``metadata['key']``.
    """
    rows, has_more, next_page = await price_service.search(session, caller, params)
    data = [await render_price(session, caller, row, expand) for row in rows]
    return Listed(data, has_more, object="search_result", extra={"next_page": next_page})


@prices.get("/{price}", returns=Price, expand=PRICE_EXPANSIONS)
async def retrieve_price(
    price: PriceId, session: SessionDep, caller: PricesReader, expand: list[str]
) -> dict[str, Any]:
    """Retrieve a price."""
    return await render_price(
        session, caller, await price_service.get(session, caller, price), expand
    )


@prices.post("/{price}", returns=Price, expand=PRICE_EXPANSIONS)
async def update_price(
    price: PriceId,
    session: SessionDep,
    caller: PricesWriter,
    params: Body[PriceUpdateParams],
    expand: list[str],
) -> Outcome:
    """Update a price: ``active``, ``metadata``, ``nickname``, ``lookup_key``, and
    ``tax_behavior`` while it is unspecified."""
    row = await price_service.update(session, caller, price, params)
    return Outcome(await render_price(session, caller, row, expand))


@prices.get("", returns=Price, expand=PRICE_EXPANSIONS)
async def list_prices(
    session: SessionDep, caller: PricesReader, params: Query[PriceListParams], expand: list[str]
) -> Listed:
    """List prices, newest first: the active ones unless ``active=false``."""
    rows, has_more = await price_service.list(session, caller, params)
    return Listed([await render_price(session, caller, row, expand) for row in rows], has_more)


# ---- coupons -----------------------------------------------------------------------------------


@coupons.post("", returns=Coupon)
async def create_coupon(
    session: SessionDep, caller: CouponsWriter, params: Body[CouponCreateParams]
) -> Outcome:
    """Create a coupon.

    ``percent_off`` (at most two decimals) or ``amount_off`` with its ``currency``; ``duration``
    once, repeating (``duration_in_months``) or forever.
    """
    return Outcome(coupon_rendered(await coupon_service.create(session, caller, params)))


@coupons.get("/{coupon}", returns=Coupon)
async def retrieve_coupon(
    coupon: CouponId, session: SessionDep, caller: CouponsReader
) -> dict[str, Any]:
    """Retrieve a coupon."""
    return coupon_rendered(await coupon_service.get(session, caller, coupon))


@coupons.post("/{coupon}", returns=Coupon)
async def update_coupon(
    coupon: CouponId, session: SessionDep, caller: CouponsWriter, params: Body[CouponUpdateParams]
) -> Outcome:
    """Update a coupon: ``name``, ``metadata`` and ``currency_options``."""
    return Outcome(coupon_rendered(await coupon_service.update(session, caller, coupon, params)))


@coupons.delete("/{coupon}", returns=DeletedCoupon)
async def delete_coupon(coupon: CouponId, session: SessionDep, caller: CouponsWriter) -> Outcome:
    """Delete a coupon.

    Discounts already given keep it; it can no longer be redeemed, and its active promotion
    codes are deactivated.
    """
    row = await coupon_service.delete(session, caller, coupon)
    return Outcome(deleted_coupon_object(row.id))


@coupons.get("", returns=Coupon)
async def list_coupons(
    session: SessionDep, caller: CouponsReader, params: Query[CouponListParams]
) -> Listed:
    """List coupons, newest first."""
    return listed(coupon_rendered, await coupon_service.list(session, caller, params))


# ---- promotion codes ---------------------------------------------------------------------------


@promotion_codes.post("", returns=PromotionCode, expand=PROMOTION_CODE_EXPANSIONS)
async def create_promotion_code(
    session: SessionDep,
    caller: PromotionCodesWriter,
    params: Body[PromotionCodeCreateParams],
    expand: list[str],
) -> Outcome:
    """Create a promotion code for a coupon.

    ``promotion[coupon]`` (or the older ``coupon``) names it; ``code`` (letters, digits and
    dashes) is unique among the active codes in any case, and generated when not given.
    """
    row = await promotion_code_service.create(session, caller, params)
    return Outcome(await render_promotion_code(session, caller, row, expand))


@promotion_codes.get("/{promotion_code}", returns=PromotionCode, expand=PROMOTION_CODE_EXPANSIONS)
async def retrieve_promotion_code(
    promotion_code: PromotionCodeId,
    session: SessionDep,
    caller: PromotionCodesReader,
    expand: list[str],
) -> dict[str, Any]:
    """Retrieve a promotion code."""
    row = await promotion_code_service.get(session, caller, promotion_code)
    return await render_promotion_code(session, caller, row, expand)


@promotion_codes.post("/{promotion_code}", returns=PromotionCode, expand=PROMOTION_CODE_EXPANSIONS)
async def update_promotion_code(
    promotion_code: PromotionCodeId,
    session: SessionDep,
    caller: PromotionCodesWriter,
    params: Body[PromotionCodeUpdateParams],
    expand: list[str],
) -> Outcome:
    """Update a promotion code: ``active``, ``metadata`` and
    ``restrictions[currency_options]``."""
    row = await promotion_code_service.update(session, caller, promotion_code, params)
    return Outcome(await render_promotion_code(session, caller, row, expand))


@promotion_codes.get("", returns=PromotionCode, expand=PROMOTION_CODE_EXPANSIONS)
async def list_promotion_codes(
    session: SessionDep,
    caller: PromotionCodesReader,
    params: Query[PromotionCodeListParams],
    expand: list[str],
) -> Listed:
    """List promotion codes, newest first."""
    rows, has_more = await promotion_code_service.list(session, caller, params)
    data = [await render_promotion_code(session, caller, row, expand) for row in rows]
    return Listed(data, has_more)
