"""Typed errors of the limits module."""

from __future__ import annotations

from beyondpay.kit.errors import InvalidRequestError


class LimitPolicyInvalidError(InvalidRequestError):
    """A policy whose parameters do not fit its kind (a cap without a period, a list without
    values, a parameter another kind uses). ``param`` names the parameter."""

    code = "limit_policy_invalid"
    default_message = "The policy's parameters do not fit its kind."
