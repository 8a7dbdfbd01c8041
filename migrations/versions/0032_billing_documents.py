"""Billing documents by email: notifications of kind ``invoice`` and ``credit_note``, and the
test-mode sink's record of what each email carried.

An invoice's email carries its PDF, but the outbox row keeps only the reference it already has
(``kind``, ``subject_id``): the sending job rebuilds the message, PDF included, through the
composer that billing registers. The sink's copy describes each attachment (filename, content
type, size, SHA-256) without keeping its bytes.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
        ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
            CHECK (kind IN ('receipt', 'invoice', 'credit_note'));

        ALTER TABLE notification_sandbox_emails
            ADD COLUMN attachments jsonb NOT NULL DEFAULT '[]'::jsonb
                CHECK (jsonb_typeof(attachments) = 'array');
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE notification_sandbox_emails DROP COLUMN attachments;
        DELETE FROM notification_sandbox_emails WHERE notification_id IN (
            SELECT id FROM notifications WHERE kind <> 'receipt'
        );
        DELETE FROM notifications WHERE kind <> 'receipt';
        ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
        ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
            CHECK (kind = 'receipt');
        """
    )
