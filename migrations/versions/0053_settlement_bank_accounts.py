"""Merchant bank accounts (issue 20, part 1): Stripe's external accounts of the merchant's own
account, verified by a sandbox penny drop, and the payout hold a change of them starts.

- ``bank_accounts``: one row per external account; the full account number only sealed
  (``account_number_sealed``, AES-GCM under the key ring), shown as ``last4`` and a keyed
  ``fingerprint``. At most one default per (merchant, mode, currency), by a partial unique index:
  the backstop of the lock on the hold row that serialises default changes.
- ``payout_account_holds``: per (merchant, mode, currency), until when payouts are held because
  the payout account was added or changed (the takeover guard); also the row a change of the
  default locks.
- ``sandbox_account_validations``: what the sandbox bank answered to each penny drop, by the
  caller's request id (the bank account's id), so a repeat gets the same answer.

Revision ID: 0053
Revises: 0054
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0053"
down_revision = "0054"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE bank_accounts (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            account_holder_name text NOT NULL,
            account_holder_type text CHECK (account_holder_type IN ('individual', 'company')),
            routing_number text NOT NULL,
            bank_name text,
            country text NOT NULL,
            currency text NOT NULL,
            last4 text NOT NULL,
            fingerprint text NOT NULL,
            account_number_sealed text NOT NULL,
            status text NOT NULL CHECK (status IN
                ('new', 'validated', 'verified', 'verification_failed', 'errored')),
            default_for_currency boolean NOT NULL,
            metadata jsonb NOT NULL DEFAULT '{}',
            name_at_bank text,
            validation_failure_code text,
            validation_attempts integer NOT NULL DEFAULT 0 CHECK (validation_attempts >= 0),
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            deleted_at timestamptz
        );
        CREATE INDEX bank_accounts_merchant ON bank_accounts (merchant_id, livemode, id DESC);
        CREATE UNIQUE INDEX bank_accounts_one_default
            ON bank_accounts (merchant_id, livemode, currency)
            WHERE default_for_currency AND deleted_at IS NULL;
        CREATE TABLE payout_account_holds (
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            currency text NOT NULL,
            held_until timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            PRIMARY KEY (merchant_id, livemode, currency)
        );
        CREATE TABLE sandbox_account_validations (
            request_id text PRIMARY KEY,
            reference text NOT NULL UNIQUE,
            status text NOT NULL CHECK (status IN ('succeeded', 'failed', 'pending')),
            code text NOT NULL,
            failure_code text,
            name_at_bank text,
            amount_minor bigint NOT NULL CHECK (amount_minor >= 0),
            attempts integer NOT NULL CHECK (attempts >= 1),
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        );
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE sandbox_account_validations;
        DROP TABLE payout_account_holds;
        DROP TABLE bank_accounts;
        """
    )
