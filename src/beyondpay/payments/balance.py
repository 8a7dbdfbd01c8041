"""The merchant's balance, read from the ledger, and its balance transactions: what each charge
and refund added or took, and when pending funds become available."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.pagination import created_conditions, scoped, scoped_page
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import ResourceMissingError
from beyondpay.merchants.domain import Caller
from beyondpay.payments import postings
from beyondpay.payments.domain import Chart
from beyondpay.payments.models import BalanceTransactionRow
from beyondpay.payments.payouts import PAYOUT_CATEGORIES
from beyondpay.payments.schemas import BalanceTransactionListParams


class BalanceService:
    async def balance(self, session: AsyncSession, caller: Caller) -> dict[str, Any]:
        currencies = (
            await session.execute(
                select(BalanceTransactionRow.currency)
                .where(
                    BalanceTransactionRow.merchant_id == caller.merchant,
                    BalanceTransactionRow.livemode == caller.livemode,
                )
                .distinct()
            )
        ).scalars()
        available: list[dict[str, Any]] = []
        pending: list[dict[str, Any]] = []
        for currency in sorted(set(currencies)) or ["inr"]:
            chart = Chart(caller.merchant, caller.livemode, currency)
            amount_available, amount_pending = await postings.balances(session, chart)
            available.append(_balance_amount(amount_available, currency))
            pending.append(_balance_amount(amount_pending, currency))
        return {
            "object": "balance",
            "available": available,
            "pending": pending,
            "livemode": caller.livemode,
        }

    async def get_transaction(
        self, session: AsyncSession, caller: Caller, transaction_id: str
    ) -> BalanceTransactionRow:
        statement = scoped(
            BalanceTransactionRow,
            caller.merchant,
            caller.livemode,
            BalanceTransactionRow.id == transaction_id,
        )
        row: BalanceTransactionRow | None = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object("balance_transaction", transaction_id)
        return row

    async def get_transactions(
        self, session: AsyncSession, ids: Sequence[str]
    ) -> dict[str, BalanceTransactionRow]:
        if not ids:
            return {}
        rows = await session.execute(
            select(BalanceTransactionRow).where(BalanceTransactionRow.id.in_(list(ids)))
        )
        return {row.id: row for row in rows.scalars()}

    async def list_transactions(
        self, session: AsyncSession, caller: Caller, params: BalanceTransactionListParams
    ) -> tuple[Sequence[BalanceTransactionRow], bool]:
        conditions: list[Any] = list(
            created_conditions(BalanceTransactionRow.created_at, params.created)
        )
        if params.type is not None:
            conditions.append(BalanceTransactionRow.type == params.type)
        if params.source is not None:
            conditions.append(BalanceTransactionRow.source == params.source)
        if params.currency is not None:
            conditions.append(BalanceTransactionRow.currency == params.currency)
        return await scoped_page(
            session,
            BalanceTransactionRow,
            caller.merchant,
            caller.livemode,
            params,
            *conditions,
            object_name="balance_transaction",
        )

    async def move_customer_balance(
        self,
        session: AsyncSession,
        caller: Caller,
        customer_id: str,
        transaction_id: str,
        amount: int,
        currency: str,
    ) -> int:
        """Billing's customer balance (issue 18): ``amount`` (negative: credit to the customer)
        between the merchant's available balance and the customer's ledger account, named after
        the balance transaction ``transaction_id``; the customer's balance after it."""
        chart = Chart(caller.merchant, caller.livemode, currency)
        return await postings.move_customer_balance(
            session, chart, customer_id, transaction_id, amount
        )

    async def customer_balance(
        self, session: AsyncSession, caller: Caller, customer_id: str, currency: str
    ) -> int:
        chart = Chart(caller.merchant, caller.livemode, currency)
        return await postings.customer_balance(session, chart, customer_id)


def _balance_amount(amount: int, currency: str) -> dict[str, Any]:
    # Amounts are read from the ledger, which does not split them by payment method.
    return {"amount": amount, "currency": currency, "source_types": {}}


async def release_due_funds(session: AsyncSession, limit: int) -> int:
    """Moves the net of every balance transaction whose ``available_on`` has come from pending
    to available; returns how many. Rows are claimed with SKIP LOCKED: two runs split the work,
    and the ledger's transfer id makes a repeat move nothing."""
    rows = (
        await session.execute(
            select(BalanceTransactionRow)
            .where(
                BalanceTransactionRow.status == "pending",
                BalanceTransactionRow.available_on <= utcnow(),
                # On a test clock, funds become available when the clock advances (clocks.py).
                BalanceTransactionRow.test_clock.is_(None),
            )
            .order_by(BalanceTransactionRow.available_on)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).scalars()
    count = 0
    for row in rows:
        chart = Chart(row.merchant_id, row.livemode, row.currency)
        await postings.make_available(session, chart, row.id, row.net)
        row.status = "available"
        count += 1
    await session.flush()
    return count


async def available_totals(
    session: AsyncSession, merchant_id: str, livemode: bool, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Per currency, the sums (``amount``, ``fee``, ``net``, ``count``) of the merchant's balance
    transactions whose ``available_on`` falls in [start, end): what a settlement window nets
    (read only). Transactions on a test clock keep the clock's time and are left out, and so
    are payouts' own (a window nets what came in; payouts are paid out of it)."""
    rows = await session.execute(
        select(
            BalanceTransactionRow.currency,
            func.sum(BalanceTransactionRow.amount),
            func.sum(BalanceTransactionRow.fee),
            func.sum(BalanceTransactionRow.net),
            func.count(),
        )
        .where(
            BalanceTransactionRow.merchant_id == merchant_id,
            BalanceTransactionRow.livemode == livemode,
            BalanceTransactionRow.available_on >= start,
            BalanceTransactionRow.available_on < end,
            BalanceTransactionRow.test_clock.is_(None),
            BalanceTransactionRow.reporting_category.not_in(PAYOUT_CATEGORIES),
        )
        .group_by(BalanceTransactionRow.currency)
        .order_by(BalanceTransactionRow.currency)
    )
    return [
        {
            "currency": currency,
            "amount": int(amount),
            "fee": int(fee),
            "net": int(net),
            "count": int(count),
        }
        for currency, amount, fee, net, count in rows.all()
    ]


balance_service = BalanceService()


# Stripe's reporting categories of the balance transaction types Connect writes.
_CONNECT_CATEGORIES: Final = {
    "transfer": "transfer",
    "transfer_refund": "transfer_reversal",
    "payment": "charge",
    "payment_refund": "refund",
    "application_fee_refund": "platform_earning_refund",
}


async def move_between_merchants(
    session: AsyncSession,
    *,
    livemode: bool,
    currency: str,
    amount: int,
    source: tuple[str, str, str, str],
    destination: tuple[str, str, str, str],
    transfer_id: str,
    code: str,
    description: str | None,
) -> None:
    """Connect: ``amount`` from one merchant's available balance to another's
    (``postings.connect_transfer``), each side shown by a balance transaction available at once.
    ``source`` and ``destination`` are ``(merchant id, balance transaction id, its type, its
    source object's id)``, ids chosen by the caller so that its own rows can name them before
    this, the unit of work's last write: the platform's ``transfer`` of ``tr_…`` (negative) and
    the connected account's ``payment`` of ``py_…`` (positive), or the reverse for a reversal
    (``payment_refund`` of ``pyr_…``, ``transfer_refund`` of ``trr_…``)."""
    now = utcnow()
    for (merchant_id, transaction_id, type, object_id), signed in (
        (source, -amount),
        (destination, amount),
    ):
        row = postings.balance_transaction(
            merchant_id=merchant_id,
            livemode=livemode,
            amount=signed,
            fee=0,
            currency=currency,
            type=type,
            reporting_category=_CONNECT_CATEGORIES[type],
            source=object_id,
            description=description,
            available_after=None,
            now=now,
        )
        row.id = transaction_id
        session.add(row)
    await session.flush()
    source_chart = Chart(source[0], livemode, currency)
    destination_chart = Chart(destination[0], livemode, currency)
    transfer = postings.connect_transfer(source_chart, destination_chart, transfer_id, amount, code)
    await postings.move_between_merchants(session, source_chart, destination_chart, transfer)


async def available_balance(
    session: AsyncSession, merchant_id: str, livemode: bool, currency: str
) -> int:
    """The merchant's available balance in ``currency``, read from the ledger."""
    available, _ = await postings.balances(session, Chart(merchant_id, livemode, currency))
    return available
