"""The messages notifications send, rendered from Jinja2 templates (``templates/``): a text body
and an HTML one, autoescaped.

Receipts are composed here. A module above notifications that sends messages of its own (an
invoice, by billing) registers a composer for its kind with :func:`on_compose` from the
composition root (``app.wire_modules``): notifications never import it, and ask it for the
message's content when the message is sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.invariants import invariant
from beyondpay.notifications.domain import Kind
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
class MessageContent:
    """A message composed by the module it is about: its subject, who it is from (a name; the
    address is the platform's), and its text and HTML bodies."""

    subject: str
    sender_name: str
    text: str
    html: str | None = None


# (session, subject_id) → the content, read in the sending job's claim transaction.
Composer = Callable[[AsyncSession, str], Awaitable[MessageContent]]
_composers: dict[Kind, Composer] = {}


def on_compose(kind: Kind, composer: Composer) -> None:
    """``composer`` writes the messages of ``kind`` (registering again replaces it)."""
    _composers[kind] = composer


def composer_for(kind: Kind) -> Composer:
    composer = _composers.get(kind)
    invariant(composer is not None, f"the composition root registered a composer for {kind}")
    assert composer is not None
    return composer


def composed_email(
    content: MessageContent, *, sender: str, recipient: str, message_id: str
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = content.subject
    message["From"] = Address(display_name=content.sender_name, addr_spec=sender)
    message["To"] = recipient
    message["Message-ID"] = message_id
    message["Date"] = formatdate(localtime=False)
    message.set_content(content.text)
    if content.html is not None:
        message.add_alternative(content.html, subtype="html")
    return message
