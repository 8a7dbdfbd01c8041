"""A reference model of the ledger, written from docs/ledger.md alone.

It is deliberately naive: plain dicts, one transfer at a time, a deep copy of the whole state at
the start of a linked chain that is put back if the chain fails. It knows nothing of PostgreSQL,
hashes or sequences; it answers result codes and balances, which is what the property tests
compare with the real ledger. It imports nothing from ``beyondpay`` so that a misreading of the
specification cannot be shared between the two.

Where docs/ledger.md leaves a choice open, the model takes the reading written next to the
constant or branch concerned (marked "Reading:").

Time is passed in explicitly. A hold whose timeout has passed counts as released from then on
(the model releases it lazily, at the start of every call that is given ``now``), and posting or
voiding it answers ``pending_transfer_expired``; ``expire_holds`` then records the ledger's own
``<pending id>.expired`` voids, which move nothing more.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Literal

AMOUNT_MAX: Final = 2**63 - 1
BALANCE_MAX: Final = 2**63 - 1
METADATA_BYTES_MAX: Final = 8 * 1024
# Reading: docs/ledger.md names TIMEOUT_S_MAX without giving its value. The model takes it as a
# parameter; this default is only a guess, and the property tests stay far below it.
TIMEOUT_S_MAX_DEFAULT: Final = 2**31 - 1

# Account flags (values of beyondpay.ledger.domain.AccountFlags).
DEBITS_MUST_NOT_EXCEED_CREDITS: Final = 1
CREDITS_MUST_NOT_EXCEED_DEBITS: Final = 2
CLOSED: Final = 4

# Transfer flags (values of beyondpay.ledger.domain.TransferFlags).
LINKED: Final = 1
PENDING: Final = 2
POST_PENDING: Final = 4
VOID_PENDING: Final = 8
BALANCING_DEBIT: Final = 16
BALANCING_CREDIT: Final = 32

EXPIRED_SUFFIX: Final = ".expired"
EXPIRED_CODE: Final = "expired"

_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9_:-]{1,128}")
_LEDGER_PATTERN: Final = re.compile(r"[a-z0-9_:.-]{1,128}")
_CODE_CHARS_MAX: Final = 64
# Reading: "ISO 4217, lower case ... unknown" does not say which list is known. The model knows
# the common ISO 4217 codes; the property tests only use `inr`, `usd` and the invalid `zzz`.
KNOWN_CURRENCIES: Final = frozenset(
    {
        "aed", "aud", "bdt", "bhd", "brl", "cad", "chf", "clp", "cny", "czk", "dkk", "egp",
        "eur", "gbp", "hkd", "huf", "idr", "ils", "inr", "iqd", "isk", "jod", "jpy", "krw",
        "kwd", "lkr", "lyd", "mxn", "myr", "ngn", "nok", "npr", "nzd", "omr", "php", "pkr",
        "pln", "qar", "ron", "sar", "sek", "sgd", "thb", "tnd", "try", "twd", "ugx", "usd",
        "vnd", "xaf", "xof", "zar",
    }
)  # fmt: skip

HoldState = Literal["open", "posted", "voided", "lapsed", "expired"]
"""`lapsed`: past its expires_at, released, not yet voided by the expiry job; `expired`: voided by
the expiry job. Both answer `pending_transfer_expired`."""


@dataclass(frozen=True)
class NewAccount:
    id: str
    ledger: str
    currency: str
    code: str
    flags: int = 0
    metadata: dict[str, object] | None = None


@dataclass(frozen=True)
class Transfer:
    """A transfer as a caller submits it (same fields as beyondpay.ledger.domain.Transfer)."""

    id: str
    debit_account_id: str | None = None
    credit_account_id: str | None = None
    amount: int | None = None
    currency: str | None = None
    code: str | None = None
    flags: int = 0
    pending_id: str | None = None
    timeout_s: int = 0
    metadata: dict[str, object] | None = None


@dataclass
class Account:
    id: str
    ledger: str
    currency: str
    code: str
    flags: int
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0


@dataclass(frozen=True)
class StoredTransfer:
    """A transfer as stored: accounts, currency and code resolved; `amount` is what it moved
    (for a hold: the amount held; for a void: the hold's amount, released)."""

    id: str
    debit_account_id: str
    credit_account_id: str
    amount: int
    requested_amount: int | None
    currency: str
    code: str
    flags: int
    pending_id: str | None
    timeout_s: int
    metadata: dict[str, object] | None
    created_at: datetime
    expires_at: datetime | None


@dataclass
class _State:
    accounts: dict[str, Account] = field(default_factory=dict)
    transfers: dict[str, StoredTransfer] = field(default_factory=dict)
    holds: dict[str, HoldState] = field(default_factory=dict)


def available(account: Account) -> int:
    """The available balance of docs/ledger.md (on balances with lapsed holds released)."""
    if account.flags & CREDITS_MUST_NOT_EXCEED_DEBITS:
        return account.debits_posted - account.credits_posted - account.credits_pending
    return account.credits_posted - account.debits_posted - account.debits_pending


def is_past(expires_at: datetime, now: datetime) -> bool:
    # Reading: "past its expires_at" versus "seconds after which the hold voids itself" leave the
    # instant `now == expires_at` open; the model takes TigerBeetle's (expired at that instant).
    # The property tests never land exactly on it.
    return now >= expires_at


def _valid_id(value: str) -> bool:
    return _ID_PATTERN.fullmatch(value) is not None


def _valid_code(value: str) -> bool:
    return 1 <= len(value) <= _CODE_CHARS_MAX


def _valid_metadata(value: object) -> bool:
    if not isinstance(value, dict):
        return False
    try:
        serialized = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):
        return False
    return len(serialized.encode()) <= METADATA_BYTES_MAX


def _given(value: str | None) -> bool:
    # Reading: an empty string is treated as absent for optional ids.
    return value is not None and value != ""


class ReferenceLedger:
    def __init__(self, *, timeout_s_max: int = TIMEOUT_S_MAX_DEFAULT) -> None:
        self.timeout_s_max = timeout_s_max
        self._state = _State()

    # Accounts

    def create_accounts(self, accounts: Sequence[NewAccount]) -> list[str]:
        return [self._create_account(account) for account in accounts]

    def _create_account(self, new: NewAccount) -> str:
        # Reading: the doc lists account results without an order; validation comes first, in
        # the listed order of the fields, then the comparison with an existing account.
        if not _valid_id(new.id):
            return "id_invalid"
        both = DEBITS_MUST_NOT_EXCEED_CREDITS | CREDITS_MUST_NOT_EXCEED_DEBITS
        if new.flags & both == both:
            return "flags_are_mutually_exclusive"
        if _LEDGER_PATTERN.fullmatch(new.ledger) is None:
            return "ledger_invalid"
        if new.currency not in KNOWN_CURRENCIES:
            return "currency_invalid"
        if not _valid_code(new.code):
            return "code_invalid"
        existing = self._state.accounts.get(new.id)
        if existing is not None:
            if new.ledger != existing.ledger:
                return "exists_with_different_ledger"
            if new.currency != existing.currency:
                return "exists_with_different_currency"
            if new.code != existing.code:
                return "exists_with_different_code"
            if new.flags != existing.flags:
                return "exists_with_different_flags"
            return "exists"
        self._state.accounts[new.id] = Account(
            id=new.id, ledger=new.ledger, currency=new.currency, code=new.code, flags=new.flags
        )
        return "ok"

    def close_account(self, account_id: str) -> None:
        self._state.accounts[account_id].flags |= CLOSED

    def account(self, account_id: str, now: datetime) -> Account | None:
        """The account as read at `now` (lapsed holds released), or None. A copy."""
        self._lapse(now)
        found = self._state.accounts.get(account_id)
        return copy.copy(found) if found is not None else None

    def available(self, account_id: str, now: datetime) -> int:
        found = self.account(account_id, now)
        if found is None:
            raise KeyError(account_id)
        return available(found)

    def transfer(self, transfer_id: str) -> StoredTransfer | None:
        return self._state.transfers.get(transfer_id)

    def hold_state(self, pending_id: str, now: datetime) -> HoldState | None:
        self._lapse(now)
        return self._state.holds.get(pending_id)

    # Expiry

    def _lapse(self, now: datetime) -> None:
        """Release every open hold whose timeout has passed (it counts as released from then)."""
        for pending_id, state in self._state.holds.items():
            hold = self._state.transfers[pending_id]
            if state == "open" and hold.expires_at is not None and is_past(hold.expires_at, now):
                self._state.holds[pending_id] = "lapsed"
                self._state.accounts[hold.debit_account_id].debits_pending -= hold.amount
                self._state.accounts[hold.credit_account_id].credits_pending -= hold.amount

    def expire_holds(self, now: datetime) -> int:
        """What the expiry job does: record `<pending id>.expired` for every lapsed hold."""
        self._lapse(now)
        lapsed = [pending_id for pending_id, s in self._state.holds.items() if s == "lapsed"]
        for pending_id in lapsed:
            hold = self._state.transfers[pending_id]
            void = StoredTransfer(
                id=pending_id + EXPIRED_SUFFIX,
                debit_account_id=hold.debit_account_id,
                credit_account_id=hold.credit_account_id,
                amount=hold.amount,
                requested_amount=None,
                currency=hold.currency,
                code=EXPIRED_CODE,
                flags=VOID_PENDING,
                pending_id=pending_id,
                timeout_s=0,
                metadata=None,
                created_at=now,
                expires_at=None,
            )
            self._state.transfers[void.id] = void
            self._state.holds[pending_id] = "expired"
        return len(lapsed)

    # Transfers

    def create_transfers(self, batch: Sequence[Transfer], now: datetime) -> list[str]:
        self._lapse(now)
        results: list[str] = []
        last = len(batch) - 1
        chain_start: int | None = None
        chain_broken = False
        snapshot: _State | None = None
        for index, transfer in enumerate(batch):
            linked = bool(transfer.flags & LINKED)
            if linked and chain_start is None:
                chain_start, chain_broken = index, False
                snapshot = copy.deepcopy(self._state)
            if linked and index == last:
                result = "linked_event_chain_open"
            elif chain_broken:
                result = "linked_event_failed"
            else:
                result = self._create_transfer(transfer, now)
            if result not in ("ok", "exists") and chain_start is not None and not chain_broken:
                assert snapshot is not None
                self._state, chain_broken = snapshot, True
                for earlier in range(chain_start, index):
                    results[earlier] = "linked_event_failed"
            results.append(result)
            if chain_start is not None and (not linked or index == last):
                chain_start, chain_broken, snapshot = None, False, None
        return results

    def _create_transfer(self, t: Transfer, now: datetime) -> str:
        invalid = self._validate(t)
        if invalid is not None:
            return invalid
        existing = self._state.transfers.get(t.id)
        if existing is not None:
            return _compare_with_existing(t, existing)
        if t.flags & (POST_PENDING | VOID_PENDING):
            return self._resolve_hold(t, now)
        return self._move(t, now)

    def _validate(self, t: Transfer) -> str | None:
        """Rules 2 to 8: everything that can be decided from the transfer alone."""
        resolves = bool(t.flags & (POST_PENDING | VOID_PENDING))
        balancing = bool(t.flags & (BALANCING_DEBIT | BALANCING_CREDIT))
        if not _valid_id(t.id):
            return "id_invalid"
        phases = [t.flags & flag for flag in (PENDING, POST_PENDING, VOID_PENDING)]
        if sum(1 for phase in phases if phase) > 1 or (balancing and resolves):
            return "flags_are_mutually_exclusive"
        if _given(t.pending_id) and not resolves:
            return "pending_id_must_be_empty"
        if resolves and not _given(t.pending_id):
            return "pending_id_must_not_be_empty"
        if resolves and t.pending_id == t.id:
            return "pending_id_must_be_different"
        if t.timeout_s > 0 and not t.flags & PENDING:
            return "timeout_reserved_for_pending_transfer"
        if t.timeout_s < 0 or t.timeout_s > self.timeout_s_max:
            return "timeout_invalid"
        if t.amount is None:
            if not (resolves or balancing):
                return "amount_must_be_positive"
        elif t.amount <= 0:
            return "amount_must_be_positive"
        elif t.amount > AMOUNT_MAX:
            return "amount_too_large"
        if (t.code is None and not resolves) or (t.code is not None and not _valid_code(t.code)):
            return "code_invalid"
        if (t.currency is None and not resolves) or (
            t.currency is not None and t.currency not in KNOWN_CURRENCIES
        ):
            return "currency_invalid"
        if t.metadata is not None and not _valid_metadata(t.metadata):
            return "metadata_invalid"
        if _given(t.debit_account_id) and t.debit_account_id == t.credit_account_id:
            return "accounts_must_be_different"
        if not resolves and not _given(t.debit_account_id):
            return "debit_account_id_required"
        if not resolves and not _given(t.credit_account_id):
            return "credit_account_id_required"
        return None

    def _move(self, t: Transfer, now: datetime) -> str:
        """Rules 11 to 16 for a plain or pending transfer, and its effect."""
        assert t.debit_account_id is not None and t.credit_account_id is not None
        assert t.currency is not None and t.code is not None
        debit = self._state.accounts.get(t.debit_account_id)
        credit = self._state.accounts.get(t.credit_account_id)
        if debit is None:
            return "debit_account_not_found"
        if credit is None:
            return "credit_account_not_found"
        if t.currency != debit.currency or t.currency != credit.currency:
            return "currency_mismatch"
        if debit.flags & CLOSED:
            return "debit_account_closed"
        if credit.flags & CLOSED:
            return "credit_account_closed"
        amount = _balanced_amount(t, debit, credit)
        pending = bool(t.flags & PENDING)
        refused = _check_limits(debit, credit, amount, pending=pending, released=0)
        if refused is not None:
            return refused
        if pending:
            debit.debits_pending += amount
            credit.credits_pending += amount
        else:
            debit.debits_posted += amount
            credit.credits_posted += amount
        expires_at = now + timedelta(seconds=t.timeout_s) if pending and t.timeout_s > 0 else None
        self._store(t, debit.id, credit.id, amount, t.currency, t.code, now, expires_at)
        if pending:
            self._state.holds[t.id] = "open"
        return "ok"

    def _resolve_hold(self, t: Transfer, now: datetime) -> str:
        """Rules 10 to 16 for a post or a void, and its effect."""
        assert t.pending_id is not None
        hold = self._state.transfers.get(t.pending_id)
        if hold is None:
            return "pending_transfer_not_found"
        if not hold.flags & PENDING:
            return "pending_transfer_not_pending"
        if _given(t.debit_account_id) and t.debit_account_id != hold.debit_account_id:
            return "pending_transfer_has_different_debit_account_id"
        if _given(t.credit_account_id) and t.credit_account_id != hold.credit_account_id:
            return "pending_transfer_has_different_credit_account_id"
        if t.currency is not None and t.currency != hold.currency:
            return "pending_transfer_has_different_currency"
        if t.code is not None and t.code != hold.code:
            return "pending_transfer_has_different_code"
        state = self._state.holds[hold.id]
        if state == "posted":
            return "pending_transfer_already_posted"
        if state == "voided":
            return "pending_transfer_already_voided"
        if state in ("lapsed", "expired"):
            return "pending_transfer_expired"
        posting = bool(t.flags & POST_PENDING)
        if posting and t.amount is not None and t.amount > hold.amount:
            return "exceeds_pending_transfer_amount"
        if not posting and t.amount is not None and t.amount != hold.amount:
            return "pending_transfer_has_different_amount"
        # Rules 11 to 13 cannot fail: the hold's accounts exist and share its currency, and a
        # closed account may still settle a hold made before it closed.
        debit = self._state.accounts[hold.debit_account_id]
        credit = self._state.accounts[hold.credit_account_id]
        if posting:
            amount = hold.amount if t.amount is None else t.amount
            refused = _check_limits(debit, credit, amount, pending=False, released=hold.amount)
            if refused is not None:
                return refused
        debit.debits_pending -= hold.amount
        credit.credits_pending -= hold.amount
        if posting:
            debit.debits_posted += amount
            credit.credits_posted += amount
        moved = amount if posting else hold.amount
        self._store(t, debit.id, credit.id, moved, hold.currency, hold.code, now, None)
        self._state.holds[hold.id] = "posted" if posting else "voided"
        return "ok"

    def _store(
        self,
        t: Transfer,
        debit_account_id: str,
        credit_account_id: str,
        amount: int,
        currency: str,
        code: str,
        now: datetime,
        expires_at: datetime | None,
    ) -> None:
        self._state.transfers[t.id] = StoredTransfer(
            id=t.id,
            debit_account_id=debit_account_id,
            credit_account_id=credit_account_id,
            amount=amount,
            requested_amount=t.amount,
            currency=currency,
            code=code,
            flags=t.flags,
            pending_id=t.pending_id if _given(t.pending_id) else None,
            timeout_s=t.timeout_s,
            metadata=copy.deepcopy(t.metadata),
            created_at=now,
            expires_at=expires_at,
        )


def _balanced_amount(t: Transfer, debit: Account, credit: Account) -> int:
    amount = AMOUNT_MAX if t.amount is None else t.amount
    if t.flags & BALANCING_DEBIT:
        room = debit.credits_posted - debit.debits_posted - debit.debits_pending
        amount = min(amount, max(0, room))
    if t.flags & BALANCING_CREDIT:
        room = credit.debits_posted - credit.credits_posted - credit.credits_pending
        amount = min(amount, max(0, room))
    return amount


def _check_limits(
    debit: Account, credit: Account, amount: int, *, pending: bool, released: int
) -> str | None:
    """Rules 14 and 15. `released` is the hold a post releases before it posts `amount`."""
    if pending and debit.debits_pending + amount > BALANCE_MAX:
        return "overflows_debits_pending"
    if pending and credit.credits_pending + amount > BALANCE_MAX:
        return "overflows_credits_pending"
    if not pending and debit.debits_posted + amount > BALANCE_MAX:
        return "overflows_debits_posted"
    if not pending and credit.credits_posted + amount > BALANCE_MAX:
        return "overflows_credits_posted"
    debit_total = debit.debits_pending - released + debit.debits_posted + amount
    if debit.flags & DEBITS_MUST_NOT_EXCEED_CREDITS and debit_total > debit.credits_posted:
        return "exceeds_credits"
    credit_total = credit.credits_pending - released + credit.credits_posted + amount
    if credit.flags & CREDITS_MUST_NOT_EXCEED_DEBITS and credit_total > credit.debits_posted:
        return "exceeds_debits"
    return None


def _compare_with_existing(t: Transfer, e: StoredTransfer) -> str:
    """Rule 9: a retry of a stored transfer answers `exists` or names the first difference."""
    if t.flags != e.flags:
        return "exists_with_different_flags"
    if (t.pending_id if _given(t.pending_id) else None) != e.pending_id:
        return "exists_with_different_pending_id"
    if t.timeout_s != e.timeout_s:
        return "exists_with_different_timeout"
    if _given(t.debit_account_id) and t.debit_account_id != e.debit_account_id:
        return "exists_with_different_debit_account_id"
    if _given(t.credit_account_id) and t.credit_account_id != e.credit_account_id:
        return "exists_with_different_credit_account_id"
    asked = e.requested_amount if e.requested_amount is not None else e.amount
    if t.amount is not None and t.amount != asked:
        return "exists_with_different_amount"
    if t.currency is not None and t.currency != e.currency:
        return "exists_with_different_currency"
    if t.code is not None and t.code != e.code:
        return "exists_with_different_code"
    if t.metadata is not None and t.metadata != e.metadata:
        return "exists_with_different_metadata"
    return "exists"
