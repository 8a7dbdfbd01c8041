"""PSP transfers are asked of the switch before they are answered: a ``pending`` transfer.

A payment commits its first phase (limits counted, the transfer written as ``pending`` with the
request id the switch sees, which is the transfer's id) before it calls the switch, and applies
the answer in a second transaction (docs/psp.md, "Paying in phases"). Until then it has no NPCI
code, UPI transaction id, RRN or completion time. The accounts the push names are kept with
it, so that the retry or the reconciliation job can ask the switch again with the same request.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE psp_transfers DROP CONSTRAINT psp_transfers_status_check;
        ALTER TABLE psp_transfers ADD CONSTRAINT psp_transfers_status_check
            CHECK (status IN ('pending', 'succeeded', 'failed'));
        ALTER TABLE psp_transfers
            ALTER COLUMN npci_code DROP NOT NULL,
            ALTER COLUMN upi_transaction_id DROP NOT NULL,
            ALTER COLUMN rrn DROP NOT NULL,
            ALTER COLUMN completed_at DROP NOT NULL,
            ADD COLUMN payer_account_ref text,
            ADD COLUMN payee_account_ref text,
            ADD CONSTRAINT psp_transfers_answered
                CHECK (status = 'pending' OR (npci_code IS NOT NULL AND completed_at IS NOT NULL));
        CREATE INDEX psp_transfers_unanswered ON psp_transfers (created_at)
            WHERE status = 'pending';
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX psp_transfers_unanswered;
        ALTER TABLE psp_transfers
            DROP CONSTRAINT psp_transfers_answered,
            DROP COLUMN payee_account_ref,
            DROP COLUMN payer_account_ref,
            ALTER COLUMN completed_at SET NOT NULL,
            ALTER COLUMN rrn SET NOT NULL,
            ALTER COLUMN upi_transaction_id SET NOT NULL,
            ALTER COLUMN npci_code SET NOT NULL;
        ALTER TABLE psp_transfers DROP CONSTRAINT psp_transfers_status_check;
        ALTER TABLE psp_transfers ADD CONSTRAINT psp_transfers_status_check
            CHECK (status IN ('succeeded', 'failed'));
        """
    )
