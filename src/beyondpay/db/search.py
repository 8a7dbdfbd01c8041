"""Stripe's search over a scoped statement: a parsed query (``kit.search``) as SQL, and the
``next_page`` tokens of a search result.

A resource maps each of its fields to a :class:`Searchable` (its column or expression, and how
values compare); :func:`search` runs the query over the caller's rows, newest first. Results are
consistent at once (no indexing delay, unlike Stripe's search).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Final

from pydantic import Field
from sqlalchemy import ColumnElement, Select, and_, false, func, not_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.pagination import EXPAND_MAX, LIMIT_DEFAULT, LIMIT_MAX, UNIX_S_MAX
from beyondpay.kit.errors import InvalidRequestError
from beyondpay.kit.ids import is_valid_id
from beyondpay.kit.params import Params
from beyondpay.kit.search import (
    METADATA_FIELD,
    QUERY_CHARS_MAX,
    Clause,
    FieldKind,
    Query,
    QueryInvalidError,
    SearchFields,
)

# The longest next_page token accepted back: an encoded id is about 40 characters.
PAGE_CHARS_MAX: Final = 200


@dataclass(frozen=True, slots=True)
class Searchable:
    """How one field's clauses become SQL: the column (or expression) and its kind; string
    values compare ignoring case where ``ignore_case`` (Stripe's email and name), and are
    folded to lower case first where ``lower_value`` (currencies, stored lower case)."""

    column: Any
    kind: FieldKind
    ignore_case: bool = False
    lower_value: bool = False


def searchable_fields(fields: Mapping[str, Searchable], *, metadata: bool = True) -> SearchFields:
    """The query language's view of ``fields`` (names and kinds), with ``metadata['key']``."""
    kinds: dict[str, FieldKind] = {name: field.kind for name, field in fields.items()}
    if metadata:
        kinds[METADATA_FIELD] = FieldKind.metadata
    return kinds


def _like_pattern(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _compared(column: Any, operator: str, value: int) -> ColumnElement[bool]:
    comparisons: dict[str, ColumnElement[bool]] = {
        ":": column == value,
        ">": column > value,
        ">=": column >= value,
        "<": column < value,
        "<=": column <= value,
    }
    return comparisons[operator]


def _timestamp_condition(column: Any, clause: Clause) -> ColumnElement[bool]:
    seconds = int(clause.value)
    if not 0 <= seconds <= UNIX_S_MAX:
        raise QueryInvalidError(f"{clause.field} must be unix seconds from 0 to {UNIX_S_MAX}")
    start = datetime.fromtimestamp(seconds, tz=UTC)
    end = start.replace(microsecond=999_999)
    conditions: dict[str, ColumnElement[bool]] = {
        ":": and_(column >= start, column <= end),
        ">": column > end,
        ">=": column >= start,
        "<": column < start,
        "<=": column <= end,
    }
    return conditions[clause.operator]


def _string_condition(field: Searchable, clause: Clause) -> ColumnElement[bool]:
    value = str(clause.value).lower() if field.lower_value else str(clause.value)
    if clause.operator == "~":
        condition: ColumnElement[bool] = field.column.ilike(_like_pattern(value), escape="\\")
        return condition
    if field.ignore_case:
        return func.lower(field.column) == value.lower()
    return field.column == value  # type: ignore[no-any-return]


def clause_condition(
    clause: Clause, fields: Mapping[str, Searchable], metadata_column: Any = None
) -> ColumnElement[bool]:
    if clause.field == METADATA_FIELD:
        condition: ColumnElement[bool] = metadata_column.contains(
            {clause.metadata_key: clause.value}
        )
    else:
        field = fields[clause.field]
        if field.kind is FieldKind.timestamp:
            condition = _timestamp_condition(field.column, clause)
        elif field.kind is FieldKind.number:
            condition = _compared(field.column, clause.operator, int(clause.value))
        elif field.kind is FieldKind.boolean:
            condition = field.column.is_(bool(clause.value))
        else:
            condition = _string_condition(field, clause)
    if clause.negated:
        # A row without the field is one whose field is not the value.
        return not_(func.coalesce(condition, false()))
    return condition


def query_condition(
    query: Query, fields: Mapping[str, Searchable], metadata_column: Any = None
) -> ColumnElement[bool]:
    conditions = [clause_condition(clause, fields, metadata_column) for clause in query.clauses]
    return and_(*conditions) if query.connective == "AND" else or_(*conditions)


def page_token(object_id: str) -> str:
    """The opaque ``next_page``: the last id of the page, encoded."""
    return base64.urlsafe_b64encode(object_id.encode()).decode().rstrip("=")


def page_cursor(token: str, prefix: str) -> str:
    """The last id of the previous page, from the ``next_page`` token; 400 naming ``page``."""
    try:
        cursor = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        cursor = ""
    if not is_valid_id(cursor, prefix):
        raise InvalidRequestError("Invalid page: use the next_page of a search.", param="page")
    return cursor


async def search(
    session: AsyncSession,
    statement: Select[Any],
    id_column: Any,
    *,
    limit: int,
    page: str | None,
    prefix: str,
) -> tuple[Sequence[Any], bool, str | None]:
    """The page of ``statement``'s rows (already scoped and filtered) newest first, whether
    more remain, and the ``next_page`` token."""
    if page is not None:
        statement = statement.where(id_column < page_cursor(page, prefix))
    statement = statement.order_by(id_column.desc()).limit(limit + 1)
    rows: list[Any] = list((await session.execute(statement)).scalars())
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_page = page_token(str(rows[-1].id)) if has_more else None
    return rows, has_more, next_page


class SearchParams(Params):
    """Stripe's search: ``query`` in its query language, ``page`` the previous ``next_page``.
    Each resource subclasses it under its own name (the OpenAPI document names models)."""

    query: Annotated[str, Field(max_length=QUERY_CHARS_MAX)]
    limit: int = Field(default=LIMIT_DEFAULT, ge=1, le=LIMIT_MAX)
    page: Annotated[str | None, Field(default=None, min_length=1, max_length=PAGE_CHARS_MAX)] = None
    expand: list[str] = Field(default_factory=list, max_length=EXPAND_MAX)
