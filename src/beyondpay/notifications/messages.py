"""The messages notifications send: receipts rendered from Jinja2 templates (``templates/``), a
text body and an HTML one, autoescaped; and, for the other kinds, the ``ComposedEmail`` that
the kind's composer gives (``composers``), with its attachments."""

from __future__ import annotations

from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from beyondpay.kit.invariants import invariant
from beyondpay.notifications.domain import ATTACHMENT_BYTES_MAX, ATTACHMENTS_MAX
from beyondpay.payments.service import ReceiptView

_templates = Environment(
    loader=PackageLoader("beyondpay.notifications", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def receipt_subject(view: ReceiptView) -> str:
    # Stripe's words: "Your receipt from Acme #1234-5678".
    number = f" #{view.receipt_number}" if view.receipt_number else ""
    return f"Your receipt from {view.merchant_name}{number}"


def receipt_email(
    view: ReceiptView, *, sender: str, recipient: str, message_id: str
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = receipt_subject(view)
    message["From"] = Address(display_name=view.merchant_name, addr_spec=sender)
    message["To"] = recipient
    message["Message-ID"] = message_id
    message["Date"] = formatdate(localtime=False)
    context = {"receipt": view}
    message.set_content(_templates.get_template("receipt.txt").render(context))
    message.add_alternative(_templates.get_template("receipt.html").render(context), subtype="html")
    return message


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file an email carries (an invoice's PDF)."""

    filename: str
    content_type: str
    data: bytes

    def __post_init__(self) -> None:
        maintype, _, subtype = self.content_type.partition("/")
        invariant(bool(maintype and subtype), "an attachment's content type is type/subtype")
        invariant(0 < len(self.data) <= ATTACHMENT_BYTES_MAX, "an attachment's size is bounded")
        # The name goes into a header: no path and no line break.
        invariant(
            bool(self.filename) and not set(self.filename) & set("/\\\r\n"),
            "an attachment's filename is a bare name",
        )


@dataclass(frozen=True, slots=True)
class ComposedEmail:
    """What a composer gives for a message: who it is from (a display name; the address is
    ``BEYONDPAY_EMAIL_FROM``), its subject, its text and HTML bodies, and its attachments."""

    from_name: str
    subject: str
    text: str
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()

    def __post_init__(self) -> None:
        invariant(len(self.attachments) <= ATTACHMENTS_MAX, "an email's attachments are bounded")


def composed_email(
    composed: ComposedEmail, *, sender: str, recipient: str, message_id: str
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = composed.subject
    message["From"] = Address(display_name=composed.from_name, addr_spec=sender)
    message["To"] = recipient
    message["Message-ID"] = message_id
    message["Date"] = formatdate(localtime=False)
    message.set_content(composed.text)
    if composed.html is not None:
        message.add_alternative(composed.html, subtype="html")
    for attachment in composed.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return message
