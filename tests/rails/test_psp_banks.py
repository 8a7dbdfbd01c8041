"""The sandbox banks as the PSP sees them: accounts discovered by mobile number, the debit card
that proves the payer holds one, and balances; the mobile number never stored."""

from __future__ import annotations

import base64
import re
import secrets

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.session import Database
from beyondpay.kit.crypto import KeyRing
from beyondpay.rails import service
from beyondpay.rails.domain import (
    IFSC_PATTERN,
    OPENING_BALANCE_MINOR,
    SMALL_OPENING_BALANCE_MINOR,
    accounts_of_mobile,
)
from beyondpay.rails.errors import RailAccountUnknownError, RailParameterInvalidError
from beyondpay.rails.sandbox import banks
from tests.rails.conftest import rail_caller
from tests.support import TEST_RING_TEXT, ring_for_tests

EVEN = "9876543212"  # accounts at sbx1 and sbx2
ODD = "9876543213"  # sbx1 only
SMALL = "9876543211"  # sbx1 only, ₹500
NONE = "9876540000"  # no account anywhere


@pytest.mark.parametrize(
    ("mobile", "expected"),
    [
        (EVEN, [("sbx1", OPENING_BALANCE_MINOR), ("sbx2", OPENING_BALANCE_MINOR)]),
        (ODD, [("sbx1", OPENING_BALANCE_MINOR)]),
        (SMALL, [("sbx1", SMALL_OPENING_BALANCE_MINOR)]),
        (NONE, []),
        ("9876501000", [("sbx1", OPENING_BALANCE_MINOR), ("sbx2", OPENING_BALANCE_MINOR)]),
    ],
)
def test_discovery_rules(mobile: str, expected: list[tuple[str, int]]) -> None:
    found = accounts_of_mobile(mobile)
    assert [(account.bank, account.opening_balance_minor) for account in found] == expected


def test_the_banks() -> None:
    listed = service.sandbox_banks()
    assert [(bank.code, bank.ifsc) for bank in listed] == [
        ("sbx1", "SBXA0000001"),
        ("sbx2", "SBXB0000001"),
    ]
    assert all(IFSC_PATTERN.match(bank.ifsc) and bank.name for bank in listed)
    assert banks.SANDBOX_BANK == "sbx1"  # still the bank behind @sandbox VPAs


async def _discover(
    database: Database, mobile: str, name: str = "Asha  Rao", ring: KeyRing | None = None
) -> list[service.BankAccountInfo]:
    async with rail_caller(database) as session:
        return await service.discover_accounts(
            session, ring or ring_for_tests(), SecretStr(mobile), name
        )


async def _opening_transfers(database: Database, account_ref: str) -> int:
    async with rail_caller(database) as session:
        count = await session.execute(
            text("SELECT count(*) FROM ledger_transfers WHERE credit_account_id = :account"),
            {"account": account_ref},
        )
        return int(count.scalar_one())


async def test_discovery_is_deterministic_and_idempotent(database: Database) -> None:
    first = await _discover(database, EVEN)
    again = await _discover(database, EVEN)
    assert first == again
    assert [(info.bank, info.bank_name, info.ifsc) for info in first] == [
        ("sbx1", "Sandbox Bank A", "SBXA0000001"),
        ("sbx2", "Sandbox Bank B", "SBXB0000001"),
    ]
    for info in first:
        assert info.account_type == "savings" and info.holder_name == "Asha Rao"
        assert re.fullmatch(r"X{8}[0-9]{4}", info.account_number_masked)
        assert await _opening_transfers(database, info.account_ref) == 1
        async with rail_caller(database) as session:
            balance = await service.account_balance(session, info.account_ref)
        assert balance == OPENING_BALANCE_MINOR
    assert first[0].account_ref != first[1].account_ref
    # A rotated ring still finds the accounts opened under the old key.
    rotated = KeyRing.parse(
        "t2:" + base64.b64encode(secrets.token_bytes(32)).decode() + "," + TEST_RING_TEXT
    )
    assert await _discover(database, EVEN, ring=rotated) == first


async def test_small_and_empty_mobiles(database: Database) -> None:
    [small] = await _discover(database, SMALL)
    async with rail_caller(database) as session:
        assert await service.account_balance(session, small.account_ref) == 500_00
    assert await _discover(database, NONE) == []
    assert [info.bank for info in await _discover(database, ODD)] == ["sbx1"]


async def test_the_mobile_number_is_never_stored(database: Database) -> None:
    for mobile in (EVEN, ODD):
        await _discover(database, mobile)
    async with rail_caller(database) as session:
        for table in ("ledger_accounts", "ledger_transfers"):
            found = await session.execute(
                text(f"SELECT count(*) FROM {table} t WHERE t::text ~ '98765432'")
            )
            assert found.scalar_one() == 0, table


async def test_discovery_refuses_bad_input(database: Database) -> None:
    fullwidth_nines = "\uff19" * 10  # digits to str.isdigit, but not ASCII
    for mobile in ("98765", "98765432100", "98765x3210", fullwidth_nines):
        with pytest.raises(RailParameterInvalidError) as raised:
            await _discover(database, mobile)
        assert raised.value.param == "mobile" and mobile not in raised.value.message
    with pytest.raises(RailParameterInvalidError) as raised:
        await _discover(database, EVEN, name="   ")
    assert raised.value.param == "holder_name"


@pytest.mark.parametrize(
    ("mobile", "bank", "last6", "month", "year", "expected"),
    [
        (EVEN, "sbx1", "543212", 12, 2030, True),
        (EVEN, "sbx2", "543212", 12, 2030, True),
        (EVEN, "sbx1", "543213", 12, 2030, False),  # wrong digits
        (EVEN, "sbx1", "43212", 12, 2030, False),  # too few
        (EVEN, "sbx1", "543212", 11, 2030, False),  # wrong expiry
        (EVEN, "sbx1", "543212", 12, 2031, False),
        (ODD, "sbx2", "543213", 12, 2030, False),  # no account at that bank
        (NONE, "sbx1", "540000", 12, 2030, False),  # no account anywhere
    ],
)
def test_debit_card(
    mobile: str, bank: str, last6: str, month: int, year: int, expected: bool
) -> None:
    verified = service.verify_debit_card(
        ring_for_tests(), SecretStr(mobile), bank, SecretStr(last6), month, year
    )
    assert verified is expected


def test_debit_card_of_an_unknown_bank() -> None:
    with pytest.raises(RailParameterInvalidError) as raised:
        service.verify_debit_card(
            ring_for_tests(), SecretStr(EVEN), "HDFC", SecretStr("543212"), 12, 2030
        )
    assert raised.value.param == "bank"


async def test_balance_of_what_is_not_a_payer_account(session: AsyncSession) -> None:
    for reference in ("bank:sbx1:upi_settlement", "bank:sbx1:payer:" + "0" * 32, "nonsense"):
        with pytest.raises(RailAccountUnknownError):
            await service.account_balance(session, reference)
