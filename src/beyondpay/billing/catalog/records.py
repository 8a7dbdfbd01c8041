"""Writing products and prices, shared by their two services: a product is made with its first
price (``default_price_data``) and a price with its product (``product_data``), so the rows are
built and inserted here and neither service imports the other.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Final, Literal

from psycopg.errors import UniqueViolation
from sqlalchemy import Select, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.catalog.domain import (
    BillingScheme,
    PriceType,
    ProductType,
    TaxBehavior,
    UsageType,
    type_of_hsn_sac,
)
from beyondpay.billing.catalog.errors import LookupKeyInUseError, ResourceAlreadyExistsError
from beyondpay.billing.catalog.events import PriceEvent, record
from beyondpay.billing.catalog.models import PriceRow, ProductRow
from beyondpay.billing.catalog.schemas import (
    DefaultPriceRecurringParams,
    PriceRecurringParams,
    price_object,
)
from beyondpay.db.pagination import merchant_owner
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import InvalidRequestError, ParameterMissingError, ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.kit.params import merge_metadata
from beyondpay.merchants.domain import Caller

LOOKUP_KEY_INDEX: Final = "uq_prices_active_lookup_key"


def product_type(wanted: ProductType | None, hsn_sac: str | None, *, param: str) -> ProductType:
    """A product's type: as asked, else what its HSN/SAC code names, else a service (Stripe's
    default). A type the code contradicts (a good with a SAC code) is refused, naming
    ``param``."""
    named = None if hsn_sac is None else type_of_hsn_sac(hsn_sac)
    if wanted is not None and named is not None and wanted is not named:
        expected = "an HSN code (chapters 01 to 98)" if wanted is ProductType.good else "a SAC code"
        raise InvalidRequestError(
            f"Invalid {param}: a {wanted.value}'s code is {expected}.", param=param
        )
    return wanted or named or ProductType.service


def product_values(caller: Caller, product_id: str | None, now: datetime) -> dict[str, Any]:
    """The columns every new product starts with; the caller sets the rest."""
    return {
        "merchant_id": caller.merchant,
        "livemode": caller.livemode,
        "id": product_id or new_id("prod"),
        "list_key": new_id("prod"),
        "images": [],
        "marketing_features": [],
        "metadata_": {},
        "created_at": now,
        "updated_at": now,
    }


async def insert_product(
    session: AsyncSession, values: dict[str, Any], *, param: str
) -> ProductRow:
    """Inserts the product; a chosen id the merchant already has is refused, naming ``param``
    (``ON CONFLICT``: two creations racing for one id find each other without an error that
    would abort the transaction)."""
    statement = (
        insert(ProductRow)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["merchant_id", "livemode", "id"])
        .returning(ProductRow)
    )
    row: ProductRow | None = (await session.scalars(statement)).one_or_none()
    if row is None:
        raise ResourceAlreadyExistsError(
            f"A product with the id '{values['id']}' already exists.", param=param
        )
    return row


# Row locks, weakest first (PostgreSQL's): "key share" keeps the row from being deleted (a
# price being made for its product); "share" also from being changed (a product's default
# price checked while it is set); "no key update" is a change of the row; "update" its deletion.
Lock = Literal["key share", "share", "no key update", "update"]
# SQLAlchemy's (read, key_share) for each.
_LOCKS: Final[dict[str, tuple[bool, bool]]] = {
    "key share": (True, True),
    "share": (True, False),
    "no key update": (False, True),
    "update": (False, False),
}


def locked(statement: Select[Any], lock: Lock | None) -> Select[Any]:
    if lock is None:
        return statement
    read, key_share = _LOCKS[lock]
    return statement.with_for_update(read=read, key_share=key_share).execution_options(
        populate_existing=True
    )


async def find_product(
    session: AsyncSession,
    caller: Caller,
    product_id: str,
    *,
    param: str | None = "id",
    lock: Lock | None = None,
) -> ProductRow:
    """The caller's product, ``lock``-ed; 404 naming ``param``."""
    statement = select(ProductRow).where(
        *merchant_owner(ProductRow, caller.merchant, caller.livemode), ProductRow.id == product_id
    )
    found: ProductRow | None = (await session.execute(locked(statement, lock))).scalar_one_or_none()
    if found is None:
        raise ResourceMissingError.for_object("product", product_id, param=param)
    return found


def unit_amount_of(
    unit_amount: int | None, unit_amount_decimal: Decimal | None, *, within: str | None = None
) -> int:
    """The price's amount in minor units, from one of ``unit_amount`` and
    ``unit_amount_decimal`` (a whole number of minor units); errors name the parameters
    ``within`` the hash that holds them (``default_price_data[unit_amount]``)."""

    def named(name: str) -> str:
        return name if within is None else f"{within}[{name}]"

    if unit_amount is not None and unit_amount_decimal is not None:
        raise InvalidRequestError(
            "You may only specify one of these parameters:"
            f" {named('unit_amount')}, {named('unit_amount_decimal')}.",
            param=named("unit_amount_decimal"),
        )
    if unit_amount is not None:
        return unit_amount
    if unit_amount_decimal is not None:
        return int(unit_amount_decimal)
    raise ParameterMissingError.for_param(named("unit_amount"))


def price_row(
    caller: Caller,
    product_id: str,
    *,
    currency: str,
    unit_amount: int,
    recurring: PriceRecurringParams | DefaultPriceRecurringParams | None,
    tax_behavior: TaxBehavior | None,
    metadata: dict[str, str] | str | None,
    now: datetime,
    active: bool = True,
    lookup_key: str | None = None,
    nickname: str | None = None,
) -> PriceRow:
    trial_days = getattr(recurring, "trial_period_days", None)
    usage = getattr(recurring, "usage_type", UsageType.licensed)
    return PriceRow(
        id=new_id("price"),
        merchant_id=caller.merchant,
        livemode=caller.livemode,
        product_id=product_id,
        active=active,
        currency=currency,
        unit_amount=unit_amount,
        type=PriceType.recurring if recurring is not None else PriceType.one_time,
        billing_scheme=BillingScheme.per_unit,
        recurring_interval=None if recurring is None else recurring.interval,
        recurring_interval_count=None if recurring is None else recurring.interval_count,
        recurring_trial_period_days=None if recurring is None else trial_days,
        recurring_usage_type=None if recurring is None else usage,
        tax_behavior=tax_behavior or TaxBehavior.unspecified,
        lookup_key=lookup_key,
        nickname=nickname,
        metadata_=merge_metadata({}, metadata if isinstance(metadata, dict) else None),
        created_at=now,
        updated_at=now,
    )


async def save_price(session: AsyncSession, row: PriceRow, *, param: str) -> None:
    """Inserts (or flushes the changes of) the price; an active lookup key taken meanwhile by
    another (the unique index decides races the check before missed) is refused, naming
    ``param``."""
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as error:
        if _violated(error, LOOKUP_KEY_INDEX):
            raise _lookup_key_in_use(str(row.lookup_key), param) from None
        raise


def _violated(error: IntegrityError, constraint: str) -> bool:
    original = error.orig
    return (
        isinstance(original, UniqueViolation)
        and getattr(original.diag, "constraint_name", None) == constraint
    )


def _lookup_key_in_use(lookup_key: str, param: str) -> LookupKeyInUseError:
    return LookupKeyInUseError(
        f"An active price already has the lookup key '{lookup_key[:100]}': send"
        " transfer_lookup_key=true to move it to this price.",
        param=param,
    )


async def claim_lookup_key(
    session: AsyncSession,
    caller: Caller,
    lookup_key: str,
    *,
    transfer: bool,
    param: str,
    claimant: str | None = None,
) -> None:
    """Frees ``lookup_key`` for a price (``claimant``, or one being made): the active price
    holding it loses it when ``transfer`` (Stripe's ``transfer_lookup_key``, with its
    ``price.updated``), else the claim is refused, naming ``param``."""
    holder: PriceRow | None = (
        await session.execute(
            select(PriceRow)
            .where(
                *merchant_owner(PriceRow, caller.merchant, caller.livemode),
                PriceRow.active.is_(True),
                PriceRow.lookup_key == lookup_key,
            )
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if holder is None or holder.id == claimant:
        return
    if not transfer:
        raise _lookup_key_in_use(lookup_key, param)
    holder.lookup_key = None
    holder.updated_at = utcnow()
    await session.flush()
    await record(
        session,
        holder,
        PriceEvent.updated,
        price_object(holder),
        previous_attributes={"lookup_key": lookup_key},
    )
