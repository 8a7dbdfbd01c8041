"""The rails' settlement files (rails.file_domain): each format's columns, a line of each,
totals that equal what was settled, and seeded fault injection — the same for a seed, each
fault written once and recorded where a reader finds it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from beyondpay.rails.file_domain import (
    CARD_COLUMNS,
    STATEMENT_COLUMNS,
    UPI_COLUMNS,
    BreakKind,
    FaultPlan,
    FileKind,
    RailRecord,
    build_file,
    late_out,
    minor_from_rupees,
    parse,
    render,
    rupees,
)

DAY = date(2026, 11, 2)
NOON_IST = datetime(2026, 11, 2, 6, 30, tzinfo=UTC)
ALL = frozenset(BreakKind)


def card(key: str, amount_minor: int, record_type: str = "capture") -> RailRecord:
    return RailRecord(FileKind.card, key, record_type, "acct_1", amount_minor, "inr", NOON_IST)


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_card_file_has_a_line_per_capture_and_refund_with_interchange() -> None:
    lines, faults = build_file(
        FileKind.card, DAY, [card("card_ref_a", 10_000), card("card_ref_b", 3_000, "refund")], []
    )
    text = render(FileKind.card, lines)
    assert text.splitlines()[0] == ",".join(CARD_COLUMNS)
    capture, refund = rows(text)
    assert capture["record_type"] == "CAPTURE" and capture["charge_reference"] == "card_ref_a"
    assert capture["amount_minor"] == "10000" and capture["currency"] == "INR"
    assert capture["interchange_fee_minor"] == "180"  # 1.80%
    assert len(capture["arn"]) == 23 and capture["arn"].isdigit()
    assert capture["transaction_date"] == capture["settlement_date"] == "2026-11-02"
    assert refund["record_type"] == "REFUND" and refund["interchange_fee_minor"] == "0"
    assert faults == []
    assert sum(line.amount_minor for line in parse(FileKind.card, text)) == 13_000


def test_the_upi_report_gives_rrn_transaction_id_and_rupees() -> None:
    record = RailRecord(
        FileKind.upi,
        "BPY" + "A" * 32,
        "payment",
        "acct_1",
        14_999,
        "inr",
        NOON_IST,
        rrn="630212123456",
        payer_masked="pa***@sandbox",
        payee_masked="merchant acct_1",
    )
    lines, _ = build_file(FileKind.upi, DAY, [record], [])
    text = render(FileKind.upi, lines)
    assert text.splitlines()[0] == ",".join(UPI_COLUMNS)
    (line,) = rows(text)
    assert line["rrn"] == "630212123456" and len(line["upi_transaction_id"]) == 35
    assert line["amount"] == "149.99" and line["response_code"] == "00"
    assert line["payer"] == "pa***@sandbox"
    assert line["transaction_datetime"] == "2026-11-02 12:00:00"  # IST
    assert parse(FileKind.upi, text)[0].amount_minor == 14_999


def test_the_payout_statement_runs_a_balance() -> None:
    records = [
        RailRecord(FileKind.payouts, f"6306123{n:05d}", "imps payout", "acct_1", amount, "inr",
                   NOON_IST + timedelta(minutes=n), payee_masked="XXXXXXXX6789")
        for n, amount in enumerate((500_000, 250_050))
    ]  # fmt: skip
    lines, _ = build_file(FileKind.payouts, DAY, records, [])
    text = render(FileKind.payouts, lines)
    assert text.splitlines()[0] == ",".join(STATEMENT_COLUMNS)
    first, second = rows(text)
    assert first["debit_amount"] == "5000.00" and first["balance"] == "-5000.00"
    assert second["debit_amount"] == "2500.50" and second["balance"] == "-7500.50"
    assert first["narration"] == "IMPS PAYOUT XXXXXXXX6789"
    assert [line.key for line in parse(FileKind.payouts, text)] == [r.key for r in records]


@pytest.mark.parametrize("amount_minor", [0, 1, 99, 100, 123_456_789, -5])
def test_rupees_round_trip(amount_minor: int) -> None:
    assert minor_from_rupees(rupees(amount_minor)) == amount_minor


def test_every_fault_is_written_once_and_recorded() -> None:
    today = [card(f"card_ref_{n}", 10_000 + n) for n in range(6)]
    yesterday = [card(f"card_ref_y{n}", 20_000 + n) for n in range(6)]
    plan = FaultPlan(seed=42, kinds=ALL)
    lines, faults = build_file(FileKind.card, DAY, today, yesterday, plan)
    by_kind = {fault.kind: fault.key for fault in faults}
    assert set(by_kind) == ALL and len(faults) == len(ALL)
    keys = [line.record.key for line in lines]
    assert keys.count(by_kind[BreakKind.duplicate]) == 2
    assert by_kind[BreakKind.missing_from_file] not in keys
    held_back = late_out(FileKind.card, DAY, today, plan)
    assert held_back is not None and held_back not in keys
    assert by_kind[BreakKind.late] in {record.key for record in yesterday}
    off = next(line for line in lines if line.record.key == by_kind[BreakKind.amount_mismatch])
    original = next(r for r in today if r.key == by_kind[BreakKind.amount_mismatch])
    assert off.record.amount_minor == original.amount_minor + 1
    assert by_kind[BreakKind.unknown_to_platform] not in {r.key for r in today + yesterday}
    # The same seed, the same file; another seed, other records.
    assert build_file(FileKind.card, DAY, today, yesterday, plan) == (lines, faults)
    other = build_file(FileKind.card, DAY, today, yesterday, FaultPlan(seed=43, kinds=ALL))
    assert other[1] != faults


def test_faults_need_records_and_a_quiet_day_gets_only_the_stranger() -> None:
    lines, faults = build_file(FileKind.card, DAY, [], [], FaultPlan(seed=1, kinds=ALL))
    assert [fault.kind for fault in faults] == [BreakKind.unknown_to_platform]
    assert len(lines) == 1 and lines[0].record.merchant_id is None
