"""Product use cases, always within the caller's (merchant, mode). Never commits.

A product may be made with its first price (``default_price_data``, which becomes its
``default_price``); it is deleted only while no price names it, as Stripe deletes it (archive it
with ``active=false`` otherwise), and a deleted product is gone: retrieving it is a 404. Each
change records ``product.created``, ``product.updated`` (with the changed fields' previous
values; an update that changes nothing records nothing) or ``product.deleted`` in the change's
transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.catalog.domain import ProductType
from beyondpay.billing.catalog.errors import ProductHasPricesError
from beyondpay.billing.catalog.events import PriceEvent, ProductEvent, record
from beyondpay.billing.catalog.listing import keyed_page, keyed_search
from beyondpay.billing.catalog.models import PriceRow, ProductRow
from beyondpay.billing.catalog.records import (
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
    ProductCreateParams,
    ProductListParams,
    ProductParams,
    ProductSearchParams,
    ProductUpdateParams,
    price_object,
    product_object,
)
from beyondpay.db.pagination import created_conditions, merchant_owner, scoped
from beyondpay.db.search import Searchable, query_condition, searchable_fields
from beyondpay.events.service import previous_attributes
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import InvalidRequestError, ResourceMissingError
from beyondpay.kit.params import merge_metadata
from beyondpay.kit.search import FieldKind, parse_query
from beyondpay.merchants.domain import Caller

# Stripe's "Query fields for products".
SEARCHABLE: Final = {
    "active": Searchable(ProductRow.active, FieldKind.boolean),
    "created": Searchable(ProductRow.created_at, FieldKind.timestamp),
    "description": Searchable(ProductRow.description, FieldKind.string, ignore_case=True),
    "name": Searchable(ProductRow.name, FieldKind.string, ignore_case=True),
    "shippable": Searchable(ProductRow.shippable, FieldKind.boolean),
    "url": Searchable(ProductRow.url, FieldKind.string),
}
SEARCH_FIELDS: Final = searchable_fields(SEARCHABLE)
# Fields an update sets as sent ("" having become None: unset).
_PLAIN_FIELDS: Final = (
    "description",
    "shippable",
    "statement_descriptor",
    "tax_code",
    "unit_label",
    "url",
)


def _changes(params: ProductParams) -> dict[str, Any]:
    """The columns a create or an update sets from what was sent."""
    sent = params.model_fields_set
    values: dict[str, Any] = {
        field: getattr(params, field) for field in _PLAIN_FIELDS if field in sent
    }
    if "active" in sent and params.active is not None:
        values["active"] = params.active
    if "images" in sent:
        values["images"] = list(params.images or [])
    if "marketing_features" in sent:
        values["marketing_features"] = [
            feature.model_dump() for feature in params.marketing_features or []
        ]
    if "package_dimensions" in sent:
        dimensions = params.package_dimensions
        values["package_dimensions"] = None if dimensions is None else dimensions.model_dump()
    return values


class ProductService:
    async def create(
        self, session: AsyncSession, caller: Caller, params: ProductCreateParams
    ) -> ProductRow:
        now = utcnow()
        values = product_values(caller, params.id, now)
        values |= _changes(params)
        values |= {
            "name": params.name,
            "active": params.active,
            "hsn_sac": params.hsn_sac,
            "type": product_type(params.type, params.hsn_sac, param="hsn_sac"),
            "metadata_": merge_metadata(
                {}, params.metadata if isinstance(params.metadata, dict) else None
            ),
        }
        row = await insert_product(session, values, param="id")
        price = None
        if params.default_price_data is not None:
            data = params.default_price_data
            price = price_row(
                caller,
                row.id,
                currency=data.currency,
                unit_amount=unit_amount_of(
                    data.unit_amount, data.unit_amount_decimal, within="default_price_data"
                ),
                recurring=data.recurring,
                tax_behavior=data.tax_behavior,
                metadata=data.metadata,
                now=now,
            )
            await save_price(session, price, param="default_price_data")
            row.default_price_id = price.id
            await session.flush()
        await record(session, row, ProductEvent.created, product_object(row))
        if price is not None:
            await record(session, price, PriceEvent.created, price_object(price))
        return row

    async def get(
        self, session: AsyncSession, caller: Caller, product_id: str, *, param: str | None = "id"
    ) -> ProductRow:
        """The caller's product; 404 naming ``param``."""
        return await find_product(session, caller, product_id, param=param)

    async def get_many(
        self, session: AsyncSession, caller: Caller, product_ids: Sequence[str]
    ) -> dict[str, ProductRow]:
        """The caller's products among ``product_ids``, by id (those not found are absent)."""
        if not product_ids:
            return {}
        rows = await session.execute(
            scoped(ProductRow, caller.merchant, caller.livemode, ProductRow.id.in_(product_ids))
        )
        return {row.id: row for row in rows.scalars()}

    async def update(
        self, session: AsyncSession, caller: Caller, product_id: str, params: ProductUpdateParams
    ) -> ProductRow:
        row = await find_product(session, caller, product_id, lock="no key update")
        before = product_object(row)
        sent = params.model_fields_set
        values = _changes(params)
        if "name" in sent and params.name is not None:
            values["name"] = params.name
        if "hsn_sac" in sent:
            # The type was set at creation; a code that contradicts it is refused.
            product_type(ProductType(row.type), params.hsn_sac, param="hsn_sac")
            values["hsn_sac"] = params.hsn_sac
        if "metadata" in sent:
            metadata = params.metadata if isinstance(params.metadata, dict) else {}
            values["metadata_"] = merge_metadata(row.metadata_, metadata)
        if "default_price" in sent:
            values["default_price_id"] = await self._default_price(
                session, caller, row, params.default_price
            )
        for name, value in values.items():
            setattr(row, name, value)
        previous = previous_attributes(before, product_object(row))
        if not previous:  # as Stripe does, an update that changes nothing announces nothing
            return row
        before_update = row.updated_at
        row.updated_at = utcnow()
        await session.flush()
        after = product_object(row)
        previous["updated"] = int(before_update.timestamp())
        await record(session, row, ProductEvent.updated, after, previous_attributes=previous)
        return row

    async def _default_price(
        self, session: AsyncSession, caller: Caller, product: ProductRow, price_id: str | None
    ) -> str | None:
        """``default_price``: an active price of this product ("" unsets it)."""
        if not price_id:
            return None
        # Shared: it is not archived while it becomes the default (the product is locked).
        statement = select(PriceRow).where(
            *merchant_owner(PriceRow, caller.merchant, caller.livemode), PriceRow.id == price_id
        )
        price: PriceRow | None = (
            await session.execute(locked(statement, "share"))
        ).scalar_one_or_none()
        if price is None:
            raise ResourceMissingError.for_object("price", price_id, param="default_price")
        if price.product_id != product.id:
            raise InvalidRequestError(
                f"The price {price_id} belongs to another product: a default price is one of"
                " the product's own.",
                param="default_price",
            )
        if not price.active:
            raise InvalidRequestError(
                f"The price {price_id} is archived: a default price is an active one.",
                param="default_price",
            )
        return price.id

    async def delete(self, session: AsyncSession, caller: Caller, product_id: str) -> str:
        """Deletes a product no price names (Stripe's rule); its id."""
        row = await find_product(session, caller, product_id, lock="update")
        priced = (
            await session.execute(
                select(PriceRow.id)
                .where(
                    *merchant_owner(PriceRow, caller.merchant, caller.livemode),
                    PriceRow.product_id == row.id,
                )
                .limit(1)
            )
        ).first()
        if priced is not None:
            raise ProductHasPricesError(
                "This product cannot be deleted because it has one or more prices: archive it"
                " (active=false) instead.",
            )
        # Stripe's product.deleted carries the product as it was.
        await record(session, row, ProductEvent.deleted, product_object(row))
        await session.execute(
            delete(ProductRow).where(
                *merchant_owner(ProductRow, caller.merchant, caller.livemode),
                ProductRow.id == row.id,
            )
        )
        session.expunge(row)
        return product_id

    async def list(
        self, session: AsyncSession, caller: Caller, params: ProductListParams
    ) -> tuple[Sequence[ProductRow], bool]:
        conditions: list[Any] = list(created_conditions(ProductRow.created_at, params.created))
        if params.active is not None:
            conditions.append(ProductRow.active.is_(params.active))
        if params.ids is not None:
            conditions.append(ProductRow.id.in_(params.ids))
        if params.shippable is not None:
            conditions.append(ProductRow.shippable.is_(params.shippable))
        if params.type is not None:
            conditions.append(ProductRow.type == params.type)
        if params.url is not None:
            conditions.append(ProductRow.url == params.url)
        return await keyed_page(
            session, ProductRow, caller, params, *conditions, object_name="product"
        )

    async def search(
        self, session: AsyncSession, caller: Caller, params: ProductSearchParams
    ) -> tuple[Sequence[ProductRow], bool, str | None]:
        """Products matching ``params.query``, newest first: the page, whether more remain,
        and the ``next_page`` token. Consistent at once (no indexing delay, unlike Stripe)."""
        matched = query_condition(
            parse_query(params.query, SEARCH_FIELDS), SEARCHABLE, ProductRow.metadata_
        )
        statement = scoped(ProductRow, caller.merchant, caller.livemode, matched)
        return await keyed_search(
            session, statement, ProductRow, limit=params.limit, page_text=params.page, prefix="prod"
        )


product_service = ProductService()
