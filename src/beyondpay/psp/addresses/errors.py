"""Typed errors of PSP addresses. Messages never hold a VPA, an alias or a mobile number: only
the parameter's name and why it was refused."""

from __future__ import annotations

from beyondpay.kit.errors import InvalidRequestError, PermissionDeniedError, RateLimitError


class VpaUsernameInvalidError(InvalidRequestError):
    code = "vpa_username_invalid"

    def __init__(self, reason: str, *, param: str = "username") -> None:
        super().__init__(f"Invalid {param}: {reason}.", param=param)


class VpaUsernameReservedError(InvalidRequestError):
    code = "vpa_username_reserved"

    def __init__(self, *, param: str = "username") -> None:
        super().__init__(
            f"This {param} is reserved (it could pass for the PSP, a bank or NPCI): choose"
            " another.",
            param=param,
        )


class VpaUsernameTakenError(InvalidRequestError):
    code = "vpa_username_taken"

    def __init__(self, *, param: str = "username") -> None:
        super().__init__(f"This {param} is already taken: choose another.", param=param)


class VpaLimitReachedError(InvalidRequestError):
    code = "vpa_limit_reached"


class VpaUnknownError(InvalidRequestError):
    """No active VPA, alias or payer answers to what was given."""

    status = 404
    code = "vpa_unknown"

    def __init__(self, message: str, *, param: str) -> None:
        super().__init__(message, param=param)


class VpaInactiveError(InvalidRequestError):
    """The address exists but cannot receive money now (deactivated, or its bank account is
    no longer linked)."""

    code = "vpa_inactive"

    def __init__(self, *, param: str) -> None:
        super().__init__("This address cannot receive money now.", param=param)


class VpaUnexpectedStateError(InvalidRequestError):
    code = "vpa_unexpected_state"


class MobileInvalidError(InvalidRequestError):
    code = "mobile_invalid"

    def __init__(self, *, param: str = "mobile") -> None:
        super().__init__(
            f"Invalid {param}: it must be a 10-digit Indian mobile number starting with 6 to 9.",
            param=param,
        )


class AliasRevokedError(InvalidRequestError):
    """A revoked alias is its owner saying "stop": nothing resolves through it any more."""

    code = "alias_revoked"

    def __init__(self, *, param: str = "alias") -> None:
        super().__init__("This alias was revoked by its owner.", param=param)


class AliasRotatedError(InvalidRequestError):
    code = "alias_rotated"

    def __init__(self, *, param: str = "alias") -> None:
        super().__init__(
            "This alias was replaced by a new one: ask its owner for the current alias.",
            param=param,
        )


class AliasExpiredError(InvalidRequestError):
    code = "alias_expired"

    def __init__(self, *, param: str = "alias") -> None:
        super().__init__("This alias has expired.", param=param)


class AliasUsedError(InvalidRequestError):
    code = "alias_used"

    def __init__(self, *, param: str = "alias") -> None:
        super().__init__("This one-time alias was already used.", param=param)


class AliasNotPermittedError(PermissionDeniedError):
    """The alias is scoped to another payer or merchant."""

    code = "alias_not_permitted"

    def __init__(self, *, param: str = "alias") -> None:
        super().__init__("This alias cannot be used by you.", param=param)


class AliasUnexpectedStateError(InvalidRequestError):
    code = "alias_unexpected_state"


class AliasLimitReachedError(InvalidRequestError):
    code = "alias_limit_reached"


class ResolveRateLimitError(RateLimitError):
    code = "resolve_rate_limit"


class UpiLinkInvalidError(InvalidRequestError):
    """A UPI link or scanned QR payload that does not follow NPCI's linking specification;
    ``param`` names the field (``pa``, ``am``, …, or ``link`` for the whole)."""

    code = "upi_link_invalid"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"Invalid UPI link: {field} {reason}.", param=field)
