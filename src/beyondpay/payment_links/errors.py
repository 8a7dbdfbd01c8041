"""Payment links' typed errors: each a stable ``code`` in Stripe's envelope."""

from __future__ import annotations

from beyondpay.kit.errors import InvalidRequestError


class PaymentLinkLimitReachedError(InvalidRequestError):
    """``active=true`` on a link whose completed sessions reached its limit."""

    code = "payment_link_limit_reached"
