"""PSP identity parameters and objects.

Mobile numbers, OTPs and tokens are ``SecretStr`` from the moment they are parsed, so a repr, a
log line or an error cannot show them; objects show a mobile number only masked.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, Field, SecretStr

from beyondpay.api.params import Params
from beyondpay.psp.identity.domain import (
    ACCESS_TOKEN_TTL_S,
    NAME_CHARS_MAX,
    TOKEN_CHARS_MAX,
    OtpPurpose,
)
from beyondpay.psp.identity.models import OtpRow, PayerRow, SandboxSmsRow, SessionRow

MOBILE_CHARS_MAX: Final = 20
OTP_CHARS_MAX: Final = 10
DEVICE_ID_CHARS_MIN: Final = 8
DEVICE_ID_CHARS_MAX: Final = 64

Mobile = Annotated[SecretStr, Field(max_length=MOBILE_CHARS_MAX)]
Otp = Annotated[SecretStr, Field(max_length=OTP_CHARS_MAX)]
Token = Annotated[SecretStr, Field(max_length=TOKEN_CHARS_MAX)]
DeviceId = Annotated[
    str | None,
    Field(
        default=None,
        min_length=DEVICE_ID_CHARS_MIN,
        max_length=DEVICE_ID_CHARS_MAX,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="The client's own opaque id of this device (8-64 characters).",
    ),
]


class OtpSendParams(Params):
    mobile: Mobile
    purpose: OtpPurpose


class SignupParams(Params):
    mobile: Mobile
    otp: Otp
    name: Annotated[str, Field(min_length=1, max_length=NAME_CHARS_MAX)]
    device_id: DeviceId = None


class LoginParams(Params):
    mobile: Mobile
    otp: Otp
    device_id: DeviceId = None


class RefreshParams(Params):
    refresh_token: Token


class NoParams(Params):
    """A POST that takes no parameters (any sent is refused, naming it)."""


class SandboxSmsParams(Params):
    mobile: Mobile
    limit: int = Field(default=10, ge=1, le=100)


class PspPayer(BaseModel):
    id: str
    object: Literal["psp_payer"]
    name: str
    mobile: str = Field(description="The mobile number, masked: `******3210`.")
    status: Literal["active", "frozen"]
    frozen_at: int | None
    created: int


class PspOtp(BaseModel):
    id: str
    object: Literal["psp_otp"]
    purpose: Literal["signup", "login"]
    mobile: str
    expires_at: int


class PspSession(BaseModel):
    id: str
    object: Literal["psp_session"]
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_at: int
    device: str | None
    payer: PspPayer


class PspLogout(BaseModel):
    object: Literal["psp_logout"]
    sessions_revoked: int


class PspSandboxSms(BaseModel):
    id: str
    object: Literal["psp_sandbox_sms"]
    mobile: str
    body: str
    created: int


class PspSandboxSmsList(BaseModel):
    object: Literal["list"]
    url: str
    has_more: bool
    data: list[PspSandboxSms]


def _unix(moment: Any) -> int | None:
    return None if moment is None else int(moment.timestamp())


def payer_object(row: PayerRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "psp_payer",
        "name": row.name,
        "mobile": row.mobile_masked,
        "status": row.status,
        "frozen_at": _unix(row.frozen_at),
        "created": int(row.created_at.timestamp()),
    }


def otp_object(row: OtpRow, mobile_masked: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "psp_otp",
        "purpose": row.purpose,
        "mobile": mobile_masked,
        "expires_at": int(row.expires_at.timestamp()),
    }


def session_event_object(row: SessionRow) -> dict[str, Any]:
    """A session as events show it: no token, only which payer and device it is for."""
    return {
        "id": row.id,
        "object": "psp_session",
        "payer": row.payer_id,
        "device": row.device_id,
        "expires_at": int(row.access_expires_at.timestamp()),
        "refresh_expires_at": int(row.refresh_expires_at.timestamp()),
        "revoked_at": _unix(row.revoked_at),
        "revoked_reason": row.revoked_reason,
        "created": int(row.created_at.timestamp()),
    }


def session_object(
    row: SessionRow, payer: PayerRow, access_token: SecretStr, refresh_token: SecretStr
) -> dict[str, Any]:
    """The answer that hands the tokens over: the only place they are ever shown."""
    return {
        "id": row.id,
        "object": "psp_session",
        "access_token": access_token.get_secret_value(),
        "refresh_token": refresh_token.get_secret_value(),
        "expires_in": ACCESS_TOKEN_TTL_S,
        "refresh_expires_at": int(row.refresh_expires_at.timestamp()),
        "device": row.device_id,
        "payer": payer_object(payer),
    }


def sandbox_sms_object(row: SandboxSmsRow, mobile_masked: str, body: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "psp_sandbox_sms",
        "mobile": mobile_masked,
        "body": body,
        "created": int(row.created_at.timestamp()),
    }
