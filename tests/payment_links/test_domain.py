"""Payment links' pure rules: when a visit opens a session, and what a completion counts."""

from __future__ import annotations

from beyondpay.payment_links.domain import (
    Counted,
    count_completion,
    opens_session,
    reactivation_problem,
)


def test_a_visit_opens_a_session_while_active_and_under_the_limit() -> None:
    assert opens_session(True, 0, None) and opens_session(True, 1, 2)
    assert not opens_session(False, 0, None)
    assert not opens_session(True, 2, 2) and not opens_session(True, 3, 2)


def test_the_completion_reaching_the_limit_deactivates_once() -> None:
    assert count_completion(True, 0, 2) == Counted(1, True, False)
    assert count_completion(True, 1, 2) == Counted(2, False, True)
    # A session opened before the limit was reached, completing after: counted, no second
    # deactivation.
    assert count_completion(False, 2, 2) == Counted(3, False, False)
    assert count_completion(True, 41, None) == Counted(42, True, False)
    # A link switched off by the merchant stays off and still counts.
    assert count_completion(False, 0, None) == Counted(1, False, False)


def test_reactivation_needs_room_under_the_limit() -> None:
    assert reactivation_problem(1, 2) is None and reactivation_problem(5, None) is None
    problem = reactivation_problem(2, 2)
    assert problem is not None and "limit of 2" in problem
