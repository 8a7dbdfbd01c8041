"""Receipts of charges: the hosted receipt's link, the receipt number, what a receipt shows, and
who is told that a receipt is due.

The link (``charge.receipt_url``) is ``<public url>/receipts/<token>``, the token an HMAC of the
charge id under the key ring followed by the id, base64url-encoded: nothing stored, unguessable
without the ring, checked with every key of the ring (rotation keeps old links valid while the
old key stays), as the sandbox pages' links are.

A receipt number (Stripe's ``1234-5678``) is given when a receipt is first sent, from a counter
per merchant and mode locked in that transaction: numbers are consecutive and gap-free per
merchant, and no payment's transaction takes the counter (the notifications job does).

Payments do not send email: when a receipt is due (a charge with ``receipt_email`` captured,
or ``receipt_email`` set on a paid charge) the handlers registered with
:func:`on_receipt_due` by the composition root (``app.wire_modules``) are called in the same
transaction, and write their outbox rows there.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import ResourceMissingError
from beyondpay.kit.money import Money
from beyondpay.merchants.service import kyc_service, merchant_service
from beyondpay.payments.models import ChargeRow, ReceiptCounterRow
from beyondpay.payments.settings import key_ring, settings

RECEIPT_PATH: Final = "/receipts/"
_LINK_LABEL: Final = "charge_receipt:"
_TOKEN_MAC_BYTES: Final = 16
_CHARGE_ID_BYTES_MAX: Final = 255
# Receipt numbers read like Stripe's, "0000-0042": two groups of four digits (the first widens
# past 99,999,999 receipts).
_RECEIPT_GROUP: Final = 10_000
IST: Final = ZoneInfo("Asia/Kolkata")
_CARD_BRANDS: Final = {
    "amex": "American Express",
    "diners": "Diners Club",
    "discover": "Discover",
    "jcb": "JCB",
    "mastercard": "Mastercard",
    "rupay": "RuPay",
    "unionpay": "UnionPay",
    "visa": "Visa",
}

ReceiptHandler = Callable[[AsyncSession, ChargeRow], Awaitable[None]]
_handlers: list[ReceiptHandler] = []


def on_receipt_due(handler: ReceiptHandler) -> None:
    """``handler`` is called, in the caller's transaction, with each charge whose receipt is
    due (registering twice changes nothing)."""
    if handler not in _handlers:
        _handlers.append(handler)


async def receipt_due(session: AsyncSession, charge: ChargeRow) -> None:
    """The charge's receipt should be sent to its ``receipt_email`` (none: nothing to do)."""
    if charge.receipt_email is None:
        return
    for handler in _handlers:
        await handler(session, charge)


def receipt_token(ring: KeyRing, charge_id: str) -> str:
    mac = ring.fingerprint(_LINK_LABEL + charge_id)[:_TOKEN_MAC_BYTES]
    return base64.urlsafe_b64encode(mac + charge_id.encode()).decode().rstrip("=")


def charge_id_of_token(ring: KeyRing, token: str) -> str | None:
    """The charge a receipt token names, or None when the token is not one of ours."""
    if len(token) > 2 * (_TOKEN_MAC_BYTES + _CHARGE_ID_BYTES_MAX):
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        charge_id = raw[_TOKEN_MAC_BYTES:].decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    mac = raw[:_TOKEN_MAC_BYTES]
    for fingerprint in ring.fingerprints(_LINK_LABEL + charge_id):
        if charge_id and hmac.compare_digest(fingerprint[:_TOKEN_MAC_BYTES], mac):
            return charge_id
    return None


def receipt_url(charge: ChargeRow) -> str | None:
    """The hosted receipt of a charge that succeeded (None before: there is nothing to show)."""
    if charge.status != "succeeded":
        return None
    base = settings().public_url_value().rstrip("/")
    return f"{base}{RECEIPT_PATH}{receipt_token(key_ring(), charge.id)}"


def receipt_number_text(number: int) -> str:
    return f"{number // _RECEIPT_GROUP:04d}-{number % _RECEIPT_GROUP:04d}"


async def assign_receipt_number(session: AsyncSession, charge_id: str) -> ChargeRow:
    """The charge, locked, with its receipt number: the next of its merchant's (and mode's)
    counter the first time, the same one after (a receipt sent again keeps its number)."""
    charge = (
        await session.execute(
            select(ChargeRow)
            .where(ChargeRow.id == charge_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    if charge.receipt_number is not None:
        return charge
    taken = await session.execute(
        insert(ReceiptCounterRow)
        .values(merchant_id=charge.merchant_id, livemode=charge.livemode, last_number=1)
        .on_conflict_do_update(
            index_elements=[ReceiptCounterRow.merchant_id, ReceiptCounterRow.livemode],
            set_={"last_number": ReceiptCounterRow.last_number + 1},
        )
        .returning(ReceiptCounterRow.last_number)
    )
    charge.receipt_number = receipt_number_text(int(taken.scalar_one()))
    charge.updated_at = utcnow()
    await session.flush()
    return charge


@dataclass(frozen=True, slots=True)
class ReceiptView:
    """What a receipt shows, the page and the email alike: amounts formatted in the charge's
    currency (₹ with Indian grouping), the moment in IST, the method masked."""

    charge_id: str
    livemode: bool
    merchant_name: str
    gstin: str | None
    amount: str
    amount_refunded: str | None
    amount_net: str | None
    status: str
    paid_at: datetime
    receipt_number: str | None
    method: str
    description: str | None
    url: str | None

    @property
    def paid_at_text(self) -> str:
        return self.paid_at.strftime("%d %b %Y, %I:%M %p IST")


def method_text(details: dict[str, Any]) -> str:
    """The payment method as a receipt prints it: brand and last four digits of a card, the
    masked VPA, the bank; never a whole number or VPA (the charge holds none)."""
    kind = details.get("type")
    shown = details.get(kind) if isinstance(kind, str) else None
    shown = shown if isinstance(shown, dict) else {}
    if kind == "card":
        brand = str(shown.get("brand") or "card")
        return f"{_CARD_BRANDS.get(brand, brand.title())} •••• {shown.get('last4') or '····'}"
    if kind == "upi":
        return f"UPI · {shown.get('vpa') or 'masked'}"
    if kind == "netbanking":
        return f"Net banking · {shown.get('bank_name') or shown.get('bank') or 'bank'}"
    return str(kind or "payment")


def _status_text(charge: ChargeRow) -> str:
    if not charge.captured:
        return "Authorized"
    if charge.amount_refunded >= charge.amount_captured:
        return "Refunded"
    if charge.amount_refunded:
        return "Partially refunded"
    return "Paid"


async def receipt_view(session: AsyncSession, ring: KeyRing, charge: ChargeRow) -> ReceiptView:
    merchant = await merchant_service.get(session, charge.merchant_id)
    money = Money(charge.amount_captured or charge.amount, charge.currency)
    refunded = Money(charge.amount_refunded, charge.currency)
    return ReceiptView(
        charge_id=charge.id,
        livemode=charge.livemode,
        merchant_name=merchant.name if merchant is not None else "",
        gstin=await kyc_service.approved_gstin(session, ring, charge.merchant_id),
        amount=money.format(),
        amount_refunded=refunded.format() if charge.amount_refunded else None,
        amount_net=(money - refunded).format() if charge.amount_refunded else None,
        status=_status_text(charge),
        paid_at=charge.created_at.astimezone(IST),
        receipt_number=charge.receipt_number,
        method=method_text(charge.payment_method_details),
        description=charge.description,
        url=receipt_url(charge),
    )


async def receipt_of_token(session: AsyncSession, ring: KeyRing, token: str) -> ReceiptView:
    """The receipt a link shows; 404 for a token that is not ours or a charge not paid."""
    charge_id = charge_id_of_token(ring, token)
    charge = await session.get(ChargeRow, charge_id) if charge_id is not None else None
    if charge is None or charge.status != "succeeded":
        raise ResourceMissingError("No such receipt.")
    return await receipt_view(session, ring, charge)
