"""The sandbox UPI switch for the PSP: push payments between bank accounts (within one bank and
across two, each bank's books balanced on their own) and collects to VPAs another module owns,
answered by their owner and heard by a merchant's payment intent."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, get_clock, use_clock
from beyondpay.rails import service
from beyondpay.rails.domain import AMOUNT_MINOR_MAX
from beyondpay.rails.errors import (
    RailAccountUnknownError,
    RailAmountInvalidError,
    RailCurrencyUnsupportedError,
    RailParameterInvalidError,
    RailReferenceUnknownError,
    RailRequestIdReusedError,
)
from beyondpay.rails.protocol import (
    CollectNotice,
    CreditNotice,
    PushRequest,
    Rail,
    RailOutcome,
)
from beyondpay.rails.sandbox import banks
from tests.payments.support import deliver_callbacks, get, pay, post
from tests.rails.conftest import rail_caller, sandbox_settings
from tests.support import TestMerchant, ring_for_tests

EVEN = "9876543212"  # accounts at sbx1 and sbx2
ODD = "9876543213"  # sbx1 only
OTHER = "9123456787"  # sbx1 only
SMALL = "9876543211"  # sbx1 only, ₹500
OWNED_VPA = "asha.rao@psptest"


async def _account(database: Database, mobile: str, bank: str = "sbx1") -> str:
    async with rail_caller(database) as session:
        found = await service.discover_accounts(session, ring_for_tests(), SecretStr(mobile), "P")
    return next(info.account_ref for info in found if info.bank == bank)


async def _balances(database: Database, *account_refs: str) -> list[int]:
    async with rail_caller(database) as session:
        return [await service.account_balance(session, ref) for ref in account_refs]


async def _bank_books(database: Database) -> dict[str, tuple[int, int]]:
    """Per sandbox bank: (its debits minus its credits, its settlement's credits minus debits)."""
    async with rail_caller(database) as session:
        rows = await session.execute(
            text(
                "SELECT ledger, sum(debits_posted) - sum(credits_posted),"
                " sum(credits_posted - debits_posted) FILTER (WHERE code = 'upi_settlement')"
                " FROM ledger_accounts WHERE ledger LIKE 'bank:%' GROUP BY ledger"
            )
        )
        return {str(ledger): (int(net), int(settled or 0)) for ledger, net, settled in rows.all()}


async def _push(
    database: Database, payer: str, payee: str, amount_minor: int, request_id: str = "ptx_1"
) -> RailOutcome:
    async with rail_caller(database) as session:
        return await service.upi_push(
            session,
            PushRequest(
                request_id=request_id,
                payer_account_ref=payer,
                payee_account_ref=payee,
                amount_minor=amount_minor,
                note="dinner",
            ),
        )


async def test_push_within_one_bank(database: Database) -> None:
    payer, payee = await _account(database, ODD), await _account(database, OTHER)
    before = await _balances(database, payer, payee)
    outcome = await _push(database, payer, payee, 12_345)
    assert (outcome.operation, outcome.status, outcome.code) == ("push", "succeeded", "00")
    assert re.fullmatch(r"SBX[A-Z0-9]{32}", outcome.details["upi_transaction_id"])
    assert re.fullmatch(r"[0-9]{12}", outcome.details["rrn"])
    assert await _balances(database, payer, payee) == [before[0] - 12_345, before[1] + 12_345]
    assert (await _bank_books(database))["bank:sbx1"] == (0, 0)
    async with rail_caller(database) as session:
        assert await service.upi_push_status(session, outcome.reference) == outcome


async def test_push_across_banks(database: Database) -> None:
    payer, payee = await _account(database, EVEN, "sbx2"), await _account(database, ODD)
    before = await _balances(database, payer, payee)
    outcome = await _push(database, payer, payee, 7_00)
    assert outcome.code == "00"
    assert await _balances(database, payer, payee) == [before[0] - 7_00, before[1] + 7_00]
    # sbx2 is owed by the switch what sbx1 paid out for it; each bank's books balance alone.
    assert await _bank_books(database) == {"bank:sbx1": (0, -7_00), "bank:sbx2": (0, 7_00)}


async def test_insufficient_funds_moves_nothing(database: Database) -> None:
    payer, payee = await _account(database, SMALL), await _account(database, EVEN, "sbx2")
    before = await _balances(database, payer, payee)
    refused = await _push(database, payer, payee, 500_01, request_id="ptx_too_much")
    assert (refused.status, refused.code, refused.decline_code) == (
        "failed",
        "Z9",
        "insufficient_funds",
    )
    assert await _balances(database, payer, payee) == before
    assert (await _bank_books(database))["bank:sbx2"] == (0, 0)
    paid = await _push(database, payer, payee, 500_00, request_id="ptx_all")
    assert paid.code == "00"
    assert await _balances(database, payer, payee) == [0, before[1] + 500_00]


async def test_above_the_switch_cap(database: Database) -> None:
    payer, payee = await _account(database, ODD), await _account(database, OTHER)
    before = await _balances(database, payer, payee)
    outcome = await _push(database, payer, payee, AMOUNT_MINOR_MAX + 1)
    assert (outcome.status, outcome.code) == ("failed", "Z8")
    assert await _balances(database, payer, payee) == before


async def test_a_technical_failure_moves_nothing(database: Database) -> None:
    service.configure(sandbox_settings(sandbox_upi_failure_rate=1.0), ring=ring_for_tests())
    payer, payee = await _account(database, ODD), await _account(database, OTHER)
    before = await _balances(database, payer, payee)
    outcome = await _push(database, payer, payee, 100)
    assert (outcome.status, outcome.code) == ("failed", "U30")
    assert await _balances(database, payer, payee) == before


async def test_the_same_request_id_moves_once(database: Database) -> None:
    payer, payee = await _account(database, ODD), await _account(database, OTHER)
    before = await _balances(database, payer, payee)
    first = await _push(database, payer, payee, 1_000)
    again = await _push(database, payer, payee, 1_000)
    assert again == first
    assert await _balances(database, payer, payee) == [before[0] - 1_000, before[1] + 1_000]
    with pytest.raises(RailRequestIdReusedError):
        await _push(database, payer, payee, 2_000)


async def test_racing_pushes_with_one_request_id_move_once(database: Database) -> None:
    payer, payee = await _account(database, ODD), await _account(database, OTHER)
    before = await _balances(database, payer, payee)
    outcomes = await asyncio.gather(
        *(_push(database, payer, payee, 3_000, request_id="ptx_race") for _ in range(4))
    )
    assert len({outcome.reference for outcome in outcomes}) == 1
    assert {outcome.code for outcome in outcomes} == {"00"}
    assert await _balances(database, payer, payee) == [before[0] - 3_000, before[1] + 3_000]


async def test_push_refuses_bad_input(database: Database) -> None:
    payer, payee = await _account(database, ODD), await _account(database, OTHER)
    cases: list[tuple[PushRequest, type[Exception], str]] = [
        (PushRequest("p1", payer, payee, 0), RailAmountInvalidError, "amount_minor"),
        (PushRequest("p2", payer, payee, 1, currency="usd"), RailCurrencyUnsupportedError, ""),
        (PushRequest("p3", payer, payer, 1), RailParameterInvalidError, "payee_account_ref"),
        (PushRequest("p4", "bank:sbx1:funding", payee, 1), RailAccountUnknownError, ""),
        (PushRequest("p5", payer, "bank:sbx9:payer:" + "0" * 32, 1), RailAccountUnknownError, ""),
        (PushRequest("p6", payer, payee, 1, note="x" * 101), RailParameterInvalidError, "note"),
        (
            PushRequest("p7", payer, payee, 1, payee_reference="x" * 36),
            RailParameterInvalidError,
            "payee_reference",
        ),
    ]
    for request, error, param in cases:
        async with rail_caller(database) as session:
            with pytest.raises(error) as raised:
                await service.upi_push(session, request)
        assert param in (getattr(raised.value, "param", None) or "")
    async with rail_caller(database) as session:
        stored = await session.execute(text("SELECT count(*) FROM sandbox_rail_operations"))
        assert stored.scalar_one() == 0
        with pytest.raises(RailReferenceUnknownError):
            await service.upi_push_status(session, "upi_ref_missing")


# --- collects to VPAs another module owns ---------------------------------------------------


class Owner:
    """A module owning the VPAs at @psptest: it claims their collects and records each notice
    the switch shows it (claimed or not)."""

    def __init__(self) -> None:
        self.asked: list[CollectNotice] = []

    async def __call__(self, session: AsyncSession, notice: CollectNotice) -> bool:
        assert session.in_transaction()
        self.asked.append(notice)
        return notice.vpa.get_secret_value().endswith("@psptest")


@pytest.fixture
async def owner() -> AsyncIterator[Owner]:
    listener = Owner()
    service.on_collect(listener)
    try:
        yield listener
    finally:
        service.off_collect(listener)


async def _collect(
    client: httpx.AsyncClient, merchant: TestMerchant, vpa: str, amount: int = 10_000
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "amount": str(amount),
        "payment_method_types[0]": "upi",
        "payment_method_data[type]": "upi",
        "payment_method_data[upi][vpa]": vpa,
    }
    return await pay(client, merchant, **params)


async def _answer(
    database: Database, reference: str, *, approve: bool, payer: str | None = None
) -> RailOutcome:
    async with rail_caller(database) as session:
        return await service.answer_collect(
            session, reference, approve=approve, payer_account_ref=payer
        )


async def _intent(
    client: httpx.AsyncClient, merchant: TestMerchant, intent: dict[str, Any]
) -> dict[str, Any]:
    found: dict[str, Any] = await get(client, merchant, f"/v1/payment_intents/{intent['id']}")
    return found


async def _event_count(database: Database, object_id: str, event_type: str) -> int:
    async with rail_caller(database) as session:
        count = await session.execute(
            text("SELECT count(*) FROM events WHERE object_id = :id AND type = :type"),
            {"id": object_id, "type": event_type},
        )
        return int(count.scalar_one())


async def test_an_owned_collect_waits_then_the_approval_pays_the_merchant(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database, owner: Owner
) -> None:
    payer = await _account(database, ODD)
    [before] = await _balances(database, payer)
    intent = await _collect(client, merchant, OWNED_VPA)
    assert intent["status"] == "requires_action"
    [notice] = owner.asked
    assert notice.vpa.get_secret_value() == OWNED_VPA
    assert (notice.amount_minor, notice.currency, notice.merchant_id, notice.livemode) == (
        10_000,
        "inr",
        merchant.id,
        False,
    )
    assert notice.payee_name == "Acme"  # the merchant's name, shown to the payer
    assert notice.expires_at - get_clock().now() <= timedelta(minutes=5)
    assert (await _intent(client, merchant, intent))["status"] == "requires_action"
    async with rail_caller(database) as session:
        still = await service.connector_for(Rail.upi, False).status(session, notice.reference)
        assert (still.status, still.code) == ("pending", "01")

    outcome = await _answer(database, notice.reference, approve=True, payer=payer)
    assert (outcome.status, outcome.code) == ("succeeded", "00")
    after = await _intent(client, merchant, intent)
    assert after["status"] == "succeeded" and after["amount_received"] == 10_000
    assert await _balances(database, payer) == [before - 10_000]
    # A second answer changes nothing; the expiry's callback finds the collect answered.
    assert await _answer(database, notice.reference, approve=False) == outcome
    await deliver_callbacks(database)
    assert (await _intent(client, merchant, intent))["status"] == "succeeded"
    assert await _event_count(database, str(after["id"]), "payment_intent.succeeded") == 1
    assert await _balances(database, payer) == [before - 10_000]


async def test_an_owned_collect_declined(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database, owner: Owner
) -> None:
    intent = await _collect(client, merchant, OWNED_VPA)
    outcome = await _answer(database, owner.asked[0].reference, approve=False)
    assert (outcome.status, outcome.code, outcome.decline_code) == (
        "failed",
        "ZA",
        "declined_by_payer",
    )
    after = await _intent(client, merchant, intent)
    assert after["status"] == "requires_payment_method"
    assert after["last_payment_error"]["network_decline_code"] == "ZA"


async def test_an_owned_collect_the_payer_cannot_afford(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database, owner: Owner
) -> None:
    payer = await _account(database, SMALL)
    intent = await _collect(client, merchant, OWNED_VPA, amount=600_00)
    outcome = await _answer(database, owner.asked[0].reference, approve=True, payer=payer)
    assert (outcome.status, outcome.code) == ("failed", "Z9")
    after = await _intent(client, merchant, intent)
    assert after["last_payment_error"]["network_decline_code"] == "Z9"
    assert await _balances(database, payer) == [500_00]


async def test_an_unanswered_owned_collect_expires(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database, owner: Owner
) -> None:
    payer = await _account(database, ODD)
    [before] = await _balances(database, payer)
    intent = await _collect(client, merchant, OWNED_VPA)
    await deliver_callbacks(database, after=timedelta(minutes=4))
    assert (await _intent(client, merchant, intent))["status"] == "requires_action"
    await deliver_callbacks(database)  # the scheduled callback again, now at expiry
    after = await _intent(client, merchant, intent)
    assert after["status"] == "requires_payment_method"
    assert after["last_payment_error"]["network_decline_code"] == "U69"
    late = await _answer(database, owner.asked[0].reference, approve=True, payer=payer)
    assert (late.status, late.code) == ("failed", "U69")
    assert await _balances(database, payer) == [before]


async def test_an_answer_after_expiry_is_u69_and_the_callback_then_does_nothing(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database, owner: Owner
) -> None:
    payer = await _account(database, ODD)
    [before] = await _balances(database, payer)
    intent = await _collect(client, merchant, OWNED_VPA)
    with use_clock(FrozenClock(get_clock().now() + timedelta(minutes=5, seconds=1))):
        late = await _answer(database, owner.asked[0].reference, approve=True, payer=payer)
    assert (late.status, late.code) == ("failed", "U69")
    await deliver_callbacks(database)
    after = await _intent(client, merchant, intent)
    assert after["last_payment_error"]["network_decline_code"] == "U69"
    assert await _event_count(database, str(after["id"]), "payment_intent.payment_failed") == 1
    assert await _balances(database, payer) == [before]


async def test_vpas_no_one_owns_stay_scripted(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database, owner: Owner
) -> None:
    intent = await _collect(client, merchant, "success@sandbox")
    [notice] = owner.asked  # asked, and it said no
    with pytest.raises(RailReferenceUnknownError):
        await _answer(database, notice.reference, approve=True)
    await deliver_callbacks(database)
    assert (await _intent(client, merchant, intent))["status"] == "succeeded"


async def test_answering_needs_a_payer_account(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database, owner: Owner
) -> None:
    intent = await _collect(client, merchant, OWNED_VPA)
    reference = owner.asked[0].reference
    for payer in (None, "bank:sbx1:upi_settlement"):
        with pytest.raises(RailAccountUnknownError) as raised:
            await _answer(database, reference, approve=True, payer=payer)
        assert raised.value.param == "payer_account_ref"
    assert (await _intent(client, merchant, intent))["status"] == "requires_action"


async def test_a_refund_goes_back_to_the_account_that_paid_at_its_own_bank(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database, owner: Owner
) -> None:
    payer = await _account(database, EVEN, "sbx2")
    [before] = await _balances(database, payer)
    intent = await _collect(client, merchant, OWNED_VPA)
    await _answer(database, owner.asked[0].reference, approve=True, payer=payer)
    response = await post(
        client, merchant, "/v1/refunds", payment_intent=intent["id"], amount=4_000
    )
    assert response.status_code == 200, response.text
    assert await _balances(database, payer) == [before - 6_000]
    assert (await _bank_books(database))["bank:sbx2"] == (0, 6_000)


async def test_a_push_is_one_linked_batch_through_the_payers_settlement_sub_accounts(
    database: Database,
) -> None:
    payer, payee = await _account(database, EVEN, "sbx2"), await _account(database, ODD)
    outcome = await _push(database, payer, payee, 9_00, request_id="ptx_linked")
    refused = await _push(database, payer, payee, 99_995_00, request_id="ptx_unaffordable")
    assert (outcome.code, refused.code) == ("00", "Z9")
    async with rail_caller(database) as session:
        rows = await session.execute(
            text(
                "SELECT id, debit_account_id, credit_account_id, flags FROM ledger_transfers"
                " WHERE id LIKE 'upi:%' ORDER BY id"
            )
        )
        moved = {str(row.id): row for row in rows}
    debit = moved[f"upi:{outcome.reference}:debit"]
    credit = moved[f"upi:{outcome.reference}:credit"]
    assert debit.flags & 1 and not credit.flags & 1  # linked: both or neither
    assert (debit.debit_account_id, debit.credit_account_id) == (
        payer,
        banks.settlement_account_id("sbx2", payer),
    )
    assert (credit.debit_account_id, credit.credit_account_id) == (
        banks.settlement_account_id("sbx1", payer),
        payee,
    )
    # The refused push moved nothing on either side: neither transfer exists.
    assert not [key for key in moved if refused.reference in key]
    # Each bank's settlement position is the sum of its sub-accounts.
    assert await _bank_books(database) == {"bank:sbx1": (0, -9_00), "bank:sbx2": (0, 9_00)}


def test_payers_of_one_bank_spread_over_its_settlement_sub_accounts() -> None:
    payers = [f"bank:sbx1:payer:{index:032x}" for index in range(200)]
    chosen = [banks.settlement_account_id("sbx1", payer) for payer in payers]
    assert set(chosen) == set(banks.settlement_account_ids("sbx1"))
    assert len(banks.settlement_account_ids("sbx1")) == banks.SETTLEMENT_ACCOUNTS_PER_BANK
    assert chosen == [banks.settlement_account_id("sbx1", payer) for payer in payers]  # stable


# --- credits to accounts another module owns -------------------------------------------------


class Payee:
    """A module owning one account: it claims the credits to it for its merchant and records
    each notice the switch gives (claimed or not)."""

    def __init__(self, account_ref: str) -> None:
        self.account_ref = account_ref
        self.told: list[CreditNotice] = []

    async def __call__(self, session: AsyncSession, notice: CreditNotice) -> str | None:
        assert session.in_transaction()  # the push's own: the money moved in it
        self.told.append(notice)
        return "acct_payee" if notice.payee_account_ref == self.account_ref else None


async def test_a_credit_is_told_once_in_the_pushs_transaction_and_kept_with_its_owner(
    database: Database,
) -> None:
    payer, payee = await _account(database, ODD), await _account(database, OTHER)
    listener = Payee(payee)
    service.on_credit(listener)
    try:
        request = PushRequest(
            "ptx_credit",
            payer,
            payee,
            42_00,
            note="chai",
            payee_reference="ORDER-1",
            payer_name="Asha Rao",
            payer_vpa_masked="as****@beyondpay",
        )
        async with rail_caller(database) as session:
            outcome = await service.upi_push(session, request)
        async with rail_caller(database) as session:
            assert await service.upi_push(session, request) == outcome  # answered, not told
        refused = await _push(database, payer, payee, AMOUNT_MINOR_MAX + 1, request_id="ptx_z8")
    finally:
        service.off_credit(listener)
    assert (outcome.code, refused.code) == ("00", "Z8")
    [notice] = listener.told
    assert (notice.reference, notice.payee_account_ref, notice.amount_minor) == (
        outcome.reference,
        payee,
        42_00,
    )
    assert notice.upi_transaction_id == outcome.details["upi_transaction_id"]
    assert (notice.payee_reference, notice.note, notice.payer_name) == (
        "ORDER-1",
        "chai",
        "Asha Rao",
    )
    assert notice.payer_vpa_masked == "as****@beyondpay" and notice.livemode is False
    async with rail_caller(database) as session:
        owner = await session.execute(
            text("SELECT merchant_id FROM sandbox_rail_operations WHERE reference = :reference"),
            {"reference": outcome.reference},
        )
        assert owner.scalar_one() == "acct_payee"


async def test_a_push_a_merchant_claimed_is_refunded_to_its_payer(database: Database) -> None:
    payer, payee = await _account(database, EVEN, "sbx2"), await _account(database, OTHER)
    listener = Payee(payee)
    service.on_credit(listener)
    try:
        outcome = await _push(database, payer, payee, 30_00, request_id="ptx_refunded")
    finally:
        service.off_credit(listener)
    [before] = await _balances(database, payer)
    upi = service.connector_for(Rail.upi, False)
    async with rail_caller(database) as session:
        refund = await upi.refund(session, "re_1", outcome.reference, 10_00)
    async with rail_caller(database) as session:
        too_much = await upi.refund(session, "re_2", outcome.reference, 20_01)
    assert (refund.status, too_much.status) == ("succeeded", "failed")
    assert too_much.failure_code == "amount_too_large"
    assert await _balances(database, payer) == [before + 10_00]
    # Each bank's books still balance on their own; nothing is held or captured twice.
    assert {ledger: net for ledger, (net, _) in (await _bank_books(database)).items()} == {
        "bank:sbx1": 0,
        "bank:sbx2": 0,
    }
    async with rail_caller(database) as session:
        capture = await upi.capture(session, "cap_1", outcome.reference, 1_00)
    assert (capture.status, capture.failure_code) == ("failed", "charge_not_capturable")
