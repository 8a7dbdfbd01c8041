"""The messages notifications send, rendered from Jinja2 templates (``templates/``): a text body
and an HTML one, autoescaped."""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

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
