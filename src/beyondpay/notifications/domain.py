"""What a notification is and where it is in its life. No I/O."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

# How long a run that started sending owns the message: longer than any SMTP exchange, so a
# second run of the same job never sends while the first may still be talking to the server.
SEND_LEASE_S: Final = 120
SEND_TIMEOUT_S: Final = 30.0
# After this many attempts the message is given up (``failed``): about four and a half hours of
# tries with the job's backoff (2, 4, 8, … seconds: ``RETRY_EXPONENTIAL_WAIT_S``).
SEND_ATTEMPTS_MAX: Final = 12
RETRY_EXPONENTIAL_WAIT_S: Final = 2
ERROR_CHARS_MAX: Final = 500
# What one email may carry: an invoice's PDF is some 30 kB a page; a mail server commonly
# refuses a message over 10 to 25 MB.
ATTACHMENTS_MAX: Final = 5
ATTACHMENT_BYTES_MAX: Final = 5 * 1024 * 1024


class Channel(StrEnum):
    email = "email"


class Kind(StrEnum):
    """What a message is about. A receipt is composed here; every other kind by the composer
    its owner registered (``composers``), from the object ``subject_id`` names."""

    receipt = "receipt"
    invoice = "invoice"
    credit_note = "credit_note"
    pre_debit_notice = "pre_debit_notice"


class Status(StrEnum):
    queued = "queued"
    sending = "sending"
    sent = "sent"
    failed = "failed"


SMTP_NOT_CONFIGURED: Final = "smtp_not_configured"


def message_id_for(notification_id: str, sender_address: str) -> str:
    """The Message-ID a notification is sent under, the same on every attempt: a message sent
    again after a crash between the server's answer and our record of it carries the same id,
    which mail systems use to de-duplicate."""
    domain = sender_address.rpartition("@")[2] or "beyondpay.localhost"
    return f"<{notification_id}@{domain}>"
