"""PSP VPAs, private aliases, beneficiaries and merchant VPAs.

No VPA or alias text is kept in clear: a keyed fingerprint finds the row, a sealed copy (AES-GCM
bound to the row) is what the owner's own list opens, and a masked form is what others see. A
VPA's fingerprint stays unique for good, deactivated VPAs included: a name once used is never
handed to someone else, whose money an old contact would otherwise send it to.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE psp_vpas (
            id text PRIMARY KEY,
            owner_kind text NOT NULL CHECK (owner_kind IN ('payer', 'merchant')),
            payer_id text REFERENCES psp_payers (id),
            merchant_id text,
            livemode boolean NOT NULL DEFAULT false,
            vpa_fingerprint bytea NOT NULL UNIQUE,
            vpa_sealed text NOT NULL,
            vpa_masked text NOT NULL,
            bank_account_id text,
            account_ref text,
            display_name text,
            merchant_category_code text CHECK (merchant_category_code ~ '^[0-9]{4}$'),
            is_primary boolean NOT NULL DEFAULT false,
            status text NOT NULL CHECK (status IN ('active', 'inactive')),
            deactivated_at timestamptz,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            CHECK (
                (owner_kind = 'payer' AND payer_id IS NOT NULL AND merchant_id IS NULL
                    AND bank_account_id IS NOT NULL AND NOT livemode)
                OR (owner_kind = 'merchant' AND merchant_id IS NOT NULL AND payer_id IS NULL
                    AND account_ref IS NOT NULL AND display_name IS NOT NULL
                    AND merchant_category_code IS NOT NULL AND NOT is_primary)
            ),
            CHECK (NOT is_primary OR status = 'active')
        );
        -- Exactly one primary among a payer's active VPAs (none when they have none).
        CREATE UNIQUE INDEX ux_psp_vpas_primary ON psp_vpas (payer_id) WHERE is_primary;
        CREATE INDEX ix_psp_vpas_payer ON psp_vpas (payer_id, id) WHERE payer_id IS NOT NULL;
        CREATE INDEX ix_psp_vpas_merchant ON psp_vpas (merchant_id, livemode, id)
            WHERE merchant_id IS NOT NULL;

        CREATE TABLE psp_aliases (
            id text PRIMARY KEY,
            payer_id text NOT NULL REFERENCES psp_payers (id),
            vpa_id text NOT NULL REFERENCES psp_vpas (id),
            alias_sealed text NOT NULL,
            alias_masked text NOT NULL,
            status text NOT NULL CHECK (status IN ('active', 'revoked')),
            counterparty_payer_id text REFERENCES psp_payers (id),
            counterparty_masked text,
            merchant_id text,
            one_time boolean NOT NULL DEFAULT false,
            expires_at timestamptz,
            uses integer NOT NULL DEFAULT 0 CHECK (uses >= 0),
            used_at timestamptz,
            rotations integer NOT NULL DEFAULT 0 CHECK (rotations >= 0),
            rotated_at timestamptz,
            revoked_at timestamptz,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            CHECK (NOT one_time OR uses <= 1),
            CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
        );
        CREATE INDEX ix_psp_aliases_payer ON psp_aliases (payer_id, id);

        CREATE TABLE psp_alias_texts (
            fingerprint bytea PRIMARY KEY,
            alias_id text NOT NULL REFERENCES psp_aliases (id),
            status text NOT NULL CHECK (status IN ('current', 'rotated')),
            created_at timestamptz NOT NULL,
            rotated_at timestamptz
        );
        CREATE UNIQUE INDEX ux_psp_alias_texts_current ON psp_alias_texts (alias_id)
            WHERE status = 'current';

        CREATE TABLE psp_beneficiaries (
            id text PRIMARY KEY,
            payer_id text NOT NULL REFERENCES psp_payers (id),
            nickname text NOT NULL,
            saved_by text NOT NULL CHECK (saved_by IN ('vpa', 'alias', 'mobile')),
            vpa_id text NOT NULL REFERENCES psp_vpas (id),
            alias_id text REFERENCES psp_aliases (id),
            payee_payer_id text REFERENCES psp_payers (id),
            payee_kind text NOT NULL CHECK (payee_kind IN ('payer', 'merchant')),
            masked text NOT NULL,
            verified_name text NOT NULL,
            created_at timestamptz NOT NULL,
            deleted_at timestamptz,
            CHECK ((saved_by = 'alias') = (alias_id IS NOT NULL)),
            CHECK ((saved_by = 'mobile') = (payee_payer_id IS NOT NULL))
        );
        CREATE INDEX ix_psp_beneficiaries_payer ON psp_beneficiaries (payer_id, id)
            WHERE deleted_at IS NULL;

        -- How many addresses each payer resolved in the current minute (enumeration guard).
        CREATE TABLE psp_resolve_windows (
            payer_id text PRIMARY KEY REFERENCES psp_payers (id),
            window_start timestamptz NOT NULL,
            resolves integer NOT NULL CHECK (resolves >= 0)
        );
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE psp_resolve_windows;
        DROP TABLE psp_beneficiaries;
        DROP TABLE psp_alias_texts;
        DROP TABLE psp_aliases;
        DROP TABLE psp_vpas;
        """
    )
