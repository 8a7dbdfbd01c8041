"""Pure rules of an intent's parameters (payments/options.py): the types chosen, options merged
and rendered, and statement descriptors by Stripe's character rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from beyondpay.kit.errors import InvalidRequestError
from beyondpay.payments.options import (
    DESCRIPTOR_CHARS_MAX,
    TypeChoice,
    calculated_statement_descriptor,
    choose_types,
    descriptor_prefix,
    descriptor_problem,
    merchant_descriptor,
    merge_options,
    rendered_options,
    suffix_chars_max,
)

OFFERED = ("card", "upi", "netbanking")


def _choose(**fields: object) -> list[str]:
    choice = TypeChoice(
        **{
            "explicit": None,
            "automatic": False,
            "allow_redirects": None,
            "allowed": None,
            "excluded": None,
            **fields,
        }  # type: ignore[arg-type]
    )
    return choose_types(choice, offered=OFFERED, redirecting={"netbanking"}, default=("card",))


def test_types_are_named_chosen_or_the_default() -> None:
    assert _choose() == ["card"]
    assert _choose(explicit=["upi"]) == ["upi"]
    assert _choose(automatic=True) == list(OFFERED)
    assert _choose(automatic=True, allow_redirects="never") == ["card", "upi"]
    assert _choose(allowed=["netbanking", "klarna", "card"]) == ["card", "netbanking"]
    assert _choose(excluded=["upi"]) == ["card", "netbanking"]


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"explicit": ["card"], "automatic": True}, "payment_method_types"),
        ({"explicit": ["card"], "allowed": ["card"]}, "allowed_payment_method_types"),
        ({"explicit": ["card"], "excluded": ["upi"]}, "excluded_payment_method_types"),
        ({"allowed": ["klarna"]}, "allowed_payment_method_types"),
        ({"automatic": True, "excluded": list(OFFERED)}, "excluded_payment_method_types"),
        (
            {"automatic": True, "allow_redirects": "never", "allowed": ["netbanking"]},
            "allowed_payment_method_types",
        ),
    ],
)
def test_a_choice_that_cannot_be_made_names_its_parameter(
    fields: dict[str, object], param: str
) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        _choose(**fields)
    assert raised.value.param == param


def test_options_merge_by_field_and_render_for_the_intents_types() -> None:
    stored = merge_options({}, {"card": {"request_three_d_secure": "any"}})
    stored = merge_options(stored, {"card": {"capture_method": "manual"}})
    assert stored == {"card": {"request_three_d_secure": "any", "capture_method": "manual"}}
    assert (
        merge_options(stored, {"card": {"capture_method": "", "request_three_d_secure": ""}}) == {}
    )
    rendered = rendered_options(stored, ["card", "netbanking"])
    assert rendered == {
        "card": {
            "capture_method": "manual",
            "installments": None,
            "mandate_options": None,
            "network": None,
            "request_three_d_secure": "any",
            "request_incremental_authorization": None,
        }
    }
    assert rendered_options({}, ["upi"]) == {"upi": {"setup_future_usage": None}}
    assert rendered_options({}, ["card"])["card"]["request_three_d_secure"] == "automatic"


@pytest.mark.parametrize(
    ("name", "descriptor"),
    [
        ("Acme", "ACME"),
        ("O'Brien's <Shop>", "O BRIEN S SHOP"),
        ("Sharma & Sons Traders Private Limited", "SHARMA & SONS TRADERS"),
        ("नमस्ते", "BEYONDPAY"),
        ("श्री Ganesh Stores", "GANESH STORES"),
        ("1234", "BEYONDPAY"),
    ],
)
def test_a_merchants_descriptor_is_derived_from_its_name(name: str, descriptor: str) -> None:
    assert merchant_descriptor(name) == descriptor


def test_the_calculated_descriptor_joins_prefix_and_suffix_on_cards_only() -> None:
    name = "Run Club Bengaluru"
    assert descriptor_prefix(merchant_descriptor(name)) == "RUN CLUB B"
    assert suffix_chars_max(name) == 10
    card = calculated_statement_descriptor(name, card=True, descriptor=None, suffix="Oct 10K")
    assert card == "RUN CLUB B* OCT 10K"
    assert (
        calculated_statement_descriptor(name, card=False, descriptor=None, suffix="Oct 10K")
        == "RUN CLUB BENGALURU"
    )
    assert (
        calculated_statement_descriptor(name, card=False, descriptor="Marathon", suffix=None)
        == "MARATHON"
    )


@given(st.text(max_size=80))
def test_a_derived_descriptor_always_obeys_stripes_rules(name: str) -> None:
    descriptor = merchant_descriptor(name)
    assert 1 <= len(descriptor) <= DESCRIPTOR_CHARS_MAX
    assert descriptor_problem(descriptor) is None


def test_descriptor_problems_are_named() -> None:
    assert descriptor_problem("ACME 42") is None
    assert descriptor_problem("12345") == "it must hold at least one letter"
    assert descriptor_problem("Café").startswith("it may hold only unaccented")
    assert descriptor_problem("A*B") is not None
