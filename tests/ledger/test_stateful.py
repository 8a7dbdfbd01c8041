"""Random batches against the real ledger and the reference model, compared step by step.

Every example works on accounts of its own (a fresh id prefix) in one database shared by the
whole test, under one frozen clock. Each step compares every result code, then every balance of
the example's accounts as `get_accounts` reads them, and checks that each currency's debits and
credits still balance. At the end the whole journal must verify.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from typing import ClassVar, TypeVar

from hypothesis import HealthCheck, event, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock
from beyondpay.ledger import domain
from beyondpay.ledger.journal import verify_journal
from beyondpay.ledger.service import ledger_service
from tests.ledger import reference as ref

T = TypeVar("T")

START = datetime(2026, 1, 1, tzinfo=UTC)
# Longer than any timeout drawn here: at the start of an example every earlier hold is past, so
# the expiry job run there leaves none that could expire during the example.
EXAMPLE_GAP = timedelta(hours=1)
# Added to some steps of the clock so that `now` lands either exactly on an `expires_at` (whole
# seconds after a hold's creation) or just after it. docs/ledger.md leaves the exact instant open;
# the model reads it as expired (see reference.is_past).
CLOCK_SKEW = timedelta(milliseconds=1)
TIMEOUTS_S = (0, 0, 1, 1, 2, 3, 5)
ACCOUNTS_MAX = 6
BATCH_TRANSFERS_MAX = 8
CLOSED_ACCOUNTS_MAX = 1
EXPIRE_ROUNDS_MAX = 100
CODE = "pay"
ACCOUNT_FLAGS = (
    0,
    ref.DEBITS_MUST_NOT_EXCEED_CREDITS,
    ref.DEBITS_MUST_NOT_EXCEED_CREDITS,
    ref.CREDITS_MUST_NOT_EXCEED_DEBITS,
)
KINDS = (
    *["plain"] * 3,
    *["pending"] * 3,
    *["post"] * 3,
    *["void"] * 2,
    *["balancing"] * 2,
    *["retry"] * 2,
    "invalid",
)
RETRIES = (
    *["same"] * 3,
    "amount",
    "filled",
    "bare",
    "flags",
    "pending_id",
    "timeout",
    "debit_account_id",
    "credit_account_id",
    "currency",
    "code",
    "metadata",
)
METADATA: tuple[dict[str, object] | None, ...] = (None, None, {"order": 1})
LINKED_SOMETIMES = st.sampled_from([False, False, False, True])


class Harness:
    """What the state machine needs from the test: a loop, the database and the clock."""

    def __init__(self, runner: asyncio.Runner, database: Database, clock: FrozenClock) -> None:
        self.runner = runner
        self.database = database
        self.clock: FrozenClock = clock

    def call(self, use: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `use` in a unit of work of its own."""

        async def in_unit_of_work() -> T:
            async with self.database.unit_of_work() as session:
                return await use(session)

        return self.runner.run(in_unit_of_work())


def real_transfer(transfer: ref.Transfer) -> domain.Transfer:
    values = {f.name: getattr(transfer, f.name) for f in fields(transfer)}
    return domain.Transfer(**values | {"flags": domain.TransferFlags(transfer.flags)})


def real_account(account: ref.NewAccount) -> domain.NewAccount:
    values = {f.name: getattr(account, f.name) for f in fields(account)}
    return domain.NewAccount(**values | {"flags": domain.AccountFlags(account.flags)})


def describe(batch: Sequence[ref.Transfer]) -> str:
    return "\n".join(f"  {transfer!r}" for transfer in batch)


class LedgerMachine(RuleBasedStateMachine):
    harness: ClassVar[Harness]

    def __init__(self) -> None:
        super().__init__()
        self.prefix = f"p{uuid.uuid4().hex[:10]}"
        self.model = ref.ReferenceLedger()
        self.accounts: list[str] = []
        self.currency_of: dict[str, str] = {}
        self.sent: list[ref.Transfer] = []
        self.holds: list[str] = []
        self.closed: set[str] = set()
        self.ids_made = 0

    @property
    def now(self) -> datetime:
        return self.harness.clock.now()

    # Steps

    @initialize(data=st.data())
    def open_accounts(self, data: st.DataObject) -> None:
        self.harness.clock.advance(EXAMPLE_GAP)
        self.expire_all()
        ledgers = [f"{self.prefix}:l{n}" for n in range(data.draw(st.integers(1, 2)))]
        source = ref.NewAccount(f"{self.prefix}-source", ledgers[0], "inr", "source")
        accounts = [source]
        dollars = data.draw(st.sampled_from([False, False, True]), label="usd account")
        for n in range(data.draw(st.integers(2, ACCOUNTS_MAX), label="accounts")):
            currency = "usd" if dollars and n == 0 else "inr"
            flags = data.draw(st.sampled_from(ACCOUNT_FLAGS))
            ledger = data.draw(st.sampled_from(ledgers))
            accounts.append(
                ref.NewAccount(f"{self.prefix}-a{n}", ledger, currency, "wallet", flags)
            )
        retries = [accounts[1], replace(accounts[1], code="other"), replace(accounts[2], flags=3)]
        self.submit_accounts(accounts)
        self.submit_accounts(retries)
        self.accounts = [account.id for account in accounts]
        self.currency_of = {account.id: account.currency for account in accounts}
        funding = []
        for account in accounts[1:]:
            amount = data.draw(st.sampled_from([0, 100, 500, 1000]), label=f"fund {account.id}")
            if amount == 0 or account.currency != "inr":
                continue
            debit, credit = source.id, account.id
            if account.flags & ref.CREDITS_MUST_NOT_EXCEED_DEBITS:
                debit, credit = credit, debit
            funding.append(ref.Transfer(self.new_id(), debit, credit, amount, "inr", "funding"))
        if funding:
            self.submit(funding)

    @rule(data=st.data())
    def batch(self, data: st.DataObject) -> None:
        size = data.draw(st.integers(1, BATCH_TRANSFERS_MAX), label="batch size")
        batch: list[ref.Transfer] = []
        for _ in range(size):
            batch.append(self.draw_transfer(data, batch))
        self.submit(batch)

    @rule(seconds=st.sampled_from([1, 2, 3, 5]), skewed=st.booleans(), run_job=st.booleans())
    def time_passes(self, seconds: int, skewed: bool, run_job: bool) -> None:
        step = timedelta(seconds=seconds)
        self.harness.clock.advance(step + CLOCK_SKEW if skewed else step)
        if run_job:
            self.expire()

    @rule()
    def seal(self) -> None:
        """The sealer runs between batches, as the worker's does: later transfers are sealed
        after the earlier ones, and the chain must still hold."""
        self.harness.call(ledger_service.seal)

    @precondition(lambda self: len(self.closed) < CLOSED_ACCOUNTS_MAX)
    @rule(data=st.data())
    def close_account(self, data: st.DataObject) -> None:
        account_id = data.draw(st.sampled_from(self.accounts), label="close")
        self.harness.call(lambda s: ledger_service.close_account(s, account_id))
        self.model.close_account(account_id)
        self.closed.add(account_id)

    @invariant()
    def balances_agree(self) -> None:
        real = self.harness.call(lambda s: ledger_service.get_accounts(s, self.accounts))
        assert sorted(real) == sorted(self.accounts)
        totals: dict[str, list[int]] = {}
        for account_id in self.accounts:
            got = real[account_id]
            expected = self.model.account(account_id, self.now)
            assert expected is not None
            got_view = (
                got.ledger,
                got.currency,
                got.code,
                int(got.flags),
                got.debits_pending,
                got.debits_posted,
                got.credits_pending,
                got.credits_posted,
                got.available,
            )
            expected_view = (
                expected.ledger,
                expected.currency,
                expected.code,
                expected.flags,
                expected.debits_pending,
                expected.debits_posted,
                expected.credits_pending,
                expected.credits_posted,
                ref.available(expected),
            )
            assert got_view == expected_view, f"{account_id}: real {got_view} model {expected_view}"
            sums = totals.setdefault(got.currency, [0, 0])
            sums[0] += got.debits_pending - got.credits_pending
            sums[1] += got.debits_posted - got.credits_posted
        for currency, (pending_difference, posted_difference) in totals.items():
            assert pending_difference == 0, f"{currency}: debits_pending != credits_pending"
            assert posted_difference == 0, f"{currency}: debits_posted != credits_posted"

    # Helpers

    def submit_accounts(self, batch: list[ref.NewAccount]) -> None:
        real = self.harness.call(
            lambda s: ledger_service.create_accounts(s, [real_account(a) for a in batch])
        )
        expected = self.model.create_accounts(batch)
        got = [str(result) for result in real]
        assert got == expected, f"{batch}\nreal  {got}\nmodel {expected}"

    def submit(self, batch: list[ref.Transfer]) -> None:
        note(f"batch at {self.now.isoformat()}:\n{describe(batch)}")
        real = self.harness.call(
            lambda s: ledger_service.create_transfers(s, [real_transfer(t) for t in batch])
        )
        expected = self.model.create_transfers(batch, self.now)
        got = [str(result) for result in real]
        assert got == expected, (
            f"at {self.now.isoformat()}\n{describe(batch)}\nreal  {got}\nmodel {expected}"
        )
        for result in got:
            event(result)
        self.sent.extend(batch)
        self.holds.extend(t.id for t in batch if t.flags & ref.PENDING and t.id not in self.holds)

    def expire(self) -> None:
        """Run the expiry job once, then check that it left nothing to do."""
        voided = self.harness.call(ledger_service.expire_holds)
        lapsed = self.model.expire_holds(self.now)
        # The ledger may void a lapsed hold earlier, in a batch that touches its accounts.
        assert 0 <= voided <= lapsed, (voided, lapsed)
        assert self.harness.call(ledger_service.expire_holds) == 0

    def expire_all(self) -> None:
        for _ in range(EXPIRE_ROUNDS_MAX):
            if self.harness.call(ledger_service.expire_holds) == 0:
                return
        raise AssertionError("the expiry job never finished")

    def new_id(self) -> str:
        self.ids_made += 1
        return f"{self.prefix}-t{self.ids_made}"

    def draw_account(self, data: st.DataObject, label: str, other_than: str | None = None) -> str:
        """Mostly one of the example's accounts (another than `other_than`), seldom the same
        one or an account that does not exist."""
        others = [a for a in self.accounts if a != other_than and self.currency_of[a] == "inr"]
        rare = [a for a in self.accounts if a != other_than and self.currency_of[a] != "inr"]
        rare += [f"{self.prefix}-ghost", *([other_than] if other_than else [])]
        return data.draw(st.sampled_from(others * 8 + rare), label=label)

    def draw_transfer(self, data: st.DataObject, so_far: list[ref.Transfer]) -> ref.Transfer:
        kind = data.draw(st.sampled_from(KINDS), label="kind")
        if kind == "retry" and (self.sent or so_far):
            return self.draw_retry(data, so_far)
        if kind == "invalid":
            return self.draw_invalid(data)
        linked = ref.LINKED if data.draw(LINKED_SOMETIMES, label="linked") else 0
        if kind in ("post", "void") and not self.open_holds(so_far):
            kind = data.draw(st.sampled_from(["pending", "pending", "pending", kind]))
        if kind in ("post", "void"):
            return self.draw_resolution(data, so_far, kind, linked)
        debit = self.draw_account(data, "debit")
        credit = self.draw_account(data, "credit", other_than=debit)
        currency = self.currency_of.get(debit, "inr")
        currency = data.draw(st.sampled_from([currency] * 8 + ["usd"]), label="currency")
        flags, timeout_s = linked, 0
        amount: int | None = data.draw(st.integers(1, 600), label="amount")
        if kind == "balancing":
            flags |= data.draw(
                st.sampled_from(
                    [
                        ref.BALANCING_DEBIT,
                        ref.BALANCING_CREDIT,
                        ref.BALANCING_DEBIT | ref.BALANCING_CREDIT,
                    ]
                ),
                label="balancing",
            )
            limit = data.draw(st.integers(1, 2000), label="limit")
            amount = data.draw(st.sampled_from([None, limit]), label="limited")
            kind = data.draw(st.sampled_from(["plain", "pending"]), label="balancing kind")
        if kind == "pending":
            flags |= ref.PENDING
            timeout_s = data.draw(st.sampled_from(TIMEOUTS_S), label="timeout")
        metadata = data.draw(st.sampled_from(METADATA), label="metadata")
        return ref.Transfer(
            self.new_id(), debit, credit, amount, currency, CODE, flags, None, timeout_s, metadata
        )

    def open_holds(self, so_far: list[ref.Transfer]) -> list[str]:
        """Holds that may still be settled, as far as the test knows before the batch runs."""
        stored = [h for h in self.holds if self.model.hold_state(h, self.now) == "open"]
        return stored + [t.id for t in so_far if t.flags & ref.PENDING]

    def draw_resolution(
        self, data: st.DataObject, so_far: list[ref.Transfer], kind: str, linked: int
    ) -> ref.Transfer:
        states = {h: self.model.hold_state(h, self.now) for h in self.holds}
        expired = [h for h, state in states.items() if state in ("lapsed", "expired")]
        settled = [h for h, state in states.items() if state in ("posted", "voided")]
        # `<hold>.expired` exists once the hold's expiry is written; while a hold has lapsed but
        # the job has not run, the ledger may or may not have written it yet: not drawn then.
        expiries = [f"{h}{ref.EXPIRED_SUFFIX}" for h, state in states.items() if state != "lapsed"]
        failed = [h for h, state in states.items() if state is None]
        others = [t.id for t in self.sent if not t.flags & ref.PENDING]
        odd = [f"{self.prefix}-ghost", *expiries[-2:], *others[-2:], *failed[-2:]]
        targets = [*self.open_holds(so_far) * 6, *expired[-6:] * 4, *settled[-6:] * 2, *odd]
        pending_id = data.draw(st.sampled_from(targets), label="pending_id")
        hold = self.model.transfer(pending_id)
        held = hold.amount if hold is not None else 100
        amounts: list[int | None] = [None, None, held, held + 1]
        if kind == "post" and held > 1:
            amounts.append(data.draw(st.integers(1, held - 1), label="part"))
        amount = data.draw(st.sampled_from(amounts), label="amount")
        flags = linked | (ref.POST_PENDING if kind == "post" else ref.VOID_PENDING)
        transfer = ref.Transfer(self.new_id(), amount=amount, flags=flags, pending_id=pending_id)
        if hold is None or not data.draw(st.sampled_from([False, False, True]), label="echo"):
            return transfer
        # Give the hold's own fields, one of them sometimes wrong.
        wrong = data.draw(st.sampled_from([None, None, "debit", "credit", "currency", "code"]))
        debit, credit = hold.debit_account_id, hold.credit_account_id
        return replace(
            transfer,
            debit_account_id=self.draw_account(data, "debit", debit) if wrong == "debit" else debit,
            credit_account_id=(
                self.draw_account(data, "credit", credit) if wrong == "credit" else credit
            ),
            currency="usd" if wrong == "currency" else hold.currency,
            code="other" if wrong == "code" else hold.code,
        )

    def draw_retry(self, data: st.DataObject, so_far: list[ref.Transfer]) -> ref.Transfer:
        original = data.draw(st.sampled_from([*self.sent[-20:], *so_far]), label="retry of")
        stored = self.model.transfer(original.id)
        variant = data.draw(st.sampled_from(RETRIES), label="retry")
        resolves = bool(original.flags & (ref.POST_PENDING | ref.VOID_PENDING))
        if variant == "amount":
            asked = original.amount
            if asked is None and stored is not None:
                asked = stored.amount
            return replace(original, amount=(asked or 0) + 1)
        if variant == "filled" and stored is not None:
            # Every field given, as stored: the amount moved when none was asked (not for a
            # void, where docs/ledger.md leaves "the amount it moved" open).
            filled = stored.requested_amount
            if filled is None and not stored.flags & ref.VOID_PENDING:
                filled = stored.amount
            return replace(
                original,
                debit_account_id=stored.debit_account_id,
                credit_account_id=stored.credit_account_id,
                amount=filled,
                currency=stored.currency,
                code=stored.code,
            )
        if variant == "bare" and resolves:
            return replace(original, metadata=None, code=None, currency=None)
        if variant == "flags":
            return replace(original, flags=original.flags ^ ref.LINKED)
        if variant == "pending_id" and resolves:
            other = data.draw(st.sampled_from([*self.holds, f"{self.prefix}-ghost"]))
            return replace(original, pending_id=other)
        if variant == "timeout" and original.flags & ref.PENDING:
            return replace(original, timeout_s=original.timeout_s + 1)
        if variant == "debit_account_id":
            current = original.debit_account_id or (stored.debit_account_id if stored else None)
            return replace(original, debit_account_id=self.draw_account(data, variant, current))
        if variant == "credit_account_id":
            current = original.credit_account_id or (stored.credit_account_id if stored else None)
            return replace(original, credit_account_id=self.draw_account(data, variant, current))
        if variant == "currency":
            return replace(original, currency="usd" if original.currency != "usd" else "inr")
        if variant == "code":
            return replace(original, code="other")
        if variant == "metadata":
            return replace(original, metadata={"order": 2})
        return original

    def draw_invalid(self, data: st.DataObject) -> ref.Transfer:
        debit, credit = self.accounts[0], self.accounts[1]
        plain = ref.Transfer(self.new_id(), debit, credit, 10, "inr", CODE)
        post = ref.Transfer(self.new_id(), flags=ref.POST_PENDING, pending_id=f"{self.prefix}-t1")
        mutations = [
            replace(plain, id=f"{plain.id}.x"),
            replace(plain, id=""),
            replace(plain, flags=ref.PENDING | ref.POST_PENDING),
            replace(post, flags=ref.POST_PENDING | ref.BALANCING_DEBIT),
            replace(plain, pending_id=f"{self.prefix}-t1"),
            replace(post, pending_id=None),
            replace(post, pending_id=post.id),
            replace(plain, timeout_s=5),
            replace(plain, flags=ref.PENDING, timeout_s=-1),
            replace(plain, amount=None),
            replace(plain, amount=0),
            replace(plain, amount=-5),
            replace(plain, amount=2**63),
            # The largest amount: overflows whichever balance already holds anything.
            replace(plain, amount=ref.AMOUNT_MAX),
            replace(plain, amount=ref.AMOUNT_MAX, flags=ref.PENDING),
            replace(post, amount=2**63),
            replace(plain, code=None),
            replace(plain, code="x" * 65),
            replace(plain, currency=None),
            replace(plain, currency="zzz"),
            replace(plain, metadata={"blob": "x" * 9000}),
            replace(plain, credit_account_id=debit),
            replace(plain, debit_account_id=None),
            replace(plain, credit_account_id=None),
        ]
        return data.draw(st.sampled_from(mutations), label="invalid")


def test_ledger_matches_the_reference_model(database_url: str) -> None:
    examples = 200 if os.environ.get("HYPOTHESIS_PROFILE") == "ci" else 60
    clock = FrozenClock(START)
    with asyncio.Runner() as runner, use_clock(clock):
        database = Database(database_url, pool_size=2, max_overflow=2)
        try:
            harness = Harness(runner, database, clock)
            machine = type("BoundLedgerMachine", (LedgerMachine,), {"harness": harness})
            run_state_machine_as_test(
                machine,
                settings=settings(
                    max_examples=examples,
                    stateful_step_count=10,
                    deadline=None,
                    suppress_health_check=[
                        HealthCheck.function_scoped_fixture,
                        HealthCheck.too_slow,
                    ],
                ),
            )
            report = harness.call(lambda s: verify_journal(s, seal_first=True))
            assert report.ok, "\n".join(report.problems)
        finally:
            runner.run(database.dispose())
