"""The dispute's state machine, its test-mode outcome and its evidence limits: pure, no I/O.

Statuses are Stripe's. A chargeback opens ``needs_response``; submitting evidence puts it
``under_review``; the network decides ``won`` or ``lost``; closing it (accepting the loss) makes
it ``lost`` at once. An inquiry (``warning_needs_response``) has the same steps toward
``warning_under_review`` and ``warning_closed``; nothing opens one yet (no rail reports an
inquiry), but its moves are here so that the object never needs another state machine.
:func:`next_status` names the status an action leads to or raises naming where it is allowed;
tests/disputes/test_domain.py walks every (status, action) pair.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final

# Stripe's limits: 20,000 characters for a text field, 150,000 for all the evidence together.
EVIDENCE_TEXT_CHARS_MAX: Final = 20_000
EVIDENCE_SHORT_CHARS_MAX: Final = 5_000  # names, addresses, dates, tracking numbers, file ids
EVIDENCE_TOTAL_CHARS_MAX: Final = 150_000
# How long the merchant has to respond: the networks give 7 to 21 days; Stripe's due_by in test
# mode is about a week out.
EVIDENCE_DUE_AFTER_S: Final = 7 * 86_400
# Stripe's test-mode magic words, in evidence[uncategorized_text].
WINNING_EVIDENCE: Final = "winning_evidence"
LOSING_EVIDENCE: Final = "losing_evidence"


class Status(StrEnum):
    warning_needs_response = "warning_needs_response"
    warning_under_review = "warning_under_review"
    warning_closed = "warning_closed"
    needs_response = "needs_response"
    under_review = "under_review"
    won = "won"
    lost = "lost"


class Action(StrEnum):
    stage_evidence = "stage_evidence"  # evidence saved, not submitted (submit=false)
    submit = "submit"
    win = "win"  # the network decided for the merchant
    lose = "lose"  # the network decided for the payer
    close = "close"  # the merchant accepts the loss


S = Status
_MOVES: Final[dict[Action, dict[Status, Status]]] = {
    Action.stage_evidence: {
        S.needs_response: S.needs_response,
        S.warning_needs_response: S.warning_needs_response,
    },
    Action.submit: {
        S.needs_response: S.under_review,
        S.warning_needs_response: S.warning_under_review,
    },
    # An inquiry the issuer drops is closed; one it escalates becomes a chargeback, which the
    # rail would report as a new dispute: either way, for the inquiry, warning_closed.
    Action.win: {S.under_review: S.won, S.warning_under_review: S.warning_closed},
    Action.lose: {S.under_review: S.lost, S.warning_under_review: S.warning_closed},
    Action.close: {S.needs_response: S.lost, S.warning_needs_response: S.warning_closed},
}
CLOSED: Final = frozenset({S.won, S.lost, S.warning_closed})


class UnexpectedStateError(Exception):
    def __init__(self, status: Status, action: Action) -> None:
        self.status = status
        self.action = action
        self.allowed = sorted(_MOVES[action])
        super().__init__(f"{action} is not allowed in status {status}")


def next_status(status: Status, action: Action) -> Status:
    """The status ``action`` leads to from ``status``; raises if it is not allowed there."""
    moves = _MOVES[action]
    if status not in moves:
        raise UnexpectedStateError(status, action)
    return moves[status]


def allowed_from(action: Action) -> frozenset[Status]:
    return frozenset(_MOVES[action])


def sandbox_decision(evidence: Mapping[str, str]) -> Action | None:
    """What Stripe's test mode decides on submitted evidence: ``winning_evidence`` in
    ``uncategorized_text`` wins, ``losing_evidence`` loses, anything else stays under review."""
    text = evidence.get("uncategorized_text", "").strip()
    if text == WINNING_EVIDENCE:
        return Action.win
    if text == LOSING_EVIDENCE:
        return Action.lose
    return None


def evidence_chars(evidence: Mapping[str, str]) -> int:
    return sum(len(value) for value in evidence.values())
