"""Settlement windows' typed errors: each a stable ``code`` in Stripe's envelope."""

from __future__ import annotations

from beyondpay.kit.errors import InvalidRequestError


class CutOffsNotAllowedError(InvalidRequestError):
    """``cutoffs`` given for a speed that has one fixed cut-off a working day (t1, t2)."""

    code = "settlement_cutoffs_not_allowed"
