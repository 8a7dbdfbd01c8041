"""Pure rules of addresses: usernames a payer may take, VPA shapes, masks, mobile numbers and
alias scopes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from beyondpay.kit.errors import BeyondpayError
from beyondpay.kit.upi import check_vpa, mask_mobile
from beyondpay.psp.addresses.domain import (
    USERNAME_CHARS_MAX,
    AliasScope,
    AliasState,
    check_alias_use,
    check_handle,
    check_mobile,
    check_username,
    mask_address,
)

HANDLE = "beyondpay"


@pytest.mark.parametrize(
    "username",
    ["asha", "asha.rao", "asha_rao-2", "a1b", "007", "x" * USERNAME_CHARS_MAX, "chai.co", "upiya"],
)
def test_usernames_a_payer_may_take(username: str) -> None:
    assert check_username(username, handle=HANDLE) == username


@pytest.mark.parametrize(
    ("username", "code", "words"),
    [
        ("as", "vpa_username_invalid", "3 to 50"),
        ("x" * (USERNAME_CHARS_MAX + 1), "vpa_username_invalid", "3 to 50"),
        ("Asha", "vpa_username_invalid", "lower case"),
        ("asha rao", "vpa_username_invalid", "only letters"),
        ("asha+rao", "vpa_username_invalid", "only letters"),
        ("asha@beyondpay", "vpa_username_invalid", "before the '@'"),
        ("asha@okaxis", "vpa_username_invalid", "before the '@'"),
        ("āsha", "vpa_username_invalid", "only letters"),
        (".asha", "vpa_username_invalid", "start or end"),
        ("asha-", "vpa_username_invalid", "start or end"),
        ("_asha", "vpa_username_invalid", "start or end"),
        ("asha..rao", "vpa_username_invalid", "in a row"),
        ("asha._rao", "vpa_username_invalid", "in a row"),
        ("asha-_rao", "vpa_username_invalid", "in a row"),
        ("9876543210", "vpa_username_invalid", "mobile number"),
        ("919876543210", "vpa_username_invalid", "mobile number"),
        ("admin", "vpa_username_reserved", "reserved"),
        ("support", "vpa_username_reserved", "reserved"),
        ("npci", "vpa_username_reserved", "reserved"),
        ("upi", "vpa_username_reserved", "reserved"),
        ("beyondpay", "vpa_username_reserved", "reserved"),
        ("root", "vpa_username_reserved", "reserved"),
        ("help", "vpa_username_reserved", "reserved"),
        ("bank", "vpa_username_reserved", "reserved"),
        ("npci.support", "vpa_username_reserved", "reserved"),
        ("sbi-bank", "vpa_username_reserved", "reserved"),
        ("beyondpay_help", "vpa_username_reserved", "reserved"),
    ],
)
def test_usernames_refused_with_a_reason_naming_the_parameter(
    username: str, code: str, words: str
) -> None:
    with pytest.raises(BeyondpayError) as raised:
        check_username(username, handle=HANDLE)
    assert raised.value.code == code
    assert raised.value.param == "username"
    assert raised.value.status == 400
    assert words in raised.value.message
    assert f"'{username}'" not in raised.value.message


def test_the_configured_handle_is_reserved_too() -> None:
    with pytest.raises(BeyondpayError):
        check_username("paywise.help", handle="paywise")
    assert check_username("paywise", handle=HANDLE) == "paywise"


@given(st.from_regex(r"\A[a-z0-9](?:[a-z0-9]|[._-](?=[a-z0-9])){2,49}\Z"))
def test_every_well_formed_name_is_a_valid_vpa(username: str) -> None:
    try:
        check_username(username, handle=HANDLE)
    except BeyondpayError as error:
        assert error.code in ("vpa_username_reserved", "vpa_username_invalid")
        return
    check_vpa(SecretStr(f"{username}@{HANDLE}"))


@pytest.mark.parametrize("handle", ["beyondpay", "bp2", "x1"])
def test_handles(handle: str) -> None:
    assert check_handle(handle) == handle


@pytest.mark.parametrize("handle", ["", "b", "Beyond", "beyond.pay", "1pay", "x" * 33])
def test_bad_handles(handle: str) -> None:
    with pytest.raises(ValueError, match="handle"):
        check_handle(handle)


@pytest.mark.parametrize(
    "vpa", ["asha", "a@@b", "@b", "a@", "A@b", "a b@c", "a.@b", "a@b_c", "a@.b"]
)
def test_vpas_of_the_wrong_shape(vpa: str) -> None:
    with pytest.raises(BeyondpayError) as raised:
        check_vpa(SecretStr(vpa), param="counterparty")
    assert raised.value.param == "counterparty"
    assert vpa not in raised.value.message


def test_masks_show_two_characters_and_four_stars_whatever_the_length() -> None:
    assert mask_address(SecretStr("asha.rao@beyondpay")) == "as****@beyondpay"
    assert mask_address(SecretStr("ab@beyondpay")) == "a****@beyondpay"
    assert mask_address(SecretStr("k3x9q2m7w4abcdef@beyondpayalias")) == "k3****@beyondpayalias"
    assert mask_mobile(SecretStr("9876543210")) == "******3210"


@pytest.mark.parametrize(
    ("given_text", "digits"),
    [
        ("9876543210", "9876543210"),
        ("+919876543210", "9876543210"),
        ("91 98765 43210", "9876543210"),
    ],
)
def test_mobile_numbers(given_text: str, digits: str) -> None:
    assert check_mobile(SecretStr(given_text)).get_secret_value() == digits


@pytest.mark.parametrize("text", ["5876543210", "987654321", "98765432101", "98765x3210", ""])
def test_bad_mobile_numbers(text: str) -> None:
    with pytest.raises(BeyondpayError) as raised:
        check_mobile(SecretStr(text))
    assert raised.value.code == "mobile_invalid"
    assert raised.value.param == "mobile"


NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ACTIVE = AliasState(revoked=False, used=False)


@pytest.mark.parametrize(
    ("scope", "state", "payer", "merchant", "code"),
    [
        (AliasScope(), ACTIVE, "pyr_a", None, None),
        (AliasScope(), AliasState(revoked=True, used=False), "pyr_a", None, "alias_revoked"),
        (AliasScope(counterparty_payer_id="pyr_a"), ACTIVE, "pyr_a", None, None),
        (AliasScope(counterparty_payer_id="pyr_a"), ACTIVE, "pyr_b", None, "alias_not_permitted"),
        (AliasScope(merchant_id="acct_m"), ACTIVE, "pyr_a", None, "alias_not_permitted"),
        (AliasScope(merchant_id="acct_m"), ACTIVE, None, "acct_m", None),
        (AliasScope(merchant_id="acct_m"), ACTIVE, None, "acct_n", "alias_not_permitted"),
        (AliasScope(one_time=True), ACTIVE, "pyr_a", None, None),
        (
            AliasScope(one_time=True),
            AliasState(revoked=False, used=True),
            "pyr_a",
            None,
            "alias_used",
        ),
        (AliasScope(one_time=False), AliasState(revoked=False, used=True), "pyr_a", None, None),
        (AliasScope(expires_at=NOW + timedelta(seconds=1)), ACTIVE, "pyr_a", None, None),
        (AliasScope(expires_at=NOW), ACTIVE, "pyr_a", None, "alias_expired"),
        # Revocation is the owner's word: it wins over every other reason.
        (
            AliasScope(counterparty_payer_id="pyr_b", one_time=True, expires_at=NOW),
            AliasState(revoked=True, used=True),
            "pyr_a",
            None,
            "alias_revoked",
        ),
    ],
)
def test_alias_scopes(
    scope: AliasScope, state: AliasState, payer: str | None, merchant: str | None, code: str | None
) -> None:
    if code is None:
        check_alias_use(scope, state, now=NOW, payer_id=payer, merchant_id=merchant)
        return
    with pytest.raises(BeyondpayError) as raised:
        check_alias_use(scope, state, now=NOW, payer_id=payer, merchant_id=merchant)
    assert raised.value.code == code
    assert raised.value.param == "alias"
