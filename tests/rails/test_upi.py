"""The sandbox UPI switch: test VPAs, callbacks, status checks and money in the banks' books."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock
from beyondpay.ledger.service import ledger_service
from beyondpay.rails import service
from beyondpay.rails.errors import (
    RailCurrencyUnsupportedError,
    RailInstrumentInvalidError,
    RailIntegrityError,
)
from beyondpay.rails.protocol import Rail, RailOutcome
from beyondpay.rails.sandbox import banks
from beyondpay.rails.sandbox.upi import SandboxUpiConnector
from beyondpay.rails.tasks import deliver_callback_on
from tests.rails.conftest import START, Heard, rail_caller, request, upi
from tests.support import ring_for_tests


async def _collect(database: Database, vpa: str | None, amount_minor: int = 10_000) -> RailOutcome:
    async with rail_caller(database) as session:
        return await service.connector_for(Rail.upi, False).authorize(
            session, request(upi(vpa), amount_minor, request_id=f"ch_{vpa}")
        )


async def _status(database: Database, reference: str) -> RailOutcome:
    async with rail_caller(database) as session:
        return await service.connector_for(Rail.upi, False).status(session, reference)


async def _payer_available(database: Database, vpa: str) -> int:
    async with rail_caller(database) as session:
        account = await banks.find_payer_account(
            session, ring_for_tests(), banks.SANDBOX_BANK, SecretStr("vpa:" + vpa)
        )
        assert account is not None
        return (await ledger_service.get_accounts(session, [account]))[account].available


async def _jobs(database: Database) -> list[tuple[str, int]]:
    async with rail_caller(database) as session:
        rows = await session.execute(
            text(
                "SELECT args->>'reference', (args->>'delivery')::int FROM procrastinate_jobs"
                " WHERE task_name = 'rails:deliver_callback' ORDER BY id"
            )
        )
        return [(str(reference), int(delivery)) for reference, delivery in rows.all()]


@pytest.mark.parametrize(
    ("vpa", "code", "status", "decline_code"),
    [
        ("success@sandbox", "00", "succeeded", None),
        ("anyone.else@okaxis", "00", "succeeded", None),
        ("failure@sandbox", "ZA", "failed", "declined_by_payer"),
        ("debitfail@sandbox", "U30", "failed", None),
        ("risk@sandbox", "U16", "failed", "risk_threshold_exceeded"),
        ("wrongpin@sandbox", "ZM", "failed", "invalid_pin"),
        ("insufficient@sandbox", "Z9", "failed", "insufficient_funds"),
    ],
)
async def test_collect_answered_by_callback(
    database: Database,
    clock: FrozenClock,
    heard: Heard,
    vpa: str,
    code: str,
    status: str,
    decline_code: str | None,
) -> None:
    outcome = await _collect(database, vpa)
    assert (outcome.status, outcome.action_type) == ("requires_action", "upi_collect")
    assert outcome.action_expires_at == START + timedelta(minutes=5)
    assert re.fullmatch(r"SBX[A-Z0-9]{32}", outcome.details["upi_transaction_id"])
    assert re.fullmatch(r"6326\d{8}", outcome.details["rrn"])  # y=6, ddd=326, hh=10
    assert await _jobs(database) == [(outcome.reference, 1)]
    pending = await _status(database, outcome.reference)
    assert pending.status == "pending" and pending.check_after == START + timedelta(seconds=90)
    clock.advance(2)
    await deliver_callback_on(database, outcome.reference, 1)
    await deliver_callback_on(database, outcome.reference, 1)  # a job run twice: no repeat
    assert [(o.status, o.code, o.decline_code) for o in heard.outcomes] == [
        (status, code, decline_code)
    ]
    final = await _status(database, outcome.reference)
    assert (final.status, final.code) == (status, code)


async def test_money_moves_in_the_sandbox_bank(database: Database, clock: FrozenClock) -> None:
    outcome = await _collect(database, "success@sandbox", 12_345)
    before = await _payer_available(database, "success@sandbox")
    clock.advance(2)
    await deliver_callback_on(database, outcome.reference, 1)
    assert await _payer_available(database, "success@sandbox") == before - 12_345
    async with rail_caller(database) as session:
        connector = service.connector_for(Rail.upi, False)
        refund = await connector.refund(session, "re_1", outcome.reference, 2_345)
        assert refund.status == "succeeded" and refund.details["rrn"].isdigit()
        # The bank's settlement position is the sum of its sub-accounts.
        settlement = banks.settlement_account_ids(banks.SANDBOX_BANK)
        accounts = await ledger_service.get_accounts(session, settlement)
        position = sum(
            account.credits_posted - account.debits_posted for account in accounts.values()
        )
        assert position == 10_000
        report = await ledger_service.verify_journal(session)
        assert report.ok, report
        # The bank's books balance on their own: every debit in bank:sbx1 has its credit there.
        balance = await session.execute(
            text(
                "SELECT sum(debits_posted) - sum(credits_posted) FROM ledger_accounts"
                " WHERE ledger = 'bank:sbx1'"
            )
        )
        assert balance.scalar_one() == 0
    assert await _payer_available(database, "success@sandbox") == before - 10_000


async def test_insufficient_funds_is_the_ledger_refusing(
    database: Database, clock: FrozenClock
) -> None:
    small = await _collect(database, "insufficient@sandbox", 100)  # the account holds ₹1.00
    clock.advance(2)
    await deliver_callback_on(database, small.reference, 1)
    assert (await _status(database, small.reference)).code == "00"
    assert await _payer_available(database, "insufficient@sandbox") == 0
    async with rail_caller(database) as session:
        again = await service.connector_for(Rail.upi, False).authorize(
            session, request(upi("insufficient@sandbox"), 1, request_id="ch_2")
        )
    clock.advance(2)
    await deliver_callback_on(database, again.reference, 1)
    assert (await _status(database, again.reference)).code == "Z9"


async def test_expired_collect(database: Database, clock: FrozenClock, heard: Heard) -> None:
    outcome = await _collect(database, "expired@sandbox")
    clock.advance(60)
    await deliver_callback_on(database, outcome.reference, 1)
    assert heard.outcomes == []  # the payer has not answered; the collect is still open
    clock.advance(240)
    await deliver_callback_on(database, outcome.reference, 1)
    assert [(o.status, o.code) for o in heard.outcomes] == [("failed", "U69")]


async def test_deemed_then_first_status_check_succeeds(
    database: Database, clock: FrozenClock, heard: Heard
) -> None:
    outcome = await _collect(database, "pending@sandbox")
    assert (outcome.status, outcome.code) == ("pending", "RB")
    assert outcome.check_after == START + timedelta(seconds=90)
    assert await _jobs(database) == []  # the callback never comes
    clock.advance(30)
    early = await _status(database, outcome.reference)
    assert early.status == "pending"
    clock.advance(60)
    assert (await _status(database, outcome.reference)).code == "00"
    assert heard.outcomes == []


async def test_timeout_stays_pending_until_checks_run_out(
    database: Database, clock: FrozenClock
) -> None:
    outcome = await _collect(database, "timeout@sandbox")
    checks = []
    for offset_s in (90, 30 * 60, 2 * 3600):
        clock.set(START + timedelta(seconds=offset_s))
        checks.append(await _status(database, outcome.reference))
    assert [check.status for check in checks] == ["pending"] * 3
    assert checks[0].check_after == START + timedelta(minutes=30)
    assert checks[1].check_after == START + timedelta(hours=2)
    assert checks[2].check_after is None  # give up


async def test_duplicate_callback_is_delivered_twice(
    database: Database, clock: FrozenClock, heard: Heard
) -> None:
    outcome = await _collect(database, "duplicate@sandbox")
    before = await _payer_available(database, "duplicate@sandbox")
    clock.advance(2)
    await deliver_callback_on(database, outcome.reference, 1)
    assert await _jobs(database) == [(outcome.reference, 1), (outcome.reference, 2)]
    clock.advance(30)
    await deliver_callback_on(database, outcome.reference, 2)
    await deliver_callback_on(database, outcome.reference, 2)
    assert [o.code for o in heard.outcomes] == ["00", "00"]
    assert await _payer_available(database, "duplicate@sandbox") == before - 10_000


async def test_intent_flow(database: Database, clock: FrozenClock, heard: Heard) -> None:
    outcome = await _collect(database, None, 1050)
    assert outcome.action_type == "upi_intent"
    assert outcome.action_url == (
        "upi://pay?pa=payee.sandbox@beyondpay&pn=beyondpay%20sandbox%20merchant"
        f"&tr={outcome.reference}&am=10.50&cu=INR"
    )
    clock.advance(2)
    await deliver_callback_on(database, outcome.reference, 1)
    assert [o.status for o in heard.outcomes] == ["succeeded"]


async def test_a_handler_failing_rolls_the_rail_back(
    database: Database, clock: FrozenClock
) -> None:
    async def broken(session: AsyncSession, outcome: RailOutcome) -> None:
        raise RuntimeError("the payment could not be updated")

    outcome = await _collect(database, "success@sandbox")
    clock.advance(2)
    service.on_outcome(broken)
    try:
        with pytest.raises(RuntimeError):
            await deliver_callback_on(database, outcome.reference, 1)
    finally:
        service.off_outcome(broken)
    assert (await _status(database, outcome.reference)).status == "succeeded"  # now resolved
    # ...by the status check above, not by the failed callback: its debit was rolled back once.
    async with rail_caller(database) as session:
        report = await ledger_service.verify_journal(session)
        assert report.ok


async def test_edge_refuses_bad_input(session: AsyncSession) -> None:
    connector = service.connector_for(Rail.upi, False)
    with pytest.raises(RailCurrencyUnsupportedError):
        await connector.authorize(session, request(upi("success@sandbox"), currency="usd"))
    with pytest.raises(RailInstrumentInvalidError) as raised:
        await connector.authorize(session, request(upi("not a vpa@@x")))
    assert "not a vpa" not in raised.value.message


async def test_integrity_check_refuses_a_mismatched_answer(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    connector = SandboxUpiConnector()
    with pytest.raises(RailIntegrityError):
        connector.check_answer(1000, "inr", {"amount": "10.01", "currency": "INR"})
    with pytest.raises(RailIntegrityError):
        connector.check_answer(1000, "inr", {"amount": 10.0, "currency": "INR"})
    monkeypatch.setattr(
        SandboxUpiConnector,
        "switch_answer",
        lambda self, sent: {"amount": "99.00", "currency": "INR"},
    )
    with pytest.raises(RailIntegrityError):
        await connector.authorize(session, request(upi("success@sandbox")))
    count = await session.execute(text("SELECT count(*) FROM sandbox_rail_operations"))
    assert count.scalar_one() == 0
