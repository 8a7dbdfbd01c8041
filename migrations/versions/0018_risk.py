"""Risk: assessments (explainability snapshots), rules, blocklists and the PostgreSQL feature counters.

Assessments, rules and blocklist items carry (scope, livemode): the scope is the merchant for
merchant payments and the payer for the PSP's. The feature counters are keyed by mode and the
pseudonymous keys the caller hands over (payer, payee, device), not by scope: a payer seen by one
merchant's checkout and by the PSP is one history, as the network-wide signals of Radar are.
They are used only when Redis is not configured (risk/store.py).

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE risk_assessments (
            id text PRIMARY KEY,
            scope text NOT NULL,
            livemode boolean NOT NULL,
            payment_id text NOT NULL,
            rail text NOT NULL,
            amount_minor bigint NOT NULL,
            currency text NOT NULL,
            segment text NOT NULL,
            score integer NOT NULL CHECK (score BETWEEN 0 AND 100),
            level text NOT NULL CHECK (level IN
                ('very_low', 'low', 'normal', 'elevated', 'high', 'very_high')),
            decision text NOT NULL CHECK (decision IN ('pass', 'challenge', 'block')),
            decline_code text,
            rules jsonb NOT NULL,
            contributions jsonb NOT NULL,
            features jsonb NOT NULL,
            model_version text NOT NULL,
            created_at timestamptz NOT NULL,
            UNIQUE (scope, livemode, payment_id)
        );
        CREATE INDEX ix_risk_assessments_scope ON risk_assessments (scope, livemode, id);

        CREATE TABLE risk_rules (
            id text PRIMARY KEY,
            scope text NOT NULL,
            livemode boolean NOT NULL,
            action text NOT NULL CHECK (action IN ('challenge', 'allow', 'block', 'review')),
            segment text,                 -- NULL: every segment
            conditions jsonb NOT NULL,    -- [{"feature", "op", "value"}], all must hold
            reason text NOT NULL,
            position integer NOT NULL,
            enabled boolean NOT NULL,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        );
        CREATE INDEX ix_risk_rules_scope ON risk_rules (scope, livemode, id);

        CREATE TABLE risk_blocklist_items (
            id text PRIMARY KEY,
            scope text NOT NULL,
            livemode boolean NOT NULL,
            kind text NOT NULL CHECK (kind IN ('vpa', 'card', 'device', 'ip', 'payer')),
            value_key text NOT NULL,      -- a fingerprint (instruments, IPs) or an id
            display text NOT NULL,        -- what may be shown: a masked IP, a fingerprint's head
            reason text,
            created_at timestamptz NOT NULL,
            UNIQUE (scope, livemode, kind, value_key)
        );
        CREATE INDEX ix_risk_blocklist_items_scope ON risk_blocklist_items (scope, livemode, id);

        CREATE TABLE risk_feature_payments (
            livemode boolean NOT NULL,
            payer_key text NOT NULL,
            occurred_at timestamptz NOT NULL,
            amount_minor bigint NOT NULL,
            payee_key text NOT NULL,
            payment_id text NOT NULL
        );
        CREATE INDEX ix_risk_feature_payments_payer
            ON risk_feature_payments (livemode, payer_key, occurred_at);

        CREATE TABLE risk_feature_payees (
            livemode boolean NOT NULL,
            payee_key text NOT NULL,
            payer_key text NOT NULL,
            first_paid_at timestamptz NOT NULL,
            PRIMARY KEY (livemode, payee_key, payer_key)
        );
        CREATE INDEX ix_risk_feature_payees_first
            ON risk_feature_payees (livemode, payee_key, first_paid_at);

        CREATE TABLE risk_feature_payers (
            livemode boolean NOT NULL,
            payer_key text NOT NULL,
            last_device_id text,
            last_latitude double precision,
            last_longitude double precision,
            last_located_at timestamptz,
            PRIMARY KEY (livemode, payer_key)
        );

        CREATE TABLE risk_feature_devices (
            livemode boolean NOT NULL,
            device_id text NOT NULL,
            first_seen_at timestamptz NOT NULL,
            PRIMARY KEY (livemode, device_id)
        );
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE risk_feature_devices;
        DROP TABLE risk_feature_payers;
        DROP TABLE risk_feature_payees;
        DROP TABLE risk_feature_payments;
        DROP TABLE risk_blocklist_items;
        DROP TABLE risk_rules;
        DROP TABLE risk_assessments;
        """
    )
