"""Matching a rail's file to the platform's records: pure rules, no I/O.

Each line of a business date's file is matched by the rail's key to the platform's record of
it, then compared on amount and currency. What does not match is a **break**:

- ``duplicate``: the key was already on an earlier line of the same file;
- ``unknown_to_platform``: no record has the key;
- ``late``: the record belongs to an earlier day (a timing break: the earlier day's
  ``missing_from_file`` for it is resolved by its arrival);
- ``amount_mismatch``: another amount or currency;
- ``missing_from_file``: a record of the day that no line names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Final

from beyondpay.kit.invariants import invariant
from beyondpay.rails.file_domain import BreakKind, ParsedLine

PARTS_PER_MILLION: Final = 1_000_000


@dataclass(frozen=True)
class Known:
    """The platform's record of one movement on a rail."""

    key: str
    object_id: str
    merchant_id: str
    amount_minor: int
    currency: str
    business_date: date


@dataclass(frozen=True)
class Break:
    kind: BreakKind
    key: str
    merchant_id: str | None
    object_id: str | None
    file_amount_minor: int | None
    platform_amount_minor: int | None
    currency: str


@dataclass
class Matching:
    lines: int = 0
    matched: int = 0
    breaks: list[Break] = field(default_factory=list)

    @property
    def unmatched(self) -> int:
        return self.lines - self.matched

    @property
    def missing(self) -> int:
        return sum(1 for found in self.breaks if found.kind == BreakKind.missing_from_file)


def mismatch_ppm(lines: int, unmatched: int, missing: int) -> int:
    """Breaks per million compared lines (the file's lines and the records it lacks), rounded
    down, computed in integers: 0 only when nothing broke."""
    compared = lines + missing
    if compared == 0:
        return 0
    ppm = (unmatched + missing) * PARTS_PER_MILLION // compared
    invariant(0 <= ppm <= PARTS_PER_MILLION, "a share is between none and all")
    return ppm if ppm or not (unmatched + missing) else 1  # any break shows


def _line_break(
    line: ParsedLine, seen: set[str], known: Known | None, day: date
) -> BreakKind | None:
    if line.key in seen:
        return BreakKind.duplicate
    if known is None:
        return BreakKind.unknown_to_platform
    if known.business_date < day:
        return BreakKind.late
    if (line.amount_minor, line.currency) != (known.amount_minor, known.currency):
        return BreakKind.amount_mismatch
    return None


def match(
    business_date: date,
    lines: Sequence[ParsedLine],
    known_by_key: dict[str, Known],
    of_day: Sequence[Known],
) -> Matching:
    """Match a file's ``lines`` to the platform's records: ``known_by_key`` those its lines
    name, ``of_day`` those of ``business_date`` (which the file must name)."""
    result = Matching(lines=len(lines))
    seen: set[str] = set()
    for line in lines:
        known = known_by_key.get(line.key)
        kind = _line_break(line, seen, known, business_date)
        seen.add(line.key)
        if kind is None:
            result.matched += 1
            continue
        result.breaks.append(
            Break(
                kind,
                line.key,
                known.merchant_id if known else None,
                known.object_id if known else None,
                line.amount_minor,
                known.amount_minor if known else None,
                line.currency,
            )
        )
    for known in sorted(of_day, key=lambda record: record.key):
        if known.key not in seen:
            result.breaks.append(
                Break(
                    BreakKind.missing_from_file,
                    known.key,
                    known.merchant_id,
                    known.object_id,
                    None,
                    known.amount_minor,
                    known.currency,
                )
            )
    invariant(result.matched + result.unmatched == result.lines, "every line is counted once")
    return result
