"""Ledger use cases for merchants, always inside the caller's namespace (wallets.domain).

Every id the merchant sends is turned into the ledger's id under the caller's prefix before it
reaches the ledger, so an id of another merchant or of the other mode can never be named: it is
simply not found. Never commits: the request owns the transaction.

A new account records ``ledger_account.created`` and each transfer made (result ``ok``, not
``exists``) ``ledger_transfer.created``, in the same transaction, carrying the object as the API
renders it (amounts, accounts, codes and metadata: no secret, card number, PIN or VPA).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.pagination import UNIX_S_MAX, CreatedFilter
from beyondpay.kit.errors import InvalidRequestError, ResourceMissingError
from beyondpay.kit.invariants import invariant
from beyondpay.kit.params import merge_metadata
from beyondpay.ledger.domain import (
    EXPIRY_CODE,
    AccountFlags,
    CreateAccountResult,
    CreateTransferResult,
    NewAccount,
    Transfer,
    TransferFlags,
)
from beyondpay.ledger.service import AccountBalance, HistoryEntry, JournalEntry, ledger_service
from beyondpay.merchants.domain import Caller
from beyondpay.wallets import events
from beyondpay.wallets.domain import CLIENT_ID_PATTERN, LOOKUP_ID_PATTERN, Namespace
from beyondpay.wallets.errors import LedgerAccountExistsError
from beyondpay.wallets.events import WalletEvent
from beyondpay.wallets.models import WalletAccountRow
from beyondpay.wallets.schemas import (
    AccountCreateParams,
    AccountListParams,
    BalanceHistoryParams,
    HistoryCreatedFilter,
    TransferCreateParams,
    TransferListParams,
    TransferParams,
    account_object,
    transfer_object,
)

ACCOUNT: Final = "ledger_account"
TRANSFER: Final = "ledger_transfer"
# The ledger's verdicts on an account that may not be created, and the parameter at fault.
_ACCOUNT_RESULT_PARAMS: Final = {
    CreateAccountResult.id_invalid: "id",
    CreateAccountResult.currency_invalid: "currency",
    CreateAccountResult.code_invalid: "code",
    CreateAccountResult.flags_are_mutually_exclusive: "credits_must_not_exceed_debits",
    CreateAccountResult.metadata_invalid: "metadata",
}
_ONE_MICROSECOND: Final = timedelta(microseconds=1)
_SECOND_LAST_MICROSECOND: Final = timedelta(microseconds=999_999)


@dataclass(frozen=True, slots=True)
class TransferOutcome:
    """One transfer of a batch: the ledger's result, and the stored transfer when there is one
    (``ok``: the one just made; ``exists``: the one made before with this id)."""

    id: str
    result: CreateTransferResult
    entry: JournalEntry | None


def _metadata(value: dict[str, str] | str | None) -> dict[str, str] | None:
    if value is None:
        return None
    return merge_metadata({}, value if isinstance(value, dict) else {})


def _moment(unix_s: int) -> datetime:
    return datetime.fromtimestamp(unix_s, tz=UTC)


def _created_bounds(
    created: CreatedFilter | HistoryCreatedFilter | None,
) -> tuple[datetime | None, datetime | None]:
    """``created[...]`` (unix seconds) as inclusive bounds on microsecond times. A second's last
    microsecond is added rather than the next second's start subtracted: the last second of
    9999 has no next one (``UNIX_S_MAX``)."""
    if created is None:
        return None, None
    starts: list[datetime] = []
    ends: list[datetime] = []
    if isinstance(created, CreatedFilter):
        if created.gt is not None:
            starts.append(_moment(min(created.gt + 1, UNIX_S_MAX)))
        if created.gte is not None:
            starts.append(_moment(created.gte))
    if created.lt is not None:
        ends.append(_moment(created.lt) - _ONE_MICROSECOND)
    if created.lte is not None:
        ends.append(_moment(created.lte) + _SECOND_LAST_MICROSECOND)
    return (max(starts) if starts else None), (min(ends) if ends else None)


def _refuse_both_cursors(params: AccountListParams | TransferListParams) -> None:
    if params.starting_after and params.ending_before:
        raise InvalidRequestError(
            "You may only specify one of these parameters: starting_after, ending_before.",
            param="ending_before",
        )


def _touches(entry: JournalEntry, account_id: str) -> bool:
    return account_id in (entry.transfer.debit_account_id, entry.transfer.credit_account_id)


class WalletService:
    async def create_account(
        self, session: AsyncSession, caller: Caller, params: AccountCreateParams
    ) -> AccountBalance:
        """A new account; the same id with the same currency, code and flags returns the
        existing one (the ledger's ``exists``), other values → ``resource_already_exists``."""
        namespace = Namespace.of(caller)
        flags = AccountFlags(0)
        if params.debits_must_not_exceed_credits:
            flags |= AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
        if params.credits_must_not_exceed_debits:
            flags |= AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
        account = NewAccount(
            id=namespace.internal(params.id),
            ledger=namespace.ledger,
            currency=params.currency,
            code=params.code,
            flags=flags,
            metadata=_metadata(params.metadata),
        )
        [result] = await ledger_service.create_accounts(session, [account])
        if result in _ACCOUNT_RESULT_PARAMS:
            param = _ACCOUNT_RESULT_PARAMS[result]
            raise InvalidRequestError(f"Invalid {param}: {result.value}.", param=param)
        if result not in (CreateAccountResult.ok, CreateAccountResult.exists):
            invariant(
                result is not CreateAccountResult.ledger_invalid, "namespace ledger name valid"
            )
            raise LedgerAccountExistsError(
                f"A ledger account with id '{params.id}' already exists ({result.value}).",
                param="id",
            )
        stored = (await ledger_service.get_accounts(session, [account.id]))[account.id]
        if result is CreateAccountResult.ok:
            await events.record(
                session, namespace, WalletEvent.account_created, account_object(namespace, stored)
            )
        # After a crash between the ledger's insert and this one, a retry repairs the listing.
        await session.execute(
            insert(WalletAccountRow)
            .values(
                merchant_id=namespace.merchant_id,
                livemode=namespace.livemode,
                id=params.id,
                created_at=stored.created_at,
            )
            .on_conflict_do_nothing(index_elements=["merchant_id", "livemode", "id"])
        )
        return stored

    async def get_account(
        self, session: AsyncSession, caller: Caller, account_id: str, *, param: str = "id"
    ) -> AccountBalance:
        """The account; 404 for an unknown id, another merchant's or the other mode's alike."""
        namespace = Namespace.of(caller)
        if not CLIENT_ID_PATTERN.match(account_id):
            raise ResourceMissingError.for_object(ACCOUNT, account_id, param=param)
        internal_id = namespace.internal(account_id)
        found = await ledger_service.get_accounts(session, [internal_id])
        if internal_id not in found:
            raise ResourceMissingError.for_object(ACCOUNT, account_id, param=param)
        return found[internal_id]

    async def accounts_by_ledger_id(
        self, session: AsyncSession, caller: Caller, ids: Sequence[str]
    ) -> dict[str, AccountBalance]:
        """Accounts by the ledger's ids (read from stored transfers of the namespace)."""
        prefix = Namespace.of(caller).prefix
        invariant(all(i.startswith(prefix) for i in ids), "accounts read are the caller's")
        return await ledger_service.get_accounts(session, ids)

    async def list_accounts(
        self, session: AsyncSession, caller: Caller, params: AccountListParams
    ) -> tuple[list[AccountBalance], bool]:
        """Newest first, by the order the accounts were made."""
        _refuse_both_cursors(params)
        namespace = Namespace.of(caller)
        scope = (
            WalletAccountRow.merchant_id == namespace.merchant_id,
            WalletAccountRow.livemode == namespace.livemode,
        )
        created_from, created_until = _created_bounds(params.created)
        statement = select(WalletAccountRow.id).where(*scope)
        if created_from is not None:
            statement = statement.where(WalletAccountRow.created_at >= created_from)
        if created_until is not None:
            statement = statement.where(WalletAccountRow.created_at <= created_until)
        cursor = params.starting_after or params.ending_before
        order = WalletAccountRow.sequence.desc()
        if cursor is not None:
            found = (
                await session.execute(
                    select(WalletAccountRow.sequence).where(*scope, WalletAccountRow.id == cursor)
                )
            ).scalar_one_or_none()
            if found is None:
                param = "starting_after" if params.starting_after else "ending_before"
                raise ResourceMissingError.for_object(ACCOUNT, cursor, param=param)
            if params.ending_before:
                statement = statement.where(WalletAccountRow.sequence > found)
                order = WalletAccountRow.sequence.asc()
            else:
                statement = statement.where(WalletAccountRow.sequence < found)
        ids = list(
            (await session.execute(statement.order_by(order).limit(params.limit + 1))).scalars()
        )
        has_more = len(ids) > params.limit
        ids = ids[: params.limit]
        if params.ending_before:
            ids.reverse()
        internal_ids = [namespace.internal(i) for i in ids]
        accounts = await ledger_service.get_accounts(session, internal_ids)
        invariant(len(accounts) == len(internal_ids), "every listed account is in the ledger")
        return [accounts[i] for i in internal_ids], has_more

    async def create_transfers(
        self, session: AsyncSession, caller: Caller, params: TransferCreateParams
    ) -> list[TransferOutcome]:
        """The batch, in one call to the ledger (one set of locks, in the ledger's order)."""
        namespace = Namespace.of(caller)
        transfers = [self._ledger_transfer(namespace, item) for item in params.transfers]
        results = await ledger_service.create_transfers(session, transfers)
        invariant(len(results) == len(transfers), "one result per transfer")
        stored = (CreateTransferResult.ok, CreateTransferResult.exists)
        made = [t.id for t, result in zip(transfers, results, strict=True) if result in stored]
        entries = await ledger_service.get_transfers(session, made)
        invariant(set(made) == set(entries), "every transfer made or found can be read back")
        await self._record_transfers(session, namespace, transfers, results, entries)
        return [
            TransferOutcome(item.id, result, entries[transfer.id] if result in stored else None)
            for item, transfer, result in zip(params.transfers, transfers, results, strict=True)
        ]

    async def _record_transfers(
        self,
        session: AsyncSession,
        namespace: Namespace,
        transfers: Sequence[Transfer],
        results: Sequence[CreateTransferResult],
        entries: dict[str, JournalEntry],
    ) -> None:
        """``ledger_transfer.created`` for each transfer of the batch that was made now."""
        created = [
            entries[transfer.id]
            for transfer, result in zip(transfers, results, strict=True)
            if result is CreateTransferResult.ok
        ]
        if not created:
            return
        statuses = await self.hold_statuses(session, created)
        for entry in created:
            rendered = transfer_object(namespace, entry, hold_statuses=statuses)
            await events.record(session, namespace, WalletEvent.transfer_created, rendered)

    @staticmethod
    def _ledger_transfer(namespace: Namespace, item: TransferParams) -> Transfer:
        def internal(client_id: str | None) -> str | None:
            return namespace.internal(client_id) if client_id is not None else None

        return Transfer(
            id=namespace.internal(item.id),
            debit_account_id=internal(item.debit_account),
            credit_account_id=internal(item.credit_account),
            amount=item.amount,
            currency=item.currency,
            code=item.code,
            flags=item.flags(),
            pending_id=internal(item.pending_id),
            timeout_s=item.timeout_s,
            metadata=_metadata(item.metadata),
        )

    async def hold_statuses(
        self, session: AsyncSession, entries: Sequence[JournalEntry]
    ) -> dict[str, str]:
        """``pending``, ``posted``, ``voided`` or ``expired`` for each hold among ``entries``, by
        the ledger's transfer id; transfers that are not holds have no status."""
        holds = [
            entry.transfer.id for entry in entries if entry.transfer.flags & TransferFlags.PENDING
        ]
        resolved = await ledger_service.resolutions(session, holds)
        statuses: dict[str, str] = {}
        for hold in holds:
            resolution = resolved.get(hold)
            if resolution is None:
                statuses[hold] = "pending"
            elif resolution.transfer.flags & TransferFlags.POST_PENDING:
                statuses[hold] = "posted"
            elif resolution.transfer.code == EXPIRY_CODE:
                statuses[hold] = "expired"
            else:
                statuses[hold] = "voided"
        return statuses

    async def _find_transfer(
        self, session: AsyncSession, namespace: Namespace, transfer_id: str
    ) -> JournalEntry | None:
        if not LOOKUP_ID_PATTERN.match(transfer_id):
            return None
        internal_id = namespace.internal(transfer_id)
        return (await ledger_service.get_transfers(session, [internal_id])).get(internal_id)

    async def get_transfer(
        self, session: AsyncSession, caller: Caller, transfer_id: str
    ) -> JournalEntry:
        entry = await self._find_transfer(session, Namespace.of(caller), transfer_id)
        if entry is None:
            raise ResourceMissingError.for_object(TRANSFER, transfer_id)
        return entry

    async def list_transfers(
        self, session: AsyncSession, caller: Caller, params: TransferListParams
    ) -> tuple[list[JournalEntry], bool]:
        """Newest first: the whole namespace's journal, or one account's part of it."""
        _refuse_both_cursors(params)
        namespace = Namespace.of(caller)
        account_id = None
        if params.account is not None:
            account = await self.get_account(session, caller, params.account, param="account")
            account_id = account.id
        cursor = params.starting_after or params.ending_before
        anchor = None
        if cursor is not None:
            anchor = await self._find_transfer(session, namespace, cursor)
            if anchor is None or (account_id is not None and not _touches(anchor, account_id)):
                param = "starting_after" if params.starting_after else "ending_before"
                raise ResourceMissingError.for_object(TRANSFER, cursor, param=param)
        created_from, created_until = _created_bounds(params.created)
        entries = await ledger_service.journal_page(
            session,
            namespace.ledger,
            account_id=account_id,
            before=anchor if params.starting_after else None,
            after=anchor if params.ending_before else None,
            created_from=created_from,
            created_until=created_until,
            limit=params.limit + 1,
        )
        has_more = len(entries) > params.limit
        entries = entries[: params.limit]
        if params.ending_before:
            entries.reverse()
        return entries, has_more

    async def balance_history(
        self, session: AsyncSession, caller: Caller, account_id: str, params: BalanceHistoryParams
    ) -> tuple[AccountBalance, list[HistoryEntry], bool]:
        """The account's balances right after each of its transfers, oldest first."""
        namespace = Namespace.of(caller)
        account = await self.get_account(session, caller, account_id)
        after_position = None
        if params.starting_after is not None:
            anchor = await self._find_transfer(session, namespace, params.starting_after)
            if anchor is None or not _touches(anchor, account.id):
                raise ResourceMissingError.for_object(
                    TRANSFER, params.starting_after, param="starting_after"
                )
            after_position = anchor.position
        _, until = _created_bounds(params.created)
        entries = await ledger_service.balance_history(
            session, account.id, after_position=after_position, until=until, limit=params.limit
        )
        has_more = False
        if len(entries) == params.limit:
            following = await ledger_service.balance_history(
                session, account.id, after_position=entries[-1].position, until=until, limit=1
            )
            has_more = bool(following)
        return account, entries, has_more


wallet_service = WalletService()
