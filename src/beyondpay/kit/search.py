"""Stripe's search query language (docs "Search query language"), for any resource. Pure: no I/O.

A resource names the fields it can be searched by and their kind (:data:`SearchFields`); a query
is up to ``CLAUSES_MAX`` clauses joined by ``AND`` or by ``OR`` (not both, as Stripe requires).
A clause is ``[-]field operator value``:

- ``string`` fields: ``:`` exact match, ``~`` substring of at least ``SUBSTRING_CHARS_MIN``
  characters;
- ``exact`` fields (ids, statuses, currencies, a card's last four digits): ``:`` exact match;
- ``number`` and ``timestamp`` fields (amounts; ``created`` in unix seconds): ``:``, ``>``,
  ``<``, ``>=``, ``<=`` against an integer (quoted or not);
- ``boolean`` fields: ``:`` with ``true`` or ``false`` (quoted or not);
- ``metadata['key']``: ``:`` exact match, where the resource has metadata.

Strings are quoted with ``'`` or ``"`` (a backslash escapes the quote). A leading ``-`` negates.
Any malformed query is a :class:`QueryInvalidError` naming the ``query`` parameter; its message
quotes no part of the query (which may hold an email address). ``db.search`` turns a parsed
query into SQL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

from beyondpay.kit.errors import InvalidRequestError

CLAUSES_MAX: Final = 10
QUERY_CHARS_MAX: Final = 1_000
SUBSTRING_CHARS_MIN: Final = 3
# A number in a query: at most 12 digits (unix seconds to the year 9999 have 12, amounts fewer).
NUMBER_DIGITS_MAX: Final = 12
METADATA_FIELD: Final = "metadata"
Operator = Literal[":", "~", ">", "<", ">=", "<="]
Connective = Literal["AND", "OR"]


class FieldKind(StrEnum):
    string = "string"
    exact = "exact"
    number = "number"
    timestamp = "timestamp"
    boolean = "boolean"
    metadata = "metadata"


# A resource's searchable fields by name (dotted names as Stripe's:
# ``payment_method_details.card.last4``); ``metadata`` with kind metadata admits
# ``metadata['key']``.
SearchFields = Mapping[str, FieldKind]

_FIELD: Final = re.compile(r"(-?)(metadata\[(['\"])(.*?)\3\]|[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*)")
_OPERATOR: Final = re.compile(r">=|<=|[:~><]")
_INTEGER: Final = re.compile(rf"-?\d{{1,{NUMBER_DIGITS_MAX}}}(?!\d)")
_BARE_WORD: Final = re.compile(r"(true|false)\b")
_CONNECTIVE: Final = re.compile(r"\s+(AND|OR)\s+")
_COMPARISONS: Final = frozenset({":", ">", "<", ">=", "<="})


class QueryInvalidError(InvalidRequestError):
    code = "search_query_invalid"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid search query: {reason}.", param="query")


@dataclass(frozen=True, slots=True)
class Clause:
    field: str  # a name of the resource's fields, or "metadata"
    operator: Operator
    value: str | int | bool
    negated: bool = False
    metadata_key: str | None = None


@dataclass(frozen=True, slots=True)
class Query:
    clauses: tuple[Clause, ...]
    connective: Connective


def _string(text: str, at: int) -> tuple[str, int]:
    """The quoted string starting at ``at`` and the index after it."""
    quote = text[at]
    value: list[str] = []
    index = at + 1
    while index < len(text):
        character = text[index]
        if character == "\\" and index + 1 < len(text):
            value.append(text[index + 1])
            index += 2
            continue
        if character == quote:
            return "".join(value), index + 1
        value.append(character)
        index += 1
    raise QueryInvalidError("a string is not closed")


def _field_names(fields: SearchFields) -> str:
    return ", ".join(
        f"{name}['key']" if kind is FieldKind.metadata else name for name, kind in fields.items()
    )


def _raw_value(text: str, at: int, field: str) -> tuple[str | int, int]:
    """The clause's value as written (a quoted string, an integer or a bare true/false)."""
    if at < len(text) and text[at] in "'\"":
        return _string(text, at)
    integer = _INTEGER.match(text, at)
    if integer is not None:
        return int(integer.group(0)), integer.end()
    word = _BARE_WORD.match(text, at)
    if word is not None:
        return word.group(1), word.end()
    raise QueryInvalidError(f"the value of {field} must be quoted or an integer")


def _clause(text: str, at: int, fields: SearchFields) -> tuple[Clause, int]:
    field_match = _FIELD.match(text, at)
    if field_match is None:
        raise QueryInvalidError(f"a clause must start with one of {_field_names(fields)}")
    metadata_key: str | None = field_match.group(4)
    field = METADATA_FIELD if metadata_key is not None else str(field_match.group(2))
    if field not in fields:
        raise QueryInvalidError(f"a clause must start with one of {_field_names(fields)}")
    if fields[field] is FieldKind.metadata and metadata_key is None:
        raise QueryInvalidError(f"{field} is searched by key: {field}['key']")
    if metadata_key == "":
        raise QueryInvalidError("a metadata key cannot be empty")
    operator_match = _OPERATOR.match(text, field_match.end())
    if operator_match is None:
        raise QueryInvalidError(f"the {field} field needs an operator")
    operator: Operator = operator_match.group(0)  # type: ignore[assignment]
    raw, index = _raw_value(text, operator_match.end(), field)
    value = _checked(fields[field], field, operator, raw)
    return Clause(field, operator, value, field_match.group(1) == "-", metadata_key), index


def _checked(kind: FieldKind, field: str, operator: Operator, raw: str | int) -> str | int | bool:
    """The value the field's kind takes with this operator, or the error saying why not."""
    if kind in (FieldKind.number, FieldKind.timestamp):
        if operator not in _COMPARISONS:
            raise QueryInvalidError(f"{field} takes :, >, <, >= or <=")
        if isinstance(raw, str) and _INTEGER.fullmatch(raw):
            raw = int(raw)
        if not isinstance(raw, int):
            unit = "unix seconds" if kind is FieldKind.timestamp else "an integer"
            raise QueryInvalidError(f"the value of {field} must be {unit}")
        return raw
    if kind is FieldKind.boolean:
        if operator != ":" or str(raw) not in ("true", "false"):
            raise QueryInvalidError(f"{field} takes : and true or false")
        return raw == "true"
    if not isinstance(raw, str):
        raise QueryInvalidError(f"the value of {field} must be a quoted string")
    if operator == "~" and kind is FieldKind.string:
        if len(raw) < SUBSTRING_CHARS_MIN:
            raise QueryInvalidError(
                f"a substring search needs at least {SUBSTRING_CHARS_MIN} characters"
            )
        return raw
    if operator != ":":
        allowed = ": or ~" if kind is FieldKind.string else ":"
        raise QueryInvalidError(f"{field} takes {allowed}")
    return raw


def parse_query(text: str, fields: SearchFields) -> Query:
    """``text`` parsed against the resource's ``fields``; raises :class:`QueryInvalidError`."""
    if len(text) > QUERY_CHARS_MAX:
        raise QueryInvalidError(f"it is longer than {QUERY_CHARS_MAX} characters")
    text = text.strip()
    if not text:
        raise QueryInvalidError("it is empty")
    clauses: list[Clause] = []
    connectives: set[str] = set()
    index = 0
    while True:
        clause, index = _clause(text, index, fields)
        clauses.append(clause)
        if len(clauses) > CLAUSES_MAX:
            raise QueryInvalidError(f"it has more than {CLAUSES_MAX} clauses")
        if index == len(text):
            break
        joined = _CONNECTIVE.match(text, index)
        if joined is None:
            raise QueryInvalidError("clauses must be joined by AND or OR")
        connectives.add(joined.group(1))
        index = joined.end()
    if len(connectives) > 1:
        raise QueryInvalidError("AND and OR cannot be combined in one query")
    connective: Connective = "OR" if connectives == {"OR"} else "AND"
    return Query(tuple(clauses), connective)
