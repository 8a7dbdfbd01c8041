"""India's helpers shared by every module: VPA shapes and masks, mobile masks, the Luhn check."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from beyondpay.kit.cards import luhn_valid
from beyondpay.kit.upi import (
    ANY_VPA,
    APP_VPA,
    VPA_PATTERN,
    VpaInvalidError,
    check_vpa,
    mask_mobile,
    mask_vpa,
    vpa_problem,
)


@pytest.mark.parametrize(
    ("vpa", "any_psp", "app"),
    [
        ("success@sandbox", True, True),
        ("asha.rao-1@okhdfc", True, True),
        ("a@okhdfc", True, False),  # an app's local part has two characters at least
        ("asha@ok.hdfc", True, False),  # a bank's dotted handle is no app's
        ("asha@x", True, False),
        ("Asha@okhdfc", False, False),
        ("asha@@okhdfc", False, False),
        (".asha@okhdfc", False, False),
        ("asha@", False, False),
        ("a" * 250 + "@okhdfc", False, False),
    ],
)
def test_the_shapes(vpa: str, any_psp: bool, app: bool) -> None:
    assert (vpa_problem(vpa, ANY_VPA) is None) is any_psp
    assert (vpa_problem(vpa, APP_VPA) is None) is app


@given(st.from_regex(r"\A[a-z0-9](?:[a-z0-9._-]{0,40}[a-z0-9])?@[a-z][a-z0-9]{1,20}\Z"))
def test_what_the_switch_routes_any_psp_accepts(vpa: str) -> None:
    assert VPA_PATTERN.match(vpa)
    assert vpa_problem(vpa, ANY_VPA) is None


def test_a_refusal_names_the_parameter_and_never_the_value() -> None:
    with pytest.raises(VpaInvalidError) as raised:
        check_vpa(SecretStr("Secret.Name@okhdfc"), param="counterparty")
    assert (raised.value.code, raised.value.param) == ("vpa_invalid", "counterparty")
    assert "Secret" not in raised.value.message


def test_masks_never_show_the_whole_local_part() -> None:
    assert mask_vpa("success@sandbox") == "su*****@sandbox"
    assert mask_vpa(SecretStr("ab@ybl")) == "a*@ybl"
    assert mask_vpa("success@sandbox", kept=1) == "s******@sandbox"
    assert mask_vpa("asha.rao@beyondpay", stars=4) == "as****@beyondpay"
    assert mask_vpa("a@ybl", kept=1) == "*@ybl"
    assert mask_mobile(SecretStr("9876543210")) == "******3210"


def test_luhn() -> None:
    assert luhn_valid("4242424242424242")
    assert not luhn_valid("4242424242424241")
