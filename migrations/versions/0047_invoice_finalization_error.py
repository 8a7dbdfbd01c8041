"""An auto-advancing draft that cannot be finalized at its time keeps why (issue 18).

``invoices.last_finalization_error``: Stripe's object of the same name (type, code, message,
param) when the automatic finalization failed (an expired coupon, a promotion code used up):
the draft stays a draft, ``invoice.finalization_failed`` is recorded, and it waits for the
merchant; a finalization that succeeds clears it.

Revision ID: 0047
Revises: 0043
Create Date: 2027-02-01
"""

from __future__ import annotations

from alembic import op

revision = "0047"
down_revision = "0043"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE invoices ADD COLUMN last_finalization_error jsonb")


def downgrade() -> None:
    op.execute("ALTER TABLE invoices DROP COLUMN last_finalization_error")
