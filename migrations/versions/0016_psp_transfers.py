"""PSP transfers, collect requests and limit counters.

A transfer is one payment a payer pushed (P2P or P2M) through the UPI switch: the money itself
moves in the sandbox banks' ledgers, this row is the receipt (UPI transaction id, RRN, NPCI code).
``(payer_id, client_request_id)`` is unique: the app's own request id makes a retry return the
first receipt. A collect request asks a payer to pay; approving it makes a transfer. The limit
counters hold what a payer has paid per IST day, updated in the payment's transaction under the
row's lock, so parallel payments cannot all fit under one cap.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE psp_transfers (
            id text PRIMARY KEY,
            payer_id text NOT NULL,
            payer_name text NOT NULL,
            payer_masked text NOT NULL,
            client_request_id text NOT NULL,
            params_fingerprint bytea NOT NULL,
            bank_account_id text NOT NULL,
            device_id text,
            payee_kind text NOT NULL CHECK (payee_kind IN ('payer', 'merchant')),
            payee_payer_id text,
            payee_merchant_id text,
            payee_name text NOT NULL,
            payee_masked text NOT NULL,
            payee_vpa_id text,
            alias_id text,
            merchant_category_code text,
            via text NOT NULL,
            amount_minor bigint NOT NULL CHECK (amount_minor > 0),
            currency text NOT NULL,
            note text,
            reference text,
            collect_request_id text,
            status text NOT NULL CHECK (status IN ('succeeded', 'failed')),
            npci_code text NOT NULL,
            failure_code text,
            failure_message text,
            rail_reference text,
            upi_transaction_id text NOT NULL,
            rrn text NOT NULL CHECK (rrn ~ '^[0-9]{12}$'),
            day date NOT NULL,
            created_at timestamptz NOT NULL,
            completed_at timestamptz NOT NULL,
            UNIQUE (payer_id, client_request_id),
            CHECK ((payee_kind = 'payer') = (payee_payer_id IS NOT NULL))
        );
        CREATE INDEX psp_transfers_payer ON psp_transfers (payer_id, created_at DESC, id DESC);
        CREATE INDEX psp_transfers_payee ON psp_transfers (payee_payer_id, created_at DESC, id DESC)
            WHERE payee_payer_id IS NOT NULL;

        CREATE TABLE psp_collect_requests (
            id text PRIMARY KEY,
            payer_id text NOT NULL,
            payer_vpa_id text NOT NULL,
            requester_kind text NOT NULL CHECK (requester_kind IN ('payer', 'merchant')),
            requester_payer_id text,
            requester_merchant_id text,
            requester_name text NOT NULL,
            requester_masked text NOT NULL,
            requester_vpa_id text,
            requester_account_ref text NOT NULL,
            rail_reference text UNIQUE,
            amount_minor bigint NOT NULL CHECK (amount_minor > 0),
            currency text NOT NULL,
            note text,
            status text NOT NULL
                CHECK (status IN ('pending', 'paid', 'declined', 'expired', 'failed')),
            npci_code text,
            transfer_id text,
            expires_at timestamptz NOT NULL,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            CHECK ((requester_kind = 'payer') = (requester_payer_id IS NOT NULL)),
            CHECK ((requester_kind = 'merchant') = (rail_reference IS NOT NULL))
        );
        CREATE INDEX psp_collect_requests_payer
            ON psp_collect_requests (payer_id, created_at DESC, id DESC);
        CREATE INDEX psp_collect_requests_requester
            ON psp_collect_requests (requester_payer_id, created_at DESC, id DESC)
            WHERE requester_payer_id IS NOT NULL;
        CREATE INDEX psp_collect_requests_due ON psp_collect_requests (expires_at)
            WHERE status = 'pending';

        CREATE TABLE psp_limit_counters (
            payer_id text NOT NULL,
            day date NOT NULL,
            amount_minor bigint NOT NULL DEFAULT 0 CHECK (amount_minor >= 0),
            p2p_amount_minor bigint NOT NULL DEFAULT 0 CHECK (p2p_amount_minor >= 0),
            p2p_count integer NOT NULL DEFAULT 0 CHECK (p2p_count >= 0),
            PRIMARY KEY (payer_id, day)
        );
        """
    )


def downgrade() -> None:
    op.execute(
        "DROP TABLE psp_limit_counters; DROP TABLE psp_collect_requests; DROP TABLE psp_transfers;"
    )
