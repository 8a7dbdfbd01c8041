"""Latency and failure settings are honoured; no card number or VPA is stored in clear."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.rails import service
from beyondpay.rails.protocol import Rail
from beyondpay.rails.sandbox.config import CONFIG
from tests.rails.conftest import bank, card, request, sandbox_settings, upi
from tests.support import ring_for_tests


async def test_latency_is_slept(session: AsyncSession) -> None:
    service.configure(sandbox_settings(sandbox_card_latency_ms="120-150"), ring=ring_for_tests())
    started = time.monotonic()
    await service.connector_for(Rail.card, False).authorize(
        session, request(card("4242424242424242"))
    )
    assert 0.12 <= time.monotonic() - started < 1.0


async def test_failure_rates(session: AsyncSession) -> None:
    service.configure(
        sandbox_settings(
            sandbox_card_failure_rate=1.0,
            sandbox_netbanking_failure_rate=1.0,
            sandbox_upi_failure_rate=1.0,
        ),
        ring=ring_for_tests(),
    )
    carded = await service.connector_for(Rail.card, False).authorize(
        session, request(card("4242424242424242"))
    )
    assert carded.failure_code == "processing_error"
    banked = await service.connector_for(Rail.netbanking, False).authorize(
        session, request(bank("HDFC"))
    )
    assert banked.failure_code == "bank_unavailable"
    codes = set()
    for index in range(12):
        outcome = await service.connector_for(Rail.upi, False).authorize(
            session, request(upi("success@sandbox"), request_id=f"u{index}")
        )
        codes.add(outcome.code)
    assert codes == {"U30", "RB"}


def test_seeded_draws_repeat() -> None:
    draws = []
    for _ in range(2):
        service.configure(
            sandbox_settings(sandbox_card_failure_rate=0.5, sandbox_random_seed=42),
            ring=ring_for_tests(),
        )
        draws.append([CONFIG.current().fails_technically(Rail.card) for _ in range(32)])
    assert draws[0] == draws[1] and True in draws[0] and False in draws[0]


def test_settings_refuse_bad_ranges() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        sandbox_settings(sandbox_upi_latency_ms="fast")
    with pytest.raises(ValidationError):
        sandbox_settings(sandbox_card_failure_rate=1.5)


async def test_no_card_number_or_vpa_in_clear(session: AsyncSession) -> None:
    secrets = ["4242424242424242", "4000002500003155", "success@sandbox", "shopper.one@okhdfc"]
    connector = service.connector_for(Rail.card, False)
    await connector.authorize(session, request(card(secrets[0]), request_id="a"))
    await connector.authorize(session, request(card(secrets[1]), request_id="b"))
    upi_connector = service.connector_for(Rail.upi, False)
    await upi_connector.authorize(session, request(upi(secrets[2]), request_id="c"))
    await upi_connector.authorize(session, request(upi(secrets[3]), request_id="d"))
    dump = await session.execute(
        text(
            "SELECT string_agg(t::text, ' ') FROM ("
            " SELECT row_to_json(o)::text AS t FROM sandbox_rail_operations o"
            " UNION ALL SELECT row_to_json(a)::text FROM ledger_accounts a"
            " UNION ALL SELECT row_to_json(x)::text FROM ledger_transfers x"
            " UNION ALL SELECT row_to_json(j)::text FROM procrastinate_jobs j) rows"
        )
    )
    everything = dump.scalar_one()
    assert "s******@sandbox" in everything  # the masked form is there...
    for secret in secrets:
        assert secret not in everything  # ...never the value
