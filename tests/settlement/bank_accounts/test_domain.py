"""The pure rules: the holder-name match and the bank of an IFSC."""

from __future__ import annotations

import pytest

from beyondpay.settlement.bank_accounts.domain import (
    BankAccountStatus,
    bank_name,
    names_match,
    status_after,
)


@pytest.mark.parametrize(
    ("given", "at_bank"),
    [
        ("Asha Rao", "ASHA RAO"),
        ("Asha Rao", "RAO ASHA"),
        ("Mrs. Asha Rao", "ASHA RAO"),
        ("Asha Rao Kumar", "A R KUMAR"),
        ("A. R. Kumar", "ASHA RAO KUMAR"),
        ("Acme Traders Private Limited", "M/S ACME TRADERS PVT LTD"),
        ("asha  rao", "Shri Asha-Rao"),
    ],
)
def test_names_that_match(given: str, at_bank: str) -> None:
    assert names_match(given, at_bank)


@pytest.mark.parametrize(
    ("given", "at_bank"),
    [
        ("Asha Rao", "SANDBOX OTHER HOLDER"),
        ("Asha Rao", "ASHA"),  # a word missing
        ("Asha Rao", "A R"),  # initials alone prove nothing
        ("Asha Rao", "ASHA RAJ"),
        ("Mr.", "MR"),  # no name at all
        ("Acme Traders", "ACME TRADING"),
    ],
)
def test_names_that_do_not(given: str, at_bank: str) -> None:
    assert not names_match(given, at_bank)


def test_status_after_each_answer() -> None:
    assert status_after("pending", "Asha Rao", None) is None
    assert status_after("failed", "Asha Rao", None) is BankAccountStatus.errored
    assert status_after("succeeded", "Asha Rao", "ASHA RAO") is BankAccountStatus.verified
    assert status_after("succeeded", "Asha Rao", "X Y") is BankAccountStatus.verification_failed


def test_bank_names() -> None:
    assert bank_name("SBIN0000001") == "STATE BANK OF INDIA"
    assert bank_name("ZZZZ0000001") is None
