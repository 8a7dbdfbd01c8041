"""Billing: a subscription's tax rates, and what its lines say of their price (issue 18).

- ``subscriptions.default_tax_rates``: Stripe's ``default_tax_rates``, the tax rate objects as
  they were set; every invoice of the subscription takes them as its own defaults.
- ``subscription_items.tax_rates``: an item's own rates (``items[][tax_rates]``), which its
  lines carry instead of the subscription's defaults, prorations included.
- ``subscription_items.hsn_sac`` and ``tax_behavior``: copied from the price and its product
  when the price is set, as its amount and name already are, so that a renewal bills the
  price's line (its HSN/SAC on the GST invoice, its inclusive or exclusive tax) even after the
  price is archived.
- ``invoice_items.subscription_id``, ``subscription_item_id`` and ``proration``: the item a
  subscription billed (a period's line, or a proration), rendered as Stripe's
  ``parent.subscription_details`` on the item and ``subscription_item_details`` (a period's
  line) or ``invoice_item_details`` with ``proration`` (a proration) on the line.

Revision ID: 0044
Revises: 0042
Create Date: 2027-01-24
"""

from __future__ import annotations

from alembic import op

revision = "0044"
down_revision = "0042"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE subscriptions ADD COLUMN default_tax_rates jsonb NOT NULL DEFAULT '[]';
        ALTER TABLE subscription_items ADD COLUMN tax_rates jsonb NOT NULL DEFAULT '[]';
        ALTER TABLE subscription_items ADD COLUMN hsn_sac text;
        ALTER TABLE subscription_items ADD COLUMN tax_behavior text;
        ALTER TABLE invoice_items ADD COLUMN subscription_id text;
        ALTER TABLE invoice_items ADD COLUMN subscription_item_id text;
        ALTER TABLE invoice_items ADD COLUMN proration boolean NOT NULL DEFAULT false;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE invoice_items DROP COLUMN proration;
        ALTER TABLE invoice_items DROP COLUMN subscription_item_id;
        ALTER TABLE invoice_items DROP COLUMN subscription_id;
        ALTER TABLE subscription_items DROP COLUMN tax_behavior;
        ALTER TABLE subscription_items DROP COLUMN hsn_sac;
        ALTER TABLE subscription_items DROP COLUMN tax_rates;
        ALTER TABLE subscriptions DROP COLUMN default_tax_rates;
        """
    )
