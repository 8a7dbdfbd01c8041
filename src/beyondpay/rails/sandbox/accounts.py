"""The sandbox banks as a PSP sees them: a payer's accounts discovered by mobile number, the
debit card that proves the payer holds one, and its balance.

The rules are deterministic (``rails.domain.accounts_of_mobile``, documented in
docs/operations.md) so tests choose what they get by the mobile number. The mobile number is
personal data: it reaches the ledger only inside a keyed fingerprint (the account's id), and an
account's number is shown masked, its digits derived from that id.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.crypto import KeyRing
from beyondpay.rails.domain import (
    DEBIT_CARD_DIGITS_CHECKED,
    MOBILE_DIGITS,
    SANDBOX_BANKS,
    accounts_of_mobile,
    debit_card_expiry_matches,
    mask_account_number,
)
from beyondpay.rails.errors import RailAccountUnknownError, RailParameterInvalidError
from beyondpay.rails.protocol import BankAccountInfo
from beyondpay.rails.sandbox import banks

HOLDER_NAME_CHARS_MAX: Final = 100
_DEBIT_CARD_CONTEXT: Final = "rails.sandbox.debit_card:"


def _mobile(mobile: SecretStr) -> str:
    number = mobile.get_secret_value()
    if len(number) != MOBILE_DIGITS or not number.isascii() or not number.isdigit():
        raise RailParameterInvalidError("A mobile number is 10 digits.", param="mobile")
    return number


def holder(mobile_number: str) -> SecretStr:
    """What names the payer at every sandbox bank (fingerprinted, never stored)."""
    return SecretStr(f"mobile:{mobile_number}")


def _info(bank: str, account_id: str, holder_name: str) -> BankAccountInfo:
    known = SANDBOX_BANKS[bank]
    return BankAccountInfo(
        bank=bank,
        bank_name=known.name,
        ifsc=known.ifsc,
        account_ref=account_id,
        account_number_masked=mask_account_number(hashlib.sha256(account_id.encode()).digest()),
        account_type="savings",
        holder_name=holder_name,
    )


async def discover_accounts(
    session: AsyncSession, ring: KeyRing, mobile: SecretStr, holder_name: str
) -> list[BankAccountInfo]:
    """The payer's savings accounts at the sandbox banks, opened (once) on first discovery: the
    same mobile number always finds the same accounts, funded once."""
    number = _mobile(mobile)
    name = " ".join(holder_name.split())
    if not 0 < len(name) <= HOLDER_NAME_CHARS_MAX:
        raise RailParameterInvalidError(
            f"The holder's name must be 1 to {HOLDER_NAME_CHARS_MAX} characters.",
            param="holder_name",
        )
    found = []
    for account in accounts_of_mobile(number):
        account_id = await banks.open_payer_account(
            session,
            ring,
            account.bank,
            holder(number),
            opening_balance_minor=account.opening_balance_minor,
        )
        found.append(_info(account.bank, account_id, name))
    return found


def verify_debit_card(
    ring: KeyRing,
    mobile: SecretStr,
    bank: str,
    last6: SecretStr,
    expiry_month: int,
    expiry_year: int,
) -> bool:
    """Whether the payer holds the debit card of their account at ``bank``: it ends in the last
    6 digits of the mobile number and expires 12/2030. The digits are compared as keyed
    digests of equal length, in constant time."""
    if bank not in SANDBOX_BANKS:
        raise RailParameterInvalidError("No such sandbox bank.", param="bank")
    number = _mobile(mobile)
    has_account = any(account.bank == bank for account in accounts_of_mobile(number))
    digits = number[-DEBIT_CARD_DIGITS_CHECKED:]
    expected = ring.fingerprint(f"{_DEBIT_CARD_CONTEXT}{bank}:{digits}")
    offered = ring.fingerprint(f"{_DEBIT_CARD_CONTEXT}{bank}:{last6.get_secret_value()}")
    digits_match = hmac.compare_digest(expected, offered)
    return digits_match and has_account and debit_card_expiry_matches(expiry_month, expiry_year)


async def account_balance(session: AsyncSession, account_ref: str) -> int:
    """The posted balance of a payer's account, in minor units."""
    balances = await banks.payer_balances(session, [account_ref])
    if account_ref not in balances:
        raise RailAccountUnknownError(param="account_ref")
    return balances[account_ref]
