"""The dispute's state machine, walked for every (status, action) pair, and the sandbox's
decision on submitted evidence."""

from __future__ import annotations

import pytest

from beyondpay.disputes.domain import (
    CLOSED,
    Action,
    Status,
    UnexpectedStateError,
    allowed_from,
    next_status,
    sandbox_decision,
)

S = Status
EXPECTED: dict[tuple[Status, Action], Status] = {
    (S.needs_response, Action.stage_evidence): S.needs_response,
    (S.warning_needs_response, Action.stage_evidence): S.warning_needs_response,
    (S.needs_response, Action.submit): S.under_review,
    (S.warning_needs_response, Action.submit): S.warning_under_review,
    (S.under_review, Action.win): S.won,
    (S.under_review, Action.lose): S.lost,
    (S.warning_under_review, Action.win): S.warning_closed,
    (S.warning_under_review, Action.lose): S.warning_closed,
    (S.needs_response, Action.close): S.lost,
    (S.warning_needs_response, Action.close): S.warning_closed,
}


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("action", list(Action))
def test_every_status_and_action(status: Status, action: Action) -> None:
    expected = EXPECTED.get((status, action))
    if expected is None:
        with pytest.raises(UnexpectedStateError) as raised:
            next_status(status, action)
        assert raised.value.allowed == sorted(allowed_from(action))
        assert status not in allowed_from(action)
    else:
        assert next_status(status, action) is expected


def test_a_closed_dispute_takes_no_action() -> None:
    for status in CLOSED:
        assert all(status not in allowed_from(action) for action in Action)


@pytest.mark.parametrize(
    ("text", "decision"),
    [
        ("winning_evidence", Action.win),
        (" winning_evidence\n", Action.win),
        ("losing_evidence", Action.lose),
        ("It was delivered.", None),
        ("winning_evidence and more", None),
        ("", None),
    ],
)
def test_the_sandbox_decides_on_the_magic_words(text: str, decision: Action | None) -> None:
    assert sandbox_decision({"uncategorized_text": text}) == decision
    assert sandbox_decision({"customer_name": "winning_evidence"}) is None
