"""Billing catalog: products, prices, coupons, promotion codes and coupon redemptions.

Products and coupons may have ids their merchant chose, so their keys are (merchant, mode, id)
and they are listed by ``list_key``, an id minted here at creation. A price's product must
exist (a foreign key: a product with prices cannot be deleted), and among a merchant's active
prices a ``lookup_key`` names one price (a partial unique index). Among active promotion codes
a ``code`` names one, whatever its case. A coupon's and a promotion code's ``times_redeemed``
never pass their ``max_redemptions`` (checks under the conditional updates that count a
redemption), and a redemption is recorded once under the id its caller chose.

Revision ID: 0030
Revises: 0027
Create Date: 2026-12-09
"""

from __future__ import annotations

from alembic import op

revision = "0030"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE products (
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            id text NOT NULL,
            list_key text NOT NULL UNIQUE,
            name text NOT NULL CHECK (name <> ''),
            active boolean NOT NULL,
            type text NOT NULL CHECK (type IN ('good', 'service')),
            description text,
            images text[] NOT NULL DEFAULT '{}',
            marketing_features jsonb NOT NULL DEFAULT '[]'::jsonb,
            package_dimensions jsonb,
            shippable boolean,
            statement_descriptor text,
            tax_code text,
            hsn_sac text CHECK (hsn_sac ~ '^([0-9]{4}|[0-9]{6}|[0-9]{8})$'),
            unit_label text,
            url text,
            default_price_id text,
            metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            PRIMARY KEY (merchant_id, livemode, id)
        );
        CREATE INDEX ix_products_scope ON products (merchant_id, livemode, list_key DESC);

        CREATE TABLE prices (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            product_id text NOT NULL,
            active boolean NOT NULL,
            currency text NOT NULL,
            unit_amount bigint NOT NULL CHECK (unit_amount >= 0),
            type text NOT NULL CHECK (type IN ('one_time', 'recurring')),
            billing_scheme text NOT NULL CHECK (billing_scheme = 'per_unit'),
            recurring_interval text CHECK (recurring_interval IN ('day', 'week', 'month', 'year')),
            recurring_interval_count integer CHECK (recurring_interval_count >= 1),
            recurring_trial_period_days integer CHECK (recurring_trial_period_days >= 0),
            recurring_usage_type text CHECK (recurring_usage_type = 'licensed'),
            tax_behavior text NOT NULL
                CHECK (tax_behavior IN ('inclusive', 'exclusive', 'unspecified')),
            lookup_key text,
            nickname text,
            metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            FOREIGN KEY (merchant_id, livemode, product_id)
                REFERENCES products (merchant_id, livemode, id),
            CHECK ((type = 'recurring') = (recurring_interval IS NOT NULL)),
            CHECK ((recurring_interval IS NULL) = (recurring_interval_count IS NULL)),
            CHECK ((recurring_interval IS NULL) = (recurring_usage_type IS NULL)),
            CHECK (recurring_interval IS NOT NULL OR recurring_trial_period_days IS NULL)
        );
        CREATE INDEX ix_prices_scope ON prices (merchant_id, livemode, id DESC);
        CREATE INDEX ix_prices_product ON prices (merchant_id, livemode, product_id, id DESC);
        CREATE UNIQUE INDEX uq_prices_active_lookup_key ON prices (merchant_id, livemode, lookup_key)
            WHERE active AND lookup_key IS NOT NULL;

        CREATE TABLE coupons (
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            id text NOT NULL,
            list_key text NOT NULL UNIQUE,
            name text,
            percent_off_basis_points integer
                CHECK (percent_off_basis_points BETWEEN 1 AND 10000),
            amount_off bigint CHECK (amount_off > 0),
            currency text,
            currency_options jsonb NOT NULL DEFAULT '{}'::jsonb,
            duration text NOT NULL CHECK (duration IN ('once', 'repeating', 'forever')),
            duration_in_months integer CHECK (duration_in_months >= 1),
            max_redemptions integer CHECK (max_redemptions >= 1),
            redeem_by timestamptz,
            times_redeemed integer NOT NULL DEFAULT 0 CHECK (times_redeemed >= 0),
            applies_to_products text[],
            metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            deleted_at timestamptz,
            PRIMARY KEY (merchant_id, livemode, id),
            CHECK ((percent_off_basis_points IS NULL) <> (amount_off IS NULL)),
            CHECK ((amount_off IS NULL) = (currency IS NULL)),
            CHECK ((duration = 'repeating') = (duration_in_months IS NOT NULL)),
            CONSTRAINT ck_coupons_redemptions
                CHECK (max_redemptions IS NULL OR times_redeemed <= max_redemptions)
        );
        CREATE INDEX ix_coupons_scope ON coupons (merchant_id, livemode, list_key DESC);

        CREATE TABLE promotion_codes (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            code text NOT NULL CHECK (code ~ '^[A-Za-z0-9-]+$'),
            coupon_id text NOT NULL,
            customer_id text,
            active boolean NOT NULL,
            expires_at timestamptz,
            max_redemptions integer CHECK (max_redemptions >= 1),
            times_redeemed integer NOT NULL DEFAULT 0 CHECK (times_redeemed >= 0),
            first_time_transaction boolean NOT NULL DEFAULT false,
            minimum_amount bigint CHECK (minimum_amount >= 1),
            minimum_amount_currency text,
            minimum_amounts jsonb NOT NULL DEFAULT '{}'::jsonb,
            metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            FOREIGN KEY (merchant_id, livemode, coupon_id)
                REFERENCES coupons (merchant_id, livemode, id),
            CHECK ((minimum_amount IS NULL) = (minimum_amount_currency IS NULL)),
            CONSTRAINT ck_promotion_codes_redemptions
                CHECK (max_redemptions IS NULL OR times_redeemed <= max_redemptions)
        );
        CREATE UNIQUE INDEX uq_promotion_codes_active_code
            ON promotion_codes (merchant_id, livemode, lower(code)) WHERE active;
        CREATE INDEX ix_promotion_codes_scope ON promotion_codes (merchant_id, livemode, id DESC);
        CREATE INDEX ix_promotion_codes_coupon
            ON promotion_codes (merchant_id, livemode, coupon_id, id DESC);

        CREATE TABLE coupon_redemptions (
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            id text NOT NULL,
            coupon_id text NOT NULL,
            promotion_code_id text REFERENCES promotion_codes (id),
            customer_id text,
            created_at timestamptz NOT NULL,
            PRIMARY KEY (merchant_id, livemode, id),
            FOREIGN KEY (merchant_id, livemode, coupon_id)
                REFERENCES coupons (merchant_id, livemode, id)
        );
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE coupon_redemptions;
        DROP TABLE promotion_codes;
        DROP TABLE coupons;
        DROP TABLE prices;
        DROP TABLE products;
        """
    )
