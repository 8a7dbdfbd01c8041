"""Sandbox net banking: banks, the one that is down, INR only."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.rails import service
from beyondpay.rails.errors import RailCurrencyUnsupportedError, RailInstrumentInvalidError
from beyondpay.rails.protocol import Rail
from tests.rails.conftest import bank, request


@pytest.mark.parametrize("code", ["HDFC", "ICIC", "SBIN", "UTIB", "kkbk"])
async def test_banks_send_the_payer_to_their_page(session: AsyncSession, code: str) -> None:
    outcome = await service.connector_for(Rail.netbanking, False).authorize(
        session, request(bank(code))
    )
    assert (outcome.status, outcome.action_type) == ("requires_action", "redirect_to_url")
    assert outcome.reference.startswith("nb_ref_")
    assert outcome.details["bank"] == code.upper()


async def test_the_down_bank_fails(session: AsyncSession) -> None:
    outcome = await service.connector_for(Rail.netbanking, False).authorize(
        session, request(bank("SBXD"))
    )
    assert (outcome.status, outcome.code, outcome.failure_code) == (
        "failed",
        "bank_unavailable",
        "bank_unavailable",
    )


async def test_unknown_bank_and_currency(session: AsyncSession) -> None:
    connector = service.connector_for(Rail.netbanking, False)
    with pytest.raises(RailInstrumentInvalidError):
        await connector.authorize(session, request(bank("NOPE")))
    with pytest.raises(RailCurrencyUnsupportedError):
        await connector.authorize(session, request(bank("HDFC"), currency="eur"))
