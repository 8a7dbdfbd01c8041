"""Limits: policies as data, the PostgreSQL counter store and the decisions' audit trail.

A policy row is one control of one scope (a merchant or a PSP payer) and mode. Counters are what
a subject spent in one window of one cap (key = policy, subject, window), locked in the paying
transaction so parallel payments cannot all fit under one cap; they expire with their window.
``limit_decisions`` is the audit trail of every check, reservation and release: the generic
``audit_events`` row (route, status, request id) cannot say which policy decided and why. One
reservation per payment (a partial unique index), so a retry gets the first decision; a
reservation refused because the counters were unreachable does not count, so a retry decides anew.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE limit_policies (
            id text PRIMARY KEY,
            scope text NOT NULL,
            livemode boolean NOT NULL,
            kind text NOT NULL
                CHECK (kind IN ('cap', 'mcc', 'time_window', 'geo_window', 'list')),
            action text NOT NULL CHECK (action IN ('allow', 'deny')),
            subject text CHECK (subject IN ('payer', 'merchant', 'vpa', 'device', 'ip')),
            period text CHECK (period IN ('transaction', 'day', 'month')),
            amount_minor_max bigint CHECK (amount_minor_max > 0),
            count_max integer CHECK (count_max > 0),
            currency text,
            mccs text[] NOT NULL DEFAULT '{}',
            start_minute integer CHECK (start_minute BETWEEN 0 AND 1439),
            end_minute integer CHECK (end_minute BETWEEN 0 AND 1440),
            latitude double precision CHECK (latitude BETWEEN -90 AND 90),
            longitude double precision CHECK (longitude BETWEEN -180 AND 180),
            radius_m integer CHECK (radius_m > 0),
            list_values text[] NOT NULL DEFAULT '{}',
            list_values_shown text[] NOT NULL DEFAULT '{}',
            segment text,
            description text,
            metadata jsonb NOT NULL DEFAULT '{}',
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            deleted_at timestamptz
        )
        """
    )
    op.execute(
        "CREATE INDEX limit_policies_scope ON limit_policies (scope, livemode, id)"
        " WHERE deleted_at IS NULL"
    )
    op.execute(
        """
        CREATE TABLE limit_counters (
            key text PRIMARY KEY,
            amount_minor bigint NOT NULL CHECK (amount_minor >= 0),
            count integer NOT NULL CHECK (count >= 0),
            expires_at timestamptz NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX limit_counters_expires_at ON limit_counters (expires_at)")
    op.execute(
        """
        CREATE TABLE limit_decisions (
            id text PRIMARY KEY,
            scope text NOT NULL,
            livemode boolean NOT NULL,
            payment_id text NOT NULL,
            operation text NOT NULL CHECK (operation IN ('check', 'reserve', 'release')),
            allowed boolean NOT NULL,
            policy_id text,
            reason text NOT NULL,
            code text,
            npci_code text,
            amount_minor bigint NOT NULL,
            currency text NOT NULL,
            counters jsonb NOT NULL DEFAULT '[]',
            store text NOT NULL,
            released_at timestamptz,
            created_at timestamptz NOT NULL
        )
        """
    )
    op.execute(
        "CREATE UNIQUE INDEX limit_decisions_reservation"
        " ON limit_decisions (scope, livemode, payment_id)"
        " WHERE operation = 'reserve' AND code IS DISTINCT FROM 'limits_unavailable'"
    )
    op.execute(
        "CREATE INDEX limit_decisions_payment ON limit_decisions (scope, livemode, payment_id)"
    )


def downgrade() -> None:
    op.execute("DROP TABLE limit_decisions")
    op.execute("DROP TABLE limit_counters")
    op.execute("DROP TABLE limit_policies")
