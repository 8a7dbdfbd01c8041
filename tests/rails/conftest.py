"""Fixtures of the rails' tests: the sandbox configured from known settings, a frozen clock,
and a recording outcome handler."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock
from beyondpay.kit.settings import Settings
from beyondpay.rails import service
from beyondpay.rails.protocol import (
    AuthorizeRequest,
    CardInstrument,
    Instrument,
    NetbankingInstrument,
    RailOutcome,
    UpiInstrument,
)
from beyondpay.rails.sandbox import config
from tests.support import TEST_RING_TEXT, ring_for_tests

START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
MERCHANT = "acct_sandboxtest"


def sandbox_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "secret_keys": TEST_RING_TEXT,
        "sandbox_upi_approval_delay_s": 2.0,
        "sandbox_random_seed": 7,
        "public_url": "http://payer.test:8000",
        "rate_limits_enabled": False,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(autouse=True)
def sandbox() -> Iterator[None]:
    service.configure(sandbox_settings(), ring=ring_for_tests())
    yield
    config.CONFIG.reset()


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    with use_clock(FrozenClock(START)) as frozen:
        assert isinstance(frozen, FrozenClock)
        yield frozen


class Heard:
    """Every outcome the rails reported by themselves, and whether a transaction was open."""

    def __init__(self) -> None:
        self.outcomes: list[RailOutcome] = []

    async def __call__(self, session: AsyncSession, outcome: RailOutcome) -> None:
        assert session.in_transaction()
        self.outcomes.append(outcome)


@pytest.fixture
def heard() -> Iterator[Heard]:
    handler = Heard()
    service.on_outcome(handler)
    yield handler
    service.off_outcome(handler)


def card(number: str, exp_year: int = 2030) -> CardInstrument:
    return CardInstrument(number=SecretStr(number), exp_month=12, exp_year=exp_year)


def upi(vpa: str | None) -> UpiInstrument:
    return UpiInstrument(vpa=SecretStr(vpa) if vpa is not None else None)


def bank(code: str) -> NetbankingInstrument:
    return NetbankingInstrument(bank=code)


def request(
    instrument: Instrument,
    amount_minor: int = 10_000,
    *,
    request_id: str = "ch_1",
    currency: str = "inr",
    capture: bool = True,
    return_url: str | None = None,
) -> AuthorizeRequest:
    return AuthorizeRequest(
        request_id=request_id,
        merchant_id=MERCHANT,
        livemode=False,
        amount_minor=amount_minor,
        currency=currency,
        instrument=instrument,
        capture=capture,
        return_url=return_url,
    )


@asynccontextmanager
async def rail_caller(database: Database) -> AsyncIterator[AsyncSession]:
    """A session outside any transaction, as a rail's caller hands it over (``rails.protocol``):
    each rail operation runs in a transaction of its own on it; what the test itself writes is
    committed at the end."""
    async with database.sessionmaker() as unit:
        yield unit
        await unit.commit()


@pytest.fixture
async def session(database: Database) -> AsyncIterator[AsyncSession]:
    """A session outside any transaction, as a rail's caller hands it over (``rails.protocol``):
    each rail operation runs in a transaction of its own on it."""
    async with database.sessionmaker() as unit:
        yield unit
        await unit.commit()
