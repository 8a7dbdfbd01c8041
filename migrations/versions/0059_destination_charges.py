"""Connect's destination charges (issue 20, part 4): what a PaymentIntent asks for its charge's
money, the transfer and the application fee its capture makes, and the fee's refunds.

- ``payment_intents`` and ``charges``: ``transfer_destination``, ``transfer_amount``,
  ``application_fee_amount``, ``on_behalf_of``, ``transfer_group`` (Stripe's
  ``transfer_data[destination]``, ``transfer_data[amount]``, …), copied to the charge when it is
  made; the charge also names the transfer (``transfer_id``, ``tr_…``) and the application fee
  (``application_fee_id``, ``fee_…``) its capture made.
- ``connect_transfers.charge_id``: the charge a destination transfer was made for, unique, so
  that a capture applied twice makes one transfer; ``connect_transfer_reversals.source_refund``,
  the refund (``re_…``) a ``reverse_transfer`` reversal was made for.
- ``application_fees`` (``fee_…``) with ``amount_refunded`` kept by the refunds' row lock, and
  ``application_fee_refunds`` (``fr_…``).

Revision ID: 0059
Revises: 0058
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0059"
down_revision = "0058"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE payment_intents
            ADD COLUMN transfer_destination text,
            ADD COLUMN transfer_amount bigint CHECK (transfer_amount > 0),
            ADD COLUMN application_fee_amount bigint CHECK (application_fee_amount > 0),
            ADD COLUMN on_behalf_of text,
            ADD COLUMN transfer_group text;
        ALTER TABLE charges
            ADD COLUMN transfer_destination text,
            ADD COLUMN transfer_amount bigint CHECK (transfer_amount > 0),
            ADD COLUMN application_fee_amount bigint CHECK (application_fee_amount > 0),
            ADD COLUMN on_behalf_of text,
            ADD COLUMN transfer_group text,
            ADD COLUMN transfer_id text,
            ADD COLUMN application_fee_id text;

        ALTER TABLE connect_transfers ADD COLUMN charge_id text UNIQUE;
        ALTER TABLE connect_transfer_reversals ADD COLUMN source_refund text;

        CREATE TABLE application_fees (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            account_id text NOT NULL REFERENCES merchants (id),
            amount bigint NOT NULL CHECK (amount > 0),
            amount_refunded bigint NOT NULL DEFAULT 0
                CHECK (amount_refunded >= 0 AND amount_refunded <= amount),
            currency text NOT NULL,
            charge_id text NOT NULL UNIQUE,
            balance_transaction_id text NOT NULL,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        );
        CREATE INDEX application_fees_merchant
            ON application_fees (merchant_id, livemode, id DESC);

        CREATE TABLE application_fee_refunds (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            fee_id text NOT NULL REFERENCES application_fees (id),
            amount bigint NOT NULL CHECK (amount > 0),
            currency text NOT NULL,
            balance_transaction_id text NOT NULL,
            metadata jsonb NOT NULL DEFAULT '{}',
            created_at timestamptz NOT NULL
        );
        CREATE INDEX application_fee_refunds_fee
            ON application_fee_refunds (fee_id, id DESC);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE application_fee_refunds;
        DROP TABLE application_fees;
        ALTER TABLE connect_transfer_reversals DROP COLUMN source_refund;
        ALTER TABLE connect_transfers DROP COLUMN charge_id;
        ALTER TABLE charges
            DROP COLUMN application_fee_id,
            DROP COLUMN transfer_id,
            DROP COLUMN transfer_group,
            DROP COLUMN on_behalf_of,
            DROP COLUMN application_fee_amount,
            DROP COLUMN transfer_amount,
            DROP COLUMN transfer_destination;
        ALTER TABLE payment_intents
            DROP COLUMN transfer_group,
            DROP COLUMN on_behalf_of,
            DROP COLUMN application_fee_amount,
            DROP COLUMN transfer_amount,
            DROP COLUMN transfer_destination;
        """
    )
