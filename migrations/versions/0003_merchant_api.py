"""Merchant API platform: merchants, KYC documents, API keys, idempotency keys, audit, customers.

Every merchant-owned row carries (merchant_id, livemode), and every index a merchant's query uses
starts with both, so a query can only be written scoped and the tables can be distributed by
merchant. No foreign keys on the hot tables: the scope columns are checked by the service, and a
key on every audit or idempotency insert would cost a lookup per request.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE merchants (
            id text PRIMARY KEY,
            name text NOT NULL,
            status text NOT NULL DEFAULT 'pending_kyc'
                CHECK (status IN ('pending_kyc', 'active', 'suspended')),
            status_reason text,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        );

        CREATE TABLE kyc_documents (
            id text PRIMARY KEY,
            merchant_id text NOT NULL REFERENCES merchants (id),
            kind text NOT NULL CHECK (kind IN ('pan', 'gst', 'bank_account')),
            details_sealed text NOT NULL,   -- AES-GCM under the key ring, bound to the row id
            details_masked jsonb NOT NULL,  -- what may be shown: last digits, IFSC, names
            status text NOT NULL DEFAULT 'pending_review'
                CHECK (status IN ('pending_review', 'approved', 'rejected', 'superseded')),
            rejection_reason text,
            reviewed_at timestamptz,
            created_at timestamptz NOT NULL
        );
        CREATE INDEX ix_kyc_documents_merchant ON kyc_documents (merchant_id, id);

        CREATE TABLE api_keys (
            id text PRIMARY KEY,
            merchant_id text REFERENCES merchants (id),  -- NULL: a platform-admin key
            kind text NOT NULL CHECK (kind IN ('secret', 'publishable', 'restricted', 'admin')),
            livemode boolean NOT NULL,
            fingerprint bytea NOT NULL UNIQUE,  -- HMAC-SHA256 of the whole key under the ring
            ring_key_id text NOT NULL,
            redacted text NOT NULL,             -- sk_test_…wxyz: what a dashboard may show
            name text,
            scopes text[] NOT NULL DEFAULT '{}',
            allowed_ips cidr[],
            created_at timestamptz NOT NULL,
            expires_at timestamptz,
            revoked_at timestamptz,
            last_used_at timestamptz,
            rolled_to text
        );
        CREATE INDEX ix_api_keys_merchant ON api_keys (merchant_id, livemode, id);

        CREATE TABLE idempotency_keys (
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            key text NOT NULL,
            method text NOT NULL,
            route text NOT NULL,
            params_fingerprint bytea NOT NULL,
            recovery_point text NOT NULL,
            response_status integer,
            response_body bytea,
            request_id text NOT NULL,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            PRIMARY KEY (merchant_id, livemode, key)
        );
        CREATE INDEX ix_idempotency_keys_created ON idempotency_keys (created_at);

        CREATE TABLE audit_events (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            api_key_id text,
            ip inet,
            method text NOT NULL,
            route text NOT NULL,
            object_id text,
            status integer NOT NULL,
            error_code text,
            request_id text NOT NULL,
            created_at timestamptz NOT NULL
        );
        CREATE INDEX ix_audit_events_scope ON audit_events (merchant_id, livemode, id DESC);

        CREATE TABLE customers (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            name text,
            email text,
            phone text,
            description text,
            address jsonb,
            metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
            created_at timestamptz NOT NULL,
            deleted_at timestamptz
        );
        CREATE INDEX ix_customers_scope ON customers (merchant_id, livemode, id DESC);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE customers;
        DROP TABLE audit_events;
        DROP TABLE idempotency_keys;
        DROP TABLE api_keys;
        DROP TABLE kyc_documents;
        DROP TABLE merchants;
        """
    )
