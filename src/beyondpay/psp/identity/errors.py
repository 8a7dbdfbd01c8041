"""Typed errors of PSP identity, each with a stable code. No message holds a mobile number, an
OTP or a token."""

from __future__ import annotations

from beyondpay.kit.errors import (
    AuthenticationError,
    InvalidRequestError,
    RateLimitError,
    ServiceUnavailableError,
)
from beyondpay.psp.identity.domain import MobileInvalidError

__all__ = [
    "MobileAlreadyRegisteredError",
    "MobileInvalidError",
    "OtpAttemptsExceededError",
    "OtpExpiredError",
    "OtpInvalidError",
    "OtpSendLimitError",
    "RefreshTokenInvalidError",
    "RefreshTokenReusedError",
    "SessionInvalidError",
    "SmsSenderMissingError",
]


class MobileAlreadyRegisteredError(InvalidRequestError):
    code = "mobile_already_registered"
    default_message = "A payer with this mobile number already exists: sign in instead."


class OtpInvalidError(InvalidRequestError):
    # One message for a wrong code, an unknown number and a used OTP: a login must not tell
    # which mobile numbers have accounts.
    code = "otp_invalid"
    default_message = "The OTP or mobile number is not valid."


class OtpExpiredError(InvalidRequestError):
    code = "otp_expired"
    default_message = "The OTP has expired: request a new one."


class OtpAttemptsExceededError(InvalidRequestError):
    code = "otp_attempts_exceeded"
    default_message = "Too many wrong tries: this OTP no longer works. Request a new one."


class OtpSendLimitError(RateLimitError):
    code = "otp_send_limit_exceeded"
    default_message = "Too many OTPs were sent to this mobile number. Retry later."


class SmsSenderMissingError(ServiceUnavailableError):
    code = "sms_sender_missing"
    default_message = (
        "No SMS sender is configured: OTPs can be sent only while the PSP sandbox is on."
    )


class SessionInvalidError(AuthenticationError):
    code = "session_invalid"
    default_message = (
        "The session's access token is missing, malformed, expired or revoked. Send it as"
        " 'Authorization: Bearer pst_…', or refresh the session."
    )


class RefreshTokenInvalidError(AuthenticationError):
    code = "refresh_token_invalid"
    default_message = "The refresh token is not valid, has expired or its session was revoked."


class RefreshTokenReusedError(AuthenticationError):
    """A refresh token presented after it was rotated away: it was copied. The session is
    revoked (by the route, in a transaction of its own, since this answer rolls back)."""

    code = "refresh_token_reused"
    default_message = "This refresh token was already used: the session is revoked. Sign in again."

    def __init__(self, session_id: str) -> None:
        super().__init__()
        self.session_id = session_id
