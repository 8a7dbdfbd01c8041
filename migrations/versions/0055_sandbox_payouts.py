"""The sandbox payout rail's table: payouts by IMPS, NEFT, RTGS and UPI (issue 20).

One row per payout the rail received, unique per caller's request id (the payout's id), so a
retry or a racing duplicate finds the first payout and never pays a second one. The
destination is kept as a keyed fingerprint and a masked form only.

Revision ID: 0055
Revises: 0051
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0055"
down_revision = "0051"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE sandbox_payouts (
            reference text PRIMARY KEY,
            request_id text NOT NULL UNIQUE,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            rail text NOT NULL CHECK (rail IN ('imps', 'neft', 'rtgs', 'upi')),
            amount_minor bigint NOT NULL CHECK (amount_minor > 0),
            currency text NOT NULL CHECK (currency = 'inr'),
            status text NOT NULL
                CHECK (status IN ('pending', 'in_transit', 'paid', 'failed')),
            scenario text NOT NULL CHECK (scenario IN (
                'paid', 'deemed', 'account_closed', 'invalid_account_number',
                'bank_account_restricted', 'declined', 'could_not_process'
            )),
            failure_code text,
            failure_message text,
            utr text NOT NULL,
            destination_fingerprint bytea NOT NULL,
            destination_masked text NOT NULL,
            ifsc text,
            arrival_at timestamptz NOT NULL,
            settles_at timestamptz,
            check_after timestamptz,
            status_checks integer NOT NULL DEFAULT 0,
            notified_status text,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            CHECK ((status = 'failed') = (failure_code IS NOT NULL)),
            CHECK ((rail = 'upi') = (ifsc IS NULL))
        );
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE sandbox_payouts;")
