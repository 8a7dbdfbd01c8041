"""The sandbox payout rail: each rail's timing, test values' failures, idempotency (raced on
real connections), the integrity check, and what listeners hear."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock
from beyondpay.kit.invariants import InvariantError
from beyondpay.kit.upi import mask_vpa
from beyondpay.rails import service
from beyondpay.rails.errors import (
    PayoutRailUnusableError,
    RailAmountInvalidError,
    RailInstrumentInvalidError,
    RailIntegrityError,
    RailParameterInvalidError,
    RailReferenceUnknownError,
    RailRequestIdReusedError,
    RailUnavailableError,
)
from beyondpay.rails.payout_domain import IST
from beyondpay.rails.protocol import (
    BankAccountDestination,
    PayoutDestination,
    PayoutOutcome,
    PayoutRail,
    PayoutRequest,
    VpaDestination,
)
from beyondpay.rails.sandbox.payouts import SandboxPayoutConnector
from beyondpay.rails.tasks import settle_payout_on
from tests.rails.conftest import MERCHANT, START, rail_caller

PAID_ACCOUNT = "000123456789"
IFSC = "HDFC0001234"
# START is 10:00 UTC, 15:30 IST: a NEFT payout accepted then waits for the 16:00 IST batch.
NEXT_BATCH = datetime(2026, 11, 22, 16, 0, tzinfo=IST)


def account(number: str = PAID_ACCOUNT, ifsc: str = IFSC) -> BankAccountDestination:
    return BankAccountDestination(account_number=SecretStr(number), ifsc=ifsc)


def vpa(address: str) -> VpaDestination:
    return VpaDestination(vpa=SecretStr(address))


def payout_request(
    rail: PayoutRail,
    destination: PayoutDestination | None = None,
    amount_minor: int = 50_000_00,
    *,
    request_id: str = "po_1",
    currency: str = "inr",
) -> PayoutRequest:
    return PayoutRequest(
        request_id=request_id,
        merchant_id=MERCHANT,
        livemode=False,
        amount_minor=amount_minor,
        currency=currency,
        rail=rail,
        destination=destination if destination is not None else account(),
    )


class HeardPayouts:
    """Every payout outcome the rail reported by itself, and whether a transaction was open."""

    def __init__(self) -> None:
        self.outcomes: list[PayoutOutcome] = []

    async def __call__(self, session: AsyncSession, outcome: PayoutOutcome) -> None:
        assert session.in_transaction()
        self.outcomes.append(outcome)


@pytest.fixture
def heard_payouts() -> Iterator[HeardPayouts]:
    handler = HeardPayouts()
    service.on_payout_outcome(handler)
    yield handler
    service.off_payout_outcome(handler)


async def _pay(database: Database, request: PayoutRequest) -> PayoutOutcome:
    async with rail_caller(database) as session:
        return await service.payout_connector_for(False).payout(session, request)


async def _status(database: Database, reference: str) -> PayoutOutcome:
    async with rail_caller(database) as session:
        return await service.payout_connector_for(False).status(session, reference)


async def _scalar(database: Database, sql: str) -> object:
    async with rail_caller(database) as session:
        return (await session.execute(text(sql))).scalar_one()


async def _settle_jobs(database: Database) -> list[tuple[str, datetime]]:
    async with rail_caller(database) as session:
        rows = await session.execute(
            text(
                "SELECT args->>'reference', scheduled_at FROM procrastinate_jobs"
                " WHERE task_name = 'rails:settle_payout' ORDER BY id"
            )
        )
        return [(str(reference), at) for reference, at in rows.all()]


# --- each rail's timing ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rail", "destination", "amount_minor", "reference_pattern"),
    [
        (PayoutRail.imps, account(), 5_00_000_00, r"[0-9]{12}"),  # RRN
        (PayoutRail.rtgs, account(), 2_00_000_00, r"SBXPR1[0-9]{8}[0-9]{8}"),  # 22 chars
        (PayoutRail.upi, vpa("merchant@okaxis"), 1_00_000_00, r"[0-9]{12}"),  # RRN
    ],
)
async def test_imps_rtgs_and_upi_pay_at_once(
    database: Database,
    clock: FrozenClock,
    heard_payouts: HeardPayouts,
    rail: PayoutRail,
    destination: PayoutDestination,
    amount_minor: int,
    reference_pattern: str,
) -> None:
    outcome = await _pay(database, payout_request(rail, destination, amount_minor))
    assert (outcome.status, outcome.rail, outcome.amount_minor) == ("paid", rail, amount_minor)
    assert outcome.utr is not None
    assert re.fullmatch(reference_pattern, outcome.utr)
    assert outcome.arrival_at == START
    assert outcome.failure_code is None
    assert await _settle_jobs(database) == []  # nothing later: the answer is final
    assert heard_payouts.outcomes == []  # the caller has the answer; listeners hear later reports
    assert (await _status(database, outcome.reference)) == outcome


async def test_neft_waits_for_its_half_hourly_batch(
    database: Database, clock: FrozenClock, heard_payouts: HeardPayouts
) -> None:
    outcome = await _pay(database, payout_request(PayoutRail.neft, amount_minor=10_00_000_00))
    assert outcome.status == "pending"
    assert outcome.arrival_at == NEXT_BATCH
    assert outcome.utr is not None
    assert re.fullmatch(r"SBXPN26326[0-9]{6}", outcome.utr)  # 16 chars; 22 Nov is day 326
    [(reference, scheduled_at)] = await _settle_jobs(database)
    assert reference == outcome.reference
    # Deferred through the injected scheduler for the batch, 30 minutes on (the job queue
    # keeps real time: the frozen clock does not reach it).
    wait = scheduled_at - datetime.now(UTC)
    assert timedelta(minutes=29) < wait <= timedelta(minutes=30)

    clock.advance(timedelta(minutes=29, seconds=59))
    await settle_payout_on(database, outcome.reference)  # a second early: it waits on
    assert (await _status(database, outcome.reference)).status == "pending"
    assert heard_payouts.outcomes == []
    assert len(await _settle_jobs(database)) == 2  # deferred again for the rest of the wait

    clock.advance(timedelta(seconds=1))
    await settle_payout_on(database, outcome.reference)
    await settle_payout_on(database, outcome.reference)  # the job ran twice: heard once
    [paid] = heard_payouts.outcomes
    assert (paid.status, paid.reference, paid.utr) == ("paid", outcome.reference, outcome.utr)
    assert (await _status(database, outcome.reference)).status == "paid"


async def test_a_status_check_after_the_batch_settles_it_and_listeners_hear_it_once(
    database: Database, clock: FrozenClock, heard_payouts: HeardPayouts
) -> None:
    outcome = await _pay(database, payout_request(PayoutRail.neft))
    clock.set(NEXT_BATCH.astimezone(UTC))
    assert (await _status(database, outcome.reference)).status == "paid"  # the job is late
    await settle_payout_on(database, outcome.reference)
    assert [heard_outcome.status for heard_outcome in heard_payouts.outcomes] == ["paid"]


async def test_a_neft_payout_to_a_closed_account_fails_at_its_batch(
    database: Database, clock: FrozenClock, heard_payouts: HeardPayouts
) -> None:
    outcome = await _pay(database, payout_request(PayoutRail.neft, account("000111111113")))
    assert (outcome.status, outcome.failure_code) == ("pending", None)
    clock.set(NEXT_BATCH.astimezone(UTC))
    await settle_payout_on(database, outcome.reference)
    [failed] = heard_payouts.outcomes
    assert (failed.status, failed.failure_code) == ("failed", "account_closed")
    assert failed.failure_message == "The bank account has been closed."


async def test_a_neft_payout_deemed_at_its_batch_is_heard_in_transit_then_checked(
    database: Database, clock: FrozenClock, heard_payouts: HeardPayouts
) -> None:
    outcome = await _pay(database, payout_request(PayoutRail.neft, account("000555555553")))
    clock.set(NEXT_BATCH.astimezone(UTC))
    await settle_payout_on(database, outcome.reference)
    await settle_payout_on(database, outcome.reference)
    [in_transit] = heard_payouts.outcomes
    assert (in_transit.status, in_transit.check_after) == (
        "in_transit",
        NEXT_BATCH + timedelta(seconds=90),
    )
    clock.advance(timedelta(seconds=90))
    assert (await _status(database, outcome.reference)).status == "paid"


async def test_the_rail_is_never_called_inside_the_callers_transaction(
    database: Database, clock: FrozenClock
) -> None:
    async with rail_caller(database) as session:
        await session.execute(text("SELECT 1"))  # the caller's transaction is open
        with pytest.raises(InvariantError):
            await service.payout_connector_for(False).payout(
                session, payout_request(PayoutRail.imps)
            )
        await session.rollback()
    assert await _scalar(database, "SELECT count(*) FROM sandbox_payouts") == 0


# --- failures from test values --------------------------------------------------------------


@pytest.mark.parametrize(
    ("destination", "failure_code"),
    [
        (account("000111111113"), "account_closed"),
        (account("000111111116"), "invalid_account_number"),
        (account("000222222227"), "bank_account_restricted"),
        (account("000333333335"), "declined"),
        (account("000444444440"), "could_not_process"),
        (account(PAID_ACCOUNT, "HDFC0000404"), "invalid_account_number"),  # wrong IFSC
        (account(PAID_ACCOUNT, "HDFC0000403"), "bank_account_restricted"),
    ],
)
@pytest.mark.parametrize("rail", [PayoutRail.imps, PayoutRail.rtgs])
async def test_test_accounts_fail_with_stripes_failure_codes(
    database: Database,
    clock: FrozenClock,
    rail: PayoutRail,
    destination: BankAccountDestination,
    failure_code: str,
) -> None:
    outcome = await _pay(database, payout_request(rail, destination, 3_00_000_00))
    assert (outcome.status, outcome.failure_code) == ("failed", failure_code)
    assert outcome.failure_message
    assert outcome.destination_masked.endswith(destination.account_number.get_secret_value()[-4:])


@pytest.mark.parametrize(
    ("address", "failure_code"),
    [
        ("payout.closed@sandbox", "account_closed"),
        ("payout.invalid@sandbox", "invalid_account_number"),
        ("payout.restricted@sandbox", "bank_account_restricted"),
        ("payout.declined@sandbox", "declined"),
        ("payout.error@sandbox", "could_not_process"),
    ],
)
async def test_test_vpas_fail_upi_payouts(
    database: Database, clock: FrozenClock, address: str, failure_code: str
) -> None:
    outcome = await _pay(database, payout_request(PayoutRail.upi, vpa(address), 100))
    assert (outcome.status, outcome.failure_code) == ("failed", failure_code)
    assert outcome.destination_masked == mask_vpa(address)
    assert address not in outcome.destination_masked


@pytest.mark.parametrize(
    ("rail", "destination"),
    [
        (PayoutRail.imps, account("000555555553")),
        (PayoutRail.upi, vpa("payout.deemed@sandbox")),
    ],
)
async def test_a_deemed_payout_stays_in_transit_until_a_status_check_resolves_it(
    database: Database,
    clock: FrozenClock,
    heard_payouts: HeardPayouts,
    rail: PayoutRail,
    destination: PayoutDestination,
) -> None:
    outcome = await _pay(database, payout_request(rail, destination, 1_000_00))
    assert outcome.status == "in_transit"
    assert outcome.check_after == START + timedelta(seconds=90)
    clock.advance(timedelta(seconds=89))
    assert (await _status(database, outcome.reference)).status == "in_transit"
    await settle_payout_on(database, outcome.reference)  # no batch: nothing to report
    clock.advance(timedelta(seconds=1))
    checked = await _status(database, outcome.reference)
    assert (checked.status, checked.check_after, checked.utr) == ("paid", None, outcome.utr)
    assert heard_payouts.outcomes == []


# --- idempotency ----------------------------------------------------------------------------


async def test_the_same_request_id_is_the_same_payout(
    database: Database, clock: FrozenClock
) -> None:
    first = await _pay(database, payout_request(PayoutRail.neft))
    clock.advance(timedelta(minutes=45))  # the retry comes after the batch: still one payout
    again = await _pay(database, payout_request(PayoutRail.neft))
    assert again == first
    assert await _scalar(database, "SELECT count(*) FROM sandbox_payouts") == 1
    assert len(await _settle_jobs(database)) == 1


@pytest.mark.parametrize(
    "changed",
    [
        payout_request(PayoutRail.imps, amount_minor=50_000_01),
        payout_request(PayoutRail.rtgs, amount_minor=50_000_00 * 4),
        payout_request(PayoutRail.imps, account("000987654321")),
        payout_request(PayoutRail.imps, account(PAID_ACCOUNT, "ICIC0001234")),
        payout_request(PayoutRail.upi, vpa("merchant@okaxis")),
    ],
)
async def test_a_request_id_reused_with_other_parameters_is_refused(
    database: Database, clock: FrozenClock, changed: PayoutRequest
) -> None:
    await _pay(database, payout_request(PayoutRail.imps))
    with pytest.raises(RailRequestIdReusedError) as raised:
        await _pay(database, changed)
    assert raised.value.param == "request_id"
    assert await _scalar(database, "SELECT count(*) FROM sandbox_payouts") == 1


@pytest.mark.parametrize("rail", [PayoutRail.imps, PayoutRail.neft])
async def test_racing_duplicates_pay_once(
    database: Database, clock: FrozenClock, rail: PayoutRail
) -> None:
    """Six callers on their own connections send the same payout at once: one row, one
    reference and one UTR for all, and (NEFT) one settlement deferred."""
    request = payout_request(rail, request_id="po_race")
    outcomes = await asyncio.gather(*(_pay(database, request) for _ in range(6)))
    assert len({(outcome.reference, outcome.utr) for outcome in outcomes}) == 1
    assert await _scalar(database, "SELECT count(*) FROM sandbox_payouts") == 1
    assert len(await _settle_jobs(database)) == (1 if rail is PayoutRail.neft else 0)


# --- the edge -------------------------------------------------------------------------------


async def test_the_integrity_check_refuses_an_answer_for_another_amount(
    database: Database, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    connector = SandboxPayoutConnector()
    with pytest.raises(RailIntegrityError):
        connector.check_answer(1000, "inr", {"amount": "10.01", "currency": "INR"})
    with pytest.raises(RailIntegrityError):
        connector.check_answer(1000, "inr", {"amount": "10.00", "currency": "USD"})
    with pytest.raises(RailIntegrityError):
        connector.check_answer(1000, "inr", {"amount": 10.0, "currency": "INR"})  # a float
    with pytest.raises(RailIntegrityError):
        connector.check_answer(1000, "inr", {"currency": "INR"})
    connector.check_answer(1000, "inr", {"amount": "10.00", "currency": "INR"})
    monkeypatch.setattr(
        SandboxPayoutConnector,
        "bank_answer",
        lambda self, sent: {"amount": "500000.01", "currency": "INR"},
    )
    with pytest.raises(RailIntegrityError):
        await _pay(database, payout_request(PayoutRail.imps, amount_minor=5_00_000_00))
    assert await _scalar(database, "SELECT count(*) FROM sandbox_payouts") == 0
    assert await _settle_jobs(database) == []


@pytest.mark.parametrize(
    ("request_", "error", "param"),
    [
        (
            payout_request(PayoutRail.imps, account("12345678")),
            RailInstrumentInvalidError,
            "destination[account_number]",
        ),
        (
            payout_request(PayoutRail.imps, account(PAID_ACCOUNT, "hdfc0001234")),
            RailInstrumentInvalidError,
            "destination[ifsc]",
        ),
        (
            payout_request(PayoutRail.upi, vpa("not a vpa@@x"), 100),
            RailInstrumentInvalidError,
            "destination[vpa]",
        ),
        (payout_request(PayoutRail.imps, amount_minor=0), RailAmountInvalidError, "amount"),
        (
            payout_request(PayoutRail.imps, amount_minor=5_00_000_01),
            PayoutRailUnusableError,
            "amount",
        ),
        (
            payout_request(PayoutRail.rtgs, amount_minor=1_99_999_99),
            PayoutRailUnusableError,
            "amount",
        ),
        (
            payout_request(PayoutRail.neft, vpa("merchant@okaxis")),
            PayoutRailUnusableError,
            "method",
        ),
        (payout_request(PayoutRail.imps, currency="usd"), PayoutRailUnusableError, "currency"),
        (payout_request(PayoutRail.imps, request_id=""), RailParameterInvalidError, "request_id"),
    ],
)
async def test_bad_requests_are_refused_naming_the_parameter_and_nothing_is_stored(
    database: Database,
    clock: FrozenClock,
    request_: PayoutRequest,
    error: type[Exception],
    param: str,
) -> None:
    with pytest.raises(error) as raised:
        await _pay(database, request_)
    assert getattr(raised.value, "param", None) == param
    assert getattr(raised.value, "status", None) == 400
    assert "not a vpa" not in str(raised.value)
    assert "12345678" not in str(raised.value)
    assert await _scalar(database, "SELECT count(*) FROM sandbox_payouts") == 0


async def test_live_mode_has_no_payout_rail() -> None:
    with pytest.raises(RailUnavailableError):
        service.payout_connector_for(True)


async def test_an_unknown_reference_is_not_found(database: Database) -> None:
    with pytest.raises(RailReferenceUnknownError):
        await _status(database, "po_ref_nothing")


async def test_the_destination_is_stored_only_masked_and_fingerprinted(
    database: Database, clock: FrozenClock
) -> None:
    await _pay(database, payout_request(PayoutRail.imps, account("987654321012")))
    await _pay(
        database,
        payout_request(PayoutRail.upi, vpa("secret.name@okaxis"), 100, request_id="po_2"),
    )
    dump = str(await _scalar(database, "SELECT json_agg(p)::text FROM sandbox_payouts p"))
    assert "987654321012" not in dump
    assert "secret.name" not in dump
    assert "XXXXXXXX1012" in dump
