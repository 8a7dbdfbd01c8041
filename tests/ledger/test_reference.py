"""The reference model on the examples of docs/ledger.md: fast, no database."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.ledger.reference import (
    BALANCING_CREDIT,
    BALANCING_DEBIT,
    CREDITS_MUST_NOT_EXCEED_DEBITS,
    DEBITS_MUST_NOT_EXCEED_CREDITS,
    LINKED,
    PENDING,
    POST_PENDING,
    VOID_PENDING,
    NewAccount,
    ReferenceLedger,
    Transfer,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def ledger() -> ReferenceLedger:
    """`bank` (no flags) funds `wallet` (a balance held for someone) with 1000."""
    model = ReferenceLedger()
    results = model.create_accounts(
        [
            NewAccount("bank", "platform", "inr", "bank"),
            NewAccount("wallet", "platform", "inr", "wallet", DEBITS_MUST_NOT_EXCEED_CREDITS),
            NewAccount("shop", "merchant:1:live", "inr", "wallet", DEBITS_MUST_NOT_EXCEED_CREDITS),
            NewAccount("loan", "platform", "inr", "loan", CREDITS_MUST_NOT_EXCEED_DEBITS),
            NewAccount("dollars", "platform", "usd", "bank"),
        ]
    )
    assert results == ["ok"] * 5
    assert model.create_transfers([pay("fund", "bank", "wallet", 1000)], NOW) == ["ok"]
    return model


def pay(
    id: str,
    debit: str,
    credit: str,
    amount: int | None,
    flags: int = 0,
    *,
    timeout_s: int = 0,
    metadata: dict[str, object] | None = None,
) -> Transfer:
    return Transfer(id, debit, credit, amount, "inr", "payment", flags, None, timeout_s, metadata)


def balances(model: ReferenceLedger, account_id: str, now: datetime = NOW) -> tuple[int, ...]:
    account = model.account(account_id, now)
    assert account is not None
    return (
        account.debits_pending,
        account.debits_posted,
        account.credits_pending,
        account.credits_posted,
    )


def test_accounts_answer_exists_and_the_first_difference(ledger: ReferenceLedger) -> None:
    wallet = NewAccount("wallet", "platform", "inr", "wallet", DEBITS_MUST_NOT_EXCEED_CREDITS)
    assert ledger.create_accounts(
        [
            wallet,
            NewAccount("wallet", "platform", "inr", "fees", DEBITS_MUST_NOT_EXCEED_CREDITS),
            NewAccount("x", "platform", "inr", "c", 3),
            NewAccount("bad.id", "platform", "inr", "c"),
            NewAccount("y", "Platform", "inr", "c"),
            NewAccount("y", "platform", "zzz", "c"),
        ]
    ) == [
        "exists",
        "exists_with_different_code",
        "flags_are_mutually_exclusive",
        "id_invalid",
        "ledger_invalid",
        "currency_invalid",
    ]


def test_post_for_less_than_the_hold_returns_the_rest(ledger: ReferenceLedger) -> None:
    assert ledger.create_transfers([pay("hold", "wallet", "shop", 300, PENDING)], NOW) == ["ok"]
    assert balances(ledger, "wallet") == (300, 0, 0, 1000)
    assert ledger.available("wallet", NOW) == 700
    post = Transfer("capture", amount=200, flags=POST_PENDING, pending_id="hold")
    assert ledger.create_transfers([post], NOW) == ["ok"]
    assert balances(ledger, "wallet") == (0, 200, 0, 1000)
    assert balances(ledger, "shop") == (0, 0, 0, 200)
    assert ledger.available("wallet", NOW) == 800
    again = Transfer("capture2", flags=POST_PENDING, pending_id="hold")
    assert ledger.create_transfers([again], NOW) == ["pending_transfer_already_posted"]


def test_post_checks_the_hold_and_the_amount(ledger: ReferenceLedger) -> None:
    assert ledger.create_transfers([pay("hold", "wallet", "shop", 300, PENDING)], NOW) == ["ok"]
    batch = [
        Transfer("p1", amount=301, flags=POST_PENDING, pending_id="hold"),
        Transfer("p2", flags=POST_PENDING, pending_id="nothing"),
        Transfer("p3", flags=POST_PENDING, pending_id="fund"),
        Transfer("p4", "bank", flags=POST_PENDING, pending_id="hold"),
        Transfer("p5", code="other", flags=POST_PENDING, pending_id="hold"),
        Transfer("p6", flags=POST_PENDING),
        Transfer("p7", flags=POST_PENDING, pending_id="p7"),
        Transfer("p8", flags=POST_PENDING | VOID_PENDING, pending_id="hold"),
        Transfer("p9", "wallet", "shop", amount=1, flags=POST_PENDING, pending_id="hold"),
    ]
    assert ledger.create_transfers(batch, NOW) == [
        "exceeds_pending_transfer_amount",
        "pending_transfer_not_found",
        "pending_transfer_not_pending",
        "pending_transfer_has_different_debit_account_id",
        "pending_transfer_has_different_code",
        "pending_id_must_not_be_empty",
        "pending_id_must_be_different",
        "flags_are_mutually_exclusive",
        "ok",
    ]


def test_void_releases_the_hold_and_must_name_its_amount(ledger: ReferenceLedger) -> None:
    assert ledger.create_transfers([pay("hold", "wallet", "shop", 300, PENDING)], NOW) == ["ok"]
    batch = [
        Transfer("v1", amount=299, flags=VOID_PENDING, pending_id="hold"),
        Transfer("v2", amount=300, flags=VOID_PENDING, pending_id="hold"),
        Transfer("v3", flags=VOID_PENDING, pending_id="hold"),
        Transfer("p1", flags=POST_PENDING, pending_id="hold"),
    ]
    assert ledger.create_transfers(batch, NOW) == [
        "pending_transfer_has_different_amount",
        "ok",
        "pending_transfer_already_voided",
        "pending_transfer_already_voided",
    ]
    assert balances(ledger, "wallet") == (0, 0, 0, 1000)
    assert balances(ledger, "shop") == (0, 0, 0, 0)


def test_a_failed_chain_moves_nothing(ledger: ReferenceLedger) -> None:
    batch = [
        pay("a", "wallet", "shop", 600, LINKED),
        pay("b", "wallet", "shop", 600, LINKED),  # 1200 > 1000
        pay("c", "bank", "shop", 1),
        pay("d", "wallet", "shop", 100),
    ]
    assert ledger.create_transfers(batch, NOW) == [
        "linked_event_failed",
        "exceeds_credits",
        "linked_event_failed",
        "ok",
    ]
    assert balances(ledger, "wallet") == (0, 100, 0, 1000)
    assert ledger.transfer("a") is None
    # The ids of a failed chain are free for a retry.
    assert ledger.create_transfers([pay("a", "wallet", "shop", 600)], NOW) == ["ok"]


def test_a_chain_open_at_the_end_of_the_batch_fails(ledger: ReferenceLedger) -> None:
    batch = [pay("a", "bank", "shop", 5), pay("b", "bank", "shop", 5, LINKED)]
    assert ledger.create_transfers(batch, NOW) == ["ok", "linked_event_chain_open"]
    batch = [pay("c", "bank", "shop", 5, LINKED), pay("d", "bank", "shop", 5, LINKED)]
    assert ledger.create_transfers(batch, NOW) == [
        "linked_event_failed",
        "linked_event_chain_open",
    ]
    batch = [pay("e", "bank", "bank", 5, LINKED), pay("f", "bank", "shop", 5, LINKED)]
    assert ledger.create_transfers(batch, NOW) == [
        "accounts_must_be_different",
        "linked_event_chain_open",
    ]
    assert balances(ledger, "shop") == (0, 0, 0, 5)


def test_exists_does_not_fail_a_chain(ledger: ReferenceLedger) -> None:
    batch = [pay("a", "bank", "shop", 5, LINKED), pay("fund", "bank", "wallet", 1000)]
    assert ledger.create_transfers(batch, NOW) == ["ok", "exists"]
    assert balances(ledger, "shop") == (0, 0, 0, 5)


def test_exists_and_exists_with_different_fields(ledger: ReferenceLedger) -> None:
    batch = [
        pay("fund", "bank", "wallet", 1000),
        Transfer("fund", amount=1000, code="payment", currency="inr"),  # rule 8 before 9
        Transfer("fund"),  # rule 6 comes before rule 9: a plain transfer needs its amount
        pay("fund", "bank", "wallet", 999),
        pay("fund", "bank", "wallet", 1000, PENDING),
        pay("fund", "bank", "shop", 1000),
        pay("fund", "wallet", "bank", 1000),
        pay("fund", "bank", "wallet", 1000, metadata={"a": 1}),
        Transfer("fund", "bank", "wallet", 1000, "inr", "other"),
        Transfer("fund", "bank", "wallet", 1000, "usd", "payment"),
        pay("fund", "bank", "wallet", 1000, timeout_s=5),
    ]
    assert ledger.create_transfers(batch, NOW) == [
        "exists",
        "debit_account_id_required",
        "amount_must_be_positive",
        "exists_with_different_amount",
        "exists_with_different_flags",
        "exists_with_different_credit_account_id",
        "exists_with_different_debit_account_id",
        "exists_with_different_metadata",
        "exists_with_different_code",
        "exists_with_different_currency",
        "timeout_reserved_for_pending_transfer",
    ]
    assert balances(ledger, "wallet") == (0, 0, 0, 1000)


def test_exists_compares_the_amount_moved_when_none_was_asked(ledger: ReferenceLedger) -> None:
    assert ledger.create_transfers([pay("hold", "wallet", "shop", 300, PENDING)], NOW) == ["ok"]
    post = Transfer("capture", flags=POST_PENDING, pending_id="hold")
    assert ledger.create_transfers([post], NOW) == ["ok"]
    retries = [
        Transfer("capture", amount=300, flags=POST_PENDING, pending_id="hold"),
        Transfer("capture", "wallet", "shop", 299, flags=POST_PENDING, pending_id="hold"),
        Transfer("capture", flags=POST_PENDING, pending_id="fund"),
    ]
    assert ledger.create_transfers(retries, NOW) == [
        "exists",
        "exists_with_different_amount",
        "exists_with_different_pending_id",
    ]


def test_balancing_clamps_to_what_the_account_can_give(ledger: ReferenceLedger) -> None:
    batch = [
        pay("all", "wallet", "shop", None, BALANCING_DEBIT),
        pay("nothing", "wallet", "shop", 50, BALANCING_DEBIT),
    ]
    assert ledger.create_transfers(batch, NOW) == ["ok", "ok"]
    all_moved, nothing = ledger.transfer("all"), ledger.transfer("nothing")
    assert all_moved is not None and all_moved.amount == 1000
    assert nothing is not None and nothing.amount == 0
    assert balances(ledger, "wallet") == (0, 1000, 0, 1000)
    # `loan` may take credits only up to its debits: 70 of the 100 asked.
    batch = [pay("lend", "loan", "bank", 70), pay("repay", "bank", "loan", 100, BALANCING_CREDIT)]
    assert ledger.create_transfers(batch, NOW) == ["ok", "ok"]
    assert balances(ledger, "loan") == (0, 70, 0, 70)
    # Both flags: the smaller of the two rooms.
    batch = [
        pay("w", "bank", "wallet", 40),
        pay("both", "wallet", "loan", None, BALANCING_DEBIT | BALANCING_CREDIT),
    ]
    assert ledger.create_transfers(batch, NOW) == ["ok", "ok"]
    both = ledger.transfer("both")
    assert both is not None and both.amount == 0
    assert ledger.create_transfers([pay("z", "wallet", "shop", 0, BALANCING_DEBIT)], NOW) == [
        "amount_must_be_positive"
    ]


def test_balancing_hold_counts_against_later_balancing(ledger: ReferenceLedger) -> None:
    batch = [
        pay("h", "wallet", "shop", 400, PENDING | BALANCING_DEBIT),
        pay("rest", "wallet", "shop", None, BALANCING_DEBIT),
        Transfer("post", amount=100, flags=POST_PENDING, pending_id="h"),
    ]
    assert ledger.create_transfers(batch, NOW) == ["ok", "ok", "ok"]
    rest = ledger.transfer("rest")
    assert rest is not None and rest.amount == 600
    assert balances(ledger, "wallet") == (0, 700, 0, 1000)


def test_validation_follows_the_precedence(ledger: ReferenceLedger) -> None:
    batch = [
        Transfer("bad.id", flags=PENDING | POST_PENDING),
        Transfer("t1", flags=PENDING | POST_PENDING, pending_id="t1"),
        Transfer("t2", pending_id="x", timeout_s=5),
        Transfer("t3", timeout_s=5),
        Transfer("t4", "bank", "shop", None, "inr", "payment", PENDING, timeout_s=-1),
        Transfer("t5", "bank", "shop", None, "inr", "payment"),
        Transfer("t6", "bank", "shop", 2**63, "inr", "payment"),
        Transfer("t7", "bank", "shop", 1, "inr"),
        Transfer("t8", "bank", "shop", 1, None, "payment"),
        Transfer("t9", "bank", "shop", 1, "zzz", "payment"),
        Transfer("t10", "bank", "shop", 1, "inr", "payment", metadata={"x": "y" * 9000}),
        Transfer("t11", "bank", "bank", 1, "inr", "payment"),
        Transfer("t12", None, "bank", 1, "inr", "payment"),
        Transfer("t13", "bank", None, 1, "inr", "payment"),
        Transfer("t14", "ghost", "bank", 1, "inr", "payment"),
        Transfer("t15", "bank", "ghost", 1, "inr", "payment"),
        Transfer("t16", "bank", "dollars", 1, "inr", "payment"),
        Transfer("t17", "bank", "shop", 1, "usd", "payment"),
    ]
    assert ledger.create_transfers(batch, NOW) == [
        "id_invalid",
        "flags_are_mutually_exclusive",
        "pending_id_must_be_empty",
        "timeout_reserved_for_pending_transfer",
        "timeout_invalid",
        "amount_must_be_positive",
        "amount_too_large",
        "code_invalid",
        "currency_invalid",
        "currency_invalid",
        "metadata_invalid",
        "accounts_must_be_different",
        "debit_account_id_required",
        "credit_account_id_required",
        "debit_account_not_found",
        "credit_account_not_found",
        "currency_mismatch",
        "currency_mismatch",
    ]


def test_closed_account_takes_no_new_transfer_but_settles_holds(ledger: ReferenceLedger) -> None:
    batch = [pay("h1", "wallet", "shop", 100, PENDING), pay("h2", "wallet", "shop", 100, PENDING)]
    assert ledger.create_transfers(batch, NOW) == ["ok", "ok"]
    ledger.close_account("shop")
    batch = [
        pay("t1", "wallet", "shop", 1),
        pay("t2", "shop", "wallet", 1),
        Transfer("p", flags=POST_PENDING, pending_id="h1"),
        Transfer("v", flags=VOID_PENDING, pending_id="h2"),
        pay("fund", "bank", "wallet", 1000),
    ]
    assert ledger.create_transfers(batch, NOW) == [
        "credit_account_closed",
        "debit_account_closed",
        "ok",
        "ok",
        "exists",
    ]
    assert balances(ledger, "shop") == (0, 0, 0, 100)


def test_an_expired_hold_is_released_and_cannot_be_settled(ledger: ReferenceLedger) -> None:
    hold = pay("hold", "wallet", "shop", 1000, PENDING, timeout_s=10)
    assert ledger.create_transfers([hold], NOW) == ["ok"]
    almost = NOW + timedelta(seconds=10) - timedelta(microseconds=1)
    assert ledger.available("wallet", almost) == 0
    assert ledger.create_transfers([pay("t", "wallet", "shop", 1)], almost) == ["exceeds_credits"]
    later = NOW + timedelta(seconds=11)
    assert balances(ledger, "wallet", later) == (0, 0, 0, 1000)
    assert ledger.available("wallet", later) == 1000
    batch = [
        Transfer("p", flags=POST_PENDING, pending_id="hold"),
        Transfer("v", flags=VOID_PENDING, pending_id="hold"),
        Transfer("x", flags=VOID_PENDING, pending_id="hold.expired"),
        pay("t", "wallet", "shop", 1000),
    ]
    assert ledger.create_transfers(batch, later) == [
        "pending_transfer_expired",
        "pending_transfer_expired",
        "pending_transfer_not_found",
        "ok",
    ]
    # The expiry job writes `<id>.expired`, which moves nothing more.
    assert ledger.expire_holds(later) == 1
    assert ledger.expire_holds(later) == 0
    expired = ledger.transfer("hold.expired")
    assert expired is not None and expired.code == "expired" and expired.flags == VOID_PENDING
    assert balances(ledger, "wallet", later) == (0, 1000, 0, 1000)
    batch = [
        Transfer("p", flags=POST_PENDING, pending_id="hold"),
        Transfer("x", flags=VOID_PENDING, pending_id="hold.expired"),
        Transfer("hold.expired", flags=VOID_PENDING, pending_id="hold"),
    ]
    assert ledger.create_transfers(batch, later) == [
        "pending_transfer_expired",
        "pending_transfer_not_pending",
        "id_invalid",
    ]


def test_a_hold_without_timeout_never_expires(ledger: ReferenceLedger) -> None:
    assert ledger.create_transfers([pay("hold", "wallet", "shop", 10, PENDING)], NOW) == ["ok"]
    much_later = NOW + timedelta(days=3650)
    assert ledger.expire_holds(much_later) == 0
    assert ledger.create_transfers(
        [Transfer("p", flags=POST_PENDING, pending_id="hold")], much_later
    ) == ["ok"]


def test_a_post_is_checked_after_its_hold_is_released(ledger: ReferenceLedger) -> None:
    # The hold takes all of the wallet; posting it in full must still fit.
    assert ledger.create_transfers([pay("hold", "wallet", "shop", 1000, PENDING)], NOW) == ["ok"]
    assert ledger.create_transfers([Transfer("p", flags=POST_PENDING, pending_id="hold")], NOW) == [
        "ok"
    ]
    assert balances(ledger, "wallet") == (0, 1000, 0, 1000)
    assert ledger.available("wallet", NOW) == 0
