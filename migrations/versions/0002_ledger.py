"""Ledger: accounts, the append-only transfer journal and its per-ledger heads.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE ledger_accounts (
            id text PRIMARY KEY,
            ledger text NOT NULL,
            currency text NOT NULL,
            code text NOT NULL,
            flags integer NOT NULL DEFAULT 0,
            debits_pending bigint NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
            debits_posted bigint NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
            credits_pending bigint NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
            credits_posted bigint NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
            metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
            created_at timestamptz NOT NULL
        ) WITH (fillfactor = 80);  -- room on the page keeps balance updates HOT
        CREATE INDEX ix_ledger_accounts_ledger ON ledger_accounts (ledger, id);

        -- One row per ledger namespace: the last sequence number and hash of its journal.
        CREATE TABLE ledger_heads (
            ledger text PRIMARY KEY,
            sequence bigint NOT NULL DEFAULT 0,
            hash bytea NOT NULL DEFAULT '\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea
        );

        CREATE SEQUENCE ledger_batch_number AS bigint;

        CREATE TABLE ledger_transfers (
            id text PRIMARY KEY,
            ledger text NOT NULL,
            sequence bigint NOT NULL,
            position bigint NOT NULL,
            -- No foreign keys: the ledger locks both accounts before it writes, and the
            -- per-row checks cost a fifth of a batch's time; `ledger verify` checks them.
            debit_account_id text NOT NULL,
            credit_account_id text NOT NULL,
            amount bigint NOT NULL CHECK (amount >= 0),
            amount_requested bigint,
            pending_id text,
            currency text NOT NULL,
            code text NOT NULL,
            flags integer NOT NULL,
            timeout_s integer NOT NULL DEFAULT 0,
            expires_at timestamptz,
            metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
            created_at timestamptz NOT NULL,
            prev_hash bytea NOT NULL,
            hash bytea NOT NULL,
            CONSTRAINT uq_ledger_transfers_ledger_sequence UNIQUE (ledger, sequence)
        );
        -- A hold is resolved (posted, voided or expired) at most once: the database says so too.
        CREATE UNIQUE INDEX uq_ledger_transfers_pending_id
            ON ledger_transfers (pending_id) WHERE pending_id IS NOT NULL;
        CREATE INDEX ix_ledger_transfers_debit ON ledger_transfers (debit_account_id, position);
        CREATE INDEX ix_ledger_transfers_credit ON ledger_transfers (credit_account_id, position);
        -- no index on position alone: verify sorts once; per-account reads use the two above

        -- Holds with a timeout that are still open: a derived index of the journal (rows come
        -- and go with the holds), so that expiry never scans the holds of years past.
        CREATE TABLE ledger_open_holds (
            id text PRIMARY KEY,
            debit_account_id text NOT NULL,
            credit_account_id text NOT NULL,
            expires_at timestamptz NOT NULL
        );
        CREATE INDEX ix_ledger_open_holds_expires_at ON ledger_open_holds (expires_at);
        CREATE INDEX ix_ledger_open_holds_debit ON ledger_open_holds (debit_account_id);
        CREATE INDEX ix_ledger_open_holds_credit ON ledger_open_holds (credit_account_id);

        CREATE FUNCTION ledger_transfers_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'ledger_transfers is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END;
        $$;
        CREATE TRIGGER ledger_transfers_append_only
            BEFORE UPDATE OR DELETE ON ledger_transfers
            FOR EACH ROW EXECUTE FUNCTION ledger_transfers_append_only();
        CREATE TRIGGER ledger_transfers_no_truncate
            BEFORE TRUNCATE ON ledger_transfers
            FOR EACH STATEMENT EXECUTE FUNCTION ledger_transfers_append_only();
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE ledger_open_holds;
        DROP TABLE ledger_transfers;
        DROP FUNCTION ledger_transfers_append_only();
        DROP SEQUENCE ledger_batch_number;
        DROP TABLE ledger_heads;
        DROP TABLE ledger_accounts;
        """
    )
