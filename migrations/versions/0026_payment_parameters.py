"""Payments' current parameters: how an intent's payment method types were chosen
(``automatic_payment_methods``, ``allowed_payment_method_types``,
``excluded_payment_method_types``), its ``payment_method_options``, ``shipping`` and
``statement_descriptor_suffix``; what a charge carries from its intent (``shipping``, the
descriptors and the ``calculated_statement_descriptor``; ``receipt_email`` came with 0023); a
customer's ``shipping``. Every column is new and nullable (or has a default), so existing rows read as
before: nothing was asked of them.

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE payment_intents
            ADD COLUMN automatic_payment_methods jsonb,
            ADD COLUMN allowed_payment_method_types text[],
            ADD COLUMN excluded_payment_method_types text[],
            ADD COLUMN payment_method_options jsonb NOT NULL DEFAULT '{}'::jsonb,
            ADD COLUMN shipping jsonb,
            ADD COLUMN statement_descriptor_suffix text;
        ALTER TABLE charges
            ADD COLUMN shipping jsonb,
            ADD COLUMN statement_descriptor text,
            ADD COLUMN statement_descriptor_suffix text,
            ADD COLUMN calculated_statement_descriptor text;
        ALTER TABLE customers ADD COLUMN shipping jsonb;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE customers DROP COLUMN shipping;
        ALTER TABLE charges
            DROP COLUMN shipping,
            DROP COLUMN statement_descriptor,
            DROP COLUMN statement_descriptor_suffix,
            DROP COLUMN calculated_statement_descriptor;
        ALTER TABLE payment_intents
            DROP COLUMN automatic_payment_methods,
            DROP COLUMN allowed_payment_method_types,
            DROP COLUMN excluded_payment_method_types,
            DROP COLUMN payment_method_options,
            DROP COLUMN shipping,
            DROP COLUMN statement_descriptor_suffix;
        """
    )
