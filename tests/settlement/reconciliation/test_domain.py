"""Matching a file to the platform's records (settlement.reconciliation.domain): each line
classified exactly, records the file lacks found, and the mismatch figure in integers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from beyondpay.rails.file_domain import BreakKind, ParsedLine
from beyondpay.settlement.reconciliation.domain import Known, match, mismatch_ppm

DAY = date(2026, 11, 3)


def known(key: str, amount_minor: int = 10_000, day: date = DAY) -> Known:
    return Known(key, f"ch_{key}", "acct_1", amount_minor, "inr", day)


def line(key: str, amount_minor: int = 10_000, currency: str = "inr") -> ParsedLine:
    return ParsedLine(key, amount_minor, currency)


def test_a_clean_file_matches_every_line() -> None:
    records = [known("a"), known("b", 5_000)]
    result = match(DAY, [line("a"), line("b", 5_000)], {r.key: r for r in records}, records)
    assert (result.lines, result.matched, result.unmatched, result.missing) == (2, 2, 0, 0)
    assert result.breaks == []
    assert mismatch_ppm(result.lines, result.unmatched, result.missing) == 0


def test_each_break_is_classified() -> None:
    of_day = [known("same"), known("off"), known("twice"), known("absent")]
    earlier = known("late", day=DAY - timedelta(days=1))
    by_key = {r.key: r for r in [*of_day, earlier]}
    lines = [
        line("same"),
        line("off", 10_001),
        line("twice"),
        line("twice"),
        line("stranger", 12_345),
        line("late"),
    ]
    result = match(DAY, lines, by_key, of_day)
    assert [(b.kind, b.key) for b in result.breaks] == [
        (BreakKind.amount_mismatch, "off"),
        (BreakKind.duplicate, "twice"),
        (BreakKind.unknown_to_platform, "stranger"),
        (BreakKind.late, "late"),
        (BreakKind.missing_from_file, "absent"),
    ]
    off = result.breaks[0]
    assert (off.file_amount_minor, off.platform_amount_minor) == (10_001, 10_000)
    assert result.breaks[2].merchant_id is None and result.breaks[2].object_id is None
    assert (result.lines, result.matched, result.unmatched, result.missing) == (6, 2, 4, 1)


def test_another_currency_is_an_amount_mismatch() -> None:
    record = known("a")
    result = match(DAY, [line("a", currency="usd")], {"a": record}, [record])
    assert [b.kind for b in result.breaks] == [BreakKind.amount_mismatch]


@pytest.mark.parametrize(
    ("lines", "unmatched", "missing", "ppm"),
    [
        (0, 0, 0, 0),
        (1_000_000, 1, 0, 1),
        (3, 1, 0, 333_333),
        (2, 0, 2, 500_000),
        (0, 0, 3, 1_000_000),
        (10_000_000, 1, 0, 1),  # any break shows, however many lines
    ],
)
def test_the_mismatch_figure(lines: int, unmatched: int, missing: int, ppm: int) -> None:
    assert mismatch_ppm(lines, unmatched, missing) == ppm
