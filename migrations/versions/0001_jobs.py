"""Background jobs: procrastinate's schema, on the same PostgreSQL.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op
from procrastinate.schema import SchemaManager

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # procrastinate ships its schema as one SQL script; later procrastinate upgrades get their
    # own migration here, applying the library's numbered migration scripts.
    op.execute(SchemaManager.get_schema())


def downgrade() -> None:
    # Dropping the job tables would silently lose queued money-moving work.
    raise RuntimeError("0001 cannot be downgraded: restore from a backup instead")
