"""The catalog's use cases, as its routes and the rest of billing reach them. Never commits:
the request or job owns the transaction.

Split by noun, each file short enough to hold in mind:

- ``products``: products (create with a default price, update, delete while unpriced, list,
  search);
- ``prices``: prices (create with a product, update what Stripe allows, list, search), and
  :meth:`PriceService.billable`, a price as an invoice line or subscription item takes it;
- ``coupons``: coupons, and their redemptions (:meth:`CouponService.redeemable`,
  :meth:`CouponService.redeem`, idempotent per redemption id and safe under concurrency);
- ``promotion_codes``: promotion codes, and :meth:`PromotionCodeService.resolve`, a typed code
  checked against a purchase;
- ``records``: writing products and prices, which each make the other;
- ``listing``: lists and searches of objects whose id the merchant may choose.

The discount arithmetic is pure: ``domain.discount_amount`` (and ``applies_in``,
``applies_to_product``) on the ``CouponTerms`` these services return.
"""

from __future__ import annotations

from beyondpay.billing.catalog.coupons import (
    CouponService,
    coupon_service,
    coupon_terms,
)
from beyondpay.billing.catalog.coupons import rendered as coupon_rendered
from beyondpay.billing.catalog.domain import (
    CouponTerms,
    Purchase,
    applies_in,
    applies_to_product,
    discount_amount,
)
from beyondpay.billing.catalog.prices import (
    BillablePrice,
    PriceService,
    Recurrence,
    price_service,
)
from beyondpay.billing.catalog.products import ProductService, product_service
from beyondpay.billing.catalog.promotion_codes import (
    PromotionCodeService,
    ResolvedPromotion,
    promotion_code_service,
)

__all__ = [
    "BillablePrice",
    "CouponService",
    "CouponTerms",
    "PriceService",
    "ProductService",
    "PromotionCodeService",
    "Purchase",
    "Recurrence",
    "ResolvedPromotion",
    "applies_in",
    "applies_to_product",
    "coupon_rendered",
    "coupon_service",
    "coupon_terms",
    "discount_amount",
    "price_service",
    "product_service",
    "promotion_code_service",
]
