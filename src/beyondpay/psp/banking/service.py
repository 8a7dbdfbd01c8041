"""PSP banking use cases: discovering, linking and unlinking bank accounts, the UPI PIN, balance
inquiries and the PIN check of a debit. Never commits.

Other parts of the PSP reach banking only through ``bank_account_service``.

Counting tries: a wrong PIN or a wrong debit card is written (under the row's lock) in the
caller's transaction before the refusal is raised, so the caller must commit it: routes render a
:class:`~beyondpay.psp.banking.errors.CountedRefusalError` as their answer instead of letting it
roll the transaction back (see ``errors``). Two wrong entries racing each other are counted one
after the other on the PIN's row lock; the Argon2id check runs in a thread under that lock (it
lets go of the GIL), so one PIN's checks queue while other payers' run.

Serialising a payer's links: linking, unlinking and moving the primary take a transaction-scoped
advisory lock on the payer, so "the first account becomes primary" and "one linked row per
account" hold under concurrent requests without a unique-violation 500.

Events (``events.py``) are recorded in the payer's own scope, like identity's.
"""

from __future__ import annotations

import asyncio
import builtins
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from pydantic import SecretStr
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import unreachable
from beyondpay.psp.banking.domain import (
    CARD_LAST_DIGITS,
    CARD_TRIES_MAX,
    PIN_TRIES_MAX,
    CardCheckState,
    PinProblem,
    after_card_check,
    after_pin_entry,
    card_checks_locked,
    card_expiry_problem,
    pin_problem,
)
from beyondpay.psp.banking.errors import (
    BankAccountAlreadyLinkedError,
    BankAccountMissingError,
    BankAccountsLimitError,
    BankUnknownError,
    CardChecksLockedError,
    CardDigitsInvalidError,
    CardExpiryInvalidError,
    CardVerificationFailedError,
    DiscoveredAccountAmbiguousError,
    DiscoveredAccountMissingError,
    PinInvalidError,
    PinLockedError,
    PinNotSetError,
    PinRejectedError,
)
from beyondpay.psp.banking.events import BankingEvent, record
from beyondpay.psp.banking.models import BankAccountRow, CardCheckRow, UpiPinRow
from beyondpay.psp.banking.pins import PinHash, hash_pin, needs_rehash, verify_pin
from beyondpay.psp.banking.schemas import (
    LinkParams,
    PinChangeParams,
    PinSetParams,
    PinState,
)
from beyondpay.psp.identity.errors import PayerFrozenError
from beyondpay.psp.identity.service import PayerRow, payer_service
from beyondpay.rails.protocol import BankAccountInfo
from beyondpay.rails.service import account_balance, discover_accounts, verify_debit_card

__all__ = ["BankAccountRow", "Discovered", "bank_account_service"]

# Accounts a payer may have linked at once: more is a mistake or an abuse.
LINKED_ACCOUNTS_MAX: Final = 8
BALANCE_CURRENCY: Final = "inr"
_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))")


@dataclass(frozen=True, slots=True)
class Discovered:
    """An account the banks hold for the payer's mobile number, and where it stands here."""

    info: BankAccountInfo
    linked: bool
    pin: PinState


async def _lock_payer(session: AsyncSession, payer_id: str) -> None:
    await session.execute(_LOCK, {"name": f"psp_banking:{payer_id}"})


def _pin_state(row: UpiPinRow | None) -> PinState:
    if row is None:
        return PinState.not_set
    return PinState.locked if row.locked_at is not None else PinState.set


def _check_pin_shape(pin: SecretStr, param: str, *, avoid: Sequence[str] = ()) -> None:
    problem = pin_problem(pin.get_secret_value(), avoid=avoid)
    if problem is not None:
        raise PinRejectedError.for_problem(problem, param)


def _check_entered_pin(pin: SecretStr, param: str) -> None:
    """A PIN entered to authorize something: only its form is checked (a weak PIN set before
    the rules tightened must still work), and a malformed one is bad input, not a wrong try."""
    problem = pin_problem(pin.get_secret_value())
    if problem in (PinProblem.not_digits, PinProblem.wrong_length):
        raise PinRejectedError.for_problem(problem, param)


def _check_card_shape(last6: SecretStr, month: int, year: int) -> None:
    digits = last6.get_secret_value()
    if len(digits) != CARD_LAST_DIGITS or not digits.isascii() or not digits.isdigit():
        raise CardDigitsInvalidError(
            f"card_last6 must be the last {CARD_LAST_DIGITS} digits of the debit card.",
            param="card_last6",
        )
    param = card_expiry_problem(month, year, utcnow())
    if param is not None:
        raise CardExpiryInvalidError(
            "The debit card's expiry is not a valid month and year in the future.", param=param
        )


def _stored_hash(row: UpiPinRow) -> PinHash:
    return PinHash(row.pin_hash, row.pin_salt, row.pepper_key_id, row.hash_parameters)


def _store_hash(row: UpiPinRow, fresh: PinHash) -> None:
    row.pin_hash, row.pin_salt = fresh.digest, fresh.salt
    row.pepper_key_id, row.hash_parameters = fresh.key_id, fresh.parameters


class BankAccountService:
    async def list(self, session: AsyncSession, payer_id: str) -> list[BankAccountRow]:
        """The payer's linked accounts, oldest first."""
        found = await session.execute(
            select(BankAccountRow)
            .where(BankAccountRow.payer_id == payer_id, BankAccountRow.status == "active")
            .order_by(BankAccountRow.id)
            .limit(LINKED_ACCOUNTS_MAX)
        )
        return list(found.scalars())

    async def get(
        self, session: AsyncSession, payer_id: str, bank_account_id: str
    ) -> BankAccountRow:
        """One of the payer's linked accounts; any other id (another payer's, an unlinked
        one) is 404 ``resource_missing`` naming ``bank_account``."""
        row = await session.get(BankAccountRow, bank_account_id)
        if row is None or row.payer_id != payer_id or row.status != "active":
            raise BankAccountMissingError.for_id(bank_account_id)
        return row

    async def primary(self, session: AsyncSession, payer_id: str) -> BankAccountRow | None:
        found = await session.execute(
            select(BankAccountRow).where(
                BankAccountRow.payer_id == payer_id, BankAccountRow.is_primary.is_(True)
            )
        )
        return found.scalars().first()

    async def pin_states(
        self, session: AsyncSession, account_refs: Sequence[str]
    ) -> dict[str, PinState]:
        """Where the UPI PIN of each account stands (not set, set, locked)."""
        found = await session.execute(
            select(UpiPinRow).where(UpiPinRow.account_ref.in_(list(account_refs)))
        )
        pins = {row.account_ref: row for row in found.scalars()}
        return {ref: _pin_state(pins.get(ref)) for ref in account_refs}

    async def pin_state(self, session: AsyncSession, row: BankAccountRow) -> PinState:
        return (await self.pin_states(session, [row.account_ref]))[row.account_ref]

    async def _active_payer(self, session: AsyncSession, payer_id: str) -> PayerRow:
        payer = await payer_service.get(session, payer_id)
        if payer_service.is_frozen(payer):
            raise PayerFrozenError()
        return payer

    async def discover(
        self, session: AsyncSession, ring: KeyRing, payer_id: str
    ) -> builtins.list[Discovered]:
        """The payer's accounts at the banks, found by their registered mobile number (the
        sandbox banks open them on first discovery, which is why this is a POST)."""
        payer = await self._active_payer(session, payer_id)
        infos = await discover_accounts(
            session, ring, payer_service.mobile_of(ring, payer), payer.name
        )
        linked = {row.account_ref for row in await self.list(session, payer_id)}
        pins = await self.pin_states(session, [info.account_ref for info in infos])
        return [
            Discovered(info, info.account_ref in linked, pins[info.account_ref]) for info in infos
        ]

    async def link(
        self, session: AsyncSession, ring: KeyRing, payer_id: str, params: LinkParams
    ) -> BankAccountRow:
        """Links the discovered account ``params`` names once the debit card proves the payer
        holds it; the payer's first account becomes their primary one."""
        _check_card_shape(params.card_last6, params.card_expiry_month, params.card_expiry_year)
        payer = await self._active_payer(session, payer_id)
        await _lock_payer(session, payer_id)
        info = await self._discovered(session, ring, payer, params)
        linked = await self.list(session, payer_id)
        if any(row.account_ref == info.account_ref for row in linked):
            raise BankAccountAlreadyLinkedError(param="account_number_masked")
        if len(linked) >= LINKED_ACCOUNTS_MAX:
            raise BankAccountsLimitError(
                f"A payer may link at most {LINKED_ACCOUNTS_MAX} bank accounts: unlink one first."
            )
        await self._check_card(
            session,
            ring,
            payer,
            info.bank,
            params.card_last6,
            params.card_expiry_month,
            params.card_expiry_year,
        )
        now = utcnow()
        row = BankAccountRow(
            id=new_id("pba"),
            payer_id=payer_id,
            bank=info.bank,
            bank_name=info.bank_name,
            ifsc=info.ifsc,
            account_ref=info.account_ref,
            account_number_masked=info.account_number_masked,
            account_type=info.account_type,
            holder_name=info.holder_name,
            is_primary=not any(existing.is_primary for existing in linked),
            status="active",
            unlinked_at=None,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        await session.flush()
        await record(
            session, row, BankingEvent.bank_account_linked, await self.pin_state(session, row)
        )
        return row

    async def _discovered(
        self, session: AsyncSession, ring: KeyRing, payer: PayerRow, params: LinkParams
    ) -> BankAccountInfo:
        infos = await discover_accounts(
            session, ring, payer_service.mobile_of(ring, payer), payer.name
        )
        at_bank = [info for info in infos if info.bank == params.bank]
        if not at_bank:
            raise BankUnknownError(param="bank")
        if params.account_number_masked is not None:
            at_bank = [
                info
                for info in at_bank
                if info.account_number_masked == params.account_number_masked
            ]
            if not at_bank:
                raise DiscoveredAccountMissingError(param="account_number_masked")
        if len(at_bank) > 1:
            raise DiscoveredAccountAmbiguousError(param="account_number_masked")
        return at_bank[0]

    async def _check_card(
        self,
        session: AsyncSession,
        ring: KeyRing,
        payer: PayerRow,
        bank: str,
        last6: SecretStr,
        month: int,
        year: int,
    ) -> None:
        """Proves the payer holds the bank's debit card. Wrong cards are counted per payer and
        bank under the count's row lock; the ``CARD_TRIES_MAX``-th locks card checks there."""
        now = utcnow()
        await session.execute(
            insert(CardCheckRow)
            .values(payer_id=payer.id, bank=bank, tries_failed=0, locked_until=None, updated_at=now)
            .on_conflict_do_nothing()
        )
        row = await session.get(
            CardCheckRow, (payer.id, bank), with_for_update=True, populate_existing=True
        )
        if row is None:
            unreachable("the card check's row was inserted just before, or was there already")
        state = CardCheckState(row.tries_failed, row.locked_until)
        if card_checks_locked(state, now):
            raise CardChecksLockedError(param="card_last6")
        correct = verify_debit_card(
            ring, payer_service.mobile_of(ring, payer), bank, last6, month, year
        )
        after = after_card_check(state, now, correct=correct)
        row.tries_failed, row.locked_until, row.updated_at = (
            after.tries_failed,
            after.locked_until,
            now,
        )
        await session.flush()
        if correct:
            return
        if card_checks_locked(after, now):
            raise CardChecksLockedError(param="card_last6")
        raise CardVerificationFailedError.with_tries_left(CARD_TRIES_MAX - after.tries_failed)

    async def make_primary(
        self, session: AsyncSession, payer_id: str, bank_account_id: str
    ) -> BankAccountRow:
        await self._active_payer(session, payer_id)
        await _lock_payer(session, payer_id)
        row = await self.get(session, payer_id, bank_account_id)
        if row.is_primary:
            return row
        current = await self.primary(session, payer_id)
        if current is not None:
            await self._set_primary(session, current, primary=False)
        await self._set_primary(session, row, primary=True)
        return row

    async def _set_primary(
        self, session: AsyncSession, row: BankAccountRow, *, primary: bool
    ) -> None:
        # Flushed one row at a time, the old primary first: the partial unique index allows one
        # primary per payer at every statement.
        row.is_primary, row.updated_at = primary, utcnow()
        await session.flush()
        await record(
            session,
            row,
            BankingEvent.bank_account_updated,
            await self.pin_state(session, row),
            previous_attributes={"is_primary": not primary},
        )

    async def unlink(
        self, session: AsyncSession, payer_id: str, bank_account_id: str
    ) -> BankAccountRow:
        """Unlinks an account (its UPI PIN stays with the bank account, as NPCI has it); if it
        was the primary one, the oldest other linked account becomes primary."""
        await self._active_payer(session, payer_id)
        await _lock_payer(session, payer_id)
        row = await self.get(session, payer_id, bank_account_id)
        was_primary = row.is_primary
        now = utcnow()
        row.status, row.is_primary, row.unlinked_at, row.updated_at = "unlinked", False, now, now
        await session.flush()
        await record(
            session, row, BankingEvent.bank_account_unlinked, await self.pin_state(session, row)
        )
        if was_primary:
            remaining = await self.list(session, payer_id)
            if remaining:
                await self._set_primary(session, remaining[0], primary=True)
        return row

    async def set_pin(
        self,
        session: AsyncSession,
        ring: KeyRing,
        payer_id: str,
        bank_account_id: str,
        params: PinSetParams,
    ) -> BankAccountRow:
        """Sets the account's UPI PIN, the first time or to reset a forgotten or locked one:
        either way the debit card proves the payer holds the account."""
        _check_card_shape(params.card_last6, params.card_expiry_month, params.card_expiry_year)
        _check_pin_shape(params.pin, "pin", avoid=[params.card_last6.get_secret_value()])
        payer = await self._active_payer(session, payer_id)
        row = await self.get(session, payer_id, bank_account_id)
        await self._check_card(
            session,
            ring,
            payer,
            row.bank,
            params.card_last6,
            params.card_expiry_month,
            params.card_expiry_year,
        )
        fresh = await asyncio.to_thread(hash_pin, ring, params.pin, row.account_ref)
        now = utcnow()
        values = {
            "pin_hash": fresh.digest,
            "pin_salt": fresh.salt,
            "pepper_key_id": fresh.key_id,
            "hash_parameters": fresh.parameters,
            "tries_failed": 0,
            "locked_at": None,
            "set_at": now,
            "updated_at": now,
        }
        statement = insert(UpiPinRow).values(account_ref=row.account_ref, created_at=now, **values)
        await session.execute(
            statement.on_conflict_do_update(index_elements=[UpiPinRow.account_ref], set_=values)
        )
        await record(session, row, BankingEvent.upi_pin_set, PinState.set)
        return row

    async def change_pin(
        self,
        session: AsyncSession,
        ring: KeyRing,
        payer_id: str,
        bank_account_id: str,
        params: PinChangeParams,
    ) -> BankAccountRow:
        """Changes the UPI PIN with the old one; a wrong old PIN counts towards the lock."""
        _check_entered_pin(params.old_pin, "old_pin")
        _check_pin_shape(params.new_pin, "new_pin")
        if hmac.compare_digest(
            params.old_pin.get_secret_value().encode(), params.new_pin.get_secret_value().encode()
        ):
            raise PinRejectedError.for_problem(PinProblem.unchanged, "new_pin")
        await self._active_payer(session, payer_id)
        row = await self.get(session, payer_id, bank_account_id)
        pin = await self._enter_pin(session, ring, row, params.old_pin, "old_pin")
        fresh = await asyncio.to_thread(hash_pin, ring, params.new_pin, row.account_ref)
        _store_hash(pin, fresh)
        pin.set_at = pin.updated_at = utcnow()
        await session.flush()
        await record(session, row, BankingEvent.upi_pin_changed, PinState.set)
        return row

    async def balance(
        self,
        session: AsyncSession,
        ring: KeyRing,
        payer_id: str,
        bank_account_id: str,
        pin: SecretStr,
    ) -> tuple[BankAccountRow, int]:
        """The account's available balance in minor units, asked with the UPI PIN (a wrong one
        counts towards the lock, as for a payment)."""
        _check_entered_pin(pin, "pin")
        await self._active_payer(session, payer_id)
        row = await self.get(session, payer_id, bank_account_id)
        await self._enter_pin(session, ring, row, pin, "pin")
        return row, await account_balance(session, row.account_ref)

    async def authorize_debit(
        self,
        session: AsyncSession,
        ring: KeyRing,
        payer_id: str,
        bank_account_id: str | None,
        pin: SecretStr,
    ) -> BankAccountRow:
        """The account to debit (``None``: the payer's primary one) once ``pin`` is its UPI PIN.

        Raises ``PinInvalidError`` (ZM), ``PinLockedError`` (Z6) or ``PinNotSetError`` (B3),
        all :class:`~beyondpay.psp.banking.errors.UpiPinError`: a wrong try is already written
        in ``session``, so the caller commits it (renders the error as its answer) rather than
        rolling back. A malformed PIN is a plain 400 naming ``pin`` that counts no try, as is a
        frozen payer (403) or an unknown account (404)."""
        _check_entered_pin(pin, "pin")
        await self._active_payer(session, payer_id)
        if bank_account_id is None:
            row = await self.primary(session, payer_id)
            if row is None:
                raise BankAccountMissingError(
                    "You have no linked bank account: link one first.", param="bank_account"
                )
        else:
            row = await self.get(session, payer_id, bank_account_id)
        await self._enter_pin(session, ring, row, pin, "pin")
        return row

    async def _enter_pin(
        self,
        session: AsyncSession,
        ring: KeyRing,
        account: BankAccountRow,
        pin: SecretStr,
        param: str,
    ) -> UpiPinRow:
        """Checks ``pin`` under the PIN's row lock and counts the entry: a right one clears the
        count (and moves an old hash to the ring's newest key), the ``PIN_TRIES_MAX``-th wrong
        one locks the PIN. A locked PIN is not checked at all: it answers nothing."""
        found = await session.execute(
            select(UpiPinRow)
            .where(UpiPinRow.account_ref == account.account_ref)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        row = found.scalars().first()
        if row is None:
            raise PinNotSetError(param=param)
        if row.locked_at is not None:
            raise PinLockedError(param=param)
        stored = _stored_hash(row)
        correct = await asyncio.to_thread(verify_pin, ring, stored, pin, account.account_ref)
        outcome = after_pin_entry(row.tries_failed, correct=correct)
        now = utcnow()
        row.tries_failed, row.updated_at = outcome.tries_failed, now
        if correct and needs_rehash(ring, stored):
            _store_hash(row, await asyncio.to_thread(hash_pin, ring, pin, account.account_ref))
        if outcome.locked:
            row.locked_at = now
        await session.flush()
        if outcome.locked:
            await record(session, account, BankingEvent.upi_pin_locked, PinState.locked)
            raise PinLockedError(
                f"The UPI PIN is incorrect, and locked after {PIN_TRIES_MAX} wrong tries. Set it"
                " again with the account's debit card (POST /v1/psp/bank_accounts/{id}/pin).",
                param=param,
            )
        if not correct:
            raise PinInvalidError.with_tries_left(PIN_TRIES_MAX - outcome.tries_failed, param=param)
        return row


bank_account_service = BankAccountService()
