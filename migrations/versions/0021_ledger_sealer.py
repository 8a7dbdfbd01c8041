"""Ledger: transfers are numbered and hash-chained after commit, by the sealer.

A writer inserts a transfer with its position and no sequence, prev_hash or hash; the sealer
(``ledger.sealer``) gives them to committed transfers, a ledger at a time under that ledger's
head lock, so no payment ever locks a journal head (docs/ledger.md, "Journal"). The trigger
that keeps the table append-only lets exactly that one UPDATE through: on a row still unsealed,
setting the three columns and changing nothing else.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE ledger_transfers
            ALTER COLUMN sequence DROP NOT NULL,
            ALTER COLUMN prev_hash DROP NOT NULL,
            ALTER COLUMN hash DROP NOT NULL,
            -- Sealed (all three set) or not (none set): never half.
            ADD CONSTRAINT ck_ledger_transfers_sealed_whole CHECK (
                (sequence IS NULL AND prev_hash IS NULL AND hash IS NULL)
                OR (sequence IS NOT NULL AND prev_hash IS NOT NULL AND hash IS NOT NULL)
            );
        -- What the sealer reads: a ledger's unsealed transfers in position order (small: rows
        -- leave it within about a second of their commit).
        CREATE INDEX ix_ledger_transfers_unsealed
            ON ledger_transfers (ledger, position) WHERE sequence IS NULL;
        -- A ledger's journal newest first, sealed or not (the wallets API pages it).
        CREATE INDEX ix_ledger_transfers_ledger_position ON ledger_transfers (ledger, position);

        CREATE OR REPLACE FUNCTION ledger_transfers_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            unsealed ledger_transfers;
        BEGIN
            IF TG_OP = 'UPDATE' AND OLD.sequence IS NULL AND NEW.sequence IS NOT NULL
                    AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL THEN
                -- The sealing: the new row, less its seal, must be the old row exactly.
                unsealed := NEW;
                unsealed.sequence := NULL;
                unsealed.prev_hash := NULL;
                unsealed.hash := NULL;
                IF unsealed IS NOT DISTINCT FROM OLD THEN
                    RETURN NEW;
                END IF;
            END IF;
            RAISE EXCEPTION 'ledger_transfers is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END;
        $$;
        """
    )


def downgrade() -> None:
    # Needs every transfer sealed first (`beyondpay ledger verify --seal-first`): the columns
    # become NOT NULL again.
    op.execute(
        """
        CREATE OR REPLACE FUNCTION ledger_transfers_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'ledger_transfers is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END;
        $$;
        DROP INDEX ix_ledger_transfers_ledger_position;
        DROP INDEX ix_ledger_transfers_unsealed;
        ALTER TABLE ledger_transfers
            DROP CONSTRAINT ck_ledger_transfers_sealed_whole,
            ALTER COLUMN sequence SET NOT NULL,
            ALTER COLUMN prev_hash SET NOT NULL,
            ALTER COLUMN hash SET NOT NULL;
        """
    )
