"""Typed errors of webhooks."""

from __future__ import annotations

from beyondpay.kit.errors import InvalidRequestError


class WebhookEndpointsLimitError(InvalidRequestError):
    """A merchant has as many endpoints in a mode as it may (Stripe allows 16)."""

    code = "webhook_endpoints_limit"
    default_message = "The maximum number of webhook endpoints is reached."
