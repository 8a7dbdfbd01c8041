"""Connect (issue 20, part 4): platforms, their connected accounts, and transfers between them.

- ``merchants``: a connected account is a merchant with the ``platform_id`` of the platform
  that created it, the mode it was created in (``livemode``; Stripe's test-mode accounts are
  test-only), Stripe's account fields (``account_type``, ``country``, ``email``,
  ``business_type``, ``business_profile``, ``capabilities``, ``metadata``) and ``deleted_at``.
  A merchant that signed up by itself has no ``platform_id``.
- ``connect_transfers``: money the platform moved from its available balance to a connected
  account's (Stripe's ``tr_…``), with ``amount_reversed`` kept by the reversals' row lock.
- ``connect_transfer_reversals``: a transfer's reversals (``trr_…``).

Revision ID: 0057
Revises: 0056
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0057"
down_revision = "0056"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE merchants
            ADD COLUMN platform_id text REFERENCES merchants (id),
            ADD COLUMN livemode boolean,
            ADD COLUMN account_type text
                CHECK (account_type IN ('custom', 'express', 'standard', 'none')),
            ADD COLUMN country text,
            ADD COLUMN email text,
            ADD COLUMN business_type text,
            ADD COLUMN business_profile jsonb NOT NULL DEFAULT '{}',
            ADD COLUMN capabilities jsonb NOT NULL DEFAULT '{}',
            ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}',
            ADD COLUMN deleted_at timestamptz,
            ADD CONSTRAINT merchants_connected_has_mode
                CHECK (platform_id IS NULL OR livemode IS NOT NULL);
        CREATE INDEX merchants_platform ON merchants (platform_id, livemode, id DESC)
            WHERE platform_id IS NOT NULL;

        CREATE TABLE connect_transfers (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            destination_id text NOT NULL REFERENCES merchants (id),
            amount bigint NOT NULL CHECK (amount > 0),
            amount_reversed bigint NOT NULL DEFAULT 0
                CHECK (amount_reversed >= 0 AND amount_reversed <= amount),
            currency text NOT NULL,
            description text,
            transfer_group text,
            source_transaction text,
            balance_transaction_id text NOT NULL,
            destination_payment_id text NOT NULL,
            metadata jsonb NOT NULL DEFAULT '{}',
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        );
        CREATE INDEX connect_transfers_merchant
            ON connect_transfers (merchant_id, livemode, id DESC);
        CREATE INDEX connect_transfers_destination
            ON connect_transfers (destination_id, livemode, id DESC);

        CREATE TABLE connect_transfer_reversals (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            transfer_id text NOT NULL REFERENCES connect_transfers (id),
            amount bigint NOT NULL CHECK (amount > 0),
            currency text NOT NULL,
            balance_transaction_id text NOT NULL,
            destination_payment_refund_id text NOT NULL,
            metadata jsonb NOT NULL DEFAULT '{}',
            created_at timestamptz NOT NULL
        );
        CREATE INDEX connect_transfer_reversals_transfer
            ON connect_transfer_reversals (transfer_id, id DESC);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE connect_transfer_reversals;
        DROP TABLE connect_transfers;
        DROP INDEX merchants_platform;
        ALTER TABLE merchants
            DROP CONSTRAINT merchants_connected_has_mode,
            DROP COLUMN deleted_at,
            DROP COLUMN metadata,
            DROP COLUMN capabilities,
            DROP COLUMN business_profile,
            DROP COLUMN business_type,
            DROP COLUMN email,
            DROP COLUMN country,
            DROP COLUMN account_type,
            DROP COLUMN livemode,
            DROP COLUMN platform_id;
        """
    )
