"""Stripe's search query language, as far as customers need it. Pure: no I/O.

A query is up to ``CLAUSES_MAX`` clauses joined by ``AND`` or by ``OR`` (not both, as Stripe
requires). A clause is ``[-]field operator value``:

- ``email``, ``name``, ``phone``: ``:`` exact match (``email`` and ``name`` ignore case), ``~``
  substring of at least ``SUBSTRING_CHARS_MIN`` characters;
- ``metadata['key']``: ``:`` exact match;
- ``created``: ``:``, ``>``, ``<``, ``>=``, ``<=`` against unix seconds.

Strings are quoted with ``'`` or ``"`` (a backslash escapes the quote). A leading ``-`` negates.
Any malformed query is a :class:`QueryInvalidError` naming the ``query`` parameter; its message
quotes no part of the query (which may hold an email address).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from beyondpay.kit.errors import InvalidRequestError

CLAUSES_MAX: Final = 10
QUERY_CHARS_MAX: Final = 1_000
SUBSTRING_CHARS_MIN: Final = 3
STRING_FIELDS: Final = frozenset({"email", "name", "phone"})
Operator = Literal[":", "~", ">", "<", ">=", "<="]
Connective = Literal["AND", "OR"]

_FIELD: Final = re.compile(r"(-?)(email|name|phone|created|metadata\[(['\"])(.*?)\3\])")
_OPERATOR: Final = re.compile(r">=|<=|[:~><]")
_INTEGER: Final = re.compile(r"-?\d{1,12}")
_CONNECTIVE: Final = re.compile(r"\s+(AND|OR)\s+")


class QueryInvalidError(InvalidRequestError):
    code = "search_query_invalid"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid search query: {reason}.", param="query")


@dataclass(frozen=True, slots=True)
class Clause:
    field: str  # email, name, phone, created or metadata
    operator: Operator
    value: str | int
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


def _clause(text: str, at: int) -> tuple[Clause, int]:
    field_match = _FIELD.match(text, at)
    if field_match is None:
        raise QueryInvalidError(
            "a clause must start with email, name, phone, created or metadata['key']"
        )
    negated = field_match.group(1) == "-"
    field = field_match.group(2)
    metadata_key = field_match.group(4)
    if metadata_key is not None:
        field = "metadata"
        if not metadata_key:
            raise QueryInvalidError("a metadata key cannot be empty")
    operator_match = _OPERATOR.match(text, field_match.end())
    if operator_match is None:
        raise QueryInvalidError(f"the {field} field needs an operator")
    operator: Operator = operator_match.group(0)  # type: ignore[assignment]
    index = operator_match.end()
    value: str | int
    if index < len(text) and text[index] in "'\"":
        value, index = _string(text, index)
    else:
        integer = _INTEGER.match(text, index)
        if integer is None:
            raise QueryInvalidError(f"the value of {field} must be quoted or an integer")
        value, index = int(integer.group(0)), integer.end()
    clause = Clause(field, operator, value, negated, metadata_key)
    _check(clause)
    return clause, index


def _check(clause: Clause) -> None:
    if clause.field == "created":
        if clause.operator == "~" or not isinstance(clause.value, int):
            raise QueryInvalidError("created takes :, >, <, >= or <= and unix seconds")
        return
    if not isinstance(clause.value, str):
        raise QueryInvalidError(f"the value of {clause.field} must be a quoted string")
    if clause.operator not in (":", "~"):
        raise QueryInvalidError(f"{clause.field} takes : or ~")
    if clause.operator == "~":
        if clause.field not in STRING_FIELDS:
            raise QueryInvalidError(f"{clause.field} does not take ~")
        if len(clause.value) < SUBSTRING_CHARS_MIN:
            raise QueryInvalidError(
                f"a substring search needs at least {SUBSTRING_CHARS_MIN} characters"
            )


def parse_query(text: str) -> Query:
    if len(text) > QUERY_CHARS_MAX:
        raise QueryInvalidError(f"it is longer than {QUERY_CHARS_MAX} characters")
    text = text.strip()
    if not text:
        raise QueryInvalidError("it is empty")
    clauses: list[Clause] = []
    connectives: set[str] = set()
    index = 0
    while True:
        clause, index = _clause(text, index)
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
