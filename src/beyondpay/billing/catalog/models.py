"""The catalog's tables (migration 0030). Only this module writes them.

Products and coupons may have ids their merchant chose (``prod_basic``, ``DIWALI25``), so they
are keyed by (merchant, mode, id), and listed by ``list_key``, a time-ordered id minted at
creation (a chosen id says nothing of when the object was made). Prices and promotion codes
have only ids minted here, which are time-ordered already.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Integer, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base

_TIME = DateTime(timezone=True)


class ProductRow(Base):
    __tablename__ = "products"

    merchant_id: Mapped[str] = mapped_column(Text, primary_key=True)
    livemode: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    list_key: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean)
    type: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    images: Mapped[list[str]] = mapped_column(ARRAY(Text))
    marketing_features: Mapped[list[dict[str, str]]] = mapped_column(JSONB)
    package_dimensions: Mapped[dict[str, float] | None] = mapped_column(JSONB)
    shippable: Mapped[bool | None] = mapped_column(Boolean)
    statement_descriptor: Mapped[str | None] = mapped_column(Text)
    tax_code: Mapped[str | None] = mapped_column(Text)
    hsn_sac: Mapped[str | None] = mapped_column(Text)
    unit_label: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    default_price_id: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONB)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)


class PriceRow(Base):
    __tablename__ = "prices"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    product_id: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean)
    currency: Mapped[str] = mapped_column(Text)
    unit_amount: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(Text)
    billing_scheme: Mapped[str] = mapped_column(Text)
    recurring_interval: Mapped[str | None] = mapped_column(Text)
    recurring_interval_count: Mapped[int | None] = mapped_column(Integer)
    recurring_trial_period_days: Mapped[int | None] = mapped_column(Integer)
    recurring_usage_type: Mapped[str | None] = mapped_column(Text)
    tax_behavior: Mapped[str] = mapped_column(Text)
    lookup_key: Mapped[str | None] = mapped_column(Text)
    nickname: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONB)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)


class CouponRow(Base):
    __tablename__ = "coupons"

    merchant_id: Mapped[str] = mapped_column(Text, primary_key=True)
    livemode: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    list_key: Mapped[str] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    percent_off_basis_points: Mapped[int | None] = mapped_column(Integer)
    amount_off: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(Text)
    # Stripe's currency_options[<currency>][amount_off], as {currency: amount_off}.
    currency_options: Mapped[dict[str, int]] = mapped_column(JSONB)
    duration: Mapped[str] = mapped_column(Text)
    duration_in_months: Mapped[int | None] = mapped_column(Integer)
    max_redemptions: Mapped[int | None] = mapped_column(Integer)
    redeem_by: Mapped[datetime | None] = mapped_column(_TIME)
    times_redeemed: Mapped[int] = mapped_column(Integer)
    applies_to_products: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONB)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)
    # Kept when deleted: discounts already given keep naming the coupon's terms.
    deleted_at: Mapped[datetime | None] = mapped_column(_TIME)


class PromotionCodeRow(Base):
    __tablename__ = "promotion_codes"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    code: Mapped[str] = mapped_column(Text)
    coupon_id: Mapped[str] = mapped_column(Text)
    customer_id: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean)
    expires_at: Mapped[datetime | None] = mapped_column(_TIME)
    max_redemptions: Mapped[int | None] = mapped_column(Integer)
    times_redeemed: Mapped[int] = mapped_column(Integer)
    first_time_transaction: Mapped[bool] = mapped_column(Boolean)
    minimum_amount: Mapped[int | None] = mapped_column(BigInteger)
    minimum_amount_currency: Mapped[str | None] = mapped_column(Text)
    # Stripe's restrictions[currency_options][<currency>][minimum_amount], as {currency: amount}.
    minimum_amounts: Mapped[dict[str, int]] = mapped_column(JSONB)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONB)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)


class RedemptionRow(Base):
    """One redemption of a coupon (through a promotion code or not), under the id its caller
    chose (``<subscription>:discount``): the key that makes recording it idempotent."""

    __tablename__ = "coupon_redemptions"

    merchant_id: Mapped[str] = mapped_column(Text, primary_key=True)
    livemode: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    coupon_id: Mapped[str] = mapped_column(Text)
    promotion_code_id: Mapped[str | None] = mapped_column(Text)
    customer_id: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(_TIME)
