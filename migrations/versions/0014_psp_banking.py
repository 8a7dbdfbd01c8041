"""PSP bank accounts and UPI PINs.

``psp_bank_accounts`` holds the accounts a payer has linked: what the bank told us (name, IFSC,
masked number, verified holder name) and the rails' opaque reference to the account. A payer has
at most one primary account, and links an account once while it is linked.

``psp_upi_pins`` holds a PIN per bank account (as NPCI has it: the PIN is the account's, so it
outlives unlinking and relinking): only an Argon2id hash keyed by a pepper from the key ring
(whose key id and parameters are stored with it), bound to the account, and the count of wrong
entries that locks it.

``psp_card_checks`` counts wrong debit cards per payer and bank, which lock card checks (linking,
setting a PIN) for a while.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE psp_bank_accounts (
            id text PRIMARY KEY,
            payer_id text NOT NULL REFERENCES psp_payers (id),
            bank text NOT NULL,
            bank_name text NOT NULL,
            ifsc text NOT NULL,
            account_ref text NOT NULL,
            account_number_masked text NOT NULL,
            account_type text NOT NULL,
            holder_name text NOT NULL,
            is_primary boolean NOT NULL DEFAULT false,
            status text NOT NULL CHECK (status IN ('active', 'unlinked')),
            unlinked_at timestamptz,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            CHECK (status = 'active' OR NOT is_primary),
            CHECK ((status = 'unlinked') = (unlinked_at IS NOT NULL))
        );
        CREATE UNIQUE INDEX uq_psp_bank_accounts_primary ON psp_bank_accounts (payer_id)
            WHERE is_primary;
        CREATE UNIQUE INDEX uq_psp_bank_accounts_linked ON psp_bank_accounts
            (payer_id, account_ref) WHERE status = 'active';
        CREATE INDEX ix_psp_bank_accounts_payer ON psp_bank_accounts (payer_id, id);

        CREATE TABLE psp_upi_pins (
            account_ref text PRIMARY KEY,
            pin_hash bytea NOT NULL,
            pin_salt bytea NOT NULL,
            pepper_key_id text NOT NULL,
            hash_parameters text NOT NULL,
            tries_failed integer NOT NULL DEFAULT 0 CHECK (tries_failed >= 0),
            locked_at timestamptz,
            set_at timestamptz NOT NULL,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        );

        CREATE TABLE psp_card_checks (
            payer_id text NOT NULL REFERENCES psp_payers (id),
            bank text NOT NULL,
            tries_failed integer NOT NULL DEFAULT 0 CHECK (tries_failed >= 0),
            locked_until timestamptz,
            updated_at timestamptz NOT NULL,
            PRIMARY KEY (payer_id, bank)
        );
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE psp_card_checks;
        DROP TABLE psp_upi_pins;
        DROP TABLE psp_bank_accounts;
        """
    )
