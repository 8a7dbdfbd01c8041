"""Events: written in the transaction of the change they describe, numbered after commit.

``sequence`` is gap-free per (merchant, mode) but assigned after commit, by the relay, in the
order events became visible (``inserted``), under a lock on the (merchant, mode)'s row in
``event_sequences``. Numbering inside the writing transaction would need that lock for the whole
transaction and serialize every mutation of a merchant; numbering after commit costs the
consumer of ``after_sequence`` a relay's delay instead.

``published_at`` is set once the bus acknowledged the numbered event (``events.relay``): the
relay's outbox cursor.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE events (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            type text NOT NULL,
            api_version text NOT NULL,
            object_id text,                 -- the object the event is about: per-object order
            data jsonb NOT NULL,            -- {"object": …, "previous_attributes": …}
            request_id text,
            idempotency_key text,
            created_at timestamptz NOT NULL,
            inserted bigint GENERATED ALWAYS AS IDENTITY,
            sequence bigint,                -- NULL until the relay numbers it
            published_at timestamptz        -- NULL until the bus acknowledged it (events.relay)
        );
        CREATE INDEX ix_events_scope ON events (merchant_id, livemode, id DESC);
        CREATE UNIQUE INDEX uq_events_sequence ON events (merchant_id, livemode, sequence)
            WHERE sequence IS NOT NULL;
        CREATE INDEX ix_events_unnumbered ON events (merchant_id, livemode, inserted)
            WHERE sequence IS NULL;
        CREATE INDEX ix_events_unpublished ON events (merchant_id, livemode, sequence)
            WHERE sequence IS NOT NULL AND published_at IS NULL;

        CREATE TABLE event_sequences (
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            last_sequence bigint NOT NULL DEFAULT 0,
            PRIMARY KEY (merchant_id, livemode)
        );
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE event_sequences; DROP TABLE events;")
