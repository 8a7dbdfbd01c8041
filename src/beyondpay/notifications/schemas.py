"""Parameters and objects of notifications: the test-mode sink's messages."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from beyondpay.kit.params import Params
from beyondpay.notifications.models import NotificationRow, SandboxEmailRow


class SandboxEmailListParams(Params):
    to: Annotated[str | None, Field(default=None, max_length=512)] = None
    related: Annotated[str | None, Field(default=None, max_length=255)] = None
    limit: int = Field(default=10, ge=1, le=100)


class SandboxEmailAttachment(BaseModel):
    """A file the email carried, as the sink received it (described, not kept)."""

    filename: str
    content_type: str = Field(description="Its MIME type: `application/pdf` for a document.")
    size_bytes: int
    sha256: str = Field(description="The hex SHA-256 of its bytes.")


class SandboxEmail(BaseModel):
    """An email the test-mode SMTP sink received."""

    id: str = Field(description="The notification's id (`ntf_…`).")
    object: Literal["notification_sandbox_email"]
    kind: str = Field(
        description="What it is: `receipt`, `invoice`, `credit_note` or `pre_debit_notice`."
    )
    related: str = Field(
        description="The object it is about: a charge (`ch_…`) for a receipt, the invoice or"
        " credit note for theirs, the subscription's notice (`sbn_…`) for a pre-debit notice."
    )
    message_id: str
    sender: str = Field(description="The envelope's sender (`BEYONDPAY_EMAIL_FROM`).")
    recipients: list[str]
    subject: str
    text: str
    html: str | None
    attachments: list[SandboxEmailAttachment]
    created: int = Field(description="When the sink received it.")


def sandbox_email_object(email: SandboxEmailRow, notification: NotificationRow) -> dict[str, Any]:
    return {
        "id": notification.id,
        "object": "notification_sandbox_email",
        "kind": notification.kind,
        "related": notification.subject_id,
        "message_id": email.message_id,
        "sender": email.envelope_from,
        "recipients": list(email.recipients),
        "subject": email.subject,
        "text": email.text_body,
        "html": email.html_body,
        "attachments": list(email.attachments),
        "created": int(email.received_at.timestamp()),
    }
