"""Sandbox UPI switch: push payments between bank accounts and collects to PSP VPAs.

A push (operation ``push``) is a payer's bank account paying another bank account: it has no
merchant and no parent, and names the payee's account. The constraint names are the ones
PostgreSQL gave 0008's unnamed checks.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE sandbox_rail_operations
            ALTER COLUMN merchant_id DROP NOT NULL,
            ADD COLUMN payee_account_id text,
            DROP CONSTRAINT sandbox_rail_operations_operation_check,
            ADD CONSTRAINT sandbox_rail_operations_operation_check
                CHECK (operation IN ('authorize', 'capture', 'void', 'refund', 'push')),
            DROP CONSTRAINT sandbox_rail_operations_check1,
            ADD CONSTRAINT sandbox_rail_operations_parent_check
                CHECK ((operation IN ('authorize', 'push')) = (parent_reference IS NULL)),
            ADD CONSTRAINT sandbox_rail_operations_push_check CHECK (
                (operation = 'push') = (payee_account_id IS NOT NULL)
                AND (operation = 'push' OR merchant_id IS NOT NULL)
                AND (operation <> 'push' OR rail = 'upi')
            );
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DELETE FROM sandbox_rail_operations WHERE operation = 'push';
        ALTER TABLE sandbox_rail_operations
            DROP CONSTRAINT sandbox_rail_operations_push_check,
            DROP CONSTRAINT sandbox_rail_operations_parent_check,
            ADD CONSTRAINT sandbox_rail_operations_check1
                CHECK ((operation = 'authorize') = (parent_reference IS NULL)),
            DROP CONSTRAINT sandbox_rail_operations_operation_check,
            ADD CONSTRAINT sandbox_rail_operations_operation_check
                CHECK (operation IN ('authorize', 'capture', 'void', 'refund')),
            DROP COLUMN payee_account_id,
            ALTER COLUMN merchant_id SET NOT NULL;
        """
    )
