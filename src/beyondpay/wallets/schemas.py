"""Ledger parameters and objects: ``ledger_account``, ``ledger_transfer``, their results and
balance snapshots. Ids in them are always the merchant's own (never the ledger's internal ids)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, Field

from beyondpay.db.pagination import LIMIT_DEFAULT, LIMIT_MAX, UNIX_S_MAX, ListParams
from beyondpay.kit.money import (
    INT64_MAX,
    UnknownCurrencyError,
    accepted_currencies_message,
    normalize_currency,
)
from beyondpay.kit.params import Params, check_metadata
from beyondpay.ledger.domain import TIMEOUT_S_MAX, AccountFlags, TransferFlags, available
from beyondpay.ledger.service import AccountBalance, HistoryEntry, JournalEntry
from beyondpay.wallets.domain import (
    CLIENT_ID_CHARS_MAX,
    CLIENT_ID_PATTERN,
    CODE_PATTERN,
    Namespace,
)

# Transfers in one POST: the ledger takes up to 8,190 a batch, but a request's results are
# rendered and stored whole (idempotency), so one request stays the size of a list page.
TRANSFERS_PER_REQUEST_MAX: Final = 100
EXPAND_MAX: Final = 20


def _client_id(value: str) -> str:
    if not CLIENT_ID_PATTERN.match(value):
        raise ValueError(
            f"must be 1 to {CLIENT_ID_CHARS_MAX} characters of A-Z, a-z, 0-9, '_', ':' and '-'"
        )
    return value


def _code(value: str) -> str:
    if not CODE_PATTERN.match(value):
        raise ValueError("must be 1 to 64 characters of A-Z, a-z, 0-9, '_', ':', '.' and '-'")
    return value


def _currency(value: str) -> str:
    try:
        return normalize_currency(value)
    except UnknownCurrencyError:
        raise ValueError(accepted_currencies_message()) from None


# The patterns are also written into the OpenAPI document (json_schema_extra), so that clients
# and schemathesis know the shape; the validators give the error messages.
ClientId = Annotated[
    str,
    Field(json_schema_extra={"pattern": CLIENT_ID_PATTERN.pattern}),
    AfterValidator(_client_id),
]
Code = Annotated[
    str, Field(json_schema_extra={"pattern": CODE_PATTERN.pattern}), AfterValidator(_code)
]
Currency = Annotated[
    str, Field(json_schema_extra={"pattern": "^[A-Za-z]{3}$"}), AfterValidator(_currency)
]
MetadataParam = Annotated[dict[str, str] | str | None, AfterValidator(check_metadata)]
Expand = Annotated[list[str], Field(default_factory=list, max_length=EXPAND_MAX)]


class AccountCreateParams(Params):
    id: ClientId
    currency: Currency
    code: Code
    debits_must_not_exceed_credits: bool = False
    credits_must_not_exceed_debits: bool = False
    metadata: MetadataParam = None
    expand: Expand


class AccountListParams(ListParams):
    pass


class TransferParams(Params):
    id: ClientId
    debit_account: ClientId | None = None
    credit_account: ClientId | None = None
    amount: Annotated[int | None, Field(ge=1, le=INT64_MAX)] = None
    currency: Currency | None = None
    code: Code | None = None
    pending: bool = False
    timeout_s: Annotated[int, Field(ge=0, le=TIMEOUT_S_MAX)] = 0
    post_pending: bool = False
    void_pending: bool = False
    pending_id: ClientId | None = None
    linked: bool = False
    balancing_debit: bool = False
    balancing_credit: bool = False
    metadata: MetadataParam = None

    def flags(self) -> TransferFlags:
        flags = TransferFlags(0)
        for name, flag in _TRANSFER_FLAG_NAMES.items():
            if getattr(self, name):
                flags |= flag
        return flags


class TransferCreateParams(Params):
    transfers: Annotated[
        list[TransferParams], Field(min_length=1, max_length=TRANSFERS_PER_REQUEST_MAX)
    ]
    expand: Expand


class TransferListParams(ListParams):
    account: ClientId | None = None


class HistoryCreatedFilter(Params):
    """Balance history is folded from the journal up to a moment: only upper bounds."""

    lt: int | None = Field(default=None, ge=0, le=UNIX_S_MAX)
    lte: int | None = Field(default=None, ge=0, le=UNIX_S_MAX)


class BalanceHistoryParams(Params):
    """Oldest first (journal order), paged forward with ``starting_after`` (a transfer id)."""

    limit: int = Field(default=LIMIT_DEFAULT, ge=1, le=LIMIT_MAX)
    starting_after: Annotated[str | None, Field(min_length=1, max_length=255)] = None
    created: HistoryCreatedFilter | None = None


_TRANSFER_FLAG_NAMES: Final = {
    "linked": TransferFlags.LINKED,
    "pending": TransferFlags.PENDING,
    "post_pending": TransferFlags.POST_PENDING,
    "void_pending": TransferFlags.VOID_PENDING,
    "balancing_debit": TransferFlags.BALANCING_DEBIT,
    "balancing_credit": TransferFlags.BALANCING_CREDIT,
}


class LedgerAccount(BaseModel):
    id: str
    object: Literal["ledger_account"]
    created: int
    livemode: bool
    currency: str
    code: str
    debits_must_not_exceed_credits: bool
    credits_must_not_exceed_debits: bool
    closed: bool
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int
    available: int
    metadata: dict[str, Any]


class LedgerTransfer(BaseModel):
    id: str
    object: Literal["ledger_transfer"]
    created: int
    livemode: bool
    amount: int
    currency: str
    code: str
    debit_account: str | LedgerAccount
    credit_account: str | LedgerAccount
    pending: bool
    timeout_s: int
    expires_at: int | None
    post_pending: bool
    void_pending: bool
    pending_id: str | None
    hold_status: Literal["pending", "posted", "voided", "expired"] | None
    linked: bool
    balancing_debit: bool
    balancing_credit: bool
    metadata: dict[str, Any]


class LedgerTransferResult(BaseModel):
    object: Literal["ledger_transfer_result"]
    id: str
    result: str
    transfer: LedgerTransfer | None


class LedgerTransferBatch(BaseModel):
    object: Literal["ledger_transfer_batch"]
    livemode: bool
    data: list[LedgerTransferResult]


class LedgerBalanceSnapshot(BaseModel):
    id: str
    object: Literal["ledger_balance_snapshot"]
    account: str
    transfer: str
    created: int
    livemode: bool
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int
    available: int


def _unix(moment: datetime) -> int:
    return int(moment.timestamp())


def account_object(namespace: Namespace, account: AccountBalance) -> dict[str, Any]:
    return {
        "id": namespace.public(account.id),
        "object": "ledger_account",
        "created": _unix(account.created_at),
        "livemode": namespace.livemode,
        "currency": account.currency,
        "code": account.code,
        "debits_must_not_exceed_credits": bool(
            account.flags & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
        ),
        "credits_must_not_exceed_debits": bool(
            account.flags & AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
        ),
        "closed": bool(account.flags & AccountFlags.CLOSED),
        "debits_pending": account.debits_pending,
        "debits_posted": account.debits_posted,
        "credits_pending": account.credits_pending,
        "credits_posted": account.credits_posted,
        "available": account.available,
        "metadata": dict(account.metadata),
    }


def transfer_object(
    namespace: Namespace,
    entry: JournalEntry,
    expanded: Mapping[str, Mapping[str, Any]] | None = None,
    paths: Collection[str] = (),
    hold_statuses: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """``paths`` names the accounts to expand (``debit_account``, ``credit_account``);
    ``expanded`` holds their objects by the ledger's account id; ``hold_statuses`` the status of
    each hold (a pending transfer) by the ledger's transfer id."""
    transfer = entry.transfer
    accounts = expanded or {}

    def account(path: str, ledger_id: str) -> Any:
        return accounts[ledger_id] if path in paths else namespace.public(ledger_id)

    rendered: dict[str, Any] = {
        "id": namespace.public(transfer.id),
        "object": "ledger_transfer",
        "created": _unix(transfer.created_at),
        "livemode": namespace.livemode,
        "amount": transfer.amount,
        "currency": transfer.currency,
        "code": transfer.code,
        "debit_account": account("debit_account", transfer.debit_account_id),
        "credit_account": account("credit_account", transfer.credit_account_id),
        "timeout_s": transfer.timeout_s,
        "expires_at": _unix(transfer.expires_at) if transfer.expires_at else None,
        "pending_id": (
            namespace.public(transfer.pending_id) if transfer.pending_id is not None else None
        ),
        "hold_status": (hold_statuses or {}).get(transfer.id),
        "metadata": dict(transfer.metadata),
    }
    for name, flag in _TRANSFER_FLAG_NAMES.items():
        rendered[name] = bool(transfer.flags & flag)
    return rendered


def snapshot_object(
    namespace: Namespace, account: AccountBalance, entry: HistoryEntry
) -> dict[str, Any]:
    balances = (
        entry.debits_pending,
        entry.debits_posted,
        entry.credits_pending,
        entry.credits_posted,
    )
    transfer_id = namespace.public(entry.transfer_id)
    return {
        # The transfer's id: a snapshot is the account's balances right after that transfer,
        # and the id is what `starting_after` pages by.
        "id": transfer_id,
        "object": "ledger_balance_snapshot",
        "account": namespace.public(account.id),
        "transfer": transfer_id,
        "created": _unix(entry.created_at),
        "livemode": namespace.livemode,
        "debits_pending": entry.debits_pending,
        "debits_posted": entry.debits_posted,
        "credits_pending": entry.credits_pending,
        "credits_posted": entry.credits_posted,
        "available": available(account.flags, balances),
    }
