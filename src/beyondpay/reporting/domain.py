"""Reports' pure rules: the balance summary and the itemized rows from balance transactions, and
the CSV they are written as. Amounts are written as Stripe's reports write them, in major
units with two decimals (``1234.50``), computed from integer minor units."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from beyondpay.kit.invariants import invariant


def decimal(amount_minor: int) -> str:
    sign = "-" if amount_minor < 0 else ""
    whole, paise = divmod(abs(amount_minor), 100)
    return f"{sign}{whole}.{paise:02d}"


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def cell(value: object) -> str:
    """A report cell: an amount (minor units, ``int``) as a decimal, an instant as UTC text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return decimal(value)
    if isinstance(value, datetime):
        return utc_text(value)
    return "" if value is None else str(value)


def balance_summary(
    starting_minor: int, activity: Sequence[tuple[str, int]], currency: str
) -> list[dict[str, str]]:
    """``balance.summary.1``: the starting balance, the net activity per reporting category
    (sorted by name) and the ending balance, which is their sum."""
    by_category: dict[str, int] = {}
    for category, net in activity:
        by_category[category] = by_category.get(category, 0) + net
    ending_minor = starting_minor + sum(by_category.values())
    invariant(
        ending_minor == starting_minor + sum(net for _, net in activity),
        "the ending balance is the starting balance and the activity",
    )
    rows = [_summary_row("starting_balance", "Starting balance", starting_minor, currency)]
    rows += [
        _summary_row(category, f"Activity: {category}", by_category[category], currency)
        for category in sorted(by_category)
    ]
    rows.append(_summary_row("ending_balance", "Ending balance", ending_minor, currency))
    return rows


def _summary_row(category: str, description: str, net_minor: int, currency: str) -> dict[str, str]:
    return {
        "category": category,
        "description": description,
        "net_amount": decimal(net_minor),
        "currency": currency,
    }


def render_csv(columns: Sequence[str], rows: Sequence[Mapping[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([row.get(column, "") for column in columns] for row in rows)
    return buffer.getvalue().encode()
