"""A payout's side of the merchant's balance (settlement.payouts calls it): the balance
transactions that show each step of a payout's money, with its ledger transfer
(``postings.move_payout``) written last in the same unit of work. Never commits."""

from __future__ import annotations

from typing import Final, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.invariants import invariant
from beyondpay.payments import postings
from beyondpay.payments.domain import Chart

# Stripe's balance transaction types of a payout's steps, with the sign of their amount.
PayoutStep = Literal["payout", "payout_failure", "payout_cancel", "payout_reversal"]
_LEDGER_STEP: Final[dict[str, tuple[str, int]]] = {
    "payout": ("debit", -1),
    "payout_failure": ("return", 1),
    "payout_cancel": ("return", 1),
    "payout_reversal": ("reversal", 1),
}
# The reporting categories of payouts' balance transactions: a settlement window nets what came
# in, not what was paid out of it (payments.balance.available_totals leaves them out).
PAYOUT_CATEGORIES: Final = ("payout", "payout_reversal")


class PayoutFundsService:
    async def available(
        self, session: AsyncSession, merchant_id: str, livemode: bool, currency: str
    ) -> int:
        """The merchant's available balance in ``currency``, read from the ledger."""
        available, _ = await postings.balances(session, Chart(merchant_id, livemode, currency))
        return available

    async def record_step(
        self,
        session: AsyncSession,
        *,
        merchant_id: str,
        livemode: bool,
        payout_id: str,
        rail: str,
        amount: int,
        currency: str,
        step: PayoutStep,
        description: str,
    ) -> str:
        """One step of a payout: its balance transaction (``step`` is its type: ``payout``
        takes ``amount`` from available, the others give it back) and its ledger transfer;
        returns the balance transaction's id."""
        invariant(amount > 0, "a payout step moves a positive amount")
        ledger_step, sign = _LEDGER_STEP[step]
        transaction = postings.balance_transaction(
            merchant_id=merchant_id,
            livemode=livemode,
            amount=sign * amount,
            fee=0,
            currency=currency,
            # Stripe shows a reversal as a payout of the opposite sign.
            type="payout" if step == "payout_reversal" else step,
            reporting_category="payout_reversal" if step != "payout" else "payout",
            source=payout_id,
            description=description,
            available_after=None,
        )
        session.add(transaction)
        await session.flush()
        chart = Chart(merchant_id, livemode, currency)
        await postings.move_payout(session, chart, rail, payout_id, ledger_step, amount)
        return transaction.id

    async def paid(
        self,
        session: AsyncSession,
        *,
        merchant_id: str,
        livemode: bool,
        payout_id: str,
        rail: str,
        amount: int,
        currency: str,
    ) -> None:
        """The rail paid: the money leaves the platform (no balance transaction: the
        merchant's balance moved when the payout was made)."""
        chart = Chart(merchant_id, livemode, currency)
        await postings.move_payout(session, chart, rail, payout_id, "paid", amount)


payout_funds_service = PayoutFundsService()
