"""Customer use cases, always within the caller's (merchant, mode). Never commits.

Each change records its event (``customer.created``, ``customer.updated`` with the changed
fields' previous values, ``customer.deleted``) in the same transaction. A customer's rendering
holds no secret, card number, PIN or VPA, so the events carry it whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from psycopg.types.json import Jsonb
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.customers import events
from beyondpay.customers.domain import parse_query
from beyondpay.customers.events import CustomerEvent
from beyondpay.customers.models import CustomerRow
from beyondpay.customers.schemas import (
    CustomerCreateParams,
    CustomerListParams,
    CustomerSearchParams,
    CustomerUpdateParams,
    customer_object,
)
from beyondpay.db.pagination import created_conditions, page, scoped
from beyondpay.db.search import Searchable, query_condition, search
from beyondpay.db.session import driver_connection
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.kit.params import merge_metadata
from beyondpay.kit.search import FieldKind
from beyondpay.merchants.domain import Caller

_INSERT_SQL: Final = (
    "INSERT INTO customers (id, merchant_id, livemode, name, email, phone, description, address,"
    " metadata, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)


def _previous_attributes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Stripe's ``previous_attributes``: the changed fields' values before the change. For
    ``metadata``, only the keys that changed (``None`` for a key that was added)."""
    previous: dict[str, Any] = {}
    for field, old in before.items():
        new = after.get(field)
        if old == new:
            continue
        if field == "metadata" and isinstance(old, dict) and isinstance(new, dict):
            previous[field] = {
                key: old.get(key)
                for key in sorted(old.keys() | new.keys())
                if old.get(key) != new.get(key)
            }
        else:
            previous[field] = old
    return previous


def _blank_to_none(value: str | None) -> str | None:
    return value if value else None


def _address(params: CustomerCreateParams) -> dict[str, Any] | None:
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
        self, session: AsyncSession, caller: Caller, params: CustomerCreateParams
    ) -> CustomerRow:
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
        )
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
            ),
        )
        await events.record(session, row, CustomerEvent.created)
        return row

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
        if "metadata" in sent:
            metadata = params.metadata if isinstance(params.metadata, dict) else {}
            values["metadata_"] = merge_metadata(row.metadata_, metadata)
        for field, value in values.items():
            setattr(row, field, value)
        await session.flush()
        after = customer_object(row)
        previous = _previous_attributes(before, after)
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
        merchant_id, livemode = caller.merchant, caller.livemode
        conditions: list[Any] = [CustomerRow.deleted_at.is_(None)]
        conditions += created_conditions(CustomerRow.created_at, params.created)
        if params.email is not None:
            conditions.append(CustomerRow.email == params.email)
        statement = scoped(CustomerRow, merchant_id, livemode, *conditions)

        def cursor_exists(cursor: str) -> Any:
            return select(CustomerRow.id).where(
                CustomerRow.id == cursor,
                CustomerRow.merchant_id == merchant_id,
                CustomerRow.livemode == livemode,
            )

        return await page(
            session,
            statement,
            CustomerRow.id,
            params,
            cursor_exists=cursor_exists,
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


customer_service = CustomerService()
