"""Stripe's cursor pagination and ``created`` filters over a scoped statement.

Objects are listed newest first. Public ids are time-ordered (``kit.ids``), so the id is the
cursor and the sort key: ``starting_after`` pages to older objects, ``ending_before`` to newer.
A cursor must name an object of the list's owner (a merchant and mode, a payer), as Stripe
requires, whether or not it passes the list's filters: :func:`owned_page` derives that check
from the owner, :func:`scoped_page` for a merchant and mode; :func:`page` takes a check of its
own. Every read starts from :func:`scoped` or :func:`merchant_owner`. No HTTP here: services
and schemas use it, and ``api.lists`` renders the list envelope around a page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

from pydantic import Field, model_validator
from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from beyondpay.kit.errors import InvalidRequestError, ResourceMissingError
from beyondpay.kit.params import Params

LIMIT_DEFAULT: Final = 10
LIMIT_MAX: Final = 100
EXPAND_MAX: Final = 20
UNIX_S_MAX: Final = 253_402_300_799  # 9999-12-31

RowT = TypeVar("RowT")


class CreatedFilter(Params):
    """``created=<unix>`` or ``created[gt|gte|lt|lte]=<unix>``."""

    gt: int | None = Field(default=None, ge=0, le=UNIX_S_MAX)
    gte: int | None = Field(default=None, ge=0, le=UNIX_S_MAX)
    lt: int | None = Field(default=None, ge=0, le=UNIX_S_MAX)
    lte: int | None = Field(default=None, ge=0, le=UNIX_S_MAX)

    @model_validator(mode="before")
    @classmethod
    def _exact(cls, value: Any) -> Any:
        if isinstance(value, (int, str)):
            return {"gte": value, "lte": value}
        return value


class ListParams(Params):
    limit: int = Field(default=LIMIT_DEFAULT, ge=1, le=LIMIT_MAX)
    starting_after: str | None = Field(default=None, min_length=1, max_length=255)
    ending_before: str | None = Field(default=None, min_length=1, max_length=255)
    created: CreatedFilter | None = None
    expand: list[str] = Field(default_factory=list, max_length=EXPAND_MAX)


def _moment(unix_s: int) -> datetime:
    return datetime.fromtimestamp(unix_s, tz=UTC)


def _end_of_second(unix_s: int) -> datetime:
    """The last instant of second ``unix_s``: ``created[lte]=N`` admits all of second N. Not
    the start of N + 1, which is past datetime's range for the last second of 9999."""
    return _moment(unix_s).replace(microsecond=999_999)


def created_conditions(
    column: InstrumentedAttribute[datetime], created: CreatedFilter | None
) -> list[Any]:
    if created is None:
        return []
    conditions: list[Any] = []
    if created.gt is not None:
        conditions.append(column > _end_of_second(created.gt))
    if created.gte is not None:
        conditions.append(column >= _moment(created.gte))
    if created.lt is not None:
        conditions.append(column < _moment(created.lt))
    if created.lte is not None:
        conditions.append(column <= _end_of_second(created.lte))
    return conditions


async def page(
    session: AsyncSession,
    statement: Select[Any],
    id_column: InstrumentedAttribute[str],
    params: ListParams,
    *,
    cursor_exists: Callable[[str], Select[Any]],
    object_name: str,
) -> tuple[Sequence[RowT], bool]:
    """One page of ``statement`` (already scoped and filtered) and whether more remain."""
    if params.starting_after and params.ending_before:
        raise InvalidRequestError(
            "You may only specify one of these parameters: starting_after, ending_before.",
            param="ending_before",
        )
    cursor = params.starting_after or params.ending_before
    if cursor is not None:
        found = (await session.execute(cursor_exists(cursor))).first()
        if found is None:
            param = "starting_after" if params.starting_after else "ending_before"
            raise ResourceMissingError.for_object(object_name, cursor, param=param)
    if params.ending_before:
        statement = statement.where(id_column > params.ending_before).order_by(id_column.asc())
    else:
        if params.starting_after:
            statement = statement.where(id_column < params.starting_after)
        statement = statement.order_by(id_column.desc())
    rows: list[RowT] = list((await session.execute(statement.limit(params.limit + 1))).scalars())
    has_more = len(rows) > params.limit
    rows = rows[: params.limit]
    if params.ending_before:
        rows.reverse()
    return rows, has_more


def merchant_owner(
    model: Any, merchant_id: str, livemode: bool
) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """``merchant_id = … AND livemode = …``: the owner of most of a merchant's objects."""
    return (model.merchant_id == merchant_id, model.livemode == livemode)


def scoped(model: Any, merchant_id: str, livemode: bool, *extra: Any) -> Select[Any]:
    """``SELECT model WHERE merchant_id = … AND livemode = …``: where every read starts."""
    return select(model).where(*merchant_owner(model, merchant_id, livemode), *extra)


async def owned_page(
    session: AsyncSession,
    model: Any,
    params: ListParams,
    *,
    owner: Sequence[ColumnElement[bool]],
    filters: Sequence[ColumnElement[bool]] = (),
    object_name: str,
) -> tuple[Sequence[RowT], bool]:
    """One page of ``model``'s rows of one owner (a merchant and mode, a payer) that pass
    ``filters``. A cursor must name a row of the same owner but need not pass the filters, as
    Stripe's need not: a client may narrow a list and keep its place."""

    def cursor_exists(cursor: str) -> Select[Any]:
        return select(model.id).where(model.id == cursor, *owner)

    return await page(
        session,
        select(model).where(*owner, *filters),
        model.id,
        params,
        cursor_exists=cursor_exists,
        object_name=object_name,
    )


async def scoped_page(
    session: AsyncSession,
    model: Any,
    merchant_id: str,
    livemode: bool,
    params: ListParams,
    *filters: ColumnElement[bool],
    object_name: str,
) -> tuple[Sequence[RowT], bool]:
    """One page of ``model``'s rows of a merchant in one mode that pass ``filters``."""
    return await owned_page(
        session,
        model,
        params,
        owner=merchant_owner(model, merchant_id, livemode),
        filters=filters,
        object_name=object_name,
    )
