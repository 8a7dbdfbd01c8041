"""Stripe's search query language, as customers are searched. Pure: no I/O.

The language itself is ``kit.search`` (shared with payment intents and charges); customers
are searched by ``email``, ``name``, ``phone`` (``:`` exact — ``email`` and ``name`` ignoring
case — and ``~`` substring), ``metadata['key']`` and ``created`` (unix seconds), as Stripe's
"Query fields for customers" lists.
"""

from __future__ import annotations

from typing import Final

from beyondpay.kit.search import (
    CLAUSES_MAX,
    QUERY_CHARS_MAX,
    SUBSTRING_CHARS_MIN,
    Clause,
    FieldKind,
    Query,
    QueryInvalidError,
    SearchFields,
)
from beyondpay.kit.search import parse_query as parse_search_query

__all__ = [
    "CLAUSES_MAX",
    "CUSTOMER_SEARCH_FIELDS",
    "QUERY_CHARS_MAX",
    "SUBSTRING_CHARS_MIN",
    "Clause",
    "Query",
    "QueryInvalidError",
    "parse_query",
]

CUSTOMER_SEARCH_FIELDS: Final[SearchFields] = {
    "email": FieldKind.string,
    "name": FieldKind.string,
    "phone": FieldKind.string,
    "created": FieldKind.timestamp,
    "metadata": FieldKind.metadata,
}


def parse_query(text: str) -> Query:
    return parse_search_query(text, CUSTOMER_SEARCH_FIELDS)
