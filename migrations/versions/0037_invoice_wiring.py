"""Billing round 2: invoices wired to the catalog (issue 18, items 1-3).

- ``invoice_items.price_id`` / ``product_id``: the catalog price a line is priced at (Stripe's
  ``pricing.price_details``), and ``hsn_sac``, the product's HSN or SAC code as it was when the
  item was priced: a GST tax invoice prints it, and it never changes after.

Revision ID: 0037
Revises: 0036
Create Date: 2027-01-20
"""

from __future__ import annotations

from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE invoice_items
            ADD COLUMN price_id text,
            ADD COLUMN product_id text,
            ADD COLUMN hsn_sac text,
            ADD CONSTRAINT invoice_items_price_has_product
                CHECK ((price_id IS NULL) = (product_id IS NULL));
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE invoice_items
            DROP CONSTRAINT invoice_items_price_has_product,
            DROP COLUMN hsn_sac,
            DROP COLUMN product_id,
            DROP COLUMN price_id;
        """
    )
