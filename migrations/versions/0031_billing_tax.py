"""Billing's tax: Stripe's tax rates and tax ids (a customer's, or the merchant's own).

A tax rate's percentage is kept as an integer of basis points of a percent (18% is 1800), as
money is kept in minor units: no float reaches the table. Tax ids are deleted softly
(``deleted_at``): the API no longer shows a deleted one, and what an invoice printed can still be
traced. One owner (the merchant itself, or one customer) holds a value of a type once among its
tax ids that are not deleted; the unique index is what holds it under concurrent requests.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-09
"""

from __future__ import annotations

from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE tax_rates (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            display_name text NOT NULL,
            rate_basis_points integer NOT NULL
                CHECK (rate_basis_points BETWEEN 0 AND 10000),
            inclusive boolean NOT NULL,
            active boolean NOT NULL,
            country text,
            state text,
            jurisdiction text,
            description text,
            tax_type text,
            metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
            created_at timestamptz NOT NULL
        );
        CREATE INDEX ix_tax_rates_scope ON tax_rates (merchant_id, livemode, id DESC);

        CREATE TABLE tax_ids (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            owner_type text NOT NULL CHECK (owner_type IN ('self', 'customer')),
            customer_id text,
            type text NOT NULL,
            value text NOT NULL,
            country text,
            verification_status text NOT NULL
                CHECK (verification_status IN ('pending', 'unavailable', 'unverified', 'verified')),
            created_at timestamptz NOT NULL,
            deleted_at timestamptz,
            CHECK ((owner_type = 'customer') = (customer_id IS NOT NULL))
        );
        CREATE INDEX ix_tax_ids_scope ON tax_ids (merchant_id, livemode, id DESC);
        CREATE INDEX ix_tax_ids_customer ON tax_ids (customer_id, id DESC)
            WHERE customer_id IS NOT NULL;
        CREATE UNIQUE INDEX uq_tax_ids_owner_value ON tax_ids
            (merchant_id, livemode, owner_type, (coalesce(customer_id, '')), type, value)
            WHERE deleted_at IS NULL;
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE tax_ids; DROP TABLE tax_rates;")
