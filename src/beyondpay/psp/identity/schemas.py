"""PSP identity parameters and objects.

Mobile numbers, OTPs and tokens are ``SecretStr`` from the moment they are parsed, so a repr, a
log line or an error cannot show them; objects show a mobile number only masked.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, Field, SecretStr

from beyondpay.kit.params import Params
from beyondpay.psp.identity.domain import (
    ACCESS_TOKEN_TTL_S,
    NAME_CHARS_MAX,
    TOKEN_CHARS_MAX,
    OtpPurpose,
    normalise_mobile,
)
from beyondpay.psp.identity.models import (
    DeviceLinkRow,
    DeviceRow,
    HandoffRow,
    OtpRow,
    PasskeyChallengeRow,
    PasskeyRow,
    PayerRow,
    SandboxSmsRow,
    SessionRow,
)

MOBILE_CHARS_MAX: Final = 20
DEVICE_NAME_CHARS_MAX: Final = 100
PLATFORM_CHARS_MAX: Final = 40
BINDING_TOKEN_CHARS_MAX: Final = 100
CREDENTIAL_CHARS_MAX: Final = 16_384
CHALLENGE_ID_CHARS_MAX: Final = 64
QR_PAYLOAD_CHARS_MAX: Final = 200
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


def _name(value: str) -> str:
    stripped = value.strip()
    if not stripped:
        raise ValueError("the name cannot be blank")
    return stripped


def _digits(mobile: SecretStr) -> str:
    return normalise_mobile(mobile).get_secret_value()


class CredentialParams(Params):
    """The parameters of a request made before any session: the credential it :meth:`presents`
    (a mobile number and OTP, a refresh token, …) scopes its caller, so an idempotent answer,
    which holds tokens, is replayed only to a request presenting the same credential."""

    @abstractmethod
    def presents(self) -> str:
        """The credential, as text: what scopes the caller (never logged or stored)."""


class OtpSendParams(CredentialParams):
    mobile: Mobile
    purpose: OtpPurpose

    def presents(self) -> str:
        return f"otp:{_digits(self.mobile)}"


class SignupParams(CredentialParams):
    mobile: Mobile
    otp: Otp
    name: Annotated[str, Field(min_length=1, max_length=NAME_CHARS_MAX), AfterValidator(_name)]
    device_id: DeviceId = None

    def presents(self) -> str:
        return f"signup:{_digits(self.mobile)}:{self.otp.get_secret_value()}"


class LoginParams(CredentialParams):
    mobile: Mobile
    otp: Otp
    device_id: DeviceId = None

    def presents(self) -> str:
        return f"login:{_digits(self.mobile)}:{self.otp.get_secret_value()}"


class RefreshParams(CredentialParams):
    refresh_token: Token

    def presents(self) -> str:
        return f"refresh:{self.refresh_token.get_secret_value()}"


class SandboxSmsParams(Params):
    mobile: Mobile
    limit: int = Field(default=10, ge=1, le=100)


RequiredDeviceId = Annotated[
    str,
    Field(
        min_length=DEVICE_ID_CHARS_MIN,
        max_length=DEVICE_ID_CHARS_MAX,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="The client's own opaque id of this device (8-64 characters).",
    ),
]
DeviceName = Annotated[
    str | None, Field(default=None, min_length=1, max_length=DEVICE_NAME_CHARS_MAX)
]
Platform = Annotated[str | None, Field(default=None, min_length=1, max_length=PLATFORM_CHARS_MAX)]
ChallengeId = Annotated[str, Field(min_length=1, max_length=CHALLENGE_ID_CHARS_MAX)]
Credential = Annotated[
    str,
    Field(
        min_length=2,
        max_length=CREDENTIAL_CHARS_MAX,
        description="The WebAuthn credential the browser returned, as JSON text.",
    ),
]


class SimAttestationParams(CredentialParams):
    mobile: Mobile
    device_id: RequiredDeviceId

    def presents(self) -> str:
        return f"sim:{_digits(self.mobile)}:{self.device_id}"


class DeviceBindParams(Params):
    device_id: RequiredDeviceId
    binding_token: Annotated[SecretStr, Field(max_length=BINDING_TOKEN_CHARS_MAX)]
    name: DeviceName = None
    platform: Platform = None
    # A passkey assertion over a step-up challenge: links a further device without a linked
    # device's approval.
    challenge_id: Annotated[str | None, Field(default=None, max_length=CHALLENGE_ID_CHARS_MAX)] = (
        None
    )
    credential: Annotated[str | None, Field(default=None, max_length=CREDENTIAL_CHARS_MAX)] = None


class DeviceLinkParams(Params):
    device_id: RequiredDeviceId
    binding_token: Annotated[SecretStr, Field(max_length=BINDING_TOKEN_CHARS_MAX)]
    name: DeviceName = None
    platform: Platform = None


class StepUpParams(Params):
    challenge_id: ChallengeId
    credential: Credential


class PasskeyCreateParams(Params):
    challenge_id: ChallengeId
    credential: Credential
    name: DeviceName = None


class PasskeyLoginOptionsParams(CredentialParams):
    mobile: Mobile

    def presents(self) -> str:
        return f"passkey-login:{_digits(self.mobile)}"


class PasskeyLoginParams(CredentialParams):
    challenge_id: ChallengeId
    credential: Credential
    device_id: DeviceId = None

    def presents(self) -> str:
        return f"passkey:{self.challenge_id}:{self.credential}"


class HandoffRedeemParams(CredentialParams):
    qr_payload: Annotated[SecretStr, Field(max_length=QR_PAYLOAD_CHARS_MAX)]

    def presents(self) -> str:
        return f"handoff:{self.qr_payload.get_secret_value()}"


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


class PspSimAttestation(BaseModel):
    object: Literal["psp_sim_attestation"]
    mobile: str
    device: str
    binding_token: str
    expires_at: int


class PspDevice(BaseModel):
    id: str = Field(description="The client's own id of the device.")
    object: Literal["psp_device"]
    name: str | None
    platform: str | None
    status: Literal["active", "revoked"]
    bound_at: int
    revoked_at: int | None
    current: bool = Field(description="Whether the calling session is on this device.")


class PspDeviceLink(BaseModel):
    id: str
    object: Literal["psp_device_link"]
    device: str
    name: str | None
    platform: str | None
    status: Literal["pending", "approved", "declined"]
    expires_at: int
    created: int


class PspPasskey(BaseModel):
    id: str
    object: Literal["psp_passkey"]
    name: str | None
    last_used_at: int | None
    created: int


class PspPasskeyChallenge(BaseModel):
    id: str
    object: Literal["psp_passkey_challenge"]
    purpose: Literal["registration", "login", "step_up"]
    expires_at: int
    public_key: dict[str, Any] = Field(
        description="WebAuthn's options for navigator.credentials.create or .get, as JSON."
    )


class PspHandoff(BaseModel):
    id: str
    object: Literal["psp_handoff"]
    qr_payload: str
    expires_at: int


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


def device_object(row: DeviceRow, current_device_id: str | None = None) -> dict[str, Any]:
    return {
        "id": row.device_id,
        "object": "psp_device",
        "name": row.name,
        "platform": row.platform,
        "status": row.status,
        "bound_at": int(row.bound_at.timestamp()),
        "revoked_at": _unix(row.revoked_at),
        "current": current_device_id is not None and row.device_id == current_device_id,
    }


def device_link_object(row: DeviceLinkRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "psp_device_link",
        "device": row.device_id,
        "name": row.name,
        "platform": row.platform,
        "status": row.status,
        "expires_at": int(row.expires_at.timestamp()),
        "created": int(row.created_at.timestamp()),
    }


def passkey_object(row: PasskeyRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "psp_passkey",
        "name": row.name,
        "last_used_at": _unix(row.last_used_at),
        "created": int(row.created_at.timestamp()),
    }


def challenge_object(row: PasskeyChallengeRow, options: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "psp_passkey_challenge",
        "purpose": row.purpose,
        "expires_at": int(row.expires_at.timestamp()),
        "public_key": options,
    }


def handoff_object(row: HandoffRow, qr_payload: SecretStr) -> dict[str, Any]:
    """The answer that hands the QR payload over: the only place it is ever shown."""
    return {
        "id": row.id,
        "object": "psp_handoff",
        "qr_payload": qr_payload.get_secret_value(),
        "expires_at": int(row.expires_at.timestamp()),
    }


def logout_object(sessions_revoked: int) -> dict[str, Any]:
    return {"object": "psp_logout", "sessions_revoked": sessions_revoked}


def sim_attestation_object(
    mobile_masked: str, device_id: str, binding_token: str, expires_at: Any
) -> dict[str, Any]:
    return {
        "object": "psp_sim_attestation",
        "mobile": mobile_masked,
        "device": device_id,
        "binding_token": binding_token,
        "expires_at": int(expires_at.timestamp()),
    }


def handoff_event_object(row: HandoffRow) -> dict[str, Any]:
    """A handoff as events show it: never its QR payload."""
    return {
        "id": row.id,
        "object": "psp_handoff",
        "device": row.device_id,
        "expires_at": int(row.expires_at.timestamp()),
        "redeemed_at": _unix(row.redeemed_at),
        "session": row.session_id,
        "created": int(row.created_at.timestamp()),
    }
