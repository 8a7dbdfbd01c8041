"""The namespace: the ledger's ids and names it makes are valid, distinct and reversible."""

from __future__ import annotations

from beyondpay.kit.ids import new_id
from beyondpay.ledger.domain import (
    AccountFlags,
    NewAccount,
    Transfer,
    validate_new_account,
)
from beyondpay.ledger.domain import _validate as validate_transfer  # the ledger's rules 2-8
from beyondpay.wallets.domain import CLIENT_ID_CHARS_MAX, Namespace


def test_longest_ids_are_valid_ledger_ids() -> None:
    namespace = Namespace(new_id("acct"), livemode=True)
    longest = "x" * CLIENT_ID_CHARS_MAX
    account = NewAccount(
        namespace.internal(longest), namespace.ledger, "inr", "wallet", AccountFlags(0)
    )
    assert validate_new_account(account) is None
    transfer = Transfer(
        namespace.internal(longest),
        namespace.internal("a"),
        namespace.internal("b"),
        1,
        "inr",
        "top_up",
    )
    assert validate_transfer(transfer, system=False) is None
    assert namespace.public(namespace.internal(longest)) == longest


def test_merchants_and_modes_never_share_ids_or_journals() -> None:
    # Merchant ids that differ only in case must still get different journals.
    lower, upper = "acct_0000000000000000000000ab", "acct_0000000000000000000000aB"
    spaces = [
        Namespace(merchant, livemode) for merchant in (lower, upper) for livemode in (False, True)
    ]
    assert len({space.ledger for space in spaces}) == 4
    assert len({space.internal("wallet") for space in spaces}) == 4
    assert all(space.ledger == space.ledger.lower() for space in spaces)
    assert Namespace(upper, False).ledger == "wallets:acct_0000000000000000000000a-b:test"
