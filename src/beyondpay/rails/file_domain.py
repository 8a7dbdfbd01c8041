"""The settlement files rails send, as the sandbox rails write them: pure rules, no I/O.

Three files per business date (an IST day) and mode:

- ``card``: the card network's settlement file, one line per captured charge and per refund;
- ``upi``: an NPCI-style UPI settlement report, one line per UPI payment the switch completed;
- ``payouts``: the bank's statement of the platform's payout account, one line per paid payout.

**Fault injection** makes a file misbehave as real rails do, deterministically from a seed so a
test can compare what was injected (:class:`InjectedFault`) with what reconciliation found: a
transaction of day D sent in day D+1's file (``late``), a line twice (``duplicate``), an amount
off by one paisa (``amount_mismatch``), a transaction the platform never saw
(``unknown_to_platform``) and one the file leaves out (``missing_from_file``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

IST: Final = ZoneInfo("Asia/Kolkata")
# The card network keeps this much of a capture as interchange (1.80%, in basis points).
INTERCHANGE_BPS: Final = 180
BASIS_POINTS: Final = 10_000
ARN_DIGITS: Final = 23
FILE_LINES_MAX: Final = 1_000_000
# A fabricated transaction's amount (₹123.45): any amount, the platform never saw it.
UNKNOWN_AMOUNT_MINOR: Final = 12_345


class FileKind(StrEnum):
    card = "card"
    upi = "upi"
    payouts = "payouts"


class BreakKind(StrEnum):
    amount_mismatch = "amount_mismatch"
    duplicate = "duplicate"
    unknown_to_platform = "unknown_to_platform"
    missing_from_file = "missing_from_file"
    late = "late"


# The order faults are given records in: each record carries at most one fault.
FAULT_ORDER: Final = (
    BreakKind.late,
    BreakKind.missing_from_file,
    BreakKind.duplicate,
    BreakKind.amount_mismatch,
)


@dataclass(frozen=True)
class RailRecord:
    """One transaction as the rail knows it. ``key`` is what the platform can match it by: the
    card network's charge reference, the UPI transaction id, the payout's UTR."""

    kind: FileKind
    key: str
    record_type: str  # capture | refund (card), payment (upi), payout (payouts)
    merchant_id: str | None
    amount_minor: int
    currency: str
    occurred_at: datetime
    rrn: str = ""
    response_code: str = "00"
    payer_masked: str = ""
    payee_masked: str = ""


@dataclass(frozen=True)
class FileLine:
    record: RailRecord
    settlement_date: date


@dataclass(frozen=True)
class InjectedFault:
    """A fault written into the file of ``business_date``, found there as ``kind``."""

    kind: BreakKind
    file: FileKind
    key: str
    business_date: date


@dataclass(frozen=True)
class FaultPlan:
    seed: int
    kinds: frozenset[BreakKind]


NO_FAULTS: Final = FaultPlan(seed=0, kinds=frozenset())


def business_date_of(moment: datetime) -> date:
    return moment.astimezone(IST).date()


def day_bounds(business_date: date) -> tuple[datetime, datetime]:
    """The IST day as [start, end) instants."""
    start = datetime.combine(business_date, datetime.min.time(), tzinfo=IST)
    return start, start + timedelta(days=1)


def _chosen(
    plan: FaultPlan, kind: FileKind, day: date, records: Sequence[RailRecord]
) -> dict[BreakKind, RailRecord]:
    """Which record of ``day`` carries which fault: distinct records, the same for a seed."""
    ordered = sorted(records, key=lambda record: record.key)
    # Not for secrets: a fault plan must be the same for the same seed.
    random.Random(f"{plan.seed}:{kind}:{day.isoformat()}").shuffle(ordered)  # noqa: S311
    wanted = [fault for fault in FAULT_ORDER if fault in plan.kinds]
    return dict(zip(wanted, ordered, strict=False))


def _unknown(plan: FaultPlan, kind: FileKind, day: date) -> RailRecord:
    digest = hashlib.sha256(f"{plan.seed}:{kind}:{day.isoformat()}:unknown".encode()).hexdigest()
    start, _ = day_bounds(day)
    key = {
        FileKind.card: f"card_ref_unknown{digest[:16]}",
        FileKind.upi: "BPY" + digest[:32].upper(),
        FileKind.payouts: "UNKN" + str(int(digest[:12], 16))[:12].rjust(12, "0"),
    }[kind]
    return RailRecord(
        kind=kind,
        key=key,
        record_type={FileKind.card: "capture", FileKind.upi: "payment"}.get(kind, "payout"),
        merchant_id=None,
        amount_minor=UNKNOWN_AMOUNT_MINOR,
        currency="inr",
        occurred_at=start + timedelta(hours=12),
        rrn=str(int(digest[16:28], 16))[:12].rjust(12, "0"),
    )


def build_file(
    kind: FileKind,
    business_date: date,
    records: Sequence[RailRecord],
    previous_records: Sequence[RailRecord],
    plan: FaultPlan = NO_FAULTS,
) -> tuple[list[FileLine], list[InjectedFault]]:
    """The lines of ``kind``'s file for ``business_date``: its records, with ``plan``'s faults
    (and the late records of the previous day, which that day's plan held back)."""
    chosen = _chosen(plan, kind, business_date, records)
    held_back = _chosen(plan, kind, business_date - timedelta(days=1), previous_records)
    faults: list[InjectedFault] = []
    lines: list[FileLine] = []

    def found(fault: BreakKind, key: str) -> None:
        faults.append(InjectedFault(fault, kind, key, business_date))

    left_out = {chosen[f].key for f in (BreakKind.late, BreakKind.missing_from_file) if f in chosen}
    for record in sorted(records, key=lambda record: (record.occurred_at, record.key)):
        if record.key in left_out:
            continue
        written = record
        if chosen.get(BreakKind.amount_mismatch) == record:
            written = replace(record, amount_minor=record.amount_minor + 1)
            found(BreakKind.amount_mismatch, record.key)
        lines.append(FileLine(written, business_date))
        if chosen.get(BreakKind.duplicate) == record:
            lines.append(FileLine(record, business_date))
            found(BreakKind.duplicate, record.key)
    if BreakKind.missing_from_file in chosen:
        found(BreakKind.missing_from_file, chosen[BreakKind.missing_from_file].key)
    if BreakKind.late in held_back:
        lines.append(FileLine(held_back[BreakKind.late], business_date))
        found(BreakKind.late, held_back[BreakKind.late].key)
    if BreakKind.unknown_to_platform in plan.kinds:
        unknown = _unknown(plan, kind, business_date)
        lines.append(FileLine(unknown, business_date))
        found(BreakKind.unknown_to_platform, unknown.key)
    return lines, faults


def late_out(
    kind: FileKind, business_date: date, records: Sequence[RailRecord], plan: FaultPlan
) -> str | None:
    """The key of ``business_date``'s record that its file holds back to the next day's."""
    late = _chosen(plan, kind, business_date, records).get(BreakKind.late)
    return None if late is None else late.key


# ---- formats --------------------------------------------------------------------------------


def arn(key: str) -> str:
    """A 23-digit acquirer reference number, the same for the same charge reference."""
    return str(int(hashlib.sha256(key.encode()).hexdigest(), 16))[:ARN_DIGITS]


def interchange_fee_minor(record: RailRecord) -> int:
    if record.record_type != "capture":
        return 0
    return record.amount_minor * INTERCHANGE_BPS // BASIS_POINTS


def rupees(amount_minor: int) -> str:
    sign = "-" if amount_minor < 0 else ""
    whole, paise = divmod(abs(amount_minor), 100)
    return f"{sign}{whole}.{paise:02d}"


def minor_from_rupees(value: str) -> int:
    sign = -1 if value.startswith("-") else 1
    whole, _, paise = value.lstrip("-").partition(".")
    return sign * (int(whole) * 100 + int(paise.ljust(2, "0")[:2]))


CARD_COLUMNS: Final = (
    "record_type", "arn", "charge_reference", "amount_minor", "currency",
    "interchange_fee_minor", "transaction_date", "settlement_date",
)  # fmt: skip
UPI_COLUMNS: Final = (
    "rrn", "upi_transaction_id", "payer", "payee", "amount", "response_code",
    "transaction_datetime", "settlement_date",
)  # fmt: skip
STATEMENT_COLUMNS: Final = ("value_date", "narration", "utr", "debit_amount", "balance")


def _card_row(line: FileLine) -> list[str]:
    record = line.record
    return [
        record.record_type.upper(),
        arn(record.key),
        record.key,
        str(record.amount_minor),
        record.currency.upper(),
        str(interchange_fee_minor(record)),
        business_date_of(record.occurred_at).isoformat(),
        line.settlement_date.isoformat(),
    ]


def _upi_row(line: FileLine) -> list[str]:
    record = line.record
    return [
        record.rrn,
        record.key,
        record.payer_masked,
        record.payee_masked,
        rupees(record.amount_minor),
        record.response_code,
        record.occurred_at.astimezone(IST).strftime("%Y-%m-%d %H:%M:%S"),
        line.settlement_date.isoformat(),
    ]


def _statement_rows(lines: Iterable[FileLine], opening_balance_minor: int) -> list[list[str]]:
    """A payout account's statement: debits and the running balance after each (negative: the
    platform funds the account as it pays)."""
    balance = opening_balance_minor
    rows = []
    for line in lines:
        balance -= line.record.amount_minor
        narration = f"{line.record.record_type.upper()} {line.record.payee_masked}".strip()
        rows.append(
            [
                line.settlement_date.isoformat(),
                narration,
                line.record.key,
                rupees(line.record.amount_minor),
                rupees(balance),
            ]
        )
    return rows


def render(kind: FileKind, lines: Sequence[FileLine]) -> str:
    """The file as CSV text (a header line, then one line per file line)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if kind == FileKind.card:
        writer.writerow(CARD_COLUMNS)
        writer.writerows(_card_row(line) for line in lines)
    elif kind == FileKind.upi:
        writer.writerow(UPI_COLUMNS)
        writer.writerows(_upi_row(line) for line in lines)
    else:
        writer.writerow(STATEMENT_COLUMNS)
        writer.writerows(_statement_rows(lines, 0))
    return buffer.getvalue()


@dataclass(frozen=True)
class ParsedLine:
    """What reconciliation reads from a line: the key, the amount and the currency."""

    key: str
    amount_minor: int
    currency: str


def parse(kind: FileKind, text: str) -> list[ParsedLine]:
    """The lines of a rendered file, as a reader of the rail's file gets them."""
    rows = list(csv.DictReader(io.StringIO(text)))
    if len(rows) > FILE_LINES_MAX:
        raise ValueError("the file has too many lines")
    if kind == FileKind.card:
        return [
            ParsedLine(row["charge_reference"], int(row["amount_minor"]), row["currency"].lower())
            for row in rows
        ]
    if kind == FileKind.upi:
        return [
            ParsedLine(row["upi_transaction_id"], minor_from_rupees(row["amount"]), "inr")
            for row in rows
        ]
    return [ParsedLine(row["utr"], minor_from_rupees(row["debit_amount"]), "inr") for row in rows]
