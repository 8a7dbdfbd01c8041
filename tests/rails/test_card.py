"""The sandbox card network: Stripe's test numbers, holds, captures, voids and refunds."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock
from beyondpay.rails import service
from beyondpay.rails.errors import RailRequestIdReusedError, RailUnavailableError
from beyondpay.rails.protocol import Rail
from beyondpay.rails.tasks import deliver_callback_on
from tests.rails.conftest import Heard, card, rail_caller, request


def test_live_mode_has_no_connector() -> None:
    with pytest.raises(RailUnavailableError) as raised:
        service.connector_for(Rail.card, livemode=True)
    assert raised.value.code == "rail_unavailable"
    assert "No live connector is configured" in raised.value.message


@pytest.mark.parametrize(
    ("number", "failure_code", "decline_code"),
    [
        ("4000000000000002", "card_declined", "generic_decline"),
        ("4000000000009995", "card_declined", "insufficient_funds"),
        ("4000000000000069", "expired_card", "expired_card"),
        ("4000000000000127", "incorrect_cvc", "incorrect_cvc"),
        ("4000000000000119", "processing_error", "processing_error"),
        ("4242424242424241", "incorrect_number", None),
    ],
)
async def test_declines(
    session: AsyncSession, number: str, failure_code: str, decline_code: str | None
) -> None:
    outcome = await service.connector_for(Rail.card, False).authorize(
        session, request(card(number))
    )
    assert (outcome.status, outcome.failure_code, outcome.decline_code) == (
        "failed",
        failure_code,
        decline_code,
    )
    assert outcome.final


@pytest.mark.parametrize("number", ["4242424242424242", "5555555555554444", "4000056655665556"])
async def test_approvals(session: AsyncSession, number: str) -> None:
    outcome = await service.connector_for(Rail.card, False).authorize(
        session, request(card(number))
    )
    assert outcome.status == "succeeded" and outcome.code == "00"
    assert outcome.reference.startswith("card_ref_")
    assert outcome.details["network_transaction_id"].isdigit()
    assert (outcome.amount_minor, outcome.currency) == (10_000, "inr")


async def test_request_id_is_the_operation(session: AsyncSession) -> None:
    connector = service.connector_for(Rail.card, False)
    first = await connector.authorize(session, request(card("4242424242424242")))
    again = await connector.authorize(session, request(card("4242424242424242")))
    assert again == first
    with pytest.raises(RailRequestIdReusedError):
        await connector.authorize(session, request(card("4242424242424242"), 10_001))


async def test_one_request_id_raced_on_two_connections_is_one_operation(
    database: Database,
) -> None:
    """The authorization is stored with INSERT … ON CONFLICT DO NOTHING, then read on conflict:
    two callers racing the same request id get the same operation, and one row exists."""
    connector = service.connector_for(Rail.card, False)

    async def authorize() -> Any:
        async with database.sessionmaker() as session:
            return await connector.authorize(session, request(card("4242424242424242")))

    outcomes = await asyncio.gather(*(authorize() for _ in range(8)))
    assert len({outcome.reference for outcome in outcomes}) == 1
    assert all(outcome == outcomes[0] for outcome in outcomes)
    async with database.sessionmaker() as session:
        stored = await session.scalar(
            text("SELECT count(*) FROM sandbox_rail_operations WHERE operation = 'authorize'")
        )
    assert stored == 1


async def test_capture_less_releases_the_rest_and_refunds_are_limited(
    session: AsyncSession,
) -> None:
    connector = service.connector_for(Rail.card, False)
    hold = await connector.authorize(session, request(card("4242424242424242"), capture=False))
    assert hold.status == "succeeded"
    too_much = await connector.capture(session, "cap_0", hold.reference, 10_001)
    assert too_much.failure_code == "amount_too_large"
    captured = await connector.capture(session, "cap_1", hold.reference, 6_000)
    assert (captured.status, captured.amount_minor) == ("succeeded", 6_000)
    assert await connector.capture(session, "cap_1", hold.reference, 6_000) == captured
    again = await connector.capture(session, "cap_2", hold.reference, 1_000)
    assert again.failure_code == "charge_not_capturable"  # the rest was released
    first = await connector.refund(session, "re_1", hold.reference, 4_000)
    second = await connector.refund(session, "re_2", hold.reference, 1_500)
    assert first.status == second.status == "succeeded"
    over = await connector.refund(session, "re_3", hold.reference, 501)
    assert over.status == "failed" and over.failure_code == "amount_too_large"
    last = await connector.refund(session, "re_4", hold.reference, 500)
    assert last.status == "succeeded"
    done = await connector.refund(session, "re_5", hold.reference, 1)
    assert done.failure_code == "charge_already_refunded"
    assert await connector.refund(session, "re_1", hold.reference, 4_000) == first
    with pytest.raises(RailRequestIdReusedError):
        await connector.refund(session, "re_1", hold.reference, 4_001)


async def test_void_releases_a_hold_but_not_a_capture(session: AsyncSession) -> None:
    connector = service.connector_for(Rail.card, False)
    hold = await connector.authorize(session, request(card("4242424242424242"), capture=False))
    voided = await connector.void(session, "void_1", hold.reference)
    assert voided.status == "succeeded"
    assert (await connector.capture(session, "cap_1", hold.reference, 100)).status == "failed"
    charged = await connector.authorize(session, request(card("4242424242424242"), request_id="c2"))
    refused = await connector.void(session, "void_2", charged.reference)
    assert refused.failure_code == "charge_not_voidable"


async def test_three_d_secure_requires_action_with_a_page(session: AsyncSession) -> None:
    connector = service.connector_for(Rail.card, False)
    for number in ("4000002500003155", "4000000000003063", "4000000000003220", "4000008400001629"):
        outcome = await connector.authorize(session, request(card(number), request_id=number))
        assert outcome.status == "requires_action"
        assert outcome.action_type == "redirect_to_url"
        assert outcome.action_url is not None
        assert outcome.action_url.startswith("http://payer.test:8000/sandbox/3ds/")
        status = await connector.status(session, outcome.reference)
        assert status.status == "requires_action" and status.action_url == outcome.action_url


async def test_refund_fails_asynchronously(
    database: Database, clock: FrozenClock, heard: Heard
) -> None:
    connector = service.connector_for(Rail.card, False)
    async with rail_caller(database) as session:
        charge = await connector.authorize(session, request(card("4000000000005126")))
        assert charge.status == "succeeded"
        refund = await connector.refund(session, "re_1", charge.reference, 10_000)
        assert refund.status == "pending" and refund.check_after is not None
    await deliver_callback_on(database, refund.reference, 1)  # too early: nothing yet
    assert heard.outcomes == []
    clock.advance(5)
    await deliver_callback_on(database, refund.reference, 1)
    await deliver_callback_on(database, refund.reference, 1)  # the job ran twice
    assert len(heard.outcomes) == 1
    failed = heard.outcomes[0]
    assert (failed.operation, failed.status, failed.reference) == (
        "refund",
        "failed",
        refund.reference,
    )
    assert failed.decline_code == "expired_or_canceled_card"
    async with rail_caller(database) as session:
        assert (await connector.status(session, refund.reference)).status == "failed"
        # The money never left: the whole amount can be refunded again.
        retried = await connector.refund(session, "re_2", charge.reference, 10_000)
        assert retried.status == "pending"
