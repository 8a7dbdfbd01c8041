"""Typed errors of PSP identity, each with a stable code. No message holds a mobile number, an
OTP or a token."""

from __future__ import annotations

from beyondpay.kit.errors import (
    AuthenticationError,
    InvalidRequestError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
)
from beyondpay.psp.identity.domain import MobileInvalidError

__all__ = [
    "BindingTokenInvalidError",
    "BoundDeviceRequiredError",
    "DeviceBindingBlockedError",
    "DeviceLinkInvalidError",
    "DeviceLinkRequiredError",
    "DeviceNotBoundError",
    "DevicesMaxError",
    "HandoffInvalidError",
    "MobileAlreadyRegisteredError",
    "MobileInvalidError",
    "OtpAttemptsExceededError",
    "OtpExpiredError",
    "OtpInvalidError",
    "OtpSendLimitError",
    "PasskeyAlreadyRegisteredError",
    "PasskeyChallengeInvalidError",
    "PasskeyInvalidError",
    "PasskeyRequiredError",
    "PasskeySignCountError",
    "PasskeysMaxError",
    "PayerFrozenError",
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


class BindingTokenInvalidError(InvalidRequestError):
    code = "binding_token_invalid"
    default_message = (
        "The binding token is not valid for this payer's mobile number and this device, or it"
        " has expired: attest the SIM again."
    )


class DeviceBindingBlockedError(RateLimitError):
    code = "device_binding_blocked"
    default_message = (
        "This device made too many binding attempts and is blocked from binding for 24 hours."
    )


class DeviceLinkRequiredError(PermissionDeniedError):
    code = "device_link_required"
    default_message = (
        "The payer already has a linked device: link this one from there (POST"
        " /v1/psp/device_links, then approve it on the linked device), or send a passkey"
        " assertion (challenge_id and credential)."
    )


class BoundDeviceRequiredError(PermissionDeniedError):
    code = "bound_device_required"
    default_message = "This needs a session on one of the payer's bound devices."


class DeviceNotBoundError(InvalidRequestError):
    code = "device_not_bound"
    default_message = "This device is not bound to the payer: sign in without it, then bind it."


class DevicesMaxError(InvalidRequestError):
    code = "devices_max"


class DeviceLinkInvalidError(InvalidRequestError):
    code = "device_link_invalid"
    default_message = "This link request has expired or was already decided."


class PayerFrozenError(PermissionDeniedError):
    code = "payer_frozen"
    default_message = "The payer's account is frozen: unfreeze it with a passkey first."


class PasskeyChallengeInvalidError(InvalidRequestError):
    code = "passkey_challenge_invalid"
    default_message = "The passkey challenge is unknown, used, expired or for another purpose."


class PasskeyInvalidError(InvalidRequestError):
    code = "passkey_invalid"
    default_message = "The passkey credential could not be verified."


class PasskeySignCountError(InvalidRequestError):
    # A counter that does not move forward is what a cloned authenticator shows.
    code = "passkey_sign_count_invalid"
    default_message = (
        "The passkey's signature counter did not increase: the authenticator may be cloned."
    )


class PasskeyRequiredError(PermissionDeniedError):
    code = "passkey_required"
    default_message = "This needs a passkey step-up, and the payer has no passkey."


class PasskeysMaxError(InvalidRequestError):
    code = "passkeys_max"


class PasskeyAlreadyRegisteredError(InvalidRequestError):
    code = "passkey_already_registered"
    default_message = "This passkey is already registered."


class HandoffInvalidError(InvalidRequestError):
    code = "handoff_invalid"
    default_message = "The handoff code is not valid, has expired or was already used."
