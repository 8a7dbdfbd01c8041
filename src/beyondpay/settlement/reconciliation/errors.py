"""Reconciliation's typed errors: each a stable ``code`` in Stripe's envelope."""

from __future__ import annotations

from beyondpay.kit.errors import InvalidRequestError


class ExceptionAlreadyResolvedError(InvalidRequestError):
    """A resolved exception stays resolved: its note and resolver are the record."""

    code = "reconciliation_exception_resolved"
    default_message = "This reconciliation exception is already resolved."


class BusinessDateInFutureError(InvalidRequestError):
    code = "reconciliation_date_in_future"
    default_message = "A business date in the future has no files yet."


class FaultInjectionLiveError(InvalidRequestError):
    """Live files come from real rails: only the sandbox's can be made to misbehave."""

    code = "reconciliation_fault_injection_live"
    default_message = "Fault injection is for test mode's sandbox files only."
