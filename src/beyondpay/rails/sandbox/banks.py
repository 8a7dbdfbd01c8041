"""Sandbox banks: payers' accounts in each bank's own ledger namespace (``bank:<code>``).

The banks are ``rails.domain.SANDBOX_BANKS`` (sbx1 is the bank behind @sandbox VPAs).

Each bank has a ``funding`` account (its capital: where payers' opening balances come from) and
its settlement with the UPI switch (what it owes or is owed), spread over
``SETTLEMENT_ACCOUNTS_PER_BANK`` sub-accounts of code ``upi_settlement``: a payment moves through
the one its payer's account hashes to, so that payments of different payers of one bank do not
queue on one account row. The bank's settlement position is the sum of its sub-accounts
(:func:`settlement_account_ids`). A payer's account has ``debits_must_not_exceed_credits``: a
payment the payer cannot afford is refused by the ledger itself (``exceeds_credits``, NPCI's Z9).
Every transfer stays inside one bank's ledger, so each bank's books balance on their own.

A payer is known by a keyed fingerprint of what names them (a VPA here; a mobile number when the
PSP links bank accounts), never by the value: ``open_payer_account`` finds or opens the account,
``move_between`` moves money between two accounts of one bank, and ``push_between`` pays from one
payer's account to another's (at the same bank or another) in one linked ledger batch. A bank's
own accounts are created with its first payer's account, and a move makes sure of them once per
process and database, not on every move.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.invariants import invariant
from beyondpay.ledger.domain import (
    AccountFlags,
    CreateAccountResult,
    CreateTransferResult,
    NewAccount,
    Transfer,
    TransferFlags,
)
from beyondpay.ledger.service import ledger_service
from beyondpay.rails.domain import SANDBOX_BANK_PRIMARY, SANDBOX_BANKS

SANDBOX_BANK: Final = SANDBOX_BANK_PRIMARY  # the bank behind the @sandbox handle
CURRENCY: Final = "inr"
OPENING_BALANCE_MINOR_DEFAULT: Final = 1_00_000_00  # ₹1,00,000
_FINGERPRINT_BYTES: Final = 16  # 128 bits of the fingerprint name the account
_ACCOUNT_OK: Final = {CreateAccountResult.ok, CreateAccountResult.exists}
_TRANSFER_OK: Final = {CreateTransferResult.ok, CreateTransferResult.exists}
_PAYER_ACCOUNT_ID: Final = re.compile(r"^bank:([a-z0-9]+):payer:([0-9a-f]{32})$")
# A bank's settlement with the switch is this many account rows: a push locks the one its
# payer's account hashes to, so concurrent payers of one bank rarely meet on a row.
SETTLEMENT_ACCOUNTS_PER_BANK: Final = 16


def bank_ledger(bank: str) -> str:
    return f"bank:{bank}"


def funding_account_id(bank: str) -> str:
    return f"bank:{bank}:funding"


def settlement_account_id(bank: str, payer_account_id: str) -> str:
    """The bank's settlement sub-account that the payments of ``payer_account_id`` go through
    (a stable hash of the payer's account id: the same payer, the same sub-account)."""
    digest = hashlib.blake2b(payer_account_id.encode(), digest_size=8).digest()
    return _settlement_account_id(
        bank, int.from_bytes(digest, "big") % SETTLEMENT_ACCOUNTS_PER_BANK
    )


def settlement_account_ids(bank: str) -> list[str]:
    """All of the bank's settlement sub-accounts: their sum is its position with the switch."""
    return [_settlement_account_id(bank, index) for index in range(SETTLEMENT_ACCOUNTS_PER_BANK)]


def _settlement_account_id(bank: str, index: int) -> str:
    return f"bank:{bank}:upi_settlement:{index:02d}"


def _payer_account_id(bank: str, fingerprint: bytes) -> str:
    return f"bank:{bank}:payer:{fingerprint[:_FINGERPRINT_BYTES].hex()}"


def payer_account_bank(account_id: str) -> str | None:
    """The bank of a payer's account id, or ``None`` when it names no sandbox payer account
    (checks the form only: whether the account exists is the ledger's to say)."""
    match = _PAYER_ACCOUNT_ID.match(account_id)
    if match is None or match.group(1) not in SANDBOX_BANKS:
        return None
    return match.group(1)


def bank_of(account_id: str) -> str:
    prefix, bank, _ = account_id.split(":", 2)
    invariant(prefix == "bank", "a sandbox bank account id starts with bank:")
    return bank


async def _create_accounts(session: AsyncSession, accounts: list[NewAccount]) -> None:
    results = await ledger_service.create_accounts(session, accounts)
    invariant(all(result in _ACCOUNT_OK for result in results), f"bank accounts: {results}")


def _bank_accounts(bank: str) -> list[NewAccount]:
    ledger = bank_ledger(bank)
    return [
        NewAccount(funding_account_id(bank), ledger, CURRENCY, "bank_funding"),
        *(
            NewAccount(account_id, ledger, CURRENCY, "upi_settlement")
            for account_id in settlement_account_ids(bank)
        ),
    ]


async def _ensure_bank_accounts(session: AsyncSession, banks: set[str]) -> None:
    """The banks' own accounts, created if missing (the ledger remembers, per process, those
    found committed). A bank's first payer's account creates them too: this covers a database
    from before a change of the chart."""
    await ledger_service.ensure_accounts(
        session, [account for bank in sorted(banks) for account in _bank_accounts(bank)]
    )


async def find_payer_account(
    session: AsyncSession, ring: KeyRing, bank: str, holder: SecretStr
) -> str | None:
    """The payer's account at ``bank``, under any key of the ring (it may have rotated)."""
    candidates = [
        _payer_account_id(bank, fingerprint)
        for fingerprint in ring.fingerprints(holder.get_secret_value())
    ]
    found = await ledger_service.get_accounts(session, candidates)
    return next((account_id for account_id in candidates if account_id in found), None)


async def open_payer_account(
    session: AsyncSession,
    ring: KeyRing,
    bank: str,
    holder: SecretStr,
    *,
    opening_balance_minor: int = OPENING_BALANCE_MINOR_DEFAULT,
) -> str:
    """The payer's account at ``bank``: found, or opened and funded from the bank's capital.
    ``holder`` names the payer (prefix it with its kind: ``vpa:…``, ``mobile:…``)."""
    invariant(opening_balance_minor > 0, "a payer's account opens with money in it")
    existing = await find_payer_account(session, ring, bank, holder)
    if existing is not None:
        return existing
    account_id = _payer_account_id(bank, ring.fingerprint(holder.get_secret_value()))
    payer = NewAccount(
        account_id,
        bank_ledger(bank),
        CURRENCY,
        "payer_deposit",
        AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
    )
    await _create_accounts(session, [*_bank_accounts(bank), payer])
    funding = Transfer(
        id=f"fund:{account_id}",
        debit_account_id=funding_account_id(bank),
        credit_account_id=account_id,
        amount=opening_balance_minor,
        currency=CURRENCY,
        code="opening_balance",
    )
    [result] = await ledger_service.create_transfers(session, [funding])
    invariant(result in _TRANSFER_OK, f"opening balance: {result}")
    return account_id


async def move_between(
    session: AsyncSession,
    transfer_id: str,
    debit_account_id: str,
    credit_account_id: str,
    amount_minor: int,
    *,
    code: str,
) -> CreateTransferResult:
    """Move money between two accounts of one sandbox bank; the ledger's result is returned
    (``exceeds_credits`` when the payer cannot afford it). Idempotent by ``transfer_id``."""
    invariant(
        bank_of(debit_account_id) == bank_of(credit_account_id),
        "a sandbox bank's transfer stays inside its own books",
    )
    await _ensure_bank_accounts(session, {bank_of(debit_account_id)})
    transfer = Transfer(
        id=transfer_id,
        debit_account_id=debit_account_id,
        credit_account_id=credit_account_id,
        amount=amount_minor,
        currency=CURRENCY,
        code=code,
    )
    [result] = await ledger_service.create_transfers(session, [transfer])
    return result


async def push_between(
    session: AsyncSession,
    transfer_id_prefix: str,
    payer_account_id: str,
    payee_account_id: str,
    amount_minor: int,
    *,
    code: str,
) -> CreateTransferResult:
    """A payer pays a payee: the payer's bank debits the payer to its settlement and the
    payee's bank credits the payee from its own, in one linked ledger batch (both or neither).
    The result is the debit's: ``exceeds_credits`` when the payer cannot afford it (then
    nothing moved on either side). Idempotent by ``transfer_id_prefix``."""
    payer_bank, payee_bank = bank_of(payer_account_id), bank_of(payee_account_id)
    await _ensure_bank_accounts(session, {payer_bank, payee_bank})
    debit = Transfer(
        id=f"{transfer_id_prefix}:debit",
        debit_account_id=payer_account_id,
        credit_account_id=settlement_account_id(payer_bank, payer_account_id),
        amount=amount_minor,
        currency=CURRENCY,
        code=code,
        flags=TransferFlags.LINKED,
    )
    credit = Transfer(
        id=f"{transfer_id_prefix}:credit",
        debit_account_id=settlement_account_id(payee_bank, payer_account_id),
        credit_account_id=payee_account_id,
        amount=amount_minor,
        currency=CURRENCY,
        code=code,
    )
    debited, credited = await ledger_service.create_transfers(session, [debit, credit])
    if debited in _TRANSFER_OK:
        invariant(credited in _TRANSFER_OK, f"a push's credit goes with its debit: {credited}")
    else:
        invariant(
            credited == CreateTransferResult.linked_event_failed,
            f"a push's credit fails with its debit: {debited}, {credited}",
        )
    return debited


async def payer_balances(session: AsyncSession, account_ids: list[str]) -> dict[str, int]:
    """The posted balance of each of ``account_ids`` that is a payer's account at a sandbox bank
    (the others are left out: the caller says which parameter named no account)."""
    wanted = [account_id for account_id in account_ids if payer_account_bank(account_id)]
    found = await ledger_service.get_accounts(session, wanted) if wanted else {}
    return {
        account_id: account.credits_posted - account.debits_posted
        for account_id, account in found.items()
        if account.code == "payer_deposit"
    }
