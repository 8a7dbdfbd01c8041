"""Billing round 2: invoices wired to the catalog (issue 18, items 1-3).

- ``invoice_items.price_id`` / ``product_id``: the catalog price a line is priced at (Stripe's
  ``pricing.price_details``), and ``hsn_sac``, the product's HSN or SAC code as it was when the
  item was priced: a GST tax invoice prints it, and it never changes after; ``tax_behavior``
  the price's (``inclusive``: its amount holds the tax).
- ``invoice_items.tax_rates`` / ``invoices.default_tax_rates``: the tax rates applied (Stripe's
  objects as they were when applied; an item's own rates replace the invoice's defaults), and
  ``invoice_items.taxes`` the line's taxes as last computed (a draft's as its lines or its
  customer change; fixed at finalization): per rate its amount, taxable amount, and GST's CGST,
  SGST (or UTGST) or IGST parts.
- ``invoices.account_tax_id``: the merchant's GSTIN (an ``in_gst`` tax id) the invoice is issued
  under (none: its oldest); ``invoices.gst`` the GST facts of the invoice (supplier and customer
  GSTIN, place of supply, intra- or inter-state), recomputed on a draft, copied at finalization
  and never changed after; null when the merchant has no GSTIN (no GST is charged).
- ``invoices.discounts``: the coupons and promotion codes applied (each with its ``di_`` id and
  its coupon's terms as applied), and ``invoice_items.discount_amounts`` what each took off the
  line as last computed (fixed at finalization, where each is redeemed once).

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
            ADD COLUMN tax_behavior text
                CHECK (tax_behavior IN ('inclusive', 'exclusive', 'unspecified')),
            ADD COLUMN tax_rates jsonb NOT NULL DEFAULT '[]',
            ADD COLUMN taxes jsonb NOT NULL DEFAULT '[]',
            ADD COLUMN discount_amounts jsonb NOT NULL DEFAULT '[]',
            ADD CONSTRAINT invoice_items_price_has_product
                CHECK ((price_id IS NULL) = (product_id IS NULL));
        ALTER TABLE invoices
            ADD COLUMN default_tax_rates jsonb NOT NULL DEFAULT '[]',
            ADD COLUMN account_tax_id text,
            ADD COLUMN gst jsonb,
            ADD COLUMN discounts jsonb NOT NULL DEFAULT '[]';
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE invoices
            DROP COLUMN discounts,
            DROP COLUMN gst,
            DROP COLUMN account_tax_id,
            DROP COLUMN default_tax_rates;
        ALTER TABLE invoice_items
            DROP CONSTRAINT invoice_items_price_has_product,
            DROP COLUMN discount_amounts,
            DROP COLUMN taxes,
            DROP COLUMN tax_rates,
            DROP COLUMN tax_behavior,
            DROP COLUMN hsn_sac,
            DROP COLUMN product_id,
            DROP COLUMN price_id;
        """
    )
