"""Customer use cases, always within the caller's (merchant, mode). Never commits.

Each change records its event (``customer.created``, ``customer.updated`` with the changed
fields' previous values, ``customer.deleted``) in the same transaction. A customer's rendering
holds no secret, card number, PIN or VPA, so the events carry it whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, Protocol

from psycopg.types.json import Jsonb
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.customers import events
from beyondpay.customers.domain import parse_query
from beyondpay.customers.events import CustomerEvent
from beyondpay.customers.models import CustomerRow
from beyondpay.customers.schemas import (
    CustomerCreateParams,
    CustomerListParams,
    CustomerParams,
    CustomerSearchParams,
    CustomerUpdateParams,
    customer_object,
    shipping_stored,
)
from beyondpay.db.pagination import created_conditions, scoped, scoped_page
from beyondpay.db.search import Searchable, query_condition, search
from beyondpay.db.session import driver_connection
from beyondpay.events.service import previous_attributes
from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import InvalidRequestError, ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.kit.params import merge_metadata
from beyondpay.kit.search import FieldKind
from beyondpay.merchants.domain import Caller
from beyondpay.test_clocks.domain import CUSTOMERS_PER_CLOCK_MAX, ClockTime
from beyondpay.test_clocks.errors import TestClockFullError
from beyondpay.test_clocks.service import test_clock_service
from beyondpay.test_clocks.timeline import DeletedClock

_INSERT_SQL: Final = (
    "INSERT INTO customers (id, merchant_id, livemode, name, email, phone, description, address,"
    " metadata, created_at, test_clock, default_payment_method_id, shipping)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
DEFAULT_PAYMENT_METHOD_PARAM: Final = "invoice_settings[default_payment_method]"


class PaymentMethods(Protocol):
    """What customers asks of payment methods, a module above it (``customers.create`` with
    ``payment_method``, ``invoice_settings.default_payment_method``): handed in by the
    composition root (``app.wire_modules``), as the rails' handlers are."""

    async def attach_to_customer(
        self,
        session: AsyncSession,
        caller: Caller,
        ring: KeyRing,
        payment_method: str,
        customer_id: str,
    ) -> str:
        """Attach ``payment_method`` (an id or a test token; errors name ``payment_method``)
        to the customer; its id."""
        ...

    async def customer_of(
        self, session: AsyncSession, caller: Caller, payment_method_id: str, *, param: str
    ) -> str | None:
        """The customer the payment method is attached to; 404 naming ``param``."""
        ...


_payment_methods: list[PaymentMethods] = []


def use_payment_methods(payment_methods: PaymentMethods) -> None:
    """The payment methods module, handed in by the composition root; again replaces it."""
    _payment_methods[:] = [payment_methods]


def _linked() -> PaymentMethods:
    invariant(bool(_payment_methods), "the composition root handed customers its payment methods")
    return _payment_methods[0]


class DefaultPaymentMethodNotAttachedError(InvalidRequestError):
    code = "resource_missing"


def _blank_to_none(value: str | None) -> str | None:
    return value if value else None


def _address(params: CustomerParams) -> dict[str, Any] | None:
    if params.address is None:
        return None
    values = params.address.model_dump()
    return {key: _blank_to_none(item) for key, item in values.items()}


_SEARCHABLE: Final = {
    "email": Searchable(CustomerRow.email, FieldKind.string, ignore_case=True),
    "name": Searchable(CustomerRow.name, FieldKind.string, ignore_case=True),
    "phone": Searchable(CustomerRow.phone, FieldKind.string),
    "created": Searchable(CustomerRow.created_at, FieldKind.timestamp),
}


class CustomerService:
    async def create(
        self,
        session: AsyncSession,
        caller: Caller,
        params: CustomerCreateParams,
        ring: KeyRing | None = None,
    ) -> CustomerRow:
        default = _default_sent(params)
        row = CustomerRow(
            id=new_id("cus"),
            merchant_id=caller.merchant,
            livemode=caller.livemode,
            name=_blank_to_none(params.name),
            email=_blank_to_none(params.email),
            phone=_blank_to_none(params.phone),
            description=_blank_to_none(params.description),
            address=_address(params),
            metadata_=merge_metadata(
                {}, params.metadata if isinstance(params.metadata, dict) else None
            ),
            created_at=utcnow(),
            deleted_at=None,
            test_clock=None,
            default_payment_method_id=default or None,
            shipping=shipping_stored(params.shipping),
            balance=0,
            currency=None,
        )
        if params.test_clock is not None:
            # On a clock, the customer is created at the clock's time, as Stripe's are.
            clock = await self._attach(session, caller, params.test_clock)
            row.test_clock, row.created_at = clock.clock_id, clock.frozen_time
        # One INSERT on the driver instead of the unit of work's flush: this runs on every
        # POST /v1/customers, and the row is complete as built. It stays out of the session.
        driver = await driver_connection(session)
        await driver.execute(
            _INSERT_SQL,
            (
                row.id,
                row.merchant_id,
                row.livemode,
                row.name,
                row.email,
                row.phone,
                row.description,
                None if row.address is None else Jsonb(row.address),
                Jsonb(row.metadata_),
                row.created_at,
                row.test_clock,
                row.default_payment_method_id,
                None if row.shipping is None else Jsonb(row.shipping),
            ),
        )
        await events.record(session, row, CustomerEvent.created)
        if params.payment_method is not None:
            invariant(ring is not None, "a payment method to attach comes with the key ring")
            assert ring is not None
            attached = await _linked().attach_to_customer(
                session, caller, ring, params.payment_method, row.id
            )
            if default == params.payment_method:
                # A test token names a new payment method: the default is the one made.
                row.default_payment_method_id = attached
                await session.execute(
                    update(CustomerRow)
                    .where(CustomerRow.id == row.id)
                    .values(default_payment_method_id=attached)
                )
        if row.default_payment_method_id is not None:
            # Checked after the attachment; a refusal rolls the whole creation back.
            await _check_default(session, caller, row.id, row.default_payment_method_id)
        return row

    async def _attach(self, session: AsyncSession, caller: Caller, clock_id: str) -> ClockTime:
        """The clock a new customer attaches to: locked (a concurrent customer waits, so the
        count holds), ready, and not full (Stripe's limit of customers per clock)."""
        clock = await test_clock_service.attachable(session, caller, clock_id)
        attached = (
            await session.execute(
                select(func.count())
                .select_from(CustomerRow)
                .where(CustomerRow.test_clock == clock.clock_id, CustomerRow.deleted_at.is_(None))
            )
        ).scalar_one()
        if attached >= CUSTOMERS_PER_CLOCK_MAX:
            raise TestClockFullError(
                f"A test clock can have at most {CUSTOMERS_PER_CLOCK_MAX} customers.",
                param="test_clock",
            )
        return clock

    async def clock_time(self, session: AsyncSession, customer_id: str) -> ClockTime | None:
        """The test clock ``customer_id`` is attached to, if any, and its frozen time: the time
        of the customer's objects (a payment's ``created``, when its funds become available)."""
        clock = (
            await session.execute(
                select(CustomerRow.test_clock).where(
                    CustomerRow.id == customer_id, CustomerRow.test_clock.is_not(None)
                )
            )
        ).scalar_one_or_none()
        if clock is None:
            return None
        return await test_clock_service.frozen_time(session, clock)

    async def ids_on_clock(self, session: AsyncSession, clock_id: str) -> list[str]:
        """The customers attached to ``clock_id`` (at most ``CUSTOMERS_PER_CLOCK_MAX``)."""
        rows = await session.execute(
            select(CustomerRow.id)
            .where(CustomerRow.test_clock == clock_id)
            .order_by(CustomerRow.id)
            .limit(CUSTOMERS_PER_CLOCK_MAX * 10)  # deleted ones included; still bounded
        )
        return list(rows.scalars())

    async def delete_on_clock(self, session: AsyncSession, clock: DeletedClock) -> None:
        """The customers of a clock being deleted are deleted with it, as Stripe's are
        (``test_clocks.timeline.on_delete``, wired in ``app.wire_modules``)."""
        rows = (
            await session.execute(
                select(CustomerRow)
                .where(
                    CustomerRow.test_clock == clock.clock_id,
                    CustomerRow.merchant_id == clock.merchant_id,
                    CustomerRow.deleted_at.is_(None),
                )
                .order_by(CustomerRow.id)
                .with_for_update()
            )
        ).scalars()
        for row in rows:
            await events.record(session, row, CustomerEvent.deleted)
            row.deleted_at = utcnow()
        await session.flush()

    async def get(
        self, session: AsyncSession, caller: Caller, customer_id: str, *, for_update: bool = False
    ) -> CustomerRow:
        """The customer, deleted ones included; 404 outside the caller's scope."""
        statement = scoped(
            CustomerRow, caller.merchant, caller.livemode, CustomerRow.id == customer_id
        )
        if for_update:
            statement = statement.with_for_update()
        row: CustomerRow | None = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object("customer", customer_id)
        return row

    async def live(
        self, session: AsyncSession, caller: Caller, customer_id: str, *, param: str = "customer"
    ) -> CustomerRow:
        """The caller's customer, not deleted: what an object made for a customer (an invoice,
        a subscription, a portal session) names; 404 naming ``param`` otherwise."""
        try:
            row = await self.get(session, caller, customer_id)
        except ResourceMissingError:
            row = None
        if row is None or row.deleted_at is not None:
            raise ResourceMissingError.for_object("customer", customer_id, param=param)
        return row

    async def update(
        self, session: AsyncSession, caller: Caller, customer_id: str, params: CustomerUpdateParams
    ) -> CustomerRow:
        row = await self.get(session, caller, customer_id, for_update=True)
        if row.deleted_at is not None:
            raise ResourceMissingError.for_object("customer", customer_id)
        before = customer_object(row)
        sent = params.model_fields_set
        values: dict[str, Any] = {}
        for field in ("name", "email", "phone", "description"):
            if field in sent:
                values[field] = _blank_to_none(getattr(params, field))
        if "address" in sent:
            values["address"] = _address(params)
        if "shipping" in sent:
            values["shipping"] = shipping_stored(params.shipping)
        if "metadata" in sent:
            metadata = params.metadata if isinstance(params.metadata, dict) else {}
            values["metadata_"] = merge_metadata(row.metadata_, metadata)
        default = _default_sent(params)
        if default is not None:
            if default:
                await _check_default(session, caller, row.id, default)
            values["default_payment_method_id"] = default or None
        for field, value in values.items():
            setattr(row, field, value)
        await session.flush()
        after = customer_object(row)
        previous = previous_attributes(before, after)
        if previous:  # as Stripe does, an update that changes nothing announces nothing
            await events.record(
                session, row, CustomerEvent.updated, object=after, previous_attributes=previous
            )
        return row

    async def delete(self, session: AsyncSession, caller: Caller, customer_id: str) -> CustomerRow:
        row = await self.get(session, caller, customer_id, for_update=True)
        if row.deleted_at is not None:
            raise ResourceMissingError.for_object("customer", customer_id)
        # Stripe's customer.deleted carries the customer as it was, not the deleted stub.
        await events.record(session, row, CustomerEvent.deleted)
        await session.execute(
            update(CustomerRow).where(CustomerRow.id == row.id).values(deleted_at=utcnow())
        )
        row.deleted_at = utcnow()
        return row

    async def list(
        self, session: AsyncSession, caller: Caller, params: CustomerListParams
    ) -> tuple[Sequence[CustomerRow], bool]:
        conditions: list[Any] = [CustomerRow.deleted_at.is_(None)]
        conditions += created_conditions(CustomerRow.created_at, params.created)
        if params.email is not None:
            conditions.append(CustomerRow.email == params.email)
        if params.test_clock is not None:
            conditions.append(CustomerRow.test_clock == params.test_clock)
        return await scoped_page(
            session,
            CustomerRow,
            caller.merchant,
            caller.livemode,
            params,
            *conditions,
            object_name="customer",
        )

    async def search(
        self, session: AsyncSession, caller: Caller, params: CustomerSearchParams
    ) -> tuple[Sequence[CustomerRow], bool, str | None]:
        """Customers matching ``params.query``, newest first: the page, whether more remain, and
        the ``next_page`` token. Results are consistent at once (no indexing delay, unlike
        Stripe's search)."""
        matched = query_condition(
            parse_query(params.query), _SEARCHABLE, metadata_column=CustomerRow.metadata_
        )
        statement = scoped(
            CustomerRow, caller.merchant, caller.livemode, CustomerRow.deleted_at.is_(None), matched
        )
        return await search(
            session, statement, CustomerRow.id, limit=params.limit, page=params.page, prefix="cus"
        )

    async def set_balance(
        self, session: AsyncSession, row: CustomerRow, balance: int, currency: str
    ) -> None:
        """The locked customer's balance as billing's ledger account now holds it (billing's
        customer balance, issue 18), with ``customer.updated`` when it changed, as Stripe
        announces it. The caller moved the ledger in this transaction."""
        invariant(row.currency in (None, currency), "a customer's balance has one currency")
        before = customer_object(row)
        row.balance, row.currency = balance, currency
        await session.flush()
        after = customer_object(row)
        previous = previous_attributes(before, after)
        if previous:
            await events.record(
                session, row, CustomerEvent.updated, object=after, previous_attributes=previous
            )

    async def forget_default_payment_method(
        self, session: AsyncSession, customer_id: str, payment_method_id: str
    ) -> None:
        """A payment method detached from its customer is no longer their default."""
        row = (
            await session.execute(
                select(CustomerRow).where(CustomerRow.id == customer_id).with_for_update()
            )
        ).scalar_one_or_none()
        if row is None or row.default_payment_method_id != payment_method_id:
            return
        before = customer_object(row)
        row.default_payment_method_id = None
        await session.flush()
        after = customer_object(row)
        await events.record(
            session,
            row,
            CustomerEvent.updated,
            object=after,
            previous_attributes=previous_attributes(before, after),
        )


def _default_sent(params: CustomerParams) -> str | None:
    """``invoice_settings[default_payment_method]`` as sent: None when not sent, "" to unset."""
    settings = params.invoice_settings
    if settings is None or "default_payment_method" not in settings.model_fields_set:
        return None
    return settings.default_payment_method or ""


async def _check_default(
    session: AsyncSession, caller: Caller, customer_id: str, payment_method_id: str
) -> None:
    """A default payment method must be attached to the customer (as Stripe refuses it)."""
    owner = await _linked().customer_of(
        session, caller, payment_method_id, param=DEFAULT_PAYMENT_METHOD_PARAM
    )
    if owner != customer_id:
        raise DefaultPaymentMethodNotAttachedError(
            f"The customer does not have a payment method with the ID {payment_method_id}."
            " The payment method must be attached to the customer.",
            param=DEFAULT_PAYMENT_METHOD_PARAM,
        )


customer_service = CustomerService()
