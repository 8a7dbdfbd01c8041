"""Webhook endpoints: where a merchant's events are delivered, and the secret that signs them.

Secrets are sealed with the key ring (bound to the endpoint id). During a roll the previous secret
stays, with the time it stops being used, so deliveries carry both signatures until then.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE webhook_endpoints (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            url text NOT NULL,
            description text,
            enabled_events text[] NOT NULL,
            status text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
            disabled_reason text,
            secret_sealed text NOT NULL,
            previous_secret_sealed text,
            previous_secret_expires_at timestamptz,
            metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
            failing_since timestamptz,
            created_at timestamptz NOT NULL,
            deleted_at timestamptz
        );
        CREATE INDEX ix_webhook_endpoints_scope ON webhook_endpoints (merchant_id, livemode, id DESC);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE webhook_endpoints;")
