"""Sandbox rails: the operations the sandbox card network, UPI switch and net banking received.

Unique per (rail, operation, request id): the caller's request id is the operation, so a retry
finds the stored answer. No card number, CVC or VPA is stored: a keyed fingerprint (HMAC under
the key ring) and a masked form stand for the instrument. Money the sandbox UPI banks move is in
the ledger (namespace ``bank:<code>``), not here.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE sandbox_rail_operations (
            reference text PRIMARY KEY,
            rail text NOT NULL CHECK (rail IN ('card', 'upi', 'netbanking')),
            operation text NOT NULL
                CHECK (operation IN ('authorize', 'capture', 'void', 'refund')),
            request_id text NOT NULL,
            parent_reference text REFERENCES sandbox_rail_operations (reference),
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            amount_minor bigint NOT NULL CHECK (amount_minor >= 0),
            currency text NOT NULL,
            status text NOT NULL
                CHECK (status IN ('succeeded', 'pending', 'requires_action', 'failed')),
            scenario text NOT NULL,
            code text,
            failure_code text,
            decline_code text,
            message text,
            action_type text,
            action_expires_at timestamptz,
            resolves_at timestamptz,
            final_code text,
            check_after timestamptz,
            status_checks integer NOT NULL DEFAULT 0,
            callbacks_sent integer NOT NULL DEFAULT 0,
            duplicate_callback boolean NOT NULL DEFAULT false,
            capture_method text CHECK (capture_method IN ('automatic', 'manual')),
            hold_state text CHECK (hold_state IN ('held', 'captured', 'voided')),
            captured_minor bigint NOT NULL DEFAULT 0 CHECK (captured_minor >= 0),
            refunded_minor bigint NOT NULL DEFAULT 0
                CHECK (refunded_minor >= 0 AND refunded_minor <= captured_minor),
            instrument_fingerprint bytea,
            instrument_masked text,
            instrument_brand text,
            payer_account_id text,
            return_url text,
            details jsonb NOT NULL DEFAULT '{}',
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            UNIQUE (rail, operation, request_id),
            CHECK ((operation = 'authorize') = (parent_reference IS NULL))
        );
        CREATE INDEX ix_sandbox_rail_operations_parent
            ON sandbox_rail_operations (parent_reference) WHERE parent_reference IS NOT NULL;
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE sandbox_rail_operations;")
