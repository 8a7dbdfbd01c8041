"""Wallets: the list of each merchant's own ledger accounts, in the order they were made.

The accounts themselves (and their balances) are ledger accounts; the ledger keys them by id
only, so listing a merchant's accounts newest first needs this table.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE wallet_accounts (
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            id text NOT NULL,  -- the merchant's own id; the ledger's is wallets:<merchant>:<mode>:<id>
            sequence bigint GENERATED ALWAYS AS IDENTITY,
            created_at timestamptz NOT NULL,
            CONSTRAINT pk_wallet_accounts PRIMARY KEY (merchant_id, livemode, id)
        );
        CREATE UNIQUE INDEX ix_wallet_accounts_scope
            ON wallet_accounts (merchant_id, livemode, sequence DESC);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE wallet_accounts;")
