"""What an off-session card payment meets (rails.domain.off_session_behaviour), as Stripe's
testing docs describe the authentication test cards: 3155 authenticates unless set up, 3184
always, 0446 is set up already; a card never challenged is unaffected."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from beyondpay.rails.domain import card_behaviour, off_session_behaviour

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("number", "set_up", "forced", "scenario", "failure_code"),
    [
        ("4000002500003155", False, False, "decline", "authentication_required"),
        ("4000002500003155", True, False, "approve", None),
        ("4000002760003184", False, False, "decline", "authentication_required"),
        ("4000002760003184", True, False, "decline", "authentication_required"),
        ("4000003800000446", False, False, "approve", None),
        ("4242424242424242", False, False, "approve", None),
        ("4242424242424242", False, True, "decline", "authentication_required"),
        ("4242424242424242", True, True, "approve", None),
        ("4000000000000002", False, True, "decline", "card_declined"),
    ],
)
def test_off_session_behaviour(
    number: str, set_up: bool, forced: bool, scenario: str, failure_code: str | None
) -> None:
    behaviour = off_session_behaviour(
        card_behaviour(number, 12, 2030, NOW), forced=forced, set_up=set_up
    )
    assert (behaviour.scenario, behaviour.failure_code) == (scenario, failure_code)
