"""Pure rules of PSP identity: mobile numbers, OTP codes, tokens and what their fingerprints
cover. No I/O.

Every fingerprint is the key ring's HMAC over a labelled text (``mobile:9876543210``), so a
fingerprint made for one purpose never matches one made for another.
"""

from __future__ import annotations

import base64
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from pydantic import SecretStr

from beyondpay.kit.errors import InvalidRequestError
from beyondpay.merchants.domain import Caller

# Every PSP object and event is test mode: the PSP runs on the sandbox banks.
PSP_LIVEMODE: Final = False
MOBILE_DIGITS: Final = 10
OTP_DIGITS: Final = 6
OTP_TTL_S: Final = 5 * 60
OTP_ATTEMPTS_MAX: Final = 3
# Sends per mobile number (all purposes) within the window: enough for a slow SMS or two, too
# few to make an SMS bomb of the sign-up screen.
OTP_SENDS_MAX: Final = 5
OTP_SEND_WINDOW_S: Final = 10 * 60
ACCESS_TOKEN_TTL_S: Final = 15 * 60
REFRESH_TOKEN_TTL_S: Final = 30 * 86400
TOKEN_BYTES: Final = 32
ACCESS_TOKEN_PREFIX: Final = "pst_"  # noqa: S105 (a prefix, not a secret)
REFRESH_TOKEN_PREFIX: Final = "psr_"  # noqa: S105 (a prefix, not a secret)
TOKEN_CHARS_MAX: Final = 100
NAME_CHARS_MAX: Final = 100
# Device binding: a SIM attestation stands for "the SIM with this number sent an SMS from this
# device" for this long; a device id gets this many binding attempts (successful or not) in a
# window, then it is blocked.
BINDING_TOKEN_TTL_S: Final = 10 * 60
BINDING_TOKEN_PREFIX: Final = "sat_"  # noqa: S105 (a prefix, not a secret)
BINDING_ATTEMPTS_MAX: Final = 3
BINDING_WINDOW_S: Final = 24 * 3600
DEVICE_BLOCK_S: Final = 24 * 3600
DEVICE_LINK_TTL_S: Final = 10 * 60
DEVICES_PER_PAYER_MAX: Final = 5
HANDOFF_TTL_S: Final = 2 * 60
HANDOFF_PAYLOAD_PREFIX: Final = "beyondpay-handoff:"
PASSKEY_CHALLENGE_TTL_S: Final = 5 * 60
PASSKEYS_PER_PAYER_MAX: Final = 10

# Indian mobile numbers: ten digits, the first 6-9. "+91" or "91" in front is the country code.
_MOBILE: Final = re.compile(r"[6-9]\d{9}")
_SEPARATORS: Final = re.compile(r"[\s-]")
_OTP: Final = re.compile(r"\d{6}")


class OtpPurpose(StrEnum):
    signup = "signup"
    login = "login"


class PayerStatus(StrEnum):
    active = "active"
    frozen = "frozen"


class DeviceStatus(StrEnum):
    active = "active"
    revoked = "revoked"


class DeviceLinkStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    declined = "declined"


class MobileInvalidError(InvalidRequestError):
    code = "mobile_invalid"
    default_message = (
        "The mobile number must be an Indian mobile number: 10 digits starting with 6, 7, 8 or 9,"
        " optionally preceded by +91."
    )


def normalise_mobile(mobile: SecretStr, param: str = "mobile") -> SecretStr:
    """The ten digits of an Indian mobile number given as ``9876543210``, ``+91 98765 43210``
    or ``919876543210``; anything else is a 400 naming ``param`` (never echoing the value)."""
    text = _SEPARATORS.sub("", mobile.get_secret_value())
    if text.startswith("+91"):
        text = text[3:]
    elif len(text) == MOBILE_DIGITS + 2 and text.startswith("91"):
        text = text[2:]
    if not _MOBILE.fullmatch(text):
        raise MobileInvalidError(param=param)
    return SecretStr(text)


def mobile_label(mobile: SecretStr) -> str:
    """The text a mobile number's fingerprint is taken over (normalised digits)."""
    return f"mobile:{mobile.get_secret_value()}"


def otp_label(otp_id: str, purpose: OtpPurpose, mobile: SecretStr, code: str) -> str:
    """What an OTP's fingerprint covers: the code is only good for this OTP, purpose and number."""
    return f"psp-otp:{otp_id}:{purpose.value}:{mobile.get_secret_value()}:{code}"


def new_otp_code() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(OTP_DIGITS))


def is_otp_shaped(code: SecretStr) -> bool:
    return _OTP.fullmatch(code.get_secret_value()) is not None


def new_token(prefix: str) -> SecretStr:
    return SecretStr(prefix + secrets.token_urlsafe(TOKEN_BYTES))


def token_label(token: SecretStr) -> str:
    """What a token's fingerprint covers: its prefix tells access from refresh tokens."""
    return f"psp-token:{token.get_secret_value()}"


def otp_sms_text(code: str, purpose: OtpPurpose) -> str:
    action = "sign up for" if purpose is OtpPurpose.signup else "sign in to"
    minutes = OTP_TTL_S // 60
    return (
        f"{code} is your beyondpay OTP to {action} beyondpay. It expires in {minutes} minutes."
        " Do not share it with anyone."
    )


def binding_label(mobile: SecretStr, device_id: str, issued_at_s: int) -> str:
    return f"psp-sim-attestation:{mobile.get_secret_value()}:{device_id}:{issued_at_s}"


def binding_token(mac: bytes, issued_at_s: int) -> str:
    """``sat_<issued unix seconds>_<MAC>``: the number and the device are not in it, the
    verifier knows both (the payer's number, the device being bound)."""
    encoded = base64.urlsafe_b64encode(mac).decode().rstrip("=")
    return f"{BINDING_TOKEN_PREFIX}{issued_at_s}_{encoded}"


def binding_token_parts(token: str) -> tuple[int, bytes] | None:
    """``(issued_at_s, mac)`` of a well-formed binding token, else None."""
    if not token.startswith(BINDING_TOKEN_PREFIX):
        return None
    issued, _, encoded = token[len(BINDING_TOKEN_PREFIX) :].partition("_")
    if not issued.isdigit() or len(issued) > 12 or not encoded or len(encoded) > 64:
        return None
    try:
        mac = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except ValueError:
        return None
    return int(issued), mac


def binding_token_valid(
    token: str, expected_macs: Sequence[bytes], issued_at_s: int, now_s: int
) -> bool:
    """The token's MAC is one of ``expected_macs`` (the ring's keys over its claim) and it is
    neither from the future nor older than ``BINDING_TOKEN_TTL_S``."""
    parts = binding_token_parts(token)
    if parts is None or parts[0] != issued_at_s:
        return False
    if not 0 <= now_s - issued_at_s <= BINDING_TOKEN_TTL_S:
        return False
    return any(hmac.compare_digest(parts[1], mac) for mac in expected_macs)


def handoff_payload(secret: SecretStr) -> str:
    return HANDOFF_PAYLOAD_PREFIX + secret.get_secret_value()


def handoff_secret(payload: SecretStr) -> SecretStr | None:
    text = payload.get_secret_value()
    if not text.startswith(HANDOFF_PAYLOAD_PREFIX):
        return None
    return SecretStr(text[len(HANDOFF_PAYLOAD_PREFIX) :])


@dataclass(frozen=True, slots=True)
class PayerContext:
    """Who is calling a PSP route: the payer, the session and the device it was opened on.
    ``psp.identity.auth.PayerDep`` resolves it; use cases take it as plain data."""

    payer_id: str
    session_id: str
    device_id: str | None
    caller: Caller
