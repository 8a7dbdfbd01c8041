"""Payment Links (issue 19): ``payment_links``, one row per link with its line items (prices
and quantities, as JSON in their order), and ``checkout_sessions.payment_link_id``, the link a
session was opened from.

- ``url_token``: the random, unguessable tail of the link's public URL (``/l/<token>``).
- ``completed_sessions``: how many of the link's sessions completed; counted under the link's
  row lock in the transaction that completes each session, so no completion is lost. When it
  reaches ``completed_sessions_limit`` the link is deactivated in that same transaction.

Revision ID: 0049
Revises: 0048
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0049"
down_revision = "0048"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE payment_links (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            url_token text NOT NULL UNIQUE,
            active boolean NOT NULL,
            currency text NOT NULL,
            line_items jsonb NOT NULL,
            payment_method_types jsonb,
            after_completion_type text NOT NULL
                CHECK (after_completion_type IN ('redirect', 'hosted_confirmation')),
            redirect_url text,
            custom_message text,
            completed_sessions_limit integer CHECK (completed_sessions_limit >= 1),
            completed_sessions integer NOT NULL DEFAULT 0 CHECK (completed_sessions >= 0),
            metadata jsonb NOT NULL DEFAULT '{}',
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            CHECK ((after_completion_type = 'redirect') = (redirect_url IS NOT NULL))
        );
        CREATE INDEX payment_links_merchant_created
            ON payment_links (merchant_id, livemode, id DESC);
        ALTER TABLE checkout_sessions ADD COLUMN payment_link_id text;
        CREATE INDEX checkout_sessions_payment_link
            ON checkout_sessions (payment_link_id) WHERE payment_link_id IS NOT NULL;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX checkout_sessions_payment_link;
        ALTER TABLE checkout_sessions DROP COLUMN payment_link_id;
        DROP TABLE payment_links;
        """
    )
