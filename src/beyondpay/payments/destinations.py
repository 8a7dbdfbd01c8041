"""Connect's destination charges, on the payments side: at a charge's capture, the transfer to
its ``transfer_data[destination]`` and its application fee, as balance transactions and
ledger transfers in the capture's own batch (``postings.destination_transfers``).

The objects themselves (the ``tr_…`` transfer, the ``fee_…`` application fee) and their
events are Connect's, which sits above payments: it hears each destination charge's capture
through :func:`on_destination_charge`, registered by the composition root
(``app.wire_settlement``), in the capture's transaction, so the transfer commits with the
payment or neither does. Their ids are chosen here (on the charge), so that the balance
transactions can name them, and a capture applied twice makes nothing twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.ledger.domain import Transfer
from beyondpay.payments import postings
from beyondpay.payments.domain import Chart
from beyondpay.payments.models import BalanceTransactionRow, ChargeRow


@dataclass(frozen=True, slots=True)
class DestinationCharge:
    """What Connect hears of a destination charge's capture: the ids to give its objects."""

    charge_id: str
    merchant_id: str  # the platform
    livemode: bool
    destination_id: str
    currency: str
    transfer_id: str
    transfer_amount: int
    transfer_balance_transaction_id: str
    destination_payment_id: str
    application_fee_id: str | None
    application_fee_amount: int
    application_fee_balance_transaction_id: str | None
    transfer_group: str | None
    created_at: datetime


DestinationHandler = Callable[[AsyncSession, DestinationCharge], Awaitable[None]]
_handlers: list[DestinationHandler] = []


def on_destination_charge(handler: DestinationHandler) -> None:
    """``handler`` hears every destination charge's capture, in its transaction (registering
    twice changes nothing)."""
    if handler not in _handlers:
        _handlers.append(handler)


def destination_split(charge: ChargeRow, captured: int) -> tuple[int, int]:
    """(transfer, application fee) of a capture of ``captured``: ``transfer_data[amount]``,
    else all of it; the fee is collected back from the connected account (Stripe's flow of
    funds). A partial capture caps both at what was captured."""
    transfer = min(charge.transfer_amount or captured, captured)
    fee = min(charge.application_fee_amount or 0, transfer)
    invariant(0 < transfer <= captured and 0 <= fee <= transfer, "a split within the capture")
    return transfer, fee


def _mirror(
    platform: BalanceTransactionRow,
    merchant_id: str,
    *,
    amount: int,
    fee: int,
    type: str,
    reporting_category: str,
    source: str,
) -> BalanceTransactionRow:
    """A balance transaction available when the charge's ``platform`` transaction is."""
    return BalanceTransactionRow(
        id=new_id("txn"),
        merchant_id=merchant_id,
        livemode=platform.livemode,
        amount=amount,
        fee=fee,
        net=amount - fee,
        currency=platform.currency,
        type=type,
        reporting_category=reporting_category,
        status=platform.status,
        available_on=platform.available_on,
        source=source,
        description=platform.description,
        created_at=platform.created_at,
        test_clock=platform.test_clock,
    )


async def destination_postings(
    session: AsyncSession, charge: ChargeRow, captured: int, platform: BalanceTransactionRow
) -> list[Transfer]:
    """The destination charge's balance transactions (added to the session), its objects'
    ids set on the charge, Connect told, and the ledger transfers returned for the capture's
    batch. Nothing for a charge without a destination."""
    if charge.transfer_destination is None:
        return []
    transfer, fee = destination_split(charge, captured)
    charge.transfer_id = new_id("tr")
    charge.application_fee_id = new_id("fee") if fee else None
    payment_id = new_id("py")
    rows = [
        _mirror(platform, charge.merchant_id, amount=-transfer, fee=0, type="transfer",
                reporting_category="transfer", source=charge.transfer_id),
        _mirror(platform, charge.transfer_destination, amount=transfer, fee=fee, type="payment",
                reporting_category="charge", source=payment_id),
    ]  # fmt: skip
    if charge.application_fee_id is not None:
        rows.append(
            _mirror(platform, charge.merchant_id, amount=fee, fee=0, type="application_fee",
                    reporting_category="platform_earning", source=charge.application_fee_id)
        )  # fmt: skip
    session.add_all(rows)
    announced = DestinationCharge(
        charge_id=charge.id,
        merchant_id=charge.merchant_id,
        livemode=charge.livemode,
        destination_id=charge.transfer_destination,
        currency=charge.currency,
        transfer_id=charge.transfer_id,
        transfer_amount=transfer,
        transfer_balance_transaction_id=rows[0].id,
        destination_payment_id=payment_id,
        application_fee_id=charge.application_fee_id,
        application_fee_amount=fee,
        application_fee_balance_transaction_id=rows[2].id if len(rows) > 2 else None,
        transfer_group=charge.transfer_group,
        created_at=platform.created_at,
    )
    await session.flush()
    for handler in _handlers:
        await handler(session, announced)
    platform_chart = Chart(charge.merchant_id, charge.livemode, charge.currency)
    destination_chart = Chart(charge.transfer_destination, charge.livemode, charge.currency)
    await postings.ensure_merchant_accounts(session, destination_chart)
    transfers = postings.destination_transfers(
        platform_chart, destination_chart, charge.id, transfer, fee
    )
    for row in rows:
        if row.status == "available":
            chart = Chart(row.merchant_id, row.livemode, row.currency)
            transfers += postings.available_transfers(chart, row.id, row.net)
    return transfers
