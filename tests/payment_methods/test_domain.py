"""Pure rules: Luhn, brands, expiry, CVC, VPAs, masking, bank codes, test cards."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from beyondpay.kit.cards import luhn_valid
from beyondpay.kit.errors import BeyondpayError
from beyondpay.kit.upi import mask_vpa
from beyondpay.payment_methods.domain import (
    TEST_CARD_TOKENS,
    Brand,
    check_bank,
    check_card_number,
    check_cvc,
    check_expiry,
    check_upi_vpa,
    detect_brand,
)


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4242424242424242", Brand.visa),
        ("5555555555554444", Brand.mastercard),
        ("2223003122003222", Brand.mastercard),
        ("378282246310005", Brand.amex),
        ("6011111111111117", Brand.discover),
        ("3056930009020004", Brand.diners),
        ("3566002020360505", Brand.jcb),
        ("6200000000000005", Brand.unionpay),
        ("6070000000000002", Brand.rupay),
        ("6522000000000006", Brand.rupay),
        ("5085000000000007", Brand.rupay),
    ],
)
def test_brand_from_the_number(number: str, brand: Brand) -> None:
    assert luhn_valid(number)
    assert detect_brand(number) is brand
    checked = check_card_number(SecretStr(number))
    assert checked.brand is brand
    assert checked.last4 == number[-4:]
    assert number not in repr(checked)


def test_every_test_token_is_a_valid_card() -> None:
    for token, card in TEST_CARD_TOKENS.items():
        assert check_card_number(SecretStr(card.number)).last4 == card.number[-4:], token


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("4242424242424241", "incorrect_number"),
        ("4242 4242 4242 4243", "incorrect_number"),
        ("42424242", "invalid_number"),
        ("4242abcd42424242", "invalid_number"),
        ("37828224631000", "invalid_number"),  # an amex of 14 digits
        ("4" * 70, "invalid_number"),
    ],
)
def test_bad_numbers_name_the_parameter(number: str, code: str) -> None:
    with pytest.raises(BeyondpayError) as caught:
        check_card_number(SecretStr(number))
    assert caught.value.code == code
    assert caught.value.param == "card[number]"
    assert caught.value.type == "card_error"
    assert number not in caught.value.message


@given(st.text(alphabet="0123456789", min_size=12, max_size=19))
def test_luhn_check_digit_is_the_only_valid_one(prefix: str) -> None:
    body = prefix[:-1]
    valid = [digit for digit in "0123456789" if luhn_valid(body + digit)]
    assert len(valid) == 1


def test_expiry() -> None:
    assert check_expiry(12, 30, now_year=2026, now_month=5) == (12, 2030)
    assert check_expiry(5, 2026, now_year=2026, now_month=5) == (5, 2026)
    cases = [
        ((4, 2026), "invalid_expiry_month", "card[exp_month]"),
        ((13, 2027), "invalid_expiry_month", "card[exp_month]"),
        ((1, 2025), "invalid_expiry_year", "card[exp_year]"),
        ((1, 2100), "invalid_expiry_year", "card[exp_year]"),
    ]
    for (month, year), code, param in cases:
        with pytest.raises(BeyondpayError) as caught:
            check_expiry(month, year, now_year=2026, now_month=5)
        assert (caught.value.code, caught.value.param) == (code, param)


def test_cvc() -> None:
    check_cvc(SecretStr("123"), Brand.visa)
    check_cvc(SecretStr("1234"), Brand.amex)
    for cvc, brand in (
        ("12", Brand.visa),
        ("1234", Brand.visa),
        ("123", Brand.amex),
        ("12a", Brand.visa),
    ):
        with pytest.raises(BeyondpayError) as caught:
            check_cvc(SecretStr(cvc), brand)
        assert (caught.value.code, caught.value.param) == ("invalid_cvc", "card[cvc]")


@pytest.mark.parametrize(
    "vpa", ["success@sandbox", "asha.rao-1@okhdfc", "9876543210@ybl", "a_b@paytm"]
)
def test_valid_vpas(vpa: str) -> None:
    check_upi_vpa(SecretStr(vpa))


@pytest.mark.parametrize(
    "vpa",
    [
        "Asha@okhdfc",
        "asha@@okhdfc",
        "asha",
        ".asha@okhdfc",
        "asha.@okhdfc",
        "a@okhdfc",
        "asha@ok.hdfc",
        "asha@",
        "as ha@okhdfc",
        "a" * 250 + "@okhdfc",
    ],
)
def test_invalid_vpas_name_the_parameter(vpa: str) -> None:
    with pytest.raises(BeyondpayError) as caught:
        check_upi_vpa(SecretStr(vpa))
    assert (caught.value.code, caught.value.param) == ("invalid_vpa", "upi[vpa]")
    assert vpa not in caught.value.message


def test_masking_keeps_the_handle_and_two_characters() -> None:
    assert mask_vpa(SecretStr("success@sandbox")) == "su*****@sandbox"
    assert mask_vpa(SecretStr("ab@ybl")) == "a*@ybl"
    assert mask_vpa(SecretStr("9876543210@ybl")) == "98********@ybl"


def test_bank_codes() -> None:
    assert check_bank("hdfc") == "HDFC"
    assert check_bank("SBOX") == "SBOX"  # well-formed but unknown: accepted
    for bad in ("HDF", "HDFC0", "12AB"):
        with pytest.raises(BeyondpayError) as caught:
            check_bank(bad)
        assert (caught.value.code, caught.value.param) == ("invalid_bank", "netbanking[bank]")
