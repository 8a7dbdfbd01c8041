"""Price use cases, always within the caller's (merchant, mode). Never commits.

A price is one-time or recurring (``recurring[interval]`` day, week, month or year, billing at
least once a year), per unit (tiers may wait) and licensed (metered prices may wait), in integer
minor units of a currency ``kit.money`` knows. What Stripe lets change after creation changes
(``active``, ``metadata``, ``nickname``, ``lookup_key``, and ``tax_behavior`` while it is
``unspecified``); anything else is a new price. Among a merchant's active prices a
``lookup_key`` names one price: ``transfer_lookup_key=true`` moves it from the price that holds
it, in the same transaction (with that price's ``price.updated``).

:meth:`PriceService.billable` is what invoices and subscriptions call: the price with what a
GST invoice line needs of its product (name, HSN/SAC code, unit label), refusing an archived
price or product.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.catalog.domain import (
    Interval,
    TaxBehavior,
    UsageType,
    tax_behavior_change_problem,
)
from beyondpay.billing.catalog.errors import PriceInactiveError, PriceUnchangeableError
from beyondpay.billing.catalog.events import PriceEvent, ProductEvent, record
from beyondpay.billing.catalog.models import PriceRow, ProductRow
from beyondpay.billing.catalog.records import (
    Lock,
    claim_lookup_key,
    find_product,
    insert_product,
    locked,
    price_row,
    product_type,
    product_values,
    save_price,
    unit_amount_of,
)
from beyondpay.billing.catalog.schemas import (
    PriceCreateParams,
    PriceListParams,
    PriceProductDataParams,
    PriceSearchParams,
    PriceUpdateParams,
    price_object,
    product_object,
)
from beyondpay.db.pagination import created_conditions, merchant_owner, scoped, scoped_page
from beyondpay.db.search import Searchable, query_condition, search, searchable_fields
from beyondpay.events.service import previous_attributes
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import InvalidRequestError, ResourceMissingError
from beyondpay.kit.params import merge_metadata
from beyondpay.kit.search import FieldKind, parse_query
from beyondpay.merchants.domain import Caller

# Stripe's "Query fields for prices".
SEARCHABLE: Final = {
    "active": Searchable(PriceRow.active, FieldKind.boolean),
    "created": Searchable(PriceRow.created_at, FieldKind.timestamp),
    "currency": Searchable(PriceRow.currency, FieldKind.exact, lower_value=True),
    "lookup_key": Searchable(PriceRow.lookup_key, FieldKind.string),
    "product": Searchable(PriceRow.product_id, FieldKind.exact),
    "type": Searchable(PriceRow.type, FieldKind.exact),
}
SEARCH_FIELDS: Final = searchable_fields(SEARCHABLE)


@dataclass(frozen=True, slots=True)
class Recurrence:
    interval: Interval
    interval_count: int
    trial_period_days: int | None
    usage_type: UsageType


@dataclass(frozen=True, slots=True)
class BillablePrice:
    """A price as an invoice line or a subscription item takes it: its amount and terms, and
    what a GST invoice prints of its product."""

    price_id: str
    product_id: str
    product_name: str
    hsn_sac: str | None  # the HSN (goods) or SAC (services) code of the product
    product_type: str  # good or service
    unit_label: str | None
    tax_code: str | None
    currency: str
    unit_amount: int  # minor units, per unit
    tax_behavior: TaxBehavior
    recurring: Recurrence | None


def _recurrence(row: PriceRow) -> Recurrence | None:
    if row.recurring_interval is None:
        return None
    return Recurrence(
        interval=Interval(row.recurring_interval),
        interval_count=row.recurring_interval_count or 1,
        trial_period_days=row.recurring_trial_period_days,
        usage_type=UsageType(row.recurring_usage_type or UsageType.licensed),
    )


class PriceService:
    async def create(
        self, session: AsyncSession, caller: Caller, params: PriceCreateParams
    ) -> PriceRow:
        amount = unit_amount_of(params.unit_amount, params.unit_amount_decimal)
        if (params.product is None) == (params.product_data is None):
            raise InvalidRequestError(
                "You must specify either product or product_data when creating a price, not both.",
                param="product" if params.product is None else "product_data",
            )
        now = utcnow()
        if params.product_data is not None:
            product = await self._new_product(session, caller, params.product_data, now)
        else:
            # It cannot be deleted until this price commits.
            product = await find_product(
                session, caller, str(params.product), param="product", lock="key share"
            )
        if params.lookup_key is not None:
            await claim_lookup_key(
                session,
                caller,
                params.lookup_key,
                transfer=params.transfer_lookup_key,
                param="lookup_key",
            )
        row = price_row(
            caller,
            product.id,
            currency=params.currency,
            unit_amount=amount,
            recurring=params.recurring,
            tax_behavior=params.tax_behavior,
            metadata=params.metadata,
            now=now,
            active=params.active,
            lookup_key=params.lookup_key,
            nickname=params.nickname,
        )
        await save_price(session, row, param="lookup_key")
        await record(session, row, PriceEvent.created, price_object(row))
        return row

    async def _new_product(
        self, session: AsyncSession, caller: Caller, data: PriceProductDataParams, now: datetime
    ) -> ProductRow:
        values = product_values(caller, data.id, now) | {
            "name": data.name,
            "active": data.active,
            "statement_descriptor": data.statement_descriptor,
            "tax_code": data.tax_code,
            "unit_label": data.unit_label,
            "hsn_sac": data.hsn_sac,
            "type": product_type(None, data.hsn_sac, param="product_data[hsn_sac]"),
            "metadata_": merge_metadata(
                {}, data.metadata if isinstance(data.metadata, dict) else None
            ),
        }
        product = await insert_product(session, values, param="product_data[id]")
        await record(session, product, ProductEvent.created, product_object(product))
        return product

    async def get(
        self,
        session: AsyncSession,
        caller: Caller,
        price_id: str,
        *,
        param: str | None = "id",
        lock: Lock | None = None,
    ) -> PriceRow:
        """The caller's price; 404 naming ``param``."""
        statement = scoped(PriceRow, caller.merchant, caller.livemode, PriceRow.id == price_id)
        statement = locked(statement, lock)
        row: PriceRow | None = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object("price", price_id, param=param)
        return row

    async def billable(
        self,
        session: AsyncSession,
        caller: Caller,
        price_id: str,
        *,
        param: str = "price",
        inline: bool = False,
    ) -> BillablePrice:
        """The price for a new purchase (an invoice line, a subscription item): errors name
        ``param`` — a price not the caller's (404), an archived price or a price of an archived
        product (400 ``price_inactive``), as Stripe takes only active prices for new
        purchases. ``inline``: a price made archived for this one purchase (Checkout's
        ``price_data``, as Stripe's inline prices are) is taken though archived."""
        found = (
            await session.execute(
                select(PriceRow, ProductRow)
                .join(
                    ProductRow,
                    (ProductRow.merchant_id == PriceRow.merchant_id)
                    & (ProductRow.livemode == PriceRow.livemode)
                    & (ProductRow.id == PriceRow.product_id),
                )
                .where(
                    *merchant_owner(PriceRow, caller.merchant, caller.livemode),
                    PriceRow.id == price_id,
                )
            )
        ).one_or_none()
        if found is None:
            raise ResourceMissingError.for_object("price", price_id, param=param)
        price, product = found
        if not price.active and not inline:
            raise PriceInactiveError(
                f"The price {price_id} is archived: only active prices are accepted.",
                param=param,
            )
        if not product.active:
            raise PriceInactiveError(
                f"The product {product.id} of the price {price_id} is archived: only prices of"
                " active products are accepted.",
                param=param,
            )
        return BillablePrice(
            price_id=price.id,
            product_id=product.id,
            product_name=product.name,
            hsn_sac=product.hsn_sac,
            product_type=product.type,
            unit_label=product.unit_label,
            tax_code=product.tax_code,
            currency=price.currency,
            unit_amount=price.unit_amount,
            tax_behavior=TaxBehavior(price.tax_behavior),
            recurring=_recurrence(price),
        )

    async def update(
        self, session: AsyncSession, caller: Caller, price_id: str, params: PriceUpdateParams
    ) -> PriceRow:
        if params.active is False:
            # Its product first (then the price, the order a product's update takes them in):
            # the product's default price is not archived, nor made default while archived.
            found = await self.get(session, caller, price_id)
            await find_product(session, caller, found.product_id, param=None, lock="share")
        row = await self.get(session, caller, price_id, lock="no key update")
        before = price_object(row)
        sent = params.model_fields_set
        if "tax_behavior" in sent and params.tax_behavior is not None:
            problem = tax_behavior_change_problem(
                TaxBehavior(row.tax_behavior), params.tax_behavior
            )
            if problem is not None:
                raise PriceUnchangeableError(
                    f"Invalid tax_behavior: {problem}.", param="tax_behavior"
                )
            row.tax_behavior = params.tax_behavior
        if "active" in sent and params.active is not None and params.active != row.active:
            await self._activate(session, caller, row, params)
        if "lookup_key" in sent and (params.lookup_key or None) != row.lookup_key:
            key = params.lookup_key or None
            if key is not None and row.active:
                await claim_lookup_key(
                    session,
                    caller,
                    key,
                    transfer=params.transfer_lookup_key,
                    param="lookup_key",
                    claimant=row.id,
                )
            row.lookup_key = key
        if "nickname" in sent:
            row.nickname = params.nickname
        if "metadata" in sent:
            metadata = params.metadata if isinstance(params.metadata, dict) else {}
            row.metadata_ = merge_metadata(row.metadata_, metadata)
        previous = previous_attributes(before, price_object(row))
        if not previous:
            return row
        row.updated_at = utcnow()
        await save_price(session, row, param="lookup_key")  # a lookup key's lost race: 400
        await record(
            session, row, PriceEvent.updated, price_object(row), previous_attributes=previous
        )
        return row

    async def _activate(
        self, session: AsyncSession, caller: Caller, row: PriceRow, params: PriceUpdateParams
    ) -> None:
        """Archiving (``active=false``) or restoring a price. The default price of its product
        is not archived (set another first, as Stripe requires); a restored price takes its
        lookup key back only if no other active price holds it (or ``transfer_lookup_key``)."""
        if not params.active:
            product = await find_product(session, caller, row.product_id, param=None)
            if product.default_price_id == row.id:
                raise PriceUnchangeableError(
                    "This price cannot be archived because it is the default price of its"
                    " product: set another default_price on the product first.",
                    param="active",
                )
        else:
            sent = "lookup_key" in params.model_fields_set
            key = (params.lookup_key or None) if sent else row.lookup_key
            if key is not None:
                await claim_lookup_key(
                    session,
                    caller,
                    key,
                    transfer=params.transfer_lookup_key,
                    param="lookup_key" if sent else "active",
                    claimant=row.id,
                )
        row.active = bool(params.active)

    async def list(
        self, session: AsyncSession, caller: Caller, params: PriceListParams
    ) -> tuple[Sequence[PriceRow], bool]:
        conditions: list[Any] = list(created_conditions(PriceRow.created_at, params.created))
        conditions.append(PriceRow.active.is_(params.active))
        if params.currency is not None:
            conditions.append(PriceRow.currency == params.currency)
        if params.product is not None:
            conditions.append(PriceRow.product_id == params.product)
        if params.type is not None:
            conditions.append(PriceRow.type == params.type)
        if params.lookup_keys is not None:
            conditions.append(PriceRow.lookup_key.in_(params.lookup_keys))
        recurring = params.recurring
        if recurring is not None and recurring.interval is not None:
            conditions.append(PriceRow.recurring_interval == recurring.interval)
        if recurring is not None and recurring.usage_type is not None:
            conditions.append(PriceRow.recurring_usage_type == recurring.usage_type)
        return await scoped_page(
            session,
            PriceRow,
            caller.merchant,
            caller.livemode,
            params,
            *conditions,
            object_name="price",
        )

    async def search(
        self, session: AsyncSession, caller: Caller, params: PriceSearchParams
    ) -> tuple[Sequence[PriceRow], bool, str | None]:
        """Prices matching ``params.query``, newest first: the page, whether more remain, and
        the ``next_page`` token. Consistent at once (no indexing delay, unlike Stripe)."""
        matched = query_condition(
            parse_query(params.query, SEARCH_FIELDS), SEARCHABLE, PriceRow.metadata_
        )
        statement = scoped(PriceRow, caller.merchant, caller.livemode, matched)
        return await search(
            session, statement, PriceRow.id, limit=params.limit, page=params.page, prefix="price"
        )


price_service = PriceService()
