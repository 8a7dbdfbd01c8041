"""Payment methods: cards, UPI and net banking, with their secrets encrypted under data keys.

A card number or a VPA is AES-256-GCM under a random data key of its own; the data key is sealed
by the key ring (``data_key_sealed``, with the ring key's id in ``data_key_ring_id`` so that
re-wrapping under a new ring key finds what is left). Fingerprints are HMACs under a per-merchant
key, itself sealed by the ring, so they stay equal across ring rotation. No CVC column exists.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE payment_methods (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            type text NOT NULL CHECK (type IN ('card', 'upi', 'netbanking')),
            customer_id text,
            billing_details jsonb NOT NULL,
            metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
            card_brand text,
            card_last4 text CHECK (card_last4 ~ '^[0-9]{4}$'),
            card_exp_month integer CHECK (card_exp_month BETWEEN 1 AND 12),
            card_exp_year integer,
            card_funding text,
            card_country text,
            card_cvc_given boolean,
            fingerprint text,
            upi_vpa_masked text,
            netbanking_bank text,
            data_key_sealed text,
            data_key_ring_id text,
            secret_ciphertext bytea,
            created_at timestamptz NOT NULL,
            detached_at timestamptz,
            CHECK ((type = 'card') = (card_last4 IS NOT NULL)),
            CHECK ((secret_ciphertext IS NULL) = (data_key_sealed IS NULL))
        );
        CREATE INDEX ix_payment_methods_scope ON payment_methods (merchant_id, livemode, id DESC);
        CREATE INDEX ix_payment_methods_customer
            ON payment_methods (merchant_id, livemode, customer_id, id DESC)
            WHERE customer_id IS NOT NULL;
        CREATE INDEX ix_payment_methods_fingerprint
            ON payment_methods (merchant_id, livemode, fingerprint)
            WHERE fingerprint IS NOT NULL;
        CREATE INDEX ix_payment_methods_data_key_ring_id
            ON payment_methods (data_key_ring_id) WHERE data_key_ring_id IS NOT NULL;

        CREATE TABLE payment_method_fingerprint_keys (
            merchant_id text PRIMARY KEY,
            key_sealed text NOT NULL,
            ring_key_id text NOT NULL,
            created_at timestamptz NOT NULL
        );
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE payment_method_fingerprint_keys; DROP TABLE payment_methods;")
