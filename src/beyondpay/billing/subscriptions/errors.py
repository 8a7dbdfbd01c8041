"""Typed errors of subscriptions and dunning.

The pure rules raise the parameter errors themselves (a 400 naming the parameter the caller
passed them under); the service raises :class:`SubscriptionUnexpectedStateError` when
``domain.next_status`` refuses a move.
"""

from __future__ import annotations

from beyondpay.kit.errors import InvalidRequestError


class SubscriptionUnexpectedStateError(InvalidRequestError):
    """What was asked does not apply to the subscription in its status (a canceled subscription
    is final; only a paused one resumes; ...). The message says why."""

    code = "subscription_unexpected_state"


class IntervalInvalidError(InvalidRequestError):
    code = "interval_invalid"
    default_message = "The billing interval is not one a subscription can have."


class TrialInvalidError(InvalidRequestError):
    code = "trial_invalid"
    default_message = "The trial is not one a subscription can have."


class BillingCycleAnchorInvalidError(InvalidRequestError):
    code = "billing_cycle_anchor_invalid"
    default_message = (
        "billing_cycle_anchor must be no earlier than the start of billing (the trial's end, if"
        " any) and no later than the next natural billing date."
    )


class ProrationDateInvalidError(InvalidRequestError):
    code = "proration_date_invalid"
    default_message = "The proration date must fall within the subscription's current period."


class PauseCollectionInvalidError(InvalidRequestError):
    code = "pause_collection_invalid"
    default_message = "pause_collection[resumes_at] must be in the future."


class RetryScheduleInvalidError(InvalidRequestError):
    code = "retry_schedule_invalid"
    default_message = "The retry schedule is not one dunning can follow."
