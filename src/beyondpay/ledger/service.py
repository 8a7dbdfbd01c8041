"""The ledger's use cases: the only code that writes ledger tables.

Every function runs inside the caller's transaction (a unit of work's session, or a psycopg
connection in a transaction) and never commits. ``create_transfers`` locks the accounts a batch
touches in id order and nothing else: transfers are written unsealed, and the sealer numbers and
hash-chains them after commit (``journal.seal_on``; docs/ledger.md, "Concurrency").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.session import driver_connection
from beyondpay.kit.clock import utcnow
from beyondpay.kit.invariants import invariant, unreachable
from beyondpay.ledger.domain import (
    BATCH_ACCOUNTS_MAX,
    BATCH_TRANSFERS_MAX,
    AccountFlags,
    AccountState,
    Batch,
    CreateAccountResult,
    CreateTransferResult,
    NewAccount,
    StoredTransfer,
    Transfer,
    TransferFlags,
    available,
    canonical_metadata,
    evaluate_batch,
    expiry_void,
    metadata_json,
    validate_new_account,
)
from beyondpay.ledger.journal import (
    JournalReport,
    seal_on,
    stored_from_row,
    verify_connection,
)

# A concurrent batch may insert the same new transfer id first; the batch is then re-evaluated.
RETRY_COUNT_MAX: Final = 3
EXPIRE_HOLDS_LIMIT_DEFAULT: Final = 1_000
HISTORY_LIMIT_MAX: Final = 100
# A page of the journal and one entry more, by which a caller tells whether more remain.
JOURNAL_PAGE_LIMIT_MAX: Final = HISTORY_LIMIT_MAX + 1
_DEBITS_LIMITED: Final = int(AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
_CREDITS_LIMITED: Final = int(AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS)
# A transfer's position is its batch's number times this, plus its index in the batch (the
# caller's transfers and at most as many expiry voids).
POSITIONS_PER_BATCH: Final = 2**15

_ACCOUNT_COLUMNS: Final = (
    "id, ledger, currency, code, flags, debits_pending, debits_posted, credits_pending, "
    "credits_posted"
)
_TRANSFER_COLUMNS: Final = (
    "id",
    "ledger",
    "position",
    "debit_account_id",
    "credit_account_id",
    "amount",
    "amount_requested",
    "pending_id",
    "currency",
    "code",
    "flags",
    "timeout_s",
    "expires_at",
    "metadata",
    "created_at",
)
_COPY_TRANSFERS: Final = f"COPY ledger_transfers ({', '.join(_TRANSFER_COLUMNS)}) FROM STDIN"

Connection = psycopg.AsyncConnection[Any]
_ENSURED: Final = frozenset({CreateAccountResult.ok, CreateAccountResult.exists})
_MADE_HERE: Final = "beyondpay.ledger.accounts_made"
# Accounts known to be committed, per database (``LedgerService.ensure_accounts``).
_known: set[tuple[str, str]] = set()


@dataclass(frozen=True, slots=True)
class AccountBalance:
    id: str
    ledger: str
    currency: str
    code: str
    flags: int
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int
    metadata: Mapping[str, Any]
    created_at: datetime

    @property
    def available(self) -> int:
        return available(
            self.flags,
            (self.debits_pending, self.debits_posted, self.credits_pending, self.credits_posted),
        )


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A stored transfer with its place in the journal."""

    transfer: StoredTransfer
    sequence: int | None  # None until the sealer numbers it, about a second after commit
    position: int


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """An account's balances right after one of its transfers."""

    transfer_id: str
    position: int
    created_at: datetime
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int


async def _fetch_transfers(connection: Connection, ids: Iterable[str]) -> dict[str, StoredTransfer]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    async with connection.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(
            "SELECT * FROM ledger_transfers WHERE id = ANY(string_to_array(%s, ','))",
            (_joined(wanted),),
        )
        return {row["id"]: stored_from_row(row) for row in await cursor.fetchall()}


async def _expired_holds(
    connection: Connection, account_ids: list[str] | None, now: datetime, limit: int
) -> list[StoredTransfer]:
    """Open holds past their expiry: on ``account_ids``, or anywhere when it is None."""
    if account_ids is not None and not account_ids:
        return []
    async with connection.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(
            """
            SELECT t.* FROM ledger_open_holds o JOIN ledger_transfers t ON t.id = o.id
            WHERE o.expires_at <= %(now)s
              AND (%(ids)s::text[] IS NULL
                   OR o.debit_account_id = ANY(%(ids)s) OR o.credit_account_id = ANY(%(ids)s))
            ORDER BY o.expires_at, o.id
            LIMIT %(limit)s
            """,
            {"now": now, "ids": account_ids, "limit": limit},
        )
        return [stored_from_row(row) for row in await cursor.fetchall()]


def _joined(values: Sequence[str]) -> str:
    """A list as one comma-joined parameter, split by PostgreSQL's string_to_array.

    Ids match a pattern without commas; one string is adapted far faster than an array of
    thousands of elements.
    """
    return ",".join(values)


def _accounts_of(transfers: Sequence[Transfer], holds: Mapping[str, StoredTransfer]) -> set[str]:
    ids: set[str] = set()
    for transfer in transfers:
        for account_id in (transfer.debit_account_id, transfer.credit_account_id):
            if isinstance(account_id, str) and account_id:
                ids.add(account_id)
    for hold in holds.values():
        ids.add(hold.debit_account_id)
        ids.add(hold.credit_account_id)
    return ids


async def apply_transfers(
    connection: Connection, transfers: Sequence[Transfer], *, system: bool = False
) -> list[CreateTransferResult]:
    """Evaluate and write one batch on ``connection`` (in a transaction; never commits)."""
    invariant(len(transfers) <= BATCH_TRANSFERS_MAX, "batch larger than BATCH_TRANSFERS_MAX")
    if not transfers:
        return []
    now = utcnow()
    pending_ids = [t.pending_id for t in transfers if isinstance(t.pending_id, str)]
    holds = await _fetch_transfers(connection, pending_ids)
    accounts = _accounts_of(transfers, holds)
    # Holds that expired on these accounts are voided by this batch before its own transfers,
    # so they hold no money in its checks; both accounts of each must then be locked too.
    expired = (
        []
        if system
        else await _expired_holds(connection, sorted(accounts), now, BATCH_TRANSFERS_MAX)
    )
    for hold in expired:
        accounts.update((hold.debit_account_id, hold.credit_account_id))
    batch, first_position = await _read_locked(
        connection, transfers, accounts, holds, [*pending_ids, *(h.id for h in expired)], now
    )
    _expire(batch, expired)
    results = evaluate_batch(transfers, batch, system=system)
    if batch.created:
        await _write(connection, batch, first_position)
    return results


async def _read_locked(
    connection: Connection,
    transfers: Sequence[Transfer],
    account_ids: set[str],
    holds: dict[str, StoredTransfer],
    pending_ids: list[str],
    now: datetime,
) -> tuple[Batch, int]:
    """Lock the accounts, then read what the batch refers to and draw its first position: one
    round trip (a pipeline)."""
    transfer_ids = list({t.id for t in transfers if isinstance(t.id, str) and t.id})
    async with connection.pipeline():
        # ORDER BY before FOR UPDATE: rows are locked in id order, the same in every batch.
        locked = await connection.execute(
            f"SELECT {_ACCOUNT_COLUMNS} FROM ledger_accounts "
            "WHERE id = ANY(string_to_array(%s, ',')) ORDER BY id FOR NO KEY UPDATE",
            (_joined(sorted(account_ids)),),
        )
        existing = connection.cursor(row_factory=dict_row)
        await existing.execute(
            "SELECT * FROM ledger_transfers WHERE id = ANY(string_to_array(%s, ','))",
            (_joined(transfer_ids),),
        )
        resolutions = connection.cursor(row_factory=dict_row)
        await resolutions.execute(
            "SELECT * FROM ledger_transfers WHERE pending_id = ANY(string_to_array(%s, ','))",
            (_joined(pending_ids),),
        )
        # The server runs the statements in order: the number is drawn once every account of
        # the batch is locked, so position order is each account's order of application.
        # nextval takes no lock; a batch that creates nothing leaves a gap, which is harmless.
        drawn = await connection.execute("SELECT nextval('ledger_batch_number')")
    number = await drawn.fetchone()
    invariant(number is not None, "the batch number sequence answers")
    first_position = int(number[0]) * POSITIONS_PER_BATCH if number else 0
    batch = Batch(
        accounts={row[0]: AccountState(*row) for row in await locked.fetchall()},
        existing={row["id"]: stored_from_row(row) for row in await existing.fetchall()},
        holds=holds,
        resolutions={
            row["pending_id"]: stored_from_row(row) for row in await resolutions.fetchall()
        },
        now=now,
    )
    return batch, first_position


def _expire(batch: Batch, expired: list[StoredTransfer]) -> None:
    """Void the expired holds that no one resolved while the batch waited for its locks."""
    due = [hold for hold in expired if hold.id not in batch.resolutions]
    if not due:
        return
    for hold in due:
        batch.holds.setdefault(hold.id, hold)
    results = evaluate_batch([expiry_void(hold) for hold in due], batch, system=True)
    invariant(all(r is CreateTransferResult.ok for r in results), "an expiry void always applies")


async def _write(connection: Connection, batch: Batch, first_position: int) -> None:
    """Append the batch's transfers to the journal, unsealed, and store the new balances.

    No journal head is read or locked here: the sealer numbers and hash-chains the transfers
    once they are committed (``journal.seal_on``), so writers on different accounts of one
    ledger never wait for each other.
    """
    created = batch.created
    invariant(len(created) < POSITIONS_PER_BATCH, "a batch fits its range of positions")
    lines = [_copy_line(transfer, first_position + index) for index, transfer in enumerate(created)]
    async with connection.cursor() as copy_cursor, copy_cursor.copy(_COPY_TRANSFERS) as copy:
        await copy.write("".join(lines).encode())
    changed = [batch.accounts[account_id] for account_id in batch.before]
    _assert_balanced(changed, batch.before)
    # A hold opened and resolved in this same batch never enters the open-holds index (the
    # statement's INSERT and DELETE see the same snapshot, so the DELETE would miss it).
    resolved = {t.pending_id for t in created if t.pending_id is not None}
    opened = [t for t in created if t.expires_at is not None and t.id not in resolved]
    await connection.execute(
        """
        WITH accounts AS (
            UPDATE ledger_accounts a SET debits_pending = v.dp, debits_posted = v.dpo,
                credits_pending = v.cp, credits_posted = v.cpo
            FROM unnest(
                string_to_array(%s, ','), string_to_array(%s, ',')::bigint[],
                string_to_array(%s, ',')::bigint[], string_to_array(%s, ',')::bigint[],
                string_to_array(%s, ',')::bigint[]
            ) AS v(id, dp, dpo, cp, cpo)
            WHERE a.id = v.id
        )
        , opened AS (
            INSERT INTO ledger_open_holds (id, debit_account_id, credit_account_id, expires_at)
            SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::timestamptz[])
        )
        DELETE FROM ledger_open_holds WHERE id = ANY(%b::text[])
        """,
        (
            _joined([a.id for a in changed]),
            _joined([str(a.debits_pending) for a in changed]),
            _joined([str(a.debits_posted) for a in changed]),
            _joined([str(a.credits_pending) for a in changed]),
            _joined([str(a.credits_posted) for a in changed]),
            [t.id for t in opened],
            [t.debit_account_id for t in opened],
            [t.credit_account_id for t in opened],
            [t.expires_at for t in opened],
            list(resolved),
        ),
    )


def _copy_line(transfer: StoredTransfer, position: int) -> str:
    """One row in COPY's text format, built by hand: row-by-row adaptation costs 4x more.

    Ids, ledgers, codes and currencies match patterns without tabs, newlines or backslashes;
    metadata is JSON (no raw control characters), whose backslashes COPY needs doubled.
    """
    t = transfer
    metadata = metadata_json(t.metadata).decode().replace("\\", "\\\\")
    requested = "\\N" if t.amount_requested is None else t.amount_requested
    pending_id = "\\N" if t.pending_id is None else t.pending_id
    expires_at = "\\N" if t.expires_at is None else t.expires_at.isoformat()
    return (
        f"{t.id}\t{t.ledger}\t{position}\t{t.debit_account_id}\t"
        f"{t.credit_account_id}\t{t.amount}\t{requested}\t{pending_id}\t{t.currency}\t"
        f"{t.code}\t{t.flags}\t{t.timeout_s}\t{expires_at}\t{metadata}\t"
        f"{t.created_at.isoformat()}\n"
    )


def _assert_balanced(
    changed: list[AccountState], before: Mapping[str, tuple[int, int, int, int]]
) -> None:
    """Per currency, a batch changes debits and credits alike; no account breaks its flags."""
    deltas: dict[str, list[int]] = {}
    sound = True
    for account in changed:
        prior = before[account.id]
        total = deltas.setdefault(account.currency, [0, 0, 0, 0])
        total[0] += account.debits_pending - prior[0]
        total[1] += account.debits_posted - prior[1]
        total[2] += account.credits_pending - prior[2]
        total[3] += account.credits_posted - prior[3]
        debits = account.debits_pending + account.debits_posted
        credits = account.credits_pending + account.credits_posted
        sound = sound and min(account.balances()) >= 0
        sound = sound and not (account.flags & _DEBITS_LIMITED and debits > account.credits_posted)
        sound = sound and not (account.flags & _CREDITS_LIMITED and credits > account.debits_posted)
    invariant(sound, "balances are never negative and no account breaks its flags")
    for debits_pending, debits_posted, credits_pending, credits_posted in deltas.values():
        invariant(debits_pending == credits_pending, "pending debits equal pending credits")
        invariant(debits_posted == credits_posted, "posted debits equal posted credits")


class LedgerService:
    """``ledger_service``: the ledger's use cases, each inside the caller's transaction."""

    async def create_accounts(
        self, session: AsyncSession, accounts: Sequence[NewAccount]
    ) -> list[CreateAccountResult]:
        return await create_accounts_on(await driver_connection(session), accounts)

    async def ensure_accounts(self, session: AsyncSession, accounts: Sequence[NewAccount]) -> None:
        """Creates whichever of ``accounts`` do not exist yet (one that exists must have the
        same fields). Accounts found committed by an earlier transaction are remembered per
        process and database, and skipped from then on; never one this transaction made, which
        could still roll back, nor one another transaction has not committed yet (creating it
        waits for that transaction, then finds it)."""
        connection = await driver_connection(session)
        database = str(connection.info.dbname)
        missing = [account for account in accounts if (database, account.id) not in _known]
        if not missing:
            return
        results = await create_accounts_on(connection, missing)
        made_here: set[str] = session.info.setdefault(_MADE_HERE, set())
        for account, result in zip(missing, results, strict=True):
            invariant(result in _ENSURED, f"account {account.id} exists as asked: {result}")
            if result is CreateAccountResult.ok:
                made_here.add(account.id)
            elif account.id not in made_here:
                _known.add((database, account.id))

    async def create_transfers(
        self, session: AsyncSession, transfers: Sequence[Transfer]
    ) -> list[CreateTransferResult]:
        return await create_transfers_on(await driver_connection(session), transfers)

    async def get_accounts(
        self, session: AsyncSession, ids: Sequence[str]
    ) -> dict[str, AccountBalance]:
        return await get_accounts_on(await driver_connection(session), ids)

    async def close_account(self, session: AsyncSession, account_id: str) -> bool:
        connection = await driver_connection(session)
        cursor = await connection.execute(
            "UPDATE ledger_accounts SET flags = flags | %s WHERE id = %s RETURNING id",
            (int(AccountFlags.CLOSED), account_id),
        )
        return await cursor.fetchone() is not None

    async def expire_holds(
        self, session: AsyncSession, limit: int = EXPIRE_HOLDS_LIMIT_DEFAULT
    ) -> int:
        return await expire_holds_on(await driver_connection(session), limit)

    async def account_transfers(
        self,
        session: AsyncSession,
        account_id: str,
        *,
        after_position: int | None = None,
        limit: int = HISTORY_LIMIT_MAX,
    ) -> list[JournalEntry]:
        return await account_transfers_on(
            await driver_connection(session), account_id, after_position, limit
        )

    async def balance_history(
        self,
        session: AsyncSession,
        account_id: str,
        *,
        after_position: int | None = None,
        until: datetime | None = None,
        limit: int = HISTORY_LIMIT_MAX,
    ) -> list[HistoryEntry]:
        return await balance_history_on(
            await driver_connection(session), account_id, after_position, until, limit
        )

    async def balance_at(
        self,
        session: AsyncSession,
        account_id: str,
        *,
        transfer_id: str | None = None,
        at: datetime | None = None,
    ) -> HistoryEntry | None:
        return await balance_at_on(
            await driver_connection(session), account_id, transfer_id=transfer_id, at=at
        )

    async def seal(self, session: AsyncSession) -> int:
        """``journal.seal_on`` in the session's transaction (the worker seals on its own)."""
        return await seal_on(await driver_connection(session))

    async def verify_journal(
        self, session: AsyncSession, *, seal_first: bool = False
    ) -> JournalReport:
        """``journal.verify_connection``; ``seal_first`` seals in the session's transaction."""
        return await verify_connection(await driver_connection(session), seal_first=seal_first)

    async def get_transfers(
        self, session: AsyncSession, ids: Sequence[str]
    ) -> dict[str, JournalEntry]:
        return await get_transfers_on(await driver_connection(session), ids)

    async def resolutions(
        self, session: AsyncSession, pending_ids: Sequence[str]
    ) -> dict[str, JournalEntry]:
        """The transfer that posted or voided (or, as an expiry, voided) each hold, by the hold's
        id; a hold still open has none. One resolution per hold: pending_id is unique."""
        wanted = list(set(pending_ids))
        if not wanted:
            return {}
        connection = await driver_connection(session)
        async with connection.cursor(row_factory=dict_row) as cursor:
            await cursor.execute(
                "SELECT * FROM ledger_transfers WHERE pending_id = ANY(%s)", (wanted,)
            )
            return {
                row["pending_id"]: JournalEntry(
                    stored_from_row(row), row["sequence"], row["position"]
                )
                for row in await cursor.fetchall()
            }

    async def journal_page(
        self,
        session: AsyncSession,
        ledger: str,
        *,
        account_id: str | None = None,
        before: JournalEntry | None = None,
        after: JournalEntry | None = None,
        created_from: datetime | None = None,
        created_until: datetime | None = None,
        limit: int = HISTORY_LIMIT_MAX,
    ) -> list[JournalEntry]:
        return await journal_page_on(
            await driver_connection(session),
            JournalQuery(ledger, account_id, before, after, created_from, created_until),
            limit,
        )


async def create_transfers_on(
    connection: Connection, transfers: Sequence[Transfer], *, system: bool = False
) -> list[CreateTransferResult]:
    """``apply_transfers`` in a savepoint, retried when a concurrent batch took a new id first."""
    for attempt in range(RETRY_COUNT_MAX):
        try:
            async with connection.transaction():
                return await apply_transfers(connection, transfers, system=system)
        except psycopg.errors.UniqueViolation:
            if attempt == RETRY_COUNT_MAX - 1:
                raise
    unreachable("the last attempt returns or raises")


async def create_accounts_on(
    connection: Connection, accounts: Sequence[NewAccount]
) -> list[CreateAccountResult]:
    invariant(len(accounts) <= BATCH_ACCOUNTS_MAX, "batch larger than BATCH_ACCOUNTS_MAX")
    results: list[CreateAccountResult | None] = [validate_new_account(a) for a in accounts]
    first: dict[str, NewAccount] = {}
    for index, account in enumerate(accounts):
        if results[index] is None and account.id not in first:
            first[account.id] = account
    inserted = await _insert_accounts(connection, list(first.values())) if first else set()
    stored = await get_accounts_on(connection, list(first))
    for index, account in enumerate(accounts):
        if results[index] is None:
            fresh = account is first[account.id] and account.id in inserted
            results[index] = (
                CreateAccountResult.ok if fresh else _account_result(account, stored[account.id])
            )
    return [result for result in results if result is not None]


async def _insert_accounts(connection: Connection, accounts: list[NewAccount]) -> set[str]:
    now = utcnow()
    cursor = await connection.execute(
        """
        INSERT INTO ledger_accounts (id, ledger, currency, code, flags, metadata, created_at)
        SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::int[],
                             %s::jsonb[], %s::timestamptz[])
        ORDER BY 1
        ON CONFLICT (id) DO NOTHING
        RETURNING id
        """,
        (
            [a.id for a in accounts],
            [a.ledger for a in accounts],
            [a.currency for a in accounts],
            [a.code for a in accounts],
            [int(a.flags) for a in accounts],
            [Jsonb(canonical_metadata(a.metadata)) for a in accounts],
            [now] * len(accounts),
        ),
    )
    inserted = {row[0] for row in await cursor.fetchall()}
    ledgers = sorted({a.ledger for a in accounts if a.id in inserted})
    if ledgers:
        await connection.execute(
            "INSERT INTO ledger_heads (ledger) SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING",
            (ledgers,),
        )
    return inserted


def _account_result(account: NewAccount, stored: AccountBalance) -> CreateAccountResult:
    if stored.ledger != account.ledger:
        return CreateAccountResult.exists_with_different_ledger
    if stored.currency != account.currency:
        return CreateAccountResult.exists_with_different_currency
    if stored.code != account.code:
        return CreateAccountResult.exists_with_different_code
    if stored.flags != int(account.flags):
        return CreateAccountResult.exists_with_different_flags
    return CreateAccountResult.exists


async def get_accounts_on(connection: Connection, ids: Sequence[str]) -> dict[str, AccountBalance]:
    """Accounts as read: a hold past its expiry already counts as released."""
    wanted = list(set(ids))
    if not wanted:
        return {}
    cursor = await connection.execute(
        f"SELECT {_ACCOUNT_COLUMNS}, metadata, created_at FROM ledger_accounts WHERE id = ANY(%s)",
        (wanted,),
    )
    rows = {row[0]: list(row) for row in await cursor.fetchall()}
    holding = [key for key, row in rows.items() if row[5] or row[7]]
    for hold in await _expired_holds(connection, holding, utcnow(), 2**31 - 1):
        if hold.debit_account_id in rows:
            rows[hold.debit_account_id][5] -= hold.amount
        if hold.credit_account_id in rows:
            rows[hold.credit_account_id][7] -= hold.amount
    return {key: AccountBalance(*row) for key, row in rows.items()}


async def expire_holds_on(connection: Connection, limit: int = EXPIRE_HOLDS_LIMIT_DEFAULT) -> int:
    """Void holds past their timeout (the expiry job); safe to run twice or concurrently."""
    holds = await _expired_holds(connection, None, utcnow(), min(limit, BATCH_TRANSFERS_MAX))
    if not holds:
        return 0
    results = await create_transfers_on(
        connection, [expiry_void(hold) for hold in holds], system=True
    )
    return sum(1 for result in results if result is CreateTransferResult.ok)


async def account_transfers_on(
    connection: Connection, account_id: str, after_position: int | None, limit: int
) -> list[JournalEntry]:
    async with connection.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(
            """
            SELECT * FROM ledger_transfers
            WHERE (debit_account_id = %(a)s OR credit_account_id = %(a)s)
              AND position > %(after)s
            ORDER BY position LIMIT %(limit)s
            """,
            {"a": account_id, "after": after_position or 0, "limit": min(limit, HISTORY_LIMIT_MAX)},
        )
        return [
            JournalEntry(stored_from_row(row), row["sequence"], row["position"])
            for row in await cursor.fetchall()
        ]


async def _fold_history(
    connection: Connection, account_id: str, until: datetime | None
) -> list[HistoryEntry]:
    """Balances after each of the account's transfers, folded from the journal."""
    cursor = await connection.execute(
        """
        SELECT t.id, t.position, t.created_at, t.flags, t.amount, h.amount,
               t.debit_account_id = %(a)s
        FROM ledger_transfers t LEFT JOIN ledger_transfers h ON h.id = t.pending_id
        WHERE (t.debit_account_id = %(a)s OR t.credit_account_id = %(a)s)
          AND (%(until)s::timestamptz IS NULL OR t.created_at <= %(until)s)
        ORDER BY t.position
        """,
        {"a": account_id, "until": until},
    )
    balances = [0, 0, 0, 0]  # debits_pending, debits_posted, credits_pending, credits_posted
    history: list[HistoryEntry] = []
    async for transfer_id, position, created_at, flags, amount, hold, is_debit in cursor:
        side = 0 if is_debit else 2
        if flags & (TransferFlags.POST_PENDING | TransferFlags.VOID_PENDING):
            balances[side] -= hold
            if flags & TransferFlags.POST_PENDING:
                balances[side + 1] += amount
        elif flags & TransferFlags.PENDING:
            balances[side] += amount
        else:
            balances[side + 1] += amount
        history.append(HistoryEntry(transfer_id, position, created_at, *balances))
    return history


async def balance_history_on(
    connection: Connection,
    account_id: str,
    after_position: int | None,
    until: datetime | None,
    limit: int,
) -> list[HistoryEntry]:
    """A page of the account's balances after each transfer, in journal order."""
    entries = await _fold_history(connection, account_id, until)
    after = after_position or 0
    return [entry for entry in entries if entry.position > after][: min(limit, HISTORY_LIMIT_MAX)]


async def balance_at_on(
    connection: Connection,
    account_id: str,
    *,
    transfer_id: str | None = None,
    at: datetime | None = None,
) -> HistoryEntry | None:
    """The account's balances right after ``transfer_id``, or as they stood at time ``at``."""
    entries = await _fold_history(connection, account_id, at)
    if transfer_id is None:
        return entries[-1] if entries else None
    return next((entry for entry in entries if entry.transfer_id == transfer_id), None)


async def get_transfers_on(connection: Connection, ids: Sequence[str]) -> dict[str, JournalEntry]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    async with connection.cursor(row_factory=dict_row) as cursor:
        await cursor.execute("SELECT * FROM ledger_transfers WHERE id = ANY(%s)", (wanted,))
        return {
            row["id"]: JournalEntry(stored_from_row(row), row["sequence"], row["position"])
            for row in await cursor.fetchall()
        }


@dataclass(frozen=True, slots=True)
class JournalQuery:
    """One ledger's journal, or the part of it touching one account, between two entries
    (exclusive) and within ``created_at`` bounds (inclusive)."""

    ledger: str
    account_id: str | None
    before: JournalEntry | None
    after: JournalEntry | None
    created_from: datetime | None
    created_until: datetime | None


async def journal_page_on(
    connection: Connection, journal: JournalQuery, limit: int
) -> list[JournalEntry]:
    """Newest first; oldest first when only ``after`` is given (the caller pages backwards).

    Pages by position, not sequence: the newest transfers may not be sealed yet (numbered about
    a second after commit), and a page must list them too. The whole ledger reads its
    ``(ledger, position)`` index, one account its two ``(…_account_id, position)`` indexes,
    each read in order and merged (no sort of the account's whole history).
    """
    ascending = journal.after is not None and journal.before is None
    order = "ASC" if ascending else "DESC"
    values: dict[str, Any] = {
        "ledger": journal.ledger,
        "account": journal.account_id,
        "created_from": journal.created_from,
        "created_until": journal.created_until,
        "limit": min(limit, JOURNAL_PAGE_LIMIT_MAX),
    }
    conditions = [
        "ledger = %(ledger)s",
        "(%(created_from)s::timestamptz IS NULL OR created_at >= %(created_from)s)",
        "(%(created_until)s::timestamptz IS NULL OR created_at <= %(created_until)s)",
    ]
    if journal.before is not None:
        values["before"] = journal.before.position
        conditions.append("position < %(before)s")
    if journal.after is not None:
        values["after"] = journal.after.position
        conditions.append("position > %(after)s")
    where = " AND ".join(conditions)
    if journal.account_id is None:
        statement = (
            f"SELECT * FROM ledger_transfers WHERE {where}"
            f" ORDER BY position {order} LIMIT %(limit)s"
        )
    else:
        sides = [
            f"(SELECT * FROM ledger_transfers WHERE {side}_account_id = %(account)s AND {where}"
            f" ORDER BY position {order} LIMIT %(limit)s)"
            for side in ("debit", "credit")
        ]
        statement = (
            f"SELECT * FROM ({sides[0]} UNION ALL {sides[1]}) AS touching"
            f" ORDER BY position {order} LIMIT %(limit)s"
        )
    async with connection.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(statement, values)
        return [
            JournalEntry(stored_from_row(row), row["sequence"], row["position"])
            for row in await cursor.fetchall()
        ]


ledger_service = LedgerService()
