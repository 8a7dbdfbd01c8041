"""Issue 20's first check, the simulated week: on a frozen clock moved in 15-minute steps from
Saturday 19 December 2026 09:00 IST (the merchants sign up; their trading before the week fills
Monday's and Tuesday's windows, as a live merchant's would) to Monday 28 December 13:00 IST —
Christmas (Friday 25) a bank holiday, Saturday 26 the 4th Saturday, Sunday 27 — 10,000 card
payments (``BEYONDPAY_WEEK_PAYMENTS`` changes the count), about 5 % of them refunded (partly
or fully) and about 1 % disputed, across 20 merchants: 10 on ``t0`` with the default cut-offs
and 10 on ``t1``, each with a verified bank account past its cooling hold and a daily automatic
payout schedule. One of the ``t0`` merchants is a platform with 2 connected accounts in
addition (on ``t1``, paid daily too), to which it transfers part of its takings (Connect's
destination charges and application fees are not built yet: transfers stand in for them).

At each step the worker's jobs run first, as the worker would (release of due funds, the
windows' close, the payouts' sends and checks, the sandbox's callbacks), then the step's
business. The worker is killed from Wednesday 23 December 17:45 to 19:15 IST (across ``t1``'s
18:00 and ``t0``'s 19:00 cut-offs, shorter than ``t0``'s two hours from cut-off to eta): no job
runs then. At the end: every due window is closed and each chain has no gap (0 missed), the
late windows are exactly those whose cut-off fell in the killed stretch, every automatic
payout is paid within 2 minutes of its window's eta and equals its window's net (less what
an earlier window that netted below zero left owing; none at or below zero), the ledger
verifies and every merchant's and connected account's balance equals the sum of its balance
transactions' net."""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import time
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

import httpx
import pytest
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock
from beyondpay.ledger.service import ledger_service
from beyondpay.payments.tasks import release_funds
from beyondpay.settlement.payouts.schedules import payout_schedule_service
from beyondpay.settlement.payouts.tasks import reconcile_due_payouts
from beyondpay.settlement.windows.tasks import close_due_windows
from tests.connect.support import connected, transfer
from tests.disputes.support import open_disputes
from tests.payments.support import get, post
from tests.settlement.bank_accounts.support import made
from tests.settlement.payouts.support import end_hold
from tests.settlement.windows.support import ist
from tests.support import TestMerchant, make_merchant

# Heavy: its own xdist group, so `--dist loadgroup` runs it beside the rest, never split. The
# suite runs 1,000 payments (about a minute and a half in CI); the 10,000 are
# `BEYONDPAY_WEEK_PAYMENTS=10000` (about 13 minutes here).
pytestmark = [
    pytest.mark.xdist_group("simulated_week"),
    pytest.mark.timeout(2400),
]

SIGN_UP: Final = ist(2026, 12, 19, 9, 0)  # Saturday before the week
WEEK_END: Final = ist(2026, 12, 28, 13, 0)  # Monday after Christmas, t0's 11:00 window's eta
STEP: Final = timedelta(minutes=15)
# The jobs of a step run just past its quarter hour: a window waits 30 s past its cut-off.
JOBS_AFTER_CUT_OFF: Final = timedelta(seconds=31)
KILLED_FROM: Final = ist(2026, 12, 23, 17, 45)
KILLED_UNTIL: Final = ist(2026, 12, 23, 19, 15)
PAYMENTS_DEFAULT: Final = 1_000
MERCHANTS_PER_SPEED: Final = 10
CONNECTED_ACCOUNTS: Final = 2
CONCURRENT_REQUESTS_MAX: Final = 8
REFUND_SHARE_PERCENT: Final = 5
DISPUTE_SHARE_PERCENT: Final = 1
# The platform sends this share of the payments made available in the hour to a connected
# account every hour.
TRANSFER_SHARE_PERCENT: Final = 20
ETA_TOLERANCE_S: Final = 120
AMOUNT_MINOR_MIN: Final = 100_00  # ₹100
AMOUNT_MINOR_MAX: Final = 2_000_00  # ₹2,000
PAGE_LIMIT: Final = 100
FUNDS_AVAILABLE_AFTER: Final = timedelta(days=2)  # a card payment's, in test mode


@dataclass
class Week:
    merchants: list[TestMerchant]
    platform: TestMerchant
    accounts: list[str]
    random: random.Random
    # Payments whose funds are available (refundable), and those still pending with when theirs
    # become available.
    paid: list[tuple[TestMerchant, str, int]] = field(default_factory=list)
    paying: list[tuple[datetime, TestMerchant, str, int]] = field(default_factory=list)
    platform_arrived: int = 0  # the platform's payments made available since its last transfer
    figures: dict[str, int] = field(default_factory=dict)

    def count(self, name: str, by: int = 1) -> None:
        self.figures[name] = self.figures.get(name, 0) + by


async def _gathered(calls: Iterable[Awaitable[Any]]) -> list[Any]:
    """Runs the calls ``CONCURRENT_REQUESTS_MAX`` at a time (the in-process server overlaps
    their database waits)."""
    pending = list(calls)
    results: list[Any] = []
    for start in range(0, len(pending), CONCURRENT_REQUESTS_MAX):
        results += await asyncio.gather(*pending[start : start + CONCURRENT_REQUESTS_MAX])
    return results


async def _sign_up(client: httpx.AsyncClient, database: Database) -> Week:
    """20 merchants (the first a platform with 2 connected accounts) with verified bank accounts
    past their cooling hold and daily automatic payouts: the first 10 on t0, the rest on t1."""
    merchants = [await make_merchant(database, name=f"Shop {n}") for n in range(20)]
    platform = merchants[0]
    with use_clock(FrozenClock(SIGN_UP)):
        accounts = [(await connected(client, platform))["id"] for _ in range(CONNECTED_ACCOUNTS)]
        for merchant in merchants:
            await made(client, merchant)
            await end_hold(database, merchant)
        for account in accounts:
            await made(client, TestMerchant(account, platform.keys))
            await end_hold(database, TestMerchant(account))
        async with database.unit_of_work() as session:
            for index, merchant in enumerate(merchants):
                delay_days = 0 if index < MERCHANTS_PER_SPEED else 1
                await payout_schedule_service.update(
                    session, merchant.id, False, interval="daily", delay_days=delay_days
                )
            for account in accounts:
                await payout_schedule_service.update(
                    session, account, False, interval="daily", delay_days=1
                )
    return Week(merchants, platform, accounts, random.Random(20))


def _killed(at: datetime) -> bool:
    return KILLED_FROM <= at < KILLED_UNTIL


async def _run_worker(database: Database, week: Week) -> None:
    """What the worker runs every few seconds, in the order its periodic jobs would find work."""
    await release_funds(database)
    week.count("windows closed", len(await close_due_windows(database)))
    await reconcile_due_payouts(database)
    await open_disputes(database)


async def _pay(client: httpx.AsyncClient, week: Week, dispute: bool, at: datetime) -> None:
    merchant = week.random.choice(week.merchants)
    amount = week.random.randrange(AMOUNT_MINOR_MIN, AMOUNT_MINOR_MAX + 1, 100)
    method = "pm_card_createDispute" if dispute else "pm_card_visa"
    body = {"amount": str(amount), "currency": "inr", "confirm": "true"}
    response = await post(client, merchant, "/v1/payment_intents", **body, payment_method=method)
    assert response.status_code == 200, response.text
    intent = response.json()
    assert intent["status"] == "succeeded", intent
    week.count("disputes" if dispute else "payments")
    if not dispute:
        week.paying.append((at + FUNDS_AVAILABLE_AFTER, merchant, intent["id"], amount))


async def _refund(client: httpx.AsyncClient, week: Week) -> None:
    """A refund of an earlier payment: half of them whole, half a part."""
    merchant, intent_id, amount = week.paid.pop(week.random.randrange(len(week.paid)))
    params = {"payment_intent": intent_id}
    if week.random.random() < 0.5:
        params["amount"] = str(amount // 2)
    response = await post(client, merchant, "/v1/refunds", **params)
    assert response.status_code == 200, response.text
    week.count("refunds")


async def _transfer(client: httpx.AsyncClient, week: Week, amount: int, hour: int) -> None:
    """The platform sends a share of the funds its payments just made available to one of its
    connected accounts. (A share of its whole available balance would also spend a closed
    window's net before its payout leaves at the eta, and that payout would be capped.)"""
    balance = await get(client, week.platform, "/v1/balance")
    available = sum(part["amount"] for part in balance["available"] if part["currency"] == "inr")
    # Never more than is available: disputes may have taken the balance below what arrived.
    amount = min(amount, available)
    if amount <= 0:
        return
    destination = week.accounts[hour % len(week.accounts)]
    response = await transfer(client, week.platform, destination, amount)
    assert response.status_code == 200, response.text
    week.count("transfers")


async def _trade(client: httpx.AsyncClient, week: Week, payments: int, at: datetime) -> None:
    """A step's business: its payments (about 1 % on the dispute card), then refunds of about
    5 % of a step's payments among earlier ones, and hourly the platform's transfer."""
    disputes = [week.random.random() * 100 < DISPUTE_SHARE_PERCENT for _ in range(payments)]
    await _gathered(_pay(client, week, dispute, at) for dispute in disputes)
    # Refunds come from funds already available: a refund before them would take the window
    # below zero, and the next window's payout would be capped at the available balance
    # (payouts' rule), no longer its net.
    arrived = [(shop, paid, amount) for when, shop, paid, amount in week.paying if when <= at]
    week.paid += arrived
    week.platform_arrived += sum(amount for shop, _, amount in arrived if shop is week.platform)
    week.paying = [entry for entry in week.paying if entry[0] > at]
    refunds = sum(week.random.random() * 100 < REFUND_SHARE_PERCENT for _ in range(payments))
    refunds = min(refunds, len(week.paid))
    await _gathered(_refund(client, week) for _ in range(refunds))
    if at.minute < STEP.seconds // 60:
        share = week.platform_arrived * TRANSFER_SHARE_PERCENT // 100
        await _transfer(client, week, share, at.hour)
        week.platform_arrived = 0


async def _simulate(client: httpx.AsyncClient, database: Database, week: Week) -> None:
    steps = int((WEEK_END - SIGN_UP) / STEP) + 1
    payments = int(os.environ.get("BEYONDPAY_WEEK_PAYMENTS", PAYMENTS_DEFAULT))
    for step in range(steps):
        at = SIGN_UP + step * STEP
        with use_clock(FrozenClock(at + JOBS_AFTER_CUT_OFF)):
            if not _killed(at):
                await _run_worker(database, week)
            share = (step + 1) * payments // steps - step * payments // steps
            await _trade(client, week, share, at)


async def _rows(database: Database, query: str) -> list[dict[str, Any]]:
    async with database.unit_of_work() as session:
        return [dict(row._mapping) for row in await session.execute(text(query))]


def _net(window: dict[str, Any]) -> int:
    return sum(int(total["net"]) for total in window["totals"] if total["currency"] == "inr")


def _check_windows(windows: list[dict[str, Any]], owners: set[str], end: datetime) -> None:
    """(1) Every due window closed, each chain without a gap, late exactly across the kill."""
    by_owner: dict[str, list[dict[str, Any]]] = {}
    for window in windows:
        by_owner.setdefault(window["merchant_id"], []).append(window)
    assert set(by_owner) == owners
    for chain in by_owner.values():
        for before, after in itertools.pairwise(chain):
            assert after["opens_at"] == before["cut_off_at"], (before["id"], after["id"])
        *closed, last = chain
        assert all(window["status"] == "closed" for window in closed)
        assert last["status"] == "open" and last["cut_off_at"] > end - timedelta(seconds=30)
        for window in closed:
            cut_off_killed = KILLED_FROM <= window["cut_off_at"] < KILLED_UNTIL
            assert window["closed_late"] == cut_off_killed, window["id"]


def _check_payouts(windows: list[dict[str, Any]], payouts: list[dict[str, Any]]) -> int:
    """(2) Each automatic payout paid within 2 minutes of its window's eta; (3) its amount is
    its window's net, and a window with a net at or below zero pays nothing. What a payout does
    not pay is carried, per merchant, signed:
    - below zero, a deficit: a window that netted below zero (a weekend's disputes before its
      payments became available) leaves the balance below zero, and the payouts after it make
      that good first, as Stripe's do (each is capped at the available balance). While a
      deficit is carried a payout is at least its net less the deficit and at most its net —
      funds that became available in the seconds between a cut-off and its close count too.
    - above zero, a surplus: a window closed late (the worker was down across its cut-off)
      also sees the refunds and disputes made after its cut-off, which belong to the next
      window's net but are already out of the available balance, so it pays less than its net;
      that money stays in the balance (the next window still pays exactly its own net) until a
      deficit uses it.
    With no deficit, a window closed on time pays exactly its net. The largest
    |arrival - eta| in seconds."""
    by_window = {(p["merchant_id"], p["settlement_window_id"]): p for p in payouts}
    assert len(by_window) == len(payouts)
    gap_max_s = 0
    carried: dict[str, int] = {}  # per merchant: deficit (< 0) or surplus (> 0) left behind
    for window in windows:  # per merchant, in cut-off order
        payout = by_window.pop((window["merchant_id"], window["id"]), None)
        net, carry = _net(window), carried.get(window["merchant_id"], 0)
        deficit = min(carry, 0)
        if window["status"] != "closed":
            assert payout is None, window["id"]
            continue
        if payout is None:
            assert net + deficit <= 0, (window["id"], net, carry)
            carried[window["merchant_id"]] = net + carry
            continue
        assert 1 <= payout["amount"] <= net, (window["id"], payout, carry)
        if not window["closed_late"]:
            assert payout["amount"] >= net + deficit, (window["id"], payout, carry)
            if deficit == 0:
                assert payout["amount"] == net, (window["id"], payout, carry)
        carried[window["merchant_id"]] = carry + net - payout["amount"]
        assert payout["status"] == "paid", payout
        gap_s = abs((payout["paid_at"] - window["eta"]).total_seconds())
        assert gap_s <= ETA_TOLERANCE_S, (window["id"], gap_s)
        gap_max_s = max(gap_max_s, int(gap_s))
    assert by_window == {}
    return gap_max_s


async def _balance_matches(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """(4) The ledger's balance (available + pending) equals the sum of the balance
    transactions' net, every page of them."""
    balance = (await client.get("/v1/balance", headers=headers)).json()
    ledger = sum(item["amount"] for item in balance["available"] + balance["pending"])
    nets, query = 0, {"limit": PAGE_LIMIT}
    while True:
        page = (await client.get("/v1/balance_transactions", params=query, headers=headers)).json()
        nets += sum(item["net"] for item in page["data"])
        if not page["has_more"]:
            break
        query = {"limit": PAGE_LIMIT, "starting_after": page["data"][-1]["id"]}
    assert ledger == nets, (headers.get("Stripe-Account"), ledger, nets)


async def test_a_simulated_week_settles_every_window_on_time_and_balances(
    client: httpx.AsyncClient, database: Database
) -> None:
    started = time.monotonic()
    week = await _sign_up(client, database)
    await _simulate(client, database, week)

    owners = {merchant.id for merchant in week.merchants} | set(week.accounts)
    windows = await _rows(
        database,
        "SELECT merchant_id, id, opens_at, cut_off_at, eta, status, closed_late, totals"
        " FROM settlement_windows WHERE NOT livemode ORDER BY merchant_id, cut_off_at",
    )
    payouts = await _rows(
        database,
        "SELECT p.merchant_id, p.settlement_window_id, p.amount, p.status,"
        " (SELECT e.created_at FROM events e WHERE e.type = 'payout.paid'"
        "  AND e.object_id = p.id) AS paid_at"
        " FROM payouts p WHERE p.automatic AND NOT p.livemode",
    )
    _check_windows(windows, owners, WEEK_END)
    gap_max_s = _check_payouts(windows, payouts)
    async with database.unit_of_work() as session:
        report = await ledger_service.verify_journal(session)
    assert report.ok, report.problems
    for merchant in week.merchants:
        await _balance_matches(client, merchant.auth())
    for account in week.accounts:
        await _balance_matches(client, week.platform.auth() | {"Stripe-Account": account})

    late = sum(bool(window["closed_late"]) for window in windows)
    print(
        f"simulated week: payments={week.figures.get('payments', 0)}"
        f" refunds={week.figures.get('refunds', 0)} disputes={week.figures.get('disputes', 0)}"
        f" transfers={week.figures.get('transfers', 0)}"
        f" windows_closed={week.figures.get('windows closed', 0)} late_windows={late}"
        f" missed_windows=0 payouts={len(payouts)} max_eta_gap_s={gap_max_s}"
        f" elapsed_s={time.monotonic() - started:.0f}"
    )
    assert late > 0
