"""Payment links' use cases, as their routes, the link's page and the composition root reach
them. Never commits.

**A visit opens a new Checkout Session** (:func:`open_session`) through checkout's own use
case with the link's line items, the session recording the link (``payment_link``); the
session's ``success_url`` is the link's redirect URL, or our confirmation page.

**Counting completions** (:func:`count_completed`, registered with checkout's
``on_completed`` by ``app.wire_modules``): in the transaction that completes a session (its
PaymentIntent's), the link's row is locked and its ``completed_sessions`` counted; the
completion that reaches ``restrictions.completed_sessions.limit`` deactivates the link there
(``payment_link.updated``). The row lock serialises two sessions completing at once, so no
completion is lost and the link is deactivated exactly once. A visit reads the link without a
lock: a session opened just before the limit is reached may still be paid, as Stripe's may
(``domain``). Lock order: the intent, the session, then the link (payments and checkout hold
the first two when they call us); the API's update locks only the link.
"""

from __future__ import annotations

import builtins
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.catalog.schemas import price_object
from beyondpay.billing.catalog.service import price_service
from beyondpay.checkout.domain import PAYMENT_METHOD_TYPES, line_amount, total
from beyondpay.checkout.models import CheckoutSessionRow
from beyondpay.checkout.schemas import (
    CheckoutLineItemParams,
    CheckoutSessionCreateParams,
    line_item_object,
)
from beyondpay.checkout.service import acting_for, checkout_session_service
from beyondpay.checkout.settings import CONFIG
from beyondpay.checkout.subscription_mode import (
    PAYMENT_METHOD_TYPES as SUBSCRIPTION_PAYMENT_METHOD_TYPES,
)
from beyondpay.db.pagination import created_conditions, scoped, scoped_page
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import InvalidRequestError, ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.kit.params import merge_metadata
from beyondpay.merchants.domain import Caller
from beyondpay.merchants.service import merchant_service
from beyondpay.payment_links.domain import (
    CONFIRMATION_DEFAULT,
    AfterCompletion,
    count_completion,
    opens_session,
    reactivation_problem,
)
from beyondpay.payment_links.errors import PaymentLinkLimitReachedError
from beyondpay.payment_links.events import PaymentLinkEvent, record
from beyondpay.payment_links.models import PaymentLinkRow
from beyondpay.payment_links.schemas import (
    PAGE_PATH,
    AfterCompletionParams,
    PaymentLinkCreateParams,
    PaymentLinkLineItemListParams,
    PaymentLinkListParams,
    PaymentLinkUpdateParams,
    link_object,
)
from beyondpay.rails.service import rails_for_currency

_TOKEN_BYTES: Final = 18
SESSION_PARAM: Final = "session"


def _new_token(livemode: bool) -> str:
    """The link's public token: random (not derived from its id), with its mode, as Stripe's
    ``buy.stripe.com/test_…`` links are."""
    return ("live_" if livemode else "test_") + secrets.token_urlsafe(_TOKEN_BYTES)


def link_url(row: PaymentLinkRow) -> str:
    return f"{CONFIG.current().public_url}{PAGE_PATH}{row.url_token}"


def confirmation_url(row: PaymentLinkRow) -> str:
    """Our page after a hosted-confirmation link's payment (checkout replaces the id)."""
    return f"{link_url(row)}/complete?{SESSION_PARAM}={{CHECKOUT_SESSION_ID}}"


def rendered(row: PaymentLinkRow) -> dict[str, Any]:
    return link_object(row, link_url(row))


def _after_completion(params: AfterCompletionParams | None) -> tuple[str, str | None, str | None]:
    """The link's after-completion type, redirect URL and custom message."""
    if params is None:
        return AfterCompletion.hosted_confirmation, None, None
    if params.type == AfterCompletion.redirect:
        if params.redirect is None:
            raise InvalidRequestError(
                "after_completion[redirect] is required when type is redirect.",
                param="after_completion[redirect]",
            )
        if params.hosted_confirmation is not None:
            raise InvalidRequestError(
                "after_completion[hosted_confirmation] is only for type hosted_confirmation.",
                param="after_completion[hosted_confirmation]",
            )
        return AfterCompletion.redirect, params.redirect.url, None
    if params.redirect is not None:
        raise InvalidRequestError(
            "after_completion[redirect] is only for type redirect.",
            param="after_completion[redirect]",
        )
    message = params.hosted_confirmation.custom_message if params.hosted_confirmation else None
    return AfterCompletion.hosted_confirmation, None, message


def _mode(lines: Sequence[dict[str, Any]]) -> Literal["payment", "subscription"]:
    """The mode of the link's sessions: subscription when a price is recurring (its one-time
    prices then go on the subscription's first invoice)."""
    return "subscription" if any(line.get("recurring") for line in lines) else "payment"


def _payment_method_types(
    kinds: list[str] | None, currency: str, *, subscription: bool
) -> list[str] | None:
    if kinds is None:
        return None
    offered = [str(rail) for rail in rails_for_currency(currency)]
    for index, kind in enumerate(kinds):
        if kind not in PAYMENT_METHOD_TYPES or kind not in offered:
            raise InvalidRequestError(
                f"The payment method type {kind!r} cannot pay in {currency.upper()}.",
                param=f"payment_method_types[{index}]",
            )
        if subscription and kind not in SUBSCRIPTION_PAYMENT_METHOD_TYPES:
            raise InvalidRequestError(
                f"The payment method type {kind!r} cannot pay a subscription yet: only a saved"
                " card is charged off-session for its renewals.",
                param=f"payment_method_types[{index}]",
            )
    return list(dict.fromkeys(kinds))


def _check_total(lines: list[dict[str, Any]]) -> None:
    amount = total([line_amount(line["unit_amount"], line["quantity"]) for line in lines])
    if amount is None:
        raise InvalidRequestError("The line items' total is too large.", param="line_items")
    if amount == 0:
        raise InvalidRequestError("The line items' total must be above zero.", param="line_items")


class PaymentLinkService:
    async def create(
        self, session: AsyncSession, caller: Caller, params: PaymentLinkCreateParams
    ) -> PaymentLinkRow:
        lines: list[dict[str, Any]] = []
        for index, item in enumerate(params.line_items):
            param = f"line_items[{index}][price]"
            price = await price_service.billable(session, caller, item.price, param=param)
            every = price.recurring
            # A recurring price makes the link's sessions subscription-mode ones (Stripe's).
            recurring = None if every is None else [str(every.interval), every.interval_count]
            if lines and price.currency != lines[0]["currency"]:
                raise InvalidRequestError("All line items must be in one currency.", param=param)
            first = next((line["recurring"] for line in lines if "recurring" in line), None)
            if recurring is not None and first is not None and recurring != first:
                raise InvalidRequestError(
                    "All of a subscription's prices must have the same billing interval.",
                    param=param,
                )
            line: dict[str, Any] = {
                "id": f"li_{new_id('li').partition('_')[2]}",
                "price": price.price_id,
                "description": price.product_name,
                "currency": price.currency,
                "unit_amount": price.unit_amount,
                "quantity": item.quantity,
            }
            if recurring is not None:
                line["recurring"] = recurring
            lines.append(line)
        _check_total(lines)
        currency = str(lines[0]["currency"])
        kinds = _payment_method_types(
            list(params.payment_method_types) if params.payment_method_types else None,
            currency,
            subscription=_mode(lines) == "subscription",
        )
        kind, redirect_url, message = _after_completion(params.after_completion)
        now = utcnow().replace(microsecond=0)
        row = PaymentLinkRow(
            id=new_id("plink"),
            merchant_id=caller.merchant,
            livemode=caller.livemode,
            url_token=("live_" if caller.livemode else "test_")
            + secrets.token_urlsafe(_TOKEN_BYTES),
            active=True,
            currency=currency,
            line_items=lines,
            payment_method_types=kinds,
            after_completion_type=kind,
            redirect_url=redirect_url,
            custom_message=message,
            completed_sessions_limit=(
                params.restrictions.completed_sessions.limit if params.restrictions else None
            ),
            completed_sessions=0,
            metadata_=merge_metadata(
                {}, params.metadata if isinstance(params.metadata, dict) else None
            ),
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        await session.flush()
        await record(session, row, PaymentLinkEvent.created, link_url(row))
        return row

    async def get(
        self,
        session: AsyncSession,
        caller: Caller,
        link_id: str,
        *,
        for_update: bool = False,
        param: str | None = "id",
    ) -> PaymentLinkRow:
        statement = scoped(
            PaymentLinkRow, caller.merchant, caller.livemode, PaymentLinkRow.id == link_id
        )
        if for_update:
            statement = statement.with_for_update().execution_options(populate_existing=True)
        row: PaymentLinkRow | None = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object("payment_link", link_id, param=param)
        return row

    async def update(
        self,
        session: AsyncSession,
        caller: Caller,
        link_id: str,
        params: PaymentLinkUpdateParams,
    ) -> PaymentLinkRow:
        """Changes what the params name, under the link's lock; ``payment_link.updated`` with
        the previous values of what changed (none recorded when nothing did)."""
        row = await self.get(session, caller, link_id, for_update=True)
        before = link_object(row, "")
        lines_changed = False
        if params.line_items is not None:
            by_id = {str(line["id"]): dict(line) for line in row.line_items}
            for index, item in enumerate(params.line_items):
                if item.id not in by_id:
                    raise ResourceMissingError.for_object(
                        "line_item", item.id, param=f"line_items[{index}][id]"
                    )
                by_id[item.id]["quantity"] = item.quantity
            lines = [by_id[str(line["id"])] for line in row.line_items]
            _check_total(lines)
            lines_changed = lines != list(row.line_items)
            row.line_items = lines
        if params.restrictions is not None:
            row.completed_sessions_limit = (
                None if params.restrictions == "" else params.restrictions.completed_sessions.limit
            )
        if params.after_completion is not None:
            kind, redirect_url, message = _after_completion(params.after_completion)
            row.after_completion_type = kind
            row.redirect_url = redirect_url
            row.custom_message = message
        problem = reactivation_problem(row.completed_sessions, row.completed_sessions_limit)
        if params.active is not None:
            if params.active and problem is not None:
                raise PaymentLinkLimitReachedError(problem, param="active")
            row.active = params.active
        if problem is not None:
            # A limit lowered to the count (or below) switches the link off, as reaching it does.
            row.active = False
        if params.metadata is not None:
            row.metadata_ = merge_metadata(
                dict(row.metadata_), params.metadata if isinstance(params.metadata, dict) else {}
            )
        after = link_object(row, "")
        previous = {key: value for key, value in before.items() if after[key] != value}
        if lines_changed:
            # Not part of the rendered link (read at …/line_items): named, as Stripe names it.
            previous["line_items"] = None
        if previous:
            row.updated_at = utcnow()
            await session.flush()
            await record(session, row, PaymentLinkEvent.updated, link_url(row), previous)
        return row

    async def list(
        self, session: AsyncSession, caller: Caller, params: PaymentLinkListParams
    ) -> tuple[Sequence[PaymentLinkRow], bool]:
        conditions: list[Any] = created_conditions(PaymentLinkRow.created_at, params.created)
        if params.active is not None:
            conditions.append(PaymentLinkRow.active == params.active)
        return await scoped_page(
            session,
            PaymentLinkRow,
            caller.merchant,
            caller.livemode,
            params,
            *conditions,
            object_name="payment_link",
        )

    async def line_items(
        self,
        session: AsyncSession,
        caller: Caller,
        link_id: str,
        params: PaymentLinkLineItemListParams,
    ) -> tuple[builtins.list[dict[str, Any]], bool]:
        """A page of the link's line items in their order (cursors name its line items)."""
        row = await self.get(session, caller, link_id)
        lines = list(row.line_items)
        ids = [line["id"] for line in lines]
        for cursor, param in (
            (params.starting_after, "starting_after"),
            (params.ending_before, "ending_before"),
        ):
            if cursor is not None and cursor not in ids:
                raise ResourceMissingError.for_object("line_item", cursor, param=param)
        start, stop = 0, len(lines)
        if params.starting_after is not None:
            start = ids.index(params.starting_after) + 1
            stop = min(stop, start + params.limit)
        elif params.ending_before is not None:
            stop = ids.index(params.ending_before)
            start = max(0, stop - params.limit)
        else:
            stop = min(stop, params.limit)
        has_more = stop < len(lines) if params.ending_before is None else start > 0
        data = []
        for line in lines[start:stop]:
            amount = line_amount(int(line["unit_amount"]), int(line["quantity"]))
            price = await price_service.get(session, caller, str(line["price"]), param=None)
            shown = {**line, "amount_subtotal": amount, "amount_total": amount}
            data.append(line_item_object(shown, price_object(price)))
        return data, has_more


payment_link_service = PaymentLinkService()


# ---- the link's page ---------------------------------------------------------------------------


async def link_of_token(session: AsyncSession, token: str) -> PaymentLinkRow | None:
    row: PaymentLinkRow | None = (
        await session.execute(select(PaymentLinkRow).where(PaymentLinkRow.url_token == token))
    ).scalar_one_or_none()
    return row


async def open_session(session: AsyncSession, row: PaymentLinkRow) -> CheckoutSessionRow | None:
    """A new Checkout Session for one visit of the link, or None when the link opens none
    (inactive, or its limit reached)."""
    if not opens_session(row.active, row.completed_sessions, row.completed_sessions_limit):
        return None
    success_url = (
        row.redirect_url
        if row.after_completion_type == AfterCompletion.redirect
        else confirmation_url(row)
    )
    params = CheckoutSessionCreateParams(
        mode=_mode(row.line_items),
        line_items=[
            CheckoutLineItemParams(price=str(line["price"]), quantity=int(line["quantity"]))
            for line in row.line_items
        ],
        success_url=success_url,
        payment_method_types=row.payment_method_types,
        expand=[],
    )
    caller = acting_for(row.merchant_id, row.livemode)
    return await checkout_session_service.create(session, caller, params, payment_link=row.id)


@dataclass(frozen=True, slots=True)
class Confirmation:
    """What the hosted confirmation shows: the link's message, who was paid and how much."""

    message: str
    merchant_name: str
    amount: int
    currency: str


async def confirmation_of(
    session: AsyncSession, row: PaymentLinkRow, session_id: str
) -> Confirmation | None:
    """The hosted confirmation for one of the link's complete sessions, or None when
    ``session_id`` is not one (nothing is shown for another link's session)."""
    found = await session.get(CheckoutSessionRow, session_id)
    if found is None or found.payment_link_id != row.id or found.status != "complete":
        return None
    return Confirmation(
        message=row.custom_message or CONFIRMATION_DEFAULT,
        merchant_name=await merchant_service.business_name(session, row.merchant_id),
        amount=found.amount_total,
        currency=found.currency,
    )


async def count_completed(session: AsyncSession, completed: CheckoutSessionRow) -> None:
    """A session completed (checkout's ``on_completed``, in its transaction): its link's count,
    under the link's lock; the link deactivated when this completion reaches its limit."""
    if completed.payment_link_id is None:
        return
    row: PaymentLinkRow | None = (
        await session.execute(
            select(PaymentLinkRow)
            .where(PaymentLinkRow.id == completed.payment_link_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if row is None:
        return
    before = link_object(row, link_url(row))
    counted = count_completion(row.active, row.completed_sessions, row.completed_sessions_limit)
    row.completed_sessions = counted.completed
    row.active = counted.active
    if counted.deactivated:
        row.updated_at = utcnow()
        await session.flush()
        await record(
            session,
            row,
            PaymentLinkEvent.updated,
            link_url(row),
            {"active": True, "restrictions": before["restrictions"]},
        )
