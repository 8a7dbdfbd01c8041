"""The SetupIntent's state machine, every (status, action) pair."""

from __future__ import annotations

import pytest

from beyondpay.setup_intents.domain import (
    Action,
    Status,
    UnexpectedStateError,
    allowed_from,
    next_status,
    setup_error_code,
)

EXPECTED = {
    Action.set_payment_method: Status.requires_confirmation,
    Action.confirm: Status.requires_confirmation,
    Action.rail_requires_action: Status.requires_action,
    Action.rail_pending: Status.processing,
    Action.rail_succeeded: Status.succeeded,
    Action.rail_failed: Status.requires_payment_method,
    Action.cancel: Status.canceled,
}


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("status", list(Status))
def test_every_status_and_action(status: Status, action: Action) -> None:
    if status not in allowed_from(action):
        with pytest.raises(UnexpectedStateError) as raised:
            next_status(status, action)
        assert status not in raised.value.allowed
        return
    result = next_status(status, action)
    if action is Action.update:
        assert result == (
            Status.requires_confirmation if status is Status.requires_action else status
        )
    else:
        assert result == EXPECTED[action]


def test_nothing_leaves_succeeded_or_canceled() -> None:
    for status in (Status.succeeded, Status.canceled):
        assert all(status not in allowed_from(action) for action in Action)


def test_an_update_during_a_challenge_without_a_method_asks_for_one() -> None:
    assert (
        next_status(Status.requires_action, Action.update, has_payment_method=False)
        == Status.requires_payment_method
    )


def test_setup_error_codes() -> None:
    assert setup_error_code("payment_intent_authentication_failure") == (
        "setup_intent_authentication_failure"
    )
    assert setup_error_code("card_declined") == "card_declined"
    assert setup_error_code(None) == "card_declined"
