"""Typed errors of test clocks."""

from __future__ import annotations

from beyondpay.kit.errors import InvalidRequestError


class TestModeOnlyError(InvalidRequestError):
    """A live-mode key used with test clocks: they exist only in test mode, as Stripe's."""

    __test__ = False  # not a pytest class, whatever its name
    code = "test_mode_only"
    default_message = (
        "Test clocks exist only in test mode: use a test-mode key (sk_test_…) to call them."
    )


class TestClockNotReadyError(InvalidRequestError):
    """An advance asked of a clock that is still advancing, or an object attached to it."""

    __test__ = False
    code = "test_clock_not_ready"
    default_message = "The test clock is advancing: wait until its status is ready."


class TestClockFullError(InvalidRequestError):
    __test__ = False
    code = "test_clock_customers_limit"
