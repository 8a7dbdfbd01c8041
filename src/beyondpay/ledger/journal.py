"""The journal's integrity: canonical hashing of transfers, sealing them, and replaying it all
to verify.

Each transfer's hash covers the previous hash in its ledger and its own canonical fields, so a
row changed behind the ledger's back (the table refuses UPDATE, but a superuser can disable the
trigger) breaks the chain from that row on, and the replay of balances shows what it moved.

Writers insert transfers unsealed (no sequence, prev_hash or hash), so that no payment locks a
journal head. :func:`seal_on` seals committed transfers after the fact, a ledger at a time: it
locks the ledger's ``ledger_heads`` row (only the sealer ever locks it), takes that ledger's
unsealed transfers in position order, gives them the next sequence numbers and chains their
hashes, and commits rows and head together. Numbers go only to committed rows (READ COMMITTED:
the statement after the lock sees every commit so far) under the head's lock, so each ledger's
sealed transfers are numbered 1..N with no gap, and two sealers at once are safe: the second
waits for the lock, then finds those transfers sealed. The worker runs it every second
(``ledger.tasks.seal_journal``), as ``events.tasks`` numbers events after commit.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import psycopg
from psycopg.rows import dict_row

from beyondpay.kit.invariants import invariant
from beyondpay.kit.money import INT64_MAX
from beyondpay.ledger.domain import AccountFlags, StoredTransfer, TransferFlags, metadata_json

GENESIS_HASH: Final = bytes(32)
VERIFY_FETCH_ROWS: Final = 10_000
PROBLEMS_MAX: Final = 1_000
# Transfers sealed per transaction, and transactions per ledger per run: the next run (a second
# later) continues. One batch holds the ledger's head for a few milliseconds.
SEAL_BATCH_TRANSFERS_MAX: Final = 4_096
SEAL_ROUNDS_MAX: Final = 100
# Ledgers a run visits; the next run takes the rest.
SEAL_LEDGERS_MAX: Final = 1_000
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def _microseconds(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def transfer_hash(prev_hash: bytes, sequence: int, transfer: StoredTransfer) -> bytes:
    """SHA-256 of the previous hash and the transfer's canonical fields.

    The fields are joined with the unit separator (0x1F): ids, codes, ledgers and currencies
    cannot contain it (their patterns exclude it) and JSON escapes it inside metadata, so no two
    different transfers encode alike.
    """
    t = transfer
    requested = "" if t.amount_requested is None else t.amount_requested
    expires_at = "" if t.expires_at is None else _microseconds(t.expires_at)
    canonical = (
        f"{t.ledger}\x1f{sequence}\x1f{t.id}\x1f{t.debit_account_id}\x1f{t.credit_account_id}"
        f"\x1f{t.amount}\x1f{requested}\x1f{t.pending_id or ''}\x1f{t.currency}\x1f{t.code}"
        f"\x1f{t.flags}\x1f{t.timeout_s}\x1f{expires_at}\x1f{_microseconds(t.created_at)}"
    )
    return hashlib.sha256(
        prev_hash + canonical.encode() + b"\x1f" + metadata_json(transfer.metadata)
    ).digest()


def stored_from_row(row: dict[str, Any]) -> StoredTransfer:
    return StoredTransfer(
        id=row["id"],
        ledger=row["ledger"],
        debit_account_id=row["debit_account_id"],
        credit_account_id=row["credit_account_id"],
        amount=row["amount"],
        amount_requested=row["amount_requested"],
        pending_id=row["pending_id"],
        currency=row["currency"],
        code=row["code"],
        flags=row["flags"],
        timeout_s=row["timeout_s"],
        expires_at=row["expires_at"],
        metadata=row["metadata"],
        created_at=row["created_at"],
    )


Connection = psycopg.AsyncConnection[Any]

_LOCK_HEAD: Final = "SELECT sequence, hash FROM ledger_heads WHERE ledger = %s FOR UPDATE"
# Under READ COMMITTED this statement's snapshot is taken after the head's lock is granted: it
# sees every transfer committed by then and every seal the lock's previous holder committed.
_UNSEALED: Final = (
    "SELECT * FROM ledger_transfers WHERE ledger = %s AND sequence IS NULL"
    " ORDER BY position LIMIT %s"
)
# Matched through the ledger's unsealed rows (their partial index), whatever the planner's
# statistics say about how many rows are unsealed: never a scan of the whole journal.
_SEAL: Final = """
WITH sealed AS (
    UPDATE ledger_transfers t SET sequence = v.sequence, prev_hash = v.prev_hash, hash = v.hash
    FROM unnest(%(ids)s::text[], %(positions)s::bigint[], %(sequences)s::bigint[],
                %(prev_hashes)s::bytea[], %(hashes)s::bytea[])
         AS v(id, position, sequence, prev_hash, hash)
    WHERE t.ledger = %(ledger)s AND t.sequence IS NULL AND t.position = v.position
      AND t.id = v.id
    RETURNING 1
)
UPDATE ledger_heads SET sequence = %(sequence)s, hash = %(hash)s
WHERE ledger = %(ledger)s AND (SELECT count(*) FROM sealed) = %(count)s
RETURNING 1
"""
_UNSEALED_LEDGERS: Final = (
    "SELECT DISTINCT ledger FROM ledger_transfers WHERE sequence IS NULL LIMIT %s"
)


async def _seal_batch(connection: Connection, ledger: str) -> int:
    """Seal up to SEAL_BATCH_TRANSFERS_MAX of the ledger's committed transfers; how many."""
    invariant(
        connection.isolation_level in (None, psycopg.IsolationLevel.READ_COMMITTED),
        "the sealer reads under READ COMMITTED, so it sees what committed while it waited",
    )
    async with connection.transaction():
        async with connection.pipeline():
            locked = await connection.execute(_LOCK_HEAD, (ledger,))
            unsealed = connection.cursor(row_factory=dict_row)
            await unsealed.execute(_UNSEALED, (ledger, SEAL_BATCH_TRANSFERS_MAX))
        head = await locked.fetchone()
        invariant(head is not None, "every ledger with accounts has a journal head")
        rows = await unsealed.fetchall()
        if head is None or not rows:
            return 0
        sequence, digest = int(head[0]), bytes(head[1])
        ids, positions, sequences, prev_hashes, hashes = [], [], [], [], []
        for row in rows:
            prev_hash, sequence = digest, sequence + 1
            digest = transfer_hash(prev_hash, sequence, stored_from_row(row))
            ids.append(row["id"])
            positions.append(row["position"])
            sequences.append(sequence)
            prev_hashes.append(prev_hash)
            hashes.append(digest)
        cursor = await connection.execute(
            _SEAL,
            {
                "ids": ids,
                "positions": positions,
                "sequences": sequences,
                "prev_hashes": prev_hashes,
                "hashes": hashes,
                "sequence": sequence,
                "hash": digest,
                "ledger": ledger,
                "count": len(rows),
            },
        )
        invariant(await cursor.fetchone() is not None, "every transfer read is sealed, once")
        return len(rows)


async def seal_ledger_on(connection: Connection, ledger: str) -> int:
    """Seal the ledger's committed unsealed transfers, a batch per transaction; how many.

    Commits each batch when ``connection`` is not in a transaction (otherwise the caller's
    transaction commits them); safe to run twice or in two processes at once.
    """
    total = 0
    for _ in range(SEAL_ROUNDS_MAX):
        sealed = await _seal_batch(connection, ledger)
        total += sealed
        if sealed < SEAL_BATCH_TRANSFERS_MAX:
            break
    return total


async def seal_on(connection: Connection) -> int:
    """Seal every ledger's committed unsealed transfers (up to the run's limits); how many."""
    # In a block of its own: on a connection not in a transaction, the read must not leave one
    # open, or each ledger's batch would become a savepoint of it instead of a commit.
    async with connection.transaction():
        cursor = await connection.execute(_UNSEALED_LEDGERS, (SEAL_LEDGERS_MAX,))
        ledgers = sorted(str(row[0]) for row in await cursor.fetchall())
    total = 0
    for ledger in ledgers:
        total += await seal_ledger_on(connection, ledger)
    return total


@dataclass
class JournalReport:
    transfers: int = 0
    accounts: int = 0
    ledgers: int = 0
    # Committed, counted in balances, not yet numbered and chained by the sealer: not a problem.
    unsealed: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, text: str) -> None:
        if len(self.problems) < PROBLEMS_MAX:
            self.problems.append(text)


@dataclass(slots=True)
class _Fold:
    flags: int
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0

    def balances(self) -> tuple[int, int, int, int]:
        return (self.debits_pending, self.debits_posted, self.credits_pending, self.credits_posted)


async def _rows(
    connection: psycopg.AsyncConnection[Any], query: str
) -> AsyncIterator[dict[str, Any]]:
    async with connection.cursor(name="ledger_verify", row_factory=dict_row) as cursor:
        cursor.itersize = VERIFY_FETCH_ROWS
        await cursor.execute(query)
        async for row in cursor:
            yield row


async def verify_connection(
    connection: psycopg.AsyncConnection[Any],
    *,
    progress: Callable[[int, int], None] | None = None,
    seal_first: bool = False,
) -> JournalReport:
    """Replay the whole journal; report every mismatch found.

    Balances are folded over every transfer, sealed or not, in position order (each account's
    order of application); each ledger's chain is checked over its sealed transfers in sequence
    order (from 1, no gap, each linked to the one before, every hash recomputed) and against its
    head. Unsealed transfers are counted in ``unsealed``. With ``seal_first``, everything
    committed is sealed before (a write: it commits unless the connection is in a transaction),
    so that the chain covers the whole journal.
    """
    if seal_first:
        await seal_on(connection)
    report = JournalReport()
    async with connection.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(
            "SELECT count(*) AS n, count(sequence) AS sealed FROM ledger_transfers"
        )
        counted = await cursor.fetchone()
        total = int(counted["n"]) + int(counted["sealed"]) if counted else 0
        await cursor.execute("SELECT * FROM ledger_accounts")
        stored_accounts = {row["id"]: row for row in await cursor.fetchall()}
        await cursor.execute("SELECT * FROM ledger_heads")
        heads = {row["ledger"]: row for row in await cursor.fetchall()}
        await cursor.execute("SELECT id FROM ledger_open_holds")
        indexed_holds = {row["id"] for row in await cursor.fetchall()}
    folds = {key: _Fold(flags=row["flags"]) for key, row in stored_accounts.items()}
    holds: dict[str, tuple[int, str, str, bool]] = {}
    done = 0
    async for row in _rows(connection, "SELECT * FROM ledger_transfers ORDER BY position"):
        report.transfers += 1
        report.unsealed += row["sequence"] is None
        _fold(report, folds, holds, row)
        done += 1
        if progress is not None and done % VERIFY_FETCH_ROWS == 0:
            progress(done, total)
    chains: dict[str, tuple[int, bytes]] = {}
    async for row in _rows(
        connection,
        "SELECT * FROM ledger_transfers WHERE sequence IS NOT NULL ORDER BY ledger, sequence",
    ):
        _check_chain(report, chains, row)
        done += 1
        if progress is not None and done % VERIFY_FETCH_ROWS == 0:
            progress(done, total)
    _check_heads(report, chains, heads)
    timed = {hold_id for hold_id, hold in holds.items() if hold[3]}
    for hold_id in sorted(timed ^ indexed_holds)[:PROBLEMS_MAX]:
        report.problem(f"open-holds index disagrees with the journal about hold {hold_id}")
    _check_balances(report, folds, stored_accounts)
    _check_sums(report, folds, stored_accounts)
    report.accounts = len(stored_accounts)
    report.ledgers = len(heads)
    if progress is not None:
        progress(done, total)
    return report


def _check_chain(
    report: JournalReport, chains: dict[str, tuple[int, bytes]], row: dict[str, Any]
) -> None:
    """One sealed transfer, read in (ledger, sequence) order."""
    ledger = row["ledger"]
    sequence, prev_hash = chains.get(ledger, (0, GENESIS_HASH))
    if row["sequence"] != sequence + 1:
        report.problem(
            f"ledger {ledger}: transfer {row['id']} has sequence {row['sequence']}, "
            f"expected {sequence + 1}"
        )
    if row["prev_hash"] is None or bytes(row["prev_hash"]) != prev_hash:
        report.problem(f"ledger {ledger}: transfer {row['id']} does not chain to its predecessor")
    expected = transfer_hash(prev_hash, row["sequence"], stored_from_row(row))
    if row["hash"] is None or bytes(row["hash"]) != expected:
        report.problem(f"ledger {ledger}: transfer {row['id']} hash mismatch (row altered)")
    chains[ledger] = (row["sequence"], bytes(row["hash"] or b""))


def _fold(
    report: JournalReport,
    folds: dict[str, _Fold],
    holds: dict[str, tuple[int, str, str, bool]],
    row: dict[str, Any],
) -> None:
    debit = folds.get(row["debit_account_id"])
    credit = folds.get(row["credit_account_id"])
    if debit is None or credit is None:
        report.problem(f"transfer {row['id']} names an account that does not exist")
        return
    amount, flags = row["amount"], row["flags"]
    if amount < 0:
        report.problem(f"transfer {row['id']} has a negative amount")
    if flags & (TransferFlags.POST_PENDING | TransferFlags.VOID_PENDING):
        hold = holds.pop(row["pending_id"], None)
        if hold is None:
            report.problem(f"transfer {row['id']} resolves a hold that is not open")
            return
        debit.debits_pending -= hold[0]
        credit.credits_pending -= hold[0]
        if flags & TransferFlags.POST_PENDING:
            debit.debits_posted += amount
            credit.credits_posted += amount
    elif flags & TransferFlags.PENDING:
        holds[row["id"]] = (
            amount,
            row["debit_account_id"],
            row["credit_account_id"],
            row["expires_at"] is not None,
        )
        debit.debits_pending += amount
        credit.credits_pending += amount
    else:
        debit.debits_posted += amount
        credit.credits_posted += amount
    for account_id, fold in ((row["debit_account_id"], debit), (row["credit_account_id"], credit)):
        _check_fold(report, account_id, fold, row["id"])


def _check_fold(report: JournalReport, account_id: str, fold: _Fold, transfer_id: str) -> None:
    balances = fold.balances()
    if min(balances) < 0 or max(balances) > INT64_MAX:
        report.problem(f"account {account_id} out of range after transfer {transfer_id}")
    if fold.flags & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS and (
        fold.debits_pending + fold.debits_posted > fold.credits_posted
    ):
        report.problem(f"account {account_id} debits exceed credits after {transfer_id}")
    if fold.flags & AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS and (
        fold.credits_pending + fold.credits_posted > fold.debits_posted
    ):
        report.problem(f"account {account_id} credits exceed debits after {transfer_id}")


def _check_heads(
    report: JournalReport, chains: dict[str, tuple[int, bytes]], heads: dict[str, Any]
) -> None:
    for ledger, head in heads.items():
        sequence, last_hash = chains.get(ledger, (0, GENESIS_HASH))
        if head["sequence"] != sequence or bytes(head["hash"]) != last_hash:
            report.problem(f"ledger {ledger}: head does not match the last sealed transfer")


def _check_balances(
    report: JournalReport, folds: dict[str, _Fold], stored: dict[str, dict[str, Any]]
) -> None:
    names = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")
    for account_id, fold in folds.items():
        row = stored[account_id]
        for name, value in zip(names, fold.balances(), strict=True):
            if row[name] != value:
                report.problem(
                    f"account {account_id}: stored {name} {row[name]}, journal gives {value}"
                )


def _check_sums(
    report: JournalReport, folds: dict[str, _Fold], stored: dict[str, dict[str, Any]]
) -> None:
    sums: dict[str, list[int]] = {}
    for account_id, fold in folds.items():
        total = sums.setdefault(stored[account_id]["currency"], [0, 0, 0, 0])
        for index, value in enumerate(fold.balances()):
            total[index] += value
    for currency, (debits_pending, debits_posted, credits_pending, credits_posted) in sums.items():
        if debits_posted != credits_posted or debits_pending != credits_pending:
            report.problem(f"{currency}: debits and credits do not balance")


async def verify_journal(session: Any, *, seal_first: bool = False) -> JournalReport:
    """``verify_connection`` on the connection of a unit of work's session (sealing, if asked,
    in its transaction)."""
    from beyondpay.db.session import driver_connection

    return await verify_connection(await driver_connection(session), seal_first=seal_first)


async def verify_database(
    url: str, *, progress: Callable[[int, int], None] | None = None, seal_first: bool = False
) -> JournalReport:
    """Verify the journal of the database at ``url`` in one repeatable-read snapshot; with
    ``seal_first``, seal what is committed before taking it (otherwise it only reads)."""
    from beyondpay.db.urls import libpq_url

    async with await psycopg.AsyncConnection.connect(libpq_url(url)) as connection:
        if seal_first:
            await seal_on(connection)
        await connection.set_isolation_level(psycopg.IsolationLevel.REPEATABLE_READ)
        await connection.set_read_only(True)
        async with connection.transaction():
            return await verify_connection(connection, progress=progress)
