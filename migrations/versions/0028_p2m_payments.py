"""A UPI payment to a merchant's VPA lands in the merchant's books (issue 27, item 2).

- ``upi_credits``: each credit the UPI switch made to a merchant's VPA, recorded once per
  (merchant, mode, UPI transaction id) as the merchant's succeeded payment intent and charge
  (``payments.upi_credits``); claimed first, so a repeated or racing delivery finds it.
- ``psp_vpas``: a merchant VPA is found by the sandbox account it is paid into, when the switch
  credits that account (each merchant VPA has an account of its own).

Revision ID: 0028
Revises: 0032
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0028"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE upi_credits (
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            upi_transaction_id text NOT NULL CHECK (upi_transaction_id ~ '^[A-Za-z0-9]{1,35}$'),
            payment_intent_id text NOT NULL UNIQUE,
            charge_id text NOT NULL UNIQUE,
            created_at timestamptz NOT NULL,
            PRIMARY KEY (merchant_id, livemode, upi_transaction_id)
        );

        CREATE UNIQUE INDEX ux_psp_vpas_merchant_account ON psp_vpas (account_ref)
            WHERE owner_kind = 'merchant';
        """
    )


def downgrade() -> None:
    op.execute("DROP INDEX ux_psp_vpas_merchant_account; DROP TABLE upi_credits;")
