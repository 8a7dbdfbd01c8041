"""An invoice's discounts, through billing/catalog: the coupons and promotion codes a draft
names (``discounts[][coupon|promotion_code]``), checked when named and kept with their terms,
checked again and redeemed once at finalization. Never commits.

A redemption is recorded under ``<invoice>:discount:<n>``, so a finalization that is retried
counts it once, and one that rolls back counts nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.catalog.domain import Duration
from beyondpay.billing.catalog.service import (
    CouponTerms,
    Purchase,
    coupon_service,
    promotion_code_service,
)
from beyondpay.billing.invoices.domain import Status
from beyondpay.billing.invoices.models import InvoiceRow
from beyondpay.kit.errors import InvalidRequestError
from beyondpay.kit.ids import new_id
from beyondpay.merchants.domain import Caller

PARAM: Final = "discounts"


def terms_stored(terms: CouponTerms) -> dict[str, Any]:
    return {
        "coupon_id": terms.coupon_id,
        "duration": str(terms.duration),
        "duration_in_months": terms.duration_in_months,
        "percent_off_basis_points": terms.percent_off_basis_points,
        "amount_off": terms.amount_off,
        "currency": terms.currency,
        "currency_options": dict(terms.currency_options),
        "applies_to_products": (
            None if terms.applies_to_products is None else sorted(terms.applies_to_products)
        ),
    }


def terms_of(stored: dict[str, Any]) -> CouponTerms:
    products = stored["applies_to_products"]
    return CouponTerms(
        coupon_id=stored["coupon_id"],
        duration=Duration(stored["duration"]),
        duration_in_months=stored["duration_in_months"],
        percent_off_basis_points=stored["percent_off_basis_points"],
        amount_off=stored["amount_off"],
        currency=stored["currency"],
        currency_options=stored["currency_options"],
        applies_to_products=None if products is None else frozenset(products),
    )


async def _first_transaction(session: AsyncSession, caller: Caller, customer_id: str) -> bool:
    """No paid invoice of the customer's yet (what ``first_time_transaction`` codes ask)."""
    paid = await session.execute(
        select(
            exists().where(
                InvoiceRow.merchant_id == caller.merchant,
                InvoiceRow.livemode == caller.livemode,
                InvoiceRow.customer_id == customer_id,
                InvoiceRow.status == Status.paid,
            )
        )
    )
    return not paid.scalar_one()


async def _checked(
    session: AsyncSession,
    caller: Caller,
    coupon: str | None,
    promotion_code: str | None,
    *,
    customer_id: str,
    currency: str,
    amount: int | None,
    at: datetime | None,
) -> tuple[str, str | None, CouponTerms]:
    if (coupon is None) == (promotion_code is None):
        raise InvalidRequestError(
            "Each discount names one of coupon or promotion_code.", param=PARAM
        )
    if promotion_code is not None:
        purchase = Purchase(
            customer_id=customer_id,
            amount_minor=amount,
            currency=currency,
            first_transaction=await _first_transaction(session, caller, customer_id),
        )
        resolved = await promotion_code_service.resolve(
            session, caller, promotion_code, purchase=purchase, at=at, param=PARAM
        )
        return resolved.coupon.coupon_id, resolved.promotion_code.id, resolved.coupon
    assert coupon is not None
    terms = await coupon_service.redeemable(
        session, caller, coupon, currency=currency, at=at, param=PARAM
    )
    return coupon, None, terms


async def named(
    session: AsyncSession,
    caller: Caller,
    wanted: Sequence[tuple[str | None, str | None]],
    *,
    customer_id: str,
    currency: str,
) -> list[dict[str, Any]]:
    """The discounts ``(coupon, promotion_code)`` a draft names, checked now (a 400 naming
    ``discounts``), each with its new ``di_`` id and its coupon's terms."""
    found: list[dict[str, Any]] = []
    for coupon, code in wanted:
        coupon_id, code_id, terms = await _checked(
            session,
            caller,
            coupon,
            code,
            customer_id=customer_id,
            currency=currency,
            amount=None,
            at=None,
        )
        if any(entry["coupon"] == coupon_id for entry in found):
            raise InvalidRequestError(
                f"The coupon {coupon_id} is named twice: a coupon applies once.", param=PARAM
            )
        found.append(
            {
                "id": new_id("di"),
                "coupon": coupon_id,
                "promotion_code": code_id,
                "terms": terms_stored(terms),
            }
        )
    return found


async def redeem(
    session: AsyncSession, caller: Caller, invoice: InvoiceRow, moment: datetime
) -> None:
    """At finalization: each discount checked again at ``moment`` (its terms refreshed) and its
    redemption counted once, under an id derived from the invoice."""
    refreshed = []
    for index, entry in enumerate(invoice.discounts):
        _, code_id, terms = await _checked(
            session,
            caller,
            None if entry["promotion_code"] else entry["coupon"],
            entry["promotion_code"],
            customer_id=invoice.customer_id,
            currency=invoice.currency,
            amount=invoice.subtotal,
            at=moment,
        )
        await coupon_service.redeem(
            session,
            caller,
            f"{invoice.id}:discount:{index}",
            coupon_id=entry["coupon"],
            promotion_code_id=code_id,
            customer_id=invoice.customer_id,
            at=moment,
            param=PARAM,
        )
        refreshed.append({**entry, "terms": terms_stored(terms)})
    invoice.discounts = refreshed
