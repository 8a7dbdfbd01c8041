"""Typed errors of the catalog, each with a stable code (Stripe's where Stripe has one)."""

from __future__ import annotations

from beyondpay.kit.errors import InvalidRequestError


class ResourceAlreadyExistsError(InvalidRequestError):
    """A product or coupon id the merchant chose that one of theirs already has (Stripe's)."""

    code = "resource_already_exists"


class ProductHasPricesError(InvalidRequestError):
    """Stripe deletes a product only while no price names it; archive it instead."""

    code = "product_has_prices"


class LookupKeyInUseError(InvalidRequestError):
    """Another active price has the lookup key (``transfer_lookup_key=true`` moves it)."""

    code = "lookup_key_in_use"


class PromotionCodeInUseError(InvalidRequestError):
    """Another active promotion code has the code, in any case."""

    code = "promotion_code_in_use"


class PriceUnchangeableError(InvalidRequestError):
    """A change Stripe does not allow a price: tax behaviour once set, the default price
    archived."""

    code = "price_unchangeable"


class PriceInactiveError(InvalidRequestError):
    """An archived price (or a price of an archived product) named for a new purchase."""

    code = "price_inactive"


class CouponExpiredError(InvalidRequestError):
    """Stripe's ``coupon_expired``: the coupon was deleted, its ``redeem_by`` has passed or it
    was redeemed ``max_redemptions`` times. The message says which."""

    code = "coupon_expired"


class CouponNotApplicableError(InvalidRequestError):
    """An amount-off coupon named for a purchase in a currency it takes nothing off in."""

    code = "coupon_not_applicable"


class PromotionCodeInvalidError(InvalidRequestError):
    """A promotion code that cannot be redeemed by this purchase: inactive, expired, fully
    redeemed, another customer's, or its restrictions unmet. The message says which."""

    code = "promotion_code_invalid"


class RedemptionIdReusedError(InvalidRequestError):
    """A redemption id already recorded for another coupon or promotion code."""

    code = "redemption_id_reused"
