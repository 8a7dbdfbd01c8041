"""The SetupIntent's state machine and rules: pure, no I/O.

Statuses are Stripe's: ``requires_payment_method → requires_confirmation → requires_action →
processing → succeeded | canceled``. An intent moves only through :func:`next_status`, which
names the status an action leads to or raises :class:`UnexpectedStateError` naming the statuses
the action is allowed from; tests/setup_intents/test_domain.py walks every (status, action) pair.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

# A setup verifies a card on the card network for zero: no currency is charged, but the network
# takes one on the wire; the platform's own.
VERIFICATION_CURRENCY: Final = "inr"
# What can be set up for later here: a card (verified on the card network). A UPI method is
# saved by a mandate (UPI Autopay), which belongs to the mandates (payment_methods'
# UPI_SAVE_IS_A_MANDATE says so); net banking cannot be saved.
SETUP_PAYMENT_METHOD_TYPES: Final = ("card",)


class Status(StrEnum):
    requires_payment_method = "requires_payment_method"
    requires_confirmation = "requires_confirmation"
    requires_action = "requires_action"
    processing = "processing"
    succeeded = "succeeded"
    canceled = "canceled"


class Usage(StrEnum):
    on_session = "on_session"
    off_session = "off_session"


class Action(StrEnum):
    """What can happen to a SetupIntent: the merchant's calls and the card network's answers."""

    set_payment_method = "set_payment_method"
    update = "update"
    confirm = "confirm"
    rail_requires_action = "rail_requires_action"  # 3-D Secure
    rail_pending = "rail_pending"
    rail_succeeded = "rail_succeeded"
    rail_failed = "rail_failed"
    cancel = "cancel"


S = Status
_OPEN: Final = frozenset({S.requires_payment_method, S.requires_confirmation, S.requires_action})
_WAITING: Final = frozenset({S.requires_confirmation, S.requires_action, S.processing})
_FROM: Final[dict[Action, frozenset[Status]]] = {
    Action.set_payment_method: _OPEN,
    Action.update: _OPEN,
    Action.confirm: _OPEN,
    # The network answers only while the intent waits for it: confirming (the status a confirm
    # leaves it in until the answer is applied), a challenge in progress, or processing.
    Action.rail_requires_action: frozenset({S.requires_confirmation, S.requires_action}),
    Action.rail_pending: _WAITING,
    Action.rail_succeeded: _WAITING,
    Action.rail_failed: _WAITING,
    # Stripe refuses to cancel a SetupIntent that is processing or succeeded.
    Action.cancel: _OPEN,
}


class UnexpectedStateError(Exception):
    def __init__(self, status: Status, action: Action) -> None:
        self.status = status
        self.action = action
        self.allowed = sorted(_FROM[action])
        super().__init__(f"{action} is not allowed in status {status}")


def next_status(status: Status, action: Action, *, has_payment_method: bool = True) -> Status:
    """The status ``action`` leads to from ``status``; raises if it is not allowed there."""
    if status not in _FROM[action]:
        raise UnexpectedStateError(status, action)
    match action:
        case Action.set_payment_method:
            return S.requires_confirmation
        case Action.update:
            # Changing what is set up invalidates a challenge in progress, as in Stripe.
            if status is S.requires_action:
                return S.requires_confirmation if has_payment_method else S.requires_payment_method
            return status
        case Action.confirm:
            return S.requires_confirmation
        case Action.rail_requires_action:
            return S.requires_action
        case Action.rail_pending:
            return S.processing
        case Action.rail_succeeded:
            return S.succeeded
        case Action.rail_failed:
            return S.requires_payment_method
        case Action.cancel:
            return S.canceled


def allowed_from(action: Action) -> frozenset[Status]:
    return _FROM[action]


def setup_error_code(failure_code: str | None) -> str:
    """Stripe's code for a failed setup: an authentication that failed is the SetupIntent's own
    ``setup_intent_authentication_failure``; a decline keeps the network's code."""
    if failure_code in (None, "payment_intent_authentication_failure"):
        return "setup_intent_authentication_failure" if failure_code else "card_declined"
    return failure_code
