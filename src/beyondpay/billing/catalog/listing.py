"""Lists and searches of objects whose id the merchant may choose (products, coupons).

``db.pagination`` pages by id, since ids minted here are time-ordered; a chosen id
(``prod_basic``) says nothing of when its object was made. These objects carry ``list_key``, an
id minted at creation: pages are ordered by it, and a cursor (``starting_after=prod_basic``) is
translated to its object's key first. A cursor must name an object of the caller (404 naming the
parameter otherwise), as ``db.pagination`` requires.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.pagination import ListParams, merchant_owner, page
from beyondpay.db.search import page_cursor, page_token
from beyondpay.kit.errors import ResourceMissingError
from beyondpay.merchants.domain import Caller


async def keyed_page(
    session: AsyncSession,
    model: Any,
    caller: Caller,
    params: ListParams,
    *filters: Any,
    object_name: str,
) -> tuple[Sequence[Any], bool]:
    """One page of the caller's ``model`` rows passing ``filters``, newest first by
    ``list_key``."""
    owner = merchant_owner(model, caller.merchant, caller.livemode)
    translated: dict[str, str] = {}
    # Both cursors at once are refused by db.pagination, before any is looked up.
    both = params.starting_after is not None and params.ending_before is not None
    for name in () if both else ("starting_after", "ending_before"):
        cursor = getattr(params, name)
        if cursor is None:
            continue
        key = (
            await session.execute(select(model.list_key).where(*owner, model.id == cursor))
        ).scalar_one_or_none()
        if key is None:
            raise ResourceMissingError.for_object(object_name, cursor, param=name)
        translated[name] = key
    return await page(
        session,
        select(model).where(*owner, *filters),
        model.list_key,
        params.model_copy(update=translated),
        cursor_exists=lambda key: select(model.list_key).where(model.list_key == key),
        object_name=object_name,
    )


async def keyed_search(
    session: AsyncSession,
    statement: Select[Any],
    model: Any,
    *,
    limit: int,
    page_text: str | None,
    prefix: str,
) -> tuple[Sequence[Any], bool, str | None]:
    """``db.search.search`` for rows ordered by ``list_key``: the page newest first, whether
    more remain, and the ``next_page`` token (the last row's key, encoded)."""
    if page_text is not None:
        statement = statement.where(model.list_key < page_cursor(page_text, prefix))
    statement = statement.order_by(model.list_key.desc()).limit(limit + 1)
    rows: list[Any] = list((await session.execute(statement)).scalars())
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_page = page_token(str(rows[-1].list_key)) if has_more else None
    return rows, has_more, next_page
