"""Charges: the rail operation asked and not yet applied (atomic phases around the rail call).

A confirmation or capture commits the charge with ``rail_operation`` set ('authorize' or
'capture', with the amount of a capture) before it calls the rail outside any transaction, and
clears it when it applies the answer. While it is set the intent is busy (another request on it
gets ``lock_timeout``), and ``next_check_at`` says when the reconciliation job asks the rail
again with the same request id if no one applied the answer (the process died).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE charges
            ADD COLUMN rail_operation text CHECK (rail_operation IN ('authorize', 'capture')),
            ADD COLUMN rail_operation_amount bigint CHECK (rail_operation_amount > 0),
            ADD CONSTRAINT ck_charges_rail_operation_checked
                CHECK (rail_operation IS NULL OR next_check_at IS NOT NULL),
            ADD CONSTRAINT ck_charges_capture_amount
                CHECK ((rail_operation = 'capture') = (rail_operation_amount IS NOT NULL));
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE charges
            DROP CONSTRAINT ck_charges_capture_amount,
            DROP CONSTRAINT ck_charges_rail_operation_checked,
            DROP COLUMN rail_operation_amount,
            DROP COLUMN rail_operation;
        """
    )
