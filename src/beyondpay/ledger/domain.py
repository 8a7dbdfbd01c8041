"""The ledger's rules, without I/O: validation, result codes in their order, effects, chains.

docs/ledger.md is the specification; this module is its executable form. The service locks the
rows a batch touches, hands their state to :func:`evaluate_batch`, and writes back what it
returns. Everything here is deterministic given its inputs, so it is tested exhaustively
against a separate reference model.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import IntFlag, StrEnum
from typing import Any, Final

import orjson

from beyondpay.kit.invariants import invariant
from beyondpay.kit.money import INT64_MAX, UnknownCurrencyError, normalize_currency

BATCH_TRANSFERS_MAX: Final = 8_190
BATCH_ACCOUNTS_MAX: Final = 8_190
TIMEOUT_S_MAX: Final = 2**31 - 1
METADATA_BYTES_MAX: Final = 8 * 1024
EXPIRY_CODE: Final = "expired"
EXPIRY_SUFFIX: Final = ".expired"

_ID = re.compile(r"^[A-Za-z0-9_:-]{1,128}$")
_LEDGER = re.compile(r"^[a-z0-9_:.-]{1,128}$")
_CODE = re.compile(r"^[A-Za-z0-9_:.-]{1,64}$")


class AccountFlags(IntFlag):
    DEBITS_MUST_NOT_EXCEED_CREDITS = 1
    CREDITS_MUST_NOT_EXCEED_DEBITS = 2
    CLOSED = 4


class TransferFlags(IntFlag):
    LINKED = 1
    PENDING = 2
    POST_PENDING = 4
    VOID_PENDING = 8
    BALANCING_DEBIT = 16
    BALANCING_CREDIT = 32


# Plain ints on the hot path: IntFlag arithmetic costs a microsecond per operation.
_LINKED: Final = int(TransferFlags.LINKED)
_PENDING: Final = int(TransferFlags.PENDING)
_POST: Final = int(TransferFlags.POST_PENDING)
_BALANCING_DEBIT: Final = int(TransferFlags.BALANCING_DEBIT)
_BALANCING_CREDIT: Final = int(TransferFlags.BALANCING_CREDIT)
_PHASES: Final = int(
    TransferFlags.PENDING | TransferFlags.POST_PENDING | TransferFlags.VOID_PENDING
)
_RESOLVING: Final = int(TransferFlags.POST_PENDING | TransferFlags.VOID_PENDING)
_BALANCING: Final = int(TransferFlags.BALANCING_DEBIT | TransferFlags.BALANCING_CREDIT)
_DEBITS_LIMITED: Final = int(AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
_CREDITS_LIMITED: Final = int(AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS)
_CLOSED: Final = int(AccountFlags.CLOSED)


class CreateAccountResult(StrEnum):
    ok = "ok"
    exists = "exists"
    exists_with_different_ledger = "exists_with_different_ledger"
    exists_with_different_currency = "exists_with_different_currency"
    exists_with_different_code = "exists_with_different_code"
    exists_with_different_flags = "exists_with_different_flags"
    flags_are_mutually_exclusive = "flags_are_mutually_exclusive"
    id_invalid = "id_invalid"
    ledger_invalid = "ledger_invalid"
    currency_invalid = "currency_invalid"
    code_invalid = "code_invalid"
    metadata_invalid = "metadata_invalid"


class CreateTransferResult(StrEnum):
    """One per transfer; the order of the members is the order of precedence (docs/ledger.md)."""

    ok = "ok"
    linked_event_failed = "linked_event_failed"
    linked_event_chain_open = "linked_event_chain_open"
    id_invalid = "id_invalid"
    flags_are_mutually_exclusive = "flags_are_mutually_exclusive"
    pending_id_must_be_empty = "pending_id_must_be_empty"
    pending_id_must_not_be_empty = "pending_id_must_not_be_empty"
    pending_id_must_be_different = "pending_id_must_be_different"
    timeout_reserved_for_pending_transfer = "timeout_reserved_for_pending_transfer"
    timeout_invalid = "timeout_invalid"
    amount_must_be_positive = "amount_must_be_positive"
    amount_too_large = "amount_too_large"
    code_invalid = "code_invalid"
    currency_invalid = "currency_invalid"
    metadata_invalid = "metadata_invalid"
    accounts_must_be_different = "accounts_must_be_different"
    debit_account_id_required = "debit_account_id_required"
    credit_account_id_required = "credit_account_id_required"
    exists = "exists"
    exists_with_different_flags = "exists_with_different_flags"
    exists_with_different_pending_id = "exists_with_different_pending_id"
    exists_with_different_timeout = "exists_with_different_timeout"
    exists_with_different_debit_account_id = "exists_with_different_debit_account_id"
    exists_with_different_credit_account_id = "exists_with_different_credit_account_id"
    exists_with_different_amount = "exists_with_different_amount"
    exists_with_different_currency = "exists_with_different_currency"
    exists_with_different_code = "exists_with_different_code"
    exists_with_different_metadata = "exists_with_different_metadata"
    pending_transfer_not_found = "pending_transfer_not_found"
    pending_transfer_not_pending = "pending_transfer_not_pending"
    pending_transfer_has_different_debit_account_id = (
        "pending_transfer_has_different_debit_account_id"
    )
    pending_transfer_has_different_credit_account_id = (
        "pending_transfer_has_different_credit_account_id"
    )
    pending_transfer_has_different_currency = "pending_transfer_has_different_currency"
    pending_transfer_has_different_code = "pending_transfer_has_different_code"
    pending_transfer_already_posted = "pending_transfer_already_posted"
    pending_transfer_already_voided = "pending_transfer_already_voided"
    pending_transfer_expired = "pending_transfer_expired"
    exceeds_pending_transfer_amount = "exceeds_pending_transfer_amount"
    pending_transfer_has_different_amount = "pending_transfer_has_different_amount"
    debit_account_not_found = "debit_account_not_found"
    credit_account_not_found = "credit_account_not_found"
    currency_mismatch = "currency_mismatch"
    debit_account_closed = "debit_account_closed"
    credit_account_closed = "credit_account_closed"
    overflows_debits_pending = "overflows_debits_pending"
    overflows_credits_pending = "overflows_credits_pending"
    overflows_debits_posted = "overflows_debits_posted"
    overflows_credits_posted = "overflows_credits_posted"
    exceeds_credits = "exceeds_credits"
    exceeds_debits = "exceeds_debits"


R = CreateTransferResult


@dataclass(frozen=True, slots=True)
class NewAccount:
    id: str
    ledger: str
    currency: str
    code: str
    flags: AccountFlags = AccountFlags(0)
    metadata: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Transfer:
    """A request to move money (see docs/ledger.md for which fields each kind needs)."""

    id: str
    debit_account_id: str | None = None
    credit_account_id: str | None = None
    amount: int | None = None
    currency: str | None = None
    code: str | None = None
    flags: TransferFlags = TransferFlags(0)
    pending_id: str | None = None
    timeout_s: int = 0
    metadata: Mapping[str, Any] | None = None


@dataclass(slots=True)
class AccountState:
    """A locked account row; :func:`evaluate_batch` changes its balances in place."""

    id: str
    ledger: str
    currency: str
    code: str
    flags: int
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int

    def balances(self) -> tuple[int, int, int, int]:
        return (self.debits_pending, self.debits_posted, self.credits_pending, self.credits_posted)

    def restore(self, balances: tuple[int, int, int, int]) -> None:
        (self.debits_pending, self.debits_posted, self.credits_pending, self.credits_posted) = (
            balances
        )


@dataclass(slots=True)
class StoredTransfer:
    """A transfer as the journal keeps it (numbering and hashes are the journal's business).

    Never changed once made (not frozen only because frozen dataclasses are slow to build).
    """

    id: str
    ledger: str
    debit_account_id: str
    credit_account_id: str
    amount: int
    amount_requested: int | None
    pending_id: str | None
    currency: str
    code: str
    flags: int
    timeout_s: int
    expires_at: datetime | None
    metadata: Mapping[str, Any]
    created_at: datetime

    @property
    def is_pending(self) -> bool:
        return bool(self.flags & _PENDING)

    @property
    def is_expiry(self) -> bool:
        return self.id.endswith(EXPIRY_SUFFIX)


@dataclass(slots=True)
class Batch:
    """What a batch is evaluated against: locked accounts and the transfers it refers to."""

    accounts: dict[str, AccountState]
    existing: dict[str, StoredTransfer]
    holds: dict[str, StoredTransfer]
    resolutions: dict[str, StoredTransfer]
    now: datetime
    created: list[StoredTransfer] = field(default_factory=list)
    # Balances of each account before the batch first changed it: what the writer stores back
    # and checks the batch's invariants against.
    before: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)

    def touch(self, account: AccountState) -> None:
        if account.id not in self.before:
            self.before[account.id] = account.balances()


def available(flags: int, balances: tuple[int, int, int, int]) -> int:
    debits_pending, debits_posted, credits_pending, credits_posted = balances
    if flags & AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS:
        return debits_posted - credits_posted - credits_pending
    return credits_posted - debits_posted - debits_pending


def validate_new_account(account: NewAccount) -> CreateAccountResult | None:
    """The result for an invalid account, or None when it may be created."""
    both = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS | AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
    if not isinstance(account.id, str) or not _ID.match(account.id):
        return CreateAccountResult.id_invalid
    if account.flags & both == both:
        return CreateAccountResult.flags_are_mutually_exclusive
    if not _LEDGER.match(account.ledger):
        return CreateAccountResult.ledger_invalid
    if _currency(account.currency) is None:
        return CreateAccountResult.currency_invalid
    if not _CODE.match(account.code):
        return CreateAccountResult.code_invalid
    if account.metadata is not None and _metadata_bytes(account.metadata) is None:
        return CreateAccountResult.metadata_invalid
    return None


@functools.lru_cache(maxsize=256)
def _currency(code: str | None) -> str | None:
    if not isinstance(code, str) or code != code.lower():
        return None
    try:
        return normalize_currency(code)
    except (UnknownCurrencyError, ValueError):
        return None


@functools.lru_cache(maxsize=4096)
def _code_valid(code: object) -> bool:
    return isinstance(code, str) and _CODE.match(code) is not None


def _metadata_bytes(metadata: object) -> bytes | None:
    if not isinstance(metadata, Mapping):
        return None
    try:
        encoded = orjson.dumps(metadata, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return None
    return encoded if len(encoded) <= METADATA_BYTES_MAX else None


def canonical_metadata(metadata: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return dict(metadata) if metadata else {}


def expiry_void(hold: StoredTransfer) -> Transfer:
    """The void the ledger itself writes when a hold's timeout passes."""
    return Transfer(
        id=hold.id + EXPIRY_SUFFIX,
        pending_id=hold.id,
        flags=TransferFlags.VOID_PENDING,
        code=EXPIRY_CODE,
    )


def _validate(transfer: Transfer, *, system: bool) -> R | None:
    """Rules 2 to 8: what can be said of a transfer without looking at any state."""
    flags = int(transfer.flags)
    resolving = bool(flags & _RESOLVING)
    if not isinstance(transfer.id, str) or not (
        _ID.match(transfer.id) or (system and transfer.id.endswith(EXPIRY_SUFFIX))
    ):
        return R.id_invalid
    if (flags & _PHASES).bit_count() > 1 or (resolving and flags & _BALANCING):
        return R.flags_are_mutually_exclusive
    if not resolving and transfer.pending_id is not None:
        return R.pending_id_must_be_empty
    if resolving and not transfer.pending_id:
        return R.pending_id_must_not_be_empty
    if resolving and transfer.pending_id == transfer.id:
        return R.pending_id_must_be_different
    if transfer.timeout_s and not flags & _PENDING:
        return R.timeout_reserved_for_pending_transfer
    if not 0 <= transfer.timeout_s <= TIMEOUT_S_MAX:
        return R.timeout_invalid
    return _validate_values(transfer, resolving, bool(flags & _BALANCING))


def _validate_values(transfer: Transfer, resolving: bool, balancing: bool) -> R | None:
    if transfer.amount is None:
        if not (resolving or balancing):
            return R.amount_must_be_positive
    elif (
        isinstance(transfer.amount, bool)
        or not isinstance(transfer.amount, int)
        or transfer.amount <= 0
    ):
        return R.amount_must_be_positive
    elif transfer.amount > INT64_MAX:
        return R.amount_too_large
    if (transfer.code is None and not resolving) or (
        transfer.code is not None
        and not (isinstance(transfer.code, str) and _CODE.match(transfer.code))
    ):
        return R.code_invalid
    if (transfer.currency is None and not resolving) or (
        transfer.currency is not None and _currency(transfer.currency) is None
    ):
        return R.currency_invalid
    if transfer.metadata is not None and _metadata_bytes(transfer.metadata) is None:
        return R.metadata_invalid
    if (
        transfer.debit_account_id is not None
        and transfer.debit_account_id == transfer.credit_account_id
    ):
        return R.accounts_must_be_different
    if not resolving and not transfer.debit_account_id:
        return R.debit_account_id_required
    if not resolving and not transfer.credit_account_id:
        return R.credit_account_id_required
    return None


def _exists(transfer: Transfer, stored: StoredTransfer) -> R:
    """Rule 9: the same id again; only the fields the retry gives are compared."""
    if int(transfer.flags) != stored.flags:
        return R.exists_with_different_flags
    if transfer.pending_id != stored.pending_id:
        return R.exists_with_different_pending_id
    if transfer.timeout_s != stored.timeout_s:
        return R.exists_with_different_timeout
    given = (
        (
            transfer.debit_account_id,
            stored.debit_account_id,
            R.exists_with_different_debit_account_id,
        ),
        (
            transfer.credit_account_id,
            stored.credit_account_id,
            R.exists_with_different_credit_account_id,
        ),
        (
            transfer.amount,
            stored.amount if stored.amount_requested is None else stored.amount_requested,
            R.exists_with_different_amount,
        ),
        (transfer.currency, stored.currency, R.exists_with_different_currency),
        (transfer.code, stored.code, R.exists_with_different_code),
    )
    for value, original, result in given:
        if value is not None and value != original:
            return result
    if transfer.metadata is not None and dict(transfer.metadata) != dict(stored.metadata):
        return R.exists_with_different_metadata
    return R.exists


class _Chain:
    """Undo log of a linked chain: balances before first change, transfers added."""

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.balances: dict[str, tuple[int, int, int, int]] = {}
        self.created_from = len(batch.created)

    def touch(self, account: AccountState) -> None:
        self.balances.setdefault(account.id, account.balances())

    def undo(self) -> None:
        for account_id, balances in self.balances.items():
            self.batch.accounts[account_id].restore(balances)
        for stored in self.batch.created[self.created_from :]:
            self.batch.existing.pop(stored.id, None)
            if stored.pending_id is not None:
                self.batch.resolutions.pop(stored.pending_id, None)
        del self.batch.created[self.created_from :]


class _NoChain(_Chain):
    """A transfer outside any chain: a failure changes nothing, so there is nothing to undo."""

    def __init__(self) -> None:
        pass

    def touch(self, account: AccountState) -> None:
        pass

    def undo(self) -> None:
        pass


_NO_CHAIN: Final = _NoChain()


def evaluate_batch(
    transfers: Sequence[Transfer], batch: Batch, *, system: bool = False
) -> list[CreateTransferResult]:
    """Apply ``transfers`` in order to ``batch``'s state; returns one result per transfer.

    New journal entries are appended to ``batch.created``; account balances change in place.
    ``system`` admits the ledger's own reserved ids (expiry voids).
    """
    invariant(len(transfers) <= BATCH_TRANSFERS_MAX, "batch larger than BATCH_TRANSFERS_MAX")
    results: list[CreateTransferResult] = [R.ok] * len(transfers)
    chain: _Chain | None = None  # the open linked chain, if any
    chain_start = 0
    chain_failed = False
    last = len(transfers) - 1
    for index, transfer in enumerate(transfers):
        linked = bool(int(transfer.flags) & _LINKED)
        if chain is None and linked:
            chain, chain_start, chain_failed = _Chain(batch), index, False
        if chain is None:  # a standalone transfer: the common case, kept cheap
            results[index] = _apply(transfer, batch, _NO_CHAIN, system=system)
            continue
        if linked and index == last:
            result = R.linked_event_chain_open
        elif chain_failed:
            result = R.linked_event_failed
        else:
            result = _apply(transfer, batch, chain, system=system)
        results[index] = result
        if result not in (R.ok, R.exists, R.linked_event_failed) and not chain_failed:
            chain_failed = True
            chain.undo()
            for earlier in range(chain_start, index):
                results[earlier] = R.linked_event_failed
        if not linked:
            chain = None
    return results


def _apply(transfer: Transfer, batch: Batch, chain: _Chain, *, system: bool) -> R:
    failure = _validate(transfer, system=system)
    if failure is not None:
        return failure
    stored = batch.existing.get(transfer.id)
    if stored is not None:
        return _exists(transfer, stored)
    flags = int(transfer.flags)
    if flags & _RESOLVING:
        return _resolve(transfer, flags, batch, chain)
    return _move(transfer, flags, batch, chain)


def _accounts(batch: Batch, debit_id: str, credit_id: str) -> tuple[AccountState, AccountState] | R:
    debit = batch.accounts.get(debit_id)
    if debit is None:
        return R.debit_account_not_found
    credit = batch.accounts.get(credit_id)
    if credit is None:
        return R.credit_account_not_found
    return debit, credit


def _move(transfer: Transfer, flags: int, batch: Batch, chain: _Chain) -> R:
    """A plain or pending transfer (rules 11 to 15)."""
    assert transfer.debit_account_id and transfer.credit_account_id
    found = _accounts(batch, transfer.debit_account_id, transfer.credit_account_id)
    if isinstance(found, R):
        return found
    debit, credit = found
    currency = _currency(transfer.currency)
    if currency != debit.currency or currency != credit.currency:
        return R.currency_mismatch
    if debit.flags & _CLOSED:
        return R.debit_account_closed
    if credit.flags & _CLOSED:
        return R.credit_account_closed
    amount = _balanced_amount(transfer, flags, debit, credit)
    pending = bool(flags & _PENDING)
    failure = _limits(debit, credit, amount, pending=pending, released=0)
    if failure is not None:
        return failure
    _about_to_change(batch, chain, debit, credit)
    if pending:
        debit.debits_pending += amount
        credit.credits_pending += amount
    else:
        debit.debits_posted += amount
        credit.credits_posted += amount
    expires_at = (
        batch.now + timedelta(seconds=transfer.timeout_s)
        if pending and transfer.timeout_s
        else None
    )
    _record(batch, transfer, debit, credit, amount, str(currency), transfer.code, expires_at)
    return R.ok


def _about_to_change(
    batch: Batch, chain: _Chain, debit: AccountState, credit: AccountState
) -> None:
    """Record the balances before a change: for the writer, and for the chain's undo."""
    for account in (debit, credit):
        batch.touch(account)
        chain.touch(account)


def _balanced_amount(
    transfer: Transfer, flags: int, debit: AccountState, credit: AccountState
) -> int:
    amount = INT64_MAX if transfer.amount is None else transfer.amount
    if flags & _BALANCING_DEBIT:
        room = debit.credits_posted - debit.debits_posted - debit.debits_pending
        amount = min(amount, max(0, room))
    if flags & _BALANCING_CREDIT:
        room = credit.debits_posted - credit.credits_posted - credit.credits_pending
        amount = min(amount, max(0, room))
    return amount


def _limits(
    debit: AccountState, credit: AccountState, amount: int, *, pending: bool, released: int
) -> R | None:
    """Rules 14 and 15; ``released`` is a hold being posted, freed before ``amount`` moves."""
    if pending:
        if debit.debits_pending + amount > INT64_MAX:
            return R.overflows_debits_pending
        if credit.credits_pending + amount > INT64_MAX:
            return R.overflows_credits_pending
    else:
        if debit.debits_posted + amount > INT64_MAX:
            return R.overflows_debits_posted
        if credit.credits_posted + amount > INT64_MAX:
            return R.overflows_credits_posted
    if (
        debit.flags & _DEBITS_LIMITED
        and debit.debits_pending - released + debit.debits_posted + amount > debit.credits_posted
    ):
        return R.exceeds_credits
    if (
        credit.flags & _CREDITS_LIMITED
        and credit.credits_pending - released + credit.credits_posted + amount
        > credit.debits_posted
    ):
        return R.exceeds_debits
    return None


def _hold_for(transfer: Transfer, batch: Batch) -> StoredTransfer | R:
    """Rule 10, up to the amount checks: the open, unexpired hold this post or void resolves."""
    assert transfer.pending_id is not None
    hold = batch.existing.get(transfer.pending_id) or batch.holds.get(transfer.pending_id)
    if hold is None:
        return R.pending_transfer_not_found
    if not hold.is_pending:
        return R.pending_transfer_not_pending
    for given, original, result in (
        (
            transfer.debit_account_id,
            hold.debit_account_id,
            R.pending_transfer_has_different_debit_account_id,
        ),
        (
            transfer.credit_account_id,
            hold.credit_account_id,
            R.pending_transfer_has_different_credit_account_id,
        ),
        (transfer.currency, hold.currency, R.pending_transfer_has_different_currency),
        (transfer.code, hold.code, R.pending_transfer_has_different_code),
    ):
        if given is not None and given != original:
            if result is R.pending_transfer_has_different_code and transfer.code == EXPIRY_CODE:
                continue  # the ledger's own expiry void keeps its code
            return result
    resolution = batch.resolutions.get(hold.id)
    if resolution is not None:
        if resolution.is_expiry:
            return R.pending_transfer_expired
        if resolution.flags & _POST:
            return R.pending_transfer_already_posted
        return R.pending_transfer_already_voided
    if hold.expires_at is not None and hold.expires_at <= batch.now and not _is_expiry(transfer):
        return R.pending_transfer_expired
    return hold


def _is_expiry(transfer: Transfer) -> bool:
    return transfer.id.endswith(EXPIRY_SUFFIX) and transfer.code == EXPIRY_CODE


def _resolve(transfer: Transfer, flags: int, batch: Batch, chain: _Chain) -> R:
    """A post or void of a hold."""
    hold = _hold_for(transfer, batch)
    if isinstance(hold, R):
        return hold
    posting = bool(flags & _POST)
    amount = hold.amount if transfer.amount is None else transfer.amount
    if posting and amount > hold.amount:
        return R.exceeds_pending_transfer_amount
    if not posting and amount != hold.amount:
        return R.pending_transfer_has_different_amount
    found = _accounts(batch, hold.debit_account_id, hold.credit_account_id)
    if isinstance(found, R):
        return found
    debit, credit = found
    invariant(debit.debits_pending >= hold.amount, "a hold's debit side is pending")
    invariant(credit.credits_pending >= hold.amount, "a hold's credit side is pending")
    if posting:
        failure = _limits(debit, credit, amount, pending=False, released=hold.amount)
        if failure is not None:
            return failure
    _about_to_change(batch, chain, debit, credit)
    debit.debits_pending -= hold.amount
    credit.credits_pending -= hold.amount
    if posting:
        debit.debits_posted += amount
        credit.credits_posted += amount
    code = transfer.code or hold.code
    stored = _record(
        batch,
        transfer,
        debit,
        credit,
        amount if posting else hold.amount,
        hold.currency,
        code,
        None,
    )
    batch.resolutions[hold.id] = stored
    return R.ok


def _record(
    batch: Batch,
    transfer: Transfer,
    debit: AccountState,
    credit: AccountState,
    amount: int,
    currency: str,
    code: str | None,
    expires_at: datetime | None,
) -> StoredTransfer:
    assert code is not None
    stored = StoredTransfer(
        id=transfer.id,
        ledger=debit.ledger,
        debit_account_id=debit.id,
        credit_account_id=credit.id,
        amount=amount,
        amount_requested=transfer.amount,
        pending_id=transfer.pending_id,
        currency=currency,
        code=code,
        flags=int(transfer.flags),
        timeout_s=transfer.timeout_s,
        expires_at=expires_at,
        metadata=canonical_metadata(transfer.metadata),
        created_at=batch.now,
    )
    batch.created.append(stored)
    batch.existing[stored.id] = stored
    return stored


def metadata_json(metadata: Mapping[str, Any]) -> bytes:
    return orjson.dumps(metadata, option=orjson.OPT_SORT_KEYS)
