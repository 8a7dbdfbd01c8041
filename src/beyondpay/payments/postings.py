"""Every money movement of a payment as ledger transfers, and the balance transactions that show
them to the merchant. Never commits.

- **Authorization**: a hold (pending transfer) from the rail's clearing account to the
  merchant's pending balance, ``<charge>:hold``.
- **Capture**: the hold posted for the captured amount (less than held releases the rest),
  linked with the platform's fee from the merchant's pending balance (``<charge>:capture`` and
  ``<charge>:fee``): both or neither. **Void**: the hold voided (``<charge>:void``).
- **Incremental authorization**: the current hold voided and a new one, for the new total,
  made in its place, linked (``<charge>:increment:<n>:release`` and ``<charge>:hold:<n>``): the
  hold always names what the rail holds, and a capture or void acts on the current one
  (:func:`hold_id`).
- **Availability**: the charge's net amount from pending to available (``<txn>:available``),
  once its ``available_on`` has come.
- **Refund**: a hold from the merchant's available balance to the rail's clearing account
  (``<refund>:hold``), posted when the rail refunds, voided when it fails: a failed refund gives
  the money back to the balance.
- **Dispute**: the disputed amount from the merchant's available balance back to the rail's
  clearing account (``<dispute>:withdrawal``), linked with the dispute fee to the platform's
  fees (``<dispute>:fee``). **Won**: the amount back from the clearing account
  (``<dispute>:reinstatement``), linked with the fee from the platform's fees when the fee is
  returned (``<dispute>:fee_refund``). Lost: nothing moves (the money is already gone).

A use case builds its transfers with the functions below and hands them to the ledger once
(:func:`write`): an authorization captured at once is one linked chain of hold, capture, fee and
(when funds are available at once) availability. Transfer ids are named after the object, so
doing any of these twice moves nothing the second time (the ledger answers ``exists``).
- **Customer balance** (billing's ``customer.balance``, one ``customer_balance`` account per
  merchant, mode, customer and currency): a change of ``amount`` (Stripe's sign: negative is
  credit the customer can spend) is one transfer between the merchant's available balance and
  the customer's account (``<cbtxn>:balance``). A credit (a credit note, an adjustment granting
  credit) moves money from available to the customer's account: the merchant owes it, and
  cannot pay it out. Applying it to an invoice moves it back: it is that invoice's payment
  share. A debit (the customer owes) is the reverse, and is undone when an invoice collects it.

Merchant balances may go negative, as Stripe's do (a refund of funds not yet available); what
stops over-refunding is the charge's row lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.clock import utcnow
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.ledger.domain import CreateTransferResult, NewAccount, Transfer, TransferFlags
from beyondpay.ledger.service import AccountBalance, ledger_service
from beyondpay.payments.domain import Chart
from beyondpay.payments.models import BalanceTransactionRow

_LINKED: Final = TransferFlags.LINKED
_DONE: Final = frozenset({CreateTransferResult.ok, CreateTransferResult.exists})


async def _ensure_accounts(session: AsyncSession, chart: Chart, rail: str | None) -> None:
    wanted = [
        NewAccount(chart.pending, chart.merchant_ledger, chart.currency, "merchant_pending"),
        NewAccount(chart.available, chart.merchant_ledger, chart.currency, "merchant_available"),
        NewAccount(chart.fees, chart.platform_ledger, chart.currency, "platform_fees"),
    ]
    if rail is not None:
        wanted.append(
            NewAccount(
                chart.rail_clearing(rail), chart.platform_ledger, chart.currency, "rail_clearing"
            )
        )
    await ledger_service.ensure_accounts(session, wanted)


async def _apply(session: AsyncSession, transfers: Sequence[Transfer]) -> None:
    results = await ledger_service.create_transfers(session, transfers)
    invariant(
        all(result in _DONE for result in results),
        f"payment postings are accepted by the ledger: {[str(r) for r in results]}",
    )


def linked(transfers: Sequence[Transfer]) -> list[Transfer]:
    """``transfers`` as one chain: all of them succeed or none does."""
    last = len(transfers) - 1
    return [
        transfer
        if index == last
        else replace(transfer, flags=transfer.flags | TransferFlags.LINKED)
        for index, transfer in enumerate(transfers)
    ]


async def write(
    session: AsyncSession, chart: Chart, rail: str | None, transfers: Sequence[Transfer]
) -> None:
    """A unit of work's postings, handed to the ledger once, as one linked chain: the last
    write before its commit, so the accounts stay locked for the shortest time."""
    if not transfers:
        return
    await _ensure_accounts(session, chart, rail)
    await _apply(session, linked(transfers))


def hold_transfer(chart: Chart, rail: str, charge_id: str, amount_minor: int) -> Transfer:
    return Transfer(
        id=f"{charge_id}:hold",
        debit_account_id=chart.rail_clearing(rail),
        credit_account_id=chart.pending,
        amount=amount_minor,
        currency=chart.currency,
        code="charge_authorization",
        flags=TransferFlags.PENDING,
    )


def hold_id(charge_id: str, increments: int = 0) -> str:
    """The charge's current hold: the authorization's, or the last increment's."""
    invariant(increments >= 0, "a charge's increments are counted from 0")
    return f"{charge_id}:hold" if increments == 0 else f"{charge_id}:hold:{increments}"


def increment_transfers(
    chart: Chart, rail: str, charge_id: str, increments: int, amount_minor: int
) -> list[Transfer]:
    """The hold raised to ``amount_minor`` (increment number ``increments + 1``): the current
    hold voided and the new total held in its place; linked by :func:`write`."""
    raised = increments + 1
    return [
        Transfer(
            id=f"{charge_id}:increment:{raised}:release",
            pending_id=hold_id(charge_id, increments),
            flags=TransferFlags.VOID_PENDING,
        ),
        replace(hold_transfer(chart, rail, charge_id, amount_minor), id=hold_id(charge_id, raised)),
    ]


def capture_transfers(
    chart: Chart, charge_id: str, amount_minor: int, fee_minor: int, *, increments: int = 0
) -> list[Transfer]:
    invariant(0 <= fee_minor <= amount_minor, "the fee is within the captured amount")
    transfers = [
        Transfer(
            id=f"{charge_id}:capture",
            amount=amount_minor,
            pending_id=hold_id(charge_id, increments),
            flags=TransferFlags.POST_PENDING,
        )
    ]
    if fee_minor:
        transfers.append(
            Transfer(
                id=f"{charge_id}:fee",
                debit_account_id=chart.pending,
                credit_account_id=chart.fees,
                amount=fee_minor,
                currency=chart.currency,
                code="platform_fee",
            )
        )
    return transfers


def void_transfer(charge_id: str, increments: int = 0) -> Transfer:
    return Transfer(
        id=f"{charge_id}:void",
        pending_id=hold_id(charge_id, increments),
        flags=TransferFlags.VOID_PENDING,
    )


def available_transfers(
    chart: Chart, balance_transaction_id: str, net_minor: int
) -> list[Transfer]:
    """A balance transaction's net from pending to available once it is due. A negative net (a
    destination charge's ``transfer`` on the platform, made from its pending balance) moves the
    other way, from available to pending: the pending balance it took from is made whole when
    the charge's own net arrives in available (the same ``available_on``)."""
    if net_minor == 0:
        return []
    gained = net_minor > 0
    return [
        Transfer(
            id=f"{balance_transaction_id}:available",
            debit_account_id=chart.pending if gained else chart.available,
            credit_account_id=chart.available if gained else chart.pending,
            amount=abs(net_minor),
            currency=chart.currency,
            code="funds_available",
        )
    ]


async def void(session: AsyncSession, charge_id: str, increments: int = 0) -> None:
    await _apply(session, [void_transfer(charge_id, increments)])


async def make_available(
    session: AsyncSession, chart: Chart, balance_transaction_id: str, net_minor: int
) -> None:
    transfers = available_transfers(chart, balance_transaction_id, net_minor)
    if transfers:
        await _apply(session, transfers)


async def hold_refund(
    session: AsyncSession, chart: Chart, rail: str, refund_id: str, amount_minor: int
) -> None:
    await _ensure_accounts(session, chart, rail)
    await _apply(
        session,
        [
            Transfer(
                id=f"{refund_id}:hold",
                debit_account_id=chart.available,
                credit_account_id=chart.rail_clearing(rail),
                amount=amount_minor,
                currency=chart.currency,
                code="refund",
                flags=TransferFlags.PENDING,
            )
        ],
    )


async def settle_refund(session: AsyncSession, refund_id: str, *, succeeded: bool) -> None:
    flags = TransferFlags.POST_PENDING if succeeded else TransferFlags.VOID_PENDING
    suffix = "post" if succeeded else "void"
    await _apply(
        session, [Transfer(id=f"{refund_id}:{suffix}", pending_id=f"{refund_id}:hold", flags=flags)]
    )


def dispute_withdrawal_transfers(
    chart: Chart, rail: str, dispute_id: str, amount_minor: int, fee_minor: int
) -> list[Transfer]:
    invariant(amount_minor > 0 and fee_minor >= 0, "a dispute withdraws a positive amount")
    transfers = [
        Transfer(
            id=f"{dispute_id}:withdrawal",
            debit_account_id=chart.available,
            credit_account_id=chart.rail_clearing(rail),
            amount=amount_minor,
            currency=chart.currency,
            code="dispute_withdrawal",
        )
    ]
    if fee_minor:
        transfers.append(
            Transfer(
                id=f"{dispute_id}:fee",
                debit_account_id=chart.available,
                credit_account_id=chart.fees,
                amount=fee_minor,
                currency=chart.currency,
                code="dispute_fee",
            )
        )
    return transfers


def dispute_reinstatement_transfers(
    chart: Chart, rail: str, dispute_id: str, amount_minor: int, fee_refund_minor: int
) -> list[Transfer]:
    invariant(amount_minor > 0 and fee_refund_minor >= 0, "a won dispute returns its amount")
    transfers = [
        Transfer(
            id=f"{dispute_id}:reinstatement",
            debit_account_id=chart.rail_clearing(rail),
            credit_account_id=chart.available,
            amount=amount_minor,
            currency=chart.currency,
            code="dispute_reinstatement",
        )
    ]
    if fee_refund_minor:
        transfers.append(
            Transfer(
                id=f"{dispute_id}:fee_refund",
                debit_account_id=chart.fees,
                credit_account_id=chart.available,
                amount=fee_refund_minor,
                currency=chart.currency,
                code="dispute_fee_refund",
            )
        )
    return transfers


async def balances(session: AsyncSession, chart: Chart) -> tuple[int, int]:
    """(available, pending) of the merchant in ``chart``'s currency, from the ledger.

    Available deducts refunds on hold; pending counts captured funds only (an authorization's
    hold is not yet the merchant's).
    """
    accounts: dict[str, AccountBalance] = await ledger_service.get_accounts(
        session, [chart.available, chart.pending]
    )
    available = accounts.get(chart.available)
    pending = accounts.get(chart.pending)
    available_amount = (
        available.credits_posted - available.debits_posted - available.debits_pending
        if available
        else 0
    )
    pending_amount = pending.credits_posted - pending.debits_posted if pending else 0
    return available_amount, pending_amount


def balance_transaction(
    *,
    merchant_id: str,
    livemode: bool,
    amount: int,
    fee: int,
    currency: str,
    type: str,
    reporting_category: str,
    source: str,
    description: str | None,
    available_after: timedelta | None,
    now: datetime | None = None,
) -> BalanceTransactionRow:
    """A new balance transaction: ``available_after`` None is available at once."""
    moment = now or utcnow()
    pending = available_after is not None and available_after.total_seconds() > 0
    return BalanceTransactionRow(
        id=new_id("txn"),
        merchant_id=merchant_id,
        livemode=livemode,
        amount=amount,
        fee=fee,
        net=amount - fee,
        currency=currency,
        type=type,
        reporting_category=reporting_category,
        status="pending" if pending else "available",
        available_on=moment + (available_after if pending and available_after else timedelta(0)),
        source=source,
        description=description,
        created_at=moment,
    )


def customer_balance_transfer(
    chart: Chart, customer_id: str, transaction_id: str, amount_minor: int
) -> Transfer:
    """A change of ``amount_minor`` to the customer's balance (negative: credit to them)."""
    invariant(amount_minor != 0, "a customer balance transaction moves something")
    credit = amount_minor < 0
    customer_account = chart.customer_balance(customer_id)
    return Transfer(
        id=f"{transaction_id}:balance",
        debit_account_id=chart.available if credit else customer_account,
        credit_account_id=customer_account if credit else chart.available,
        amount=abs(amount_minor),
        currency=chart.currency,
        code="customer_balance_credit" if credit else "customer_balance_debit",
    )


async def move_customer_balance(
    session: AsyncSession, chart: Chart, customer_id: str, transaction_id: str, amount_minor: int
) -> int:
    """Writes the change and answers the customer's balance after it, read from the ledger."""
    account = chart.customer_balance(customer_id)
    await ledger_service.ensure_accounts(
        session,
        [
            NewAccount(
                chart.available, chart.merchant_ledger, chart.currency, "merchant_available"
            ),
            NewAccount(account, chart.merchant_ledger, chart.currency, "customer_balance"),
        ],
    )
    await _apply(
        session, [customer_balance_transfer(chart, customer_id, transaction_id, amount_minor)]
    )
    return await customer_balance(session, chart, customer_id)


async def customer_balance(session: AsyncSession, chart: Chart, customer_id: str) -> int:
    """The customer's balance in ``chart``'s currency as the ledger holds it (Stripe's sign)."""
    account = chart.customer_balance(customer_id)
    found = (await ledger_service.get_accounts(session, [account])).get(account)
    if found is None:
        return 0
    invariant(found.debits_pending == found.credits_pending == 0, "balances are never held")
    return found.debits_posted - found.credits_posted


# --- payouts (settlement.payouts, issue 20) ------------------------------------------------
# - **Made**: the payout's amount from the merchant's available balance to the platform's
#   ``payouts_in_transit`` (per merchant), ``<po>:debit``: the money is no longer the
#   merchant's to spend or pay out twice, and not yet at its bank.
# - **Paid**: from ``payouts_in_transit`` to the payout rail's clearing account,
#   ``<po>:paid``: the rail took it to the bank.
# - **Failed or canceled**: from ``payouts_in_transit`` back to available, ``<po>:return``.
# - **Reversed** (a paid payout pulled back from the bank): from the rail's clearing account to
#   available, ``<reversal po>:reversal``.
# Posted, not pending: a payout's money leaves available at once (Stripe's payout balance
# transaction is available at once), and each later step is its own named transfer.


def payout_rail_clearing(rail: str) -> str:
    """The clearing account's rail name of a payout rail (``payout_imps``…): apart from the
    payments' clearing of the same network (a card or UPI charge's ``upi``)."""
    return f"payout_{rail}"


async def _ensure_payout_accounts(session: AsyncSession, chart: Chart, rail: str) -> None:
    await ledger_service.ensure_accounts(
        session,
        [
            NewAccount(
                chart.available, chart.merchant_ledger, chart.currency, "merchant_available"
            ),
            NewAccount(
                chart.payouts_in_transit,
                chart.platform_ledger,
                chart.currency,
                "payouts_in_transit",
            ),
            NewAccount(
                chart.rail_clearing(payout_rail_clearing(rail)),
                chart.platform_ledger,
                chart.currency,
                "rail_clearing",
            ),
        ],
    )


def _payout_transfer(
    chart: Chart, transfer_id: str, debit: str, credit: str, amount_minor: int, code: str
) -> Transfer:
    invariant(amount_minor > 0, "a payout moves a positive amount")
    return Transfer(
        id=transfer_id,
        debit_account_id=debit,
        credit_account_id=credit,
        amount=amount_minor,
        currency=chart.currency,
        code=code,
    )


async def move_payout(
    session: AsyncSession, chart: Chart, rail: str, payout_id: str, step: str, amount_minor: int
) -> None:
    """One step of a payout's money (``step``: debit, paid, return, reversal; see above),
    written as the unit of work's one ledger batch; doing it twice moves nothing."""
    clearing = chart.rail_clearing(payout_rail_clearing(rail))
    accounts = {
        "debit": (chart.available, chart.payouts_in_transit, "payout"),
        "paid": (chart.payouts_in_transit, clearing, "payout_paid"),
        "return": (chart.payouts_in_transit, chart.available, "payout_return"),
        "reversal": (clearing, chart.available, "payout_reversal"),
    }
    invariant(step in accounts, "a payout step is one of debit, paid, return, reversal")
    debit, credit, code = accounts[step]
    await _ensure_payout_accounts(session, chart, rail)
    await _apply(
        session,
        [_payout_transfer(chart, f"{payout_id}:{step}", debit, credit, amount_minor, code)],
    )


# ---- Connect (issue 20, part 4) ----------------------------------------------------------------


def connect_transfer(
    source: Chart, destination: Chart, transfer_id: str, amount_minor: int, code: str
) -> Transfer:
    """Connect's movement between two merchants of one mode and currency: ``amount_minor`` from
    ``source``'s available balance to ``destination``'s, named ``transfer_id``.

    - A **transfer** (``<tr>:transfer``, code ``connect_transfer``): the platform's available
      balance to the connected account's. The platform earned the money (its charge); it pays
      it on. Funds are available at once on both sides, as Stripe's transfers are.
    - A **reversal** (``<trr>:reversal``, code ``connect_transfer_reversal``): the connected
      account's available balance back to the platform's; it may take the connected account
      below zero, as Stripe's may (the platform bears that risk, not the ledger).
    """
    invariant(amount_minor > 0, "a Connect movement moves something")
    invariant(source.livemode == destination.livemode, "a transfer stays in one mode")
    invariant(source.currency == destination.currency, "a transfer stays in one currency")
    invariant(source.merchant_id != destination.merchant_id, "a transfer is between two merchants")
    return Transfer(
        id=transfer_id,
        debit_account_id=source.available,
        credit_account_id=destination.available,
        amount=amount_minor,
        currency=source.currency,
        code=code,
    )


async def move_between_merchants(
    session: AsyncSession, source: Chart, destination: Chart, transfer: Transfer
) -> None:
    """Writes one Connect movement (:func:`connect_transfer`), the unit of work's one batch."""
    await _ensure_accounts(session, source, None)
    await _ensure_accounts(session, destination, None)
    await _apply(session, [transfer])


# ---- Connect's destination charges (issue 20, part 4) -------------------------------------------


def destination_transfers(
    platform: Chart, destination: Chart, charge_id: str, transfer_minor: int, fee_minor: int
) -> list[Transfer]:
    """A destination charge's money at its capture, in the capture's batch:

    - ``<ch>:destination`` (code ``destination_transfer``): the transfer, from the platform's
      **pending** balance to the connected account's pending balance: the connected account's
      funds become available with the charge's (Stripe's rule), not before.
    - ``<ch>:application_fee`` (code ``application_fee``): the application fee, from the
      connected account's pending balance back to the platform's, as Stripe collects it (the
      connected account's payment shows it as its fee, the platform gets an
      ``application_fee`` balance transaction).

    Each side's balance transactions carry the charge's ``available_on``; their nets (negative
    for the platform's ``transfer``) move between pending and available then
    (:func:`available_transfers`)."""
    invariant(transfer_minor > 0 and 0 <= fee_minor <= transfer_minor, "a fee within the transfer")
    invariant(platform.merchant_id != destination.merchant_id, "between two merchants")
    transfers = [
        Transfer(
            id=f"{charge_id}:destination",
            debit_account_id=platform.pending,
            credit_account_id=destination.pending,
            amount=transfer_minor,
            currency=platform.currency,
            code="destination_transfer",
        )
    ]
    if fee_minor:
        transfers.append(
            Transfer(
                id=f"{charge_id}:application_fee",
                debit_account_id=destination.pending,
                credit_account_id=platform.pending,
                amount=fee_minor,
                currency=platform.currency,
                code="application_fee",
            )
        )
    return transfers


async def ensure_merchant_accounts(session: AsyncSession, chart: Chart) -> None:
    """A merchant's pending and available balances (a connected account paid by a
    destination charge may never have had a payment of its own)."""
    await _ensure_accounts(session, chart, None)
