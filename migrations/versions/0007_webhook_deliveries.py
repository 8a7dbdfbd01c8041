"""Webhook deliveries: one row per (event, endpoint), and one row per attempt to deliver it.

``webhook_cursors`` is how far the scheduler has read each (merchant, mode)'s gap-free event
sequence; deliveries are created and the cursor advanced in one transaction, so none is created
twice and none is missed. ``locked_until`` is a worker's lease on a delivery while it calls the
endpoint (outside any transaction): a crashed worker's lease expires and the delivery is due again.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE webhook_cursors (
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            last_sequence bigint NOT NULL DEFAULT 0,
            PRIMARY KEY (merchant_id, livemode)
        );
        CREATE TABLE webhook_deliveries (
            id text PRIMARY KEY,
            endpoint_id text NOT NULL REFERENCES webhook_endpoints (id),
            event_id text NOT NULL REFERENCES events (id),
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            object_id text,
            sequence bigint NOT NULL,
            status text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'succeeded', 'failed', 'dead')),
            attempt_count integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz,
            locked_until timestamptz,
            last_status_code integer,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            UNIQUE (endpoint_id, event_id)
        );
        -- Due work: the undelivered, by when they are due.
        CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
            WHERE status IN ('pending', 'failed');
        -- Per-endpoint, per-object order: the oldest undelivered delivery of each object.
        CREATE INDEX ix_webhook_deliveries_order
            ON webhook_deliveries (endpoint_id, (coalesce(object_id, id)), sequence)
            WHERE status IN ('pending', 'failed');
        CREATE INDEX ix_webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id DESC);
        CREATE TABLE webhook_attempts (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            delivery_id text NOT NULL REFERENCES webhook_deliveries (id),
            attempted_at timestamptz NOT NULL,
            status_code integer,
            error text,
            latency_ms integer NOT NULL,
            response_body_prefix text,
            CHECK ((status_code IS NULL) <> (error IS NULL))
        );
        CREATE INDEX ix_webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
        """
    )


def downgrade() -> None:
    op.execute(
        "DROP TABLE webhook_attempts; DROP TABLE webhook_deliveries; DROP TABLE webhook_cursors;"
    )
