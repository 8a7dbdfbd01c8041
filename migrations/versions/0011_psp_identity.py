"""PSP identity: payers, one-time passwords, the sandbox SMS sink and sessions.

A payer is found by a keyed fingerprint of their mobile number; the number itself is sealed
(``mobile_sealed``) and shown masked. OTP codes, access tokens and refresh tokens are kept only
as keyed fingerprints, so none of these tables holds a credential in clear.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE psp_payers (
            id text PRIMARY KEY,
            name text NOT NULL,
            mobile_fingerprint bytea NOT NULL UNIQUE,
            mobile_sealed text NOT NULL,
            mobile_masked text NOT NULL,
            status text NOT NULL CHECK (status IN ('active', 'frozen')),
            frozen_at timestamptz,
            sessions_valid_after timestamptz,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        );

        CREATE TABLE psp_otps (
            id text PRIMARY KEY,
            mobile_fingerprint bytea NOT NULL,
            purpose text NOT NULL CHECK (purpose IN ('signup', 'login')),
            code_fingerprint bytea NOT NULL,
            attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            expires_at timestamptz NOT NULL,
            consumed_at timestamptz,
            superseded_at timestamptz,
            created_at timestamptz NOT NULL
        );
        CREATE INDEX ix_psp_otps_mobile ON psp_otps (mobile_fingerprint, created_at DESC);

        CREATE TABLE psp_sandbox_sms (
            id text PRIMARY KEY,
            mobile_fingerprint bytea NOT NULL,
            body_sealed text NOT NULL,
            created_at timestamptz NOT NULL
        );
        CREATE INDEX ix_psp_sandbox_sms_mobile ON psp_sandbox_sms (mobile_fingerprint, id DESC);

        CREATE TABLE psp_sessions (
            id text PRIMARY KEY,
            payer_id text NOT NULL REFERENCES psp_payers (id),
            device_id text,
            access_fingerprint bytea NOT NULL UNIQUE,
            access_expires_at timestamptz NOT NULL,
            refresh_fingerprint bytea NOT NULL UNIQUE,
            refresh_expires_at timestamptz NOT NULL,
            revoked_at timestamptz,
            revoked_reason text,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        );
        CREATE INDEX ix_psp_sessions_payer ON psp_sessions (payer_id) WHERE revoked_at IS NULL;
        CREATE INDEX ix_psp_sessions_device ON psp_sessions (device_id)
            WHERE device_id IS NOT NULL AND revoked_at IS NULL;

        -- Refresh tokens already rotated away: one presented again means it was copied, and
        -- its session is revoked (reuse detection).
        CREATE TABLE psp_retired_refresh_tokens (
            fingerprint bytea PRIMARY KEY,
            session_id text NOT NULL REFERENCES psp_sessions (id),
            retired_at timestamptz NOT NULL
        );
        CREATE INDEX ix_psp_retired_refresh_tokens_session
            ON psp_retired_refresh_tokens (session_id);
        """
    )


def downgrade() -> None:
    op.execute(
        "DROP TABLE psp_retired_refresh_tokens; DROP TABLE psp_sessions;"
        " DROP TABLE psp_sandbox_sms; DROP TABLE psp_otps; DROP TABLE psp_payers;"
    )
