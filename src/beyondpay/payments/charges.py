"""Charges: one attempt to take an intent's money on a rail — reads, updates, the locks every use
case takes them with, and the refunds' side of a charge (how much is refunded, the refund's
money held and settled)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import Integer, and_, cast, select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.customers.schemas import shipping_stored
from beyondpay.db.pagination import created_conditions, scoped, scoped_page
from beyondpay.db.search import Searchable, query_condition, search, searchable_fields
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import ResourceMissingError
from beyondpay.kit.invariants import invariant
from beyondpay.kit.params import merge_metadata
from beyondpay.kit.search import FieldKind, parse_query
from beyondpay.merchants.domain import Caller
from beyondpay.payments import postings
from beyondpay.payments.domain import Chart
from beyondpay.payments.events import ChargeEvent, record
from beyondpay.payments.models import ChargeRow, PaymentIntentRow
from beyondpay.payments.receipts import receipt_due
from beyondpay.payments.schemas import ChargeListParams, ChargeSearchParams, ChargeUpdateParams

# The rail operation a charge has asked and not yet applied (charges.rail_operation).
AUTHORIZE: Final = "authorize"
CAPTURE: Final = "capture"
INCREMENT: Final = "increment"  # an authorization raised (increment_authorization)
# Written in a charge's rail details when the risk engine asked the rail for 3-D Secure, so an
# authorization asked again after a crash asks for it too.
AUTHENTICATION_REQUESTED: Final = "authentication_requested"


def _card_detail(name: str) -> Any:
    return ChargeRow.payment_method_details[("card", name)].astext


# Stripe's "Query fields for charges" that a charge here has (no billing address, no disputes).
CHARGE_SEARCHABLE: Final = {
    "amount": Searchable(ChargeRow.amount, FieldKind.number),
    "created": Searchable(ChargeRow.created_at, FieldKind.timestamp),
    "currency": Searchable(ChargeRow.currency, FieldKind.exact, lower_value=True),
    "customer": Searchable(ChargeRow.customer_id, FieldKind.exact),
    "payment_intent": Searchable(ChargeRow.payment_intent_id, FieldKind.exact),
    "status": Searchable(ChargeRow.status, FieldKind.exact),
    # As the rendering's ``refunded``: all that was captured is refunded.
    "refunded": Searchable(
        and_(ChargeRow.amount_captured > 0, ChargeRow.amount_refunded == ChargeRow.amount_captured),
        FieldKind.boolean,
    ),
    "payment_method_details.card.brand": Searchable(_card_detail("brand"), FieldKind.exact),
    "payment_method_details.card.last4": Searchable(_card_detail("last4"), FieldKind.exact),
    "payment_method_details.card.fingerprint": Searchable(
        _card_detail("fingerprint"), FieldKind.exact
    ),
    "payment_method_details.card.exp_month": Searchable(
        cast(_card_detail("exp_month"), Integer), FieldKind.number
    ),
    "payment_method_details.card.exp_year": Searchable(
        cast(_card_detail("exp_year"), Integer), FieldKind.number
    ),
}


async def lock_charge(session: AsyncSession, charge_id: str) -> ChargeRow:
    # populate_existing: the row may be in the session from before a recovery point, as it was.
    charge = (
        await session.execute(
            select(ChargeRow)
            .where(ChargeRow.id == charge_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    return charge


async def lock_pair(
    session: AsyncSession, intent_id: str, charge_id: str
) -> tuple[PaymentIntentRow, ChargeRow]:
    """The intent, then the charge, locked and read afresh: the order every use case locks
    them in, so two never wait on each other."""
    intent = (
        await session.execute(
            select(PaymentIntentRow)
            .where(PaymentIntentRow.id == intent_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    return intent, await lock_charge(session, charge_id)


class ChargeService:
    async def get(
        self, session: AsyncSession, caller: Caller, charge_id: str, *, for_update: bool = False
    ) -> ChargeRow:
        statement = scoped(ChargeRow, caller.merchant, caller.livemode, ChargeRow.id == charge_id)
        if for_update:
            statement = statement.with_for_update()
        row: ChargeRow | None = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object("charge", charge_id)
        return row

    async def update(
        self, session: AsyncSession, caller: Caller, charge_id: str, params: ChargeUpdateParams
    ) -> ChargeRow:
        charge = await self.get(session, caller, charge_id, for_update=True)
        sent = params.model_fields_set
        if "description" in sent:
            charge.description = params.description or None
        if "receipt_email" in sent:
            charge.receipt_email = params.receipt_email or None
        if "metadata" in sent:
            metadata = params.metadata if isinstance(params.metadata, dict) else {}
            charge.metadata_ = merge_metadata(charge.metadata_, metadata)
        if "shipping" in sent:
            charge.shipping = shipping_stored(params.shipping)
        charge.updated_at = utcnow()
        await session.flush()
        await record(session, charge, ChargeEvent.updated)
        if "receipt_email" in sent and charge.captured:
            # Stripe: setting it on a paid charge sends the receipt (an uncaptured one's goes
            # when it is captured).
            await receipt_due(session, charge)
        return charge

    async def list(
        self, session: AsyncSession, caller: Caller, params: ChargeListParams
    ) -> tuple[Sequence[ChargeRow], bool]:
        conditions: list[Any] = list(created_conditions(ChargeRow.created_at, params.created))
        if params.customer is not None:
            conditions.append(ChargeRow.customer_id == params.customer)
        if params.payment_intent is not None:
            conditions.append(ChargeRow.payment_intent_id == params.payment_intent)
        return await scoped_page(
            session,
            ChargeRow,
            caller.merchant,
            caller.livemode,
            params,
            *conditions,
            object_name="charge",
        )

    async def search(
        self, session: AsyncSession, caller: Caller, params: ChargeSearchParams
    ) -> tuple[Sequence[ChargeRow], bool, str | None]:
        """Charges matching ``params.query`` (Stripe's search query language), newest first:
        the page, whether more remain, and the ``next_page`` token."""
        query = parse_query(params.query, searchable_fields(CHARGE_SEARCHABLE))
        matched = query_condition(query, CHARGE_SEARCHABLE, ChargeRow.metadata_)
        statement = scoped(ChargeRow, caller.merchant, caller.livemode, matched)
        return await search(
            session, statement, ChargeRow.id, limit=params.limit, page=params.page, prefix="ch"
        )

    async def lock_for_refund(
        self, session: AsyncSession, caller: Caller, charge_id: str, *, param: str
    ) -> ChargeRow:
        """The charge, locked: refunds of one charge run one at a time (no over-refund)."""
        statement = scoped(
            ChargeRow, caller.merchant, caller.livemode, ChargeRow.id == charge_id
        ).with_for_update()
        row: ChargeRow | None = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object("charge", charge_id, param=param)
        return row

    async def add_refunded(self, session: AsyncSession, charge: ChargeRow, amount: int) -> None:
        """``amount`` more of the charge is refunded (or, negative, a refund failed)."""
        charge.amount_refunded += amount
        invariant(
            0 <= charge.amount_refunded <= charge.amount_captured,
            "refunds never exceed the amount captured",
        )
        charge.updated_at = utcnow()
        await session.flush()
        if amount > 0:
            await record(session, charge, ChargeEvent.refunded)

    async def hold_refund(
        self, session: AsyncSession, charge: ChargeRow, refund_id: str, amount: int
    ) -> str:
        """The refund's money on hold from the merchant's balance, and its balance transaction
        (available at once, as Stripe's refunds are); returns the transaction's id."""
        chart = Chart(charge.merchant_id, charge.livemode, charge.currency)
        await postings.hold_refund(session, chart, charge.rail, refund_id, amount)
        transaction = postings.balance_transaction(
            merchant_id=charge.merchant_id,
            livemode=charge.livemode,
            amount=-amount,
            fee=0,
            currency=charge.currency,
            type="refund",
            reporting_category="refund",
            source=refund_id,
            description="REFUND FOR CHARGE",
            available_after=None,
        )
        session.add(transaction)
        await self.add_refunded(session, charge, amount)
        return transaction.id

    async def settle_refund(
        self,
        session: AsyncSession,
        charge: ChargeRow,
        refund_id: str,
        amount: int,
        *,
        succeeded: bool,
    ) -> str | None:
        """The rail's final word on a refund. Failed: the hold is voided, so the money is back
        in the balance, shown by a ``refund_failure`` transaction whose id is returned."""
        await postings.settle_refund(session, refund_id, succeeded=succeeded)
        if succeeded:
            return None
        transaction = postings.balance_transaction(
            merchant_id=charge.merchant_id,
            livemode=charge.livemode,
            amount=amount,
            fee=0,
            currency=charge.currency,
            type="refund_failure",
            reporting_category="refund_failure",
            source=refund_id,
            description="REFUND FAILURE",
            available_after=None,
        )
        session.add(transaction)
        await self.add_refunded(session, charge, -amount)
        return transaction.id

    async def charge_for_refund_outcome(self, session: AsyncSession, charge_id: str) -> ChargeRow:
        return await lock_charge(session, charge_id)

    async def lock_for_dispute(self, session: AsyncSession, charge_id: str) -> ChargeRow | None:
        """The charge a rail's dispute names, locked (the order refunds lock it in); None when
        no charge has that id."""
        statement = (
            select(ChargeRow)
            .where(ChargeRow.id == charge_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        row: ChargeRow | None = (await session.execute(statement)).scalar_one_or_none()
        return row

    async def withdraw_for_dispute(
        self, session: AsyncSession, charge: ChargeRow, dispute_id: str, amount: int, fee: int
    ) -> str:
        """A dispute took ``amount`` of the charge back: it and the dispute ``fee`` leave the
        merchant's available balance in one linked ledger batch, shown by one ``adjustment``
        balance transaction (Stripe's type and its ``dispute`` category), whose id is
        returned. The charge is marked disputed (refunds of it are refused from now on)."""
        chart = Chart(charge.merchant_id, charge.livemode, charge.currency)
        transaction = postings.balance_transaction(
            merchant_id=charge.merchant_id,
            livemode=charge.livemode,
            amount=-amount,
            fee=fee,
            currency=charge.currency,
            type="adjustment",
            reporting_category="dispute",
            source=dispute_id,
            description=f"Chargeback withdrawal for {charge.id}",
            available_after=None,
        )
        session.add(transaction)
        charge.disputed = True
        charge.updated_at = utcnow()
        await session.flush()
        transfers = postings.dispute_withdrawal_transfers(
            chart, charge.rail, dispute_id, amount, fee
        )
        await postings.write(session, chart, charge.rail, transfers)
        return transaction.id

    async def reinstate_for_dispute(
        self,
        session: AsyncSession,
        charge: ChargeRow,
        dispute_id: str,
        amount: int,
        fee_refund: int,
    ) -> str:
        """A dispute won: ``amount`` comes back to the merchant's available balance, with the
        dispute fee when it is returned (``fee_refund``), in one linked ledger batch shown by
        one ``adjustment`` balance transaction (category ``dispute_reversal``, its fee
        negative); returns its id."""
        chart = Chart(charge.merchant_id, charge.livemode, charge.currency)
        transaction = postings.balance_transaction(
            merchant_id=charge.merchant_id,
            livemode=charge.livemode,
            amount=amount,
            fee=-fee_refund,
            currency=charge.currency,
            type="adjustment",
            reporting_category="dispute_reversal",
            source=dispute_id,
            description=f"Chargeback reversal for {charge.id}",
            available_after=None,
        )
        session.add(transaction)
        await session.flush()
        transfers = postings.dispute_reinstatement_transfers(
            chart, charge.rail, dispute_id, amount, fee_refund
        )
        await postings.write(session, chart, charge.rail, transfers)
        return transaction.id


charge_service = ChargeService()
