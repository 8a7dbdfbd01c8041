"""PSP devices, binding attempts, passkeys and session handoffs.

A device is the client's own opaque id bound to one payer at a time (one active row per id).
Binding attempts are counted per device id for the blocking rule; link requests wait for a
linked device's approval. Passkeys keep their WebAuthn public key and sign count; challenges are
single use. A handoff's secret is kept only as a keyed fingerprint.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE psp_devices (
            id text PRIMARY KEY,
            payer_id text NOT NULL REFERENCES psp_payers (id),
            device_id text NOT NULL,
            name text,
            platform text,
            status text NOT NULL CHECK (status IN ('active', 'revoked')),
            bound_at timestamptz NOT NULL,
            revoked_at timestamptz,
            revoked_reason text,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        );
        CREATE UNIQUE INDEX uq_psp_devices_active ON psp_devices (device_id)
            WHERE status = 'active';
        CREATE INDEX ix_psp_devices_payer ON psp_devices (payer_id, created_at DESC);

        CREATE TABLE psp_device_binding_attempts (
            id text PRIMARY KEY,
            device_id text NOT NULL,
            payer_id text NOT NULL REFERENCES psp_payers (id),
            created_at timestamptz NOT NULL
        );
        CREATE INDEX ix_psp_device_binding_attempts_device
            ON psp_device_binding_attempts (device_id, created_at DESC);

        CREATE TABLE psp_device_blocks (
            device_id text PRIMARY KEY,
            blocked_until timestamptz NOT NULL,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        );

        CREATE TABLE psp_device_links (
            id text PRIMARY KEY,
            payer_id text NOT NULL REFERENCES psp_payers (id),
            device_id text NOT NULL,
            name text,
            platform text,
            session_id text NOT NULL REFERENCES psp_sessions (id),
            status text NOT NULL CHECK (status IN ('pending', 'approved', 'declined')),
            expires_at timestamptz NOT NULL,
            decided_by_device_id text,
            decided_at timestamptz,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        );
        CREATE INDEX ix_psp_device_links_payer ON psp_device_links (payer_id, created_at DESC);

        CREATE TABLE psp_passkeys (
            id text PRIMARY KEY,
            payer_id text NOT NULL REFERENCES psp_payers (id),
            credential_id bytea NOT NULL UNIQUE,
            public_key bytea NOT NULL,
            sign_count bigint NOT NULL CHECK (sign_count >= 0),
            aaguid text NOT NULL,
            name text,
            last_used_at timestamptz,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        );
        CREATE INDEX ix_psp_passkeys_payer ON psp_passkeys (payer_id, created_at);

        CREATE TABLE psp_passkey_challenges (
            id text PRIMARY KEY,
            payer_id text REFERENCES psp_payers (id),
            purpose text NOT NULL CHECK (purpose IN ('registration', 'login', 'step_up')),
            challenge bytea NOT NULL,
            expires_at timestamptz NOT NULL,
            consumed_at timestamptz,
            created_at timestamptz NOT NULL
        );
        CREATE INDEX ix_psp_passkey_challenges_expires ON psp_passkey_challenges (expires_at);

        CREATE TABLE psp_handoffs (
            id text PRIMARY KEY,
            payer_id text NOT NULL REFERENCES psp_payers (id),
            device_id text NOT NULL,
            secret_fingerprint bytea NOT NULL UNIQUE,
            expires_at timestamptz NOT NULL,
            redeemed_at timestamptz,
            session_id text REFERENCES psp_sessions (id),
            created_at timestamptz NOT NULL
        );
        """
    )


def downgrade() -> None:
    op.execute(
        "DROP TABLE psp_handoffs; DROP TABLE psp_passkey_challenges; DROP TABLE psp_passkeys;"
        " DROP TABLE psp_device_links; DROP TABLE psp_device_blocks;"
        " DROP TABLE psp_device_binding_attempts; DROP TABLE psp_devices;"
    )
