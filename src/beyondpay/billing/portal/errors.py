"""Typed errors of the customer portal.

The API's refusals name the parameter (a 400 or 404 in Stripe's envelope); the hosted page's
refusals (:class:`PortalPageError` and its kinds) become a page saying what happened, never a
JSON envelope and never a 5xx.
"""

from __future__ import annotations

from typing import ClassVar

from beyondpay.kit.errors import BeyondpayError, InvalidRequestError


class FeatureUnavailableError(InvalidRequestError):
    """A portal feature Stripe has that this portal does not offer yet (customers editing their
    details, pausing subscriptions, a payment method configuration, the login page)."""

    code = "feature_unavailable"


class FeatureInvalidError(InvalidRequestError):
    """A feature's settings that do not go together (a subscription update with no product to
    switch to, prorations on a cancellation at the period's end, …)."""

    code = "feature_invalid"


class ConfigurationInactiveError(InvalidRequestError):
    code = "configuration_inactive"
    default_message = (
        "This portal configuration is not active: activate it, or create the session with"
        " another one."
    )


class DefaultConfigurationError(InvalidRequestError):
    code = "default_configuration_required"
    default_message = (
        "The default portal configuration cannot be deactivated: sessions made without a"
        " configuration use it."
    )


class OnBehalfOfUnsupportedError(InvalidRequestError):
    code = "on_behalf_of_unsupported"
    default_message = (
        "on_behalf_of names a connected account; this platform has none, so the portal shows"
        " the merchant's own subscriptions and invoices."
    )


# ---- the hosted page ------------------------------------------------------------------------


class PortalPageError(BeyondpayError):
    """A refusal on the hosted page: ``reason`` chooses what the page says (its templates'
    texts, never the request's input), ``status`` its HTTP status."""

    code = "portal_page_refused"
    reason: ClassVar[str] = "invalid"

    def __init__(
        self,
        message: str | None = None,
        *,
        return_url: str | None = None,
        merchant_name: str | None = None,
    ) -> None:
        super().__init__(message)
        # Where the page's "Return to …" link leads, and whose site it is: only a refusal that
        # reached a session (its link in hand) knows them.
        self.return_url = return_url
        self.merchant_name = merchant_name


class LinkUnknownError(PortalPageError):
    """Not a portal link of ours (mistyped, cut short, or made up)."""

    status = 404
    code = "portal_link_unknown"
    reason = "unknown"


class LinkExpiredError(PortalPageError):
    """The link was not opened in time, or the visit it started has run out."""

    status = 410
    code = "portal_link_expired"
    reason = "expired"


class LinkUsedError(PortalPageError):
    """The link was opened already, in another browser: a link starts one visit only."""

    status = 410
    code = "portal_link_used"
    reason = "used"


class VisitMissingError(PortalPageError):
    """A portal page asked for without the visit's cookie (or with another visit's)."""

    status = 403
    code = "portal_visit_missing"
    reason = "signed_out"


class PortalUnavailableError(PortalPageError):
    """The merchant's account is suspended (or not active, in live mode), or the customer was
    deleted: the portal is closed."""

    status = 403
    code = "portal_unavailable"
    reason = "unavailable"


class FormExpiredError(PortalPageError):
    """A form posted without its anti-forgery token, or with one of another visit: the page is
    shown again, with a fresh form."""

    status = 403
    code = "portal_form_expired"
    reason = "form_expired"


class PortalFeatureOffError(PortalPageError):
    """A form for a feature the session's configuration does not offer."""

    status = 403
    code = "portal_feature_off"
    reason = "feature_off"


class PortalObjectMissingError(PortalPageError):
    """A payment method or subscription that is not this customer's (or no longer exists)."""

    status = 404
    code = "portal_object_missing"
    reason = "missing"


class DefaultInUseError(PortalPageError):
    """Removing the default payment method while subscriptions are billed to it."""

    status = 409
    code = "portal_default_in_use"
    reason = "default_in_use"
