"""Accounts, KYC documents and API keys: parameters and the objects rendered.

A key's text appears in exactly two responses: the one that created it and the one that rolled
to it. A KYC document shows only its masked details.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, Field

from beyondpay.db.pagination import ListParams
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import InvalidRequestError, ParameterMissingError
from beyondpay.kit.params import Params
from beyondpay.merchants.domain import (
    ALLOWED_IPS_MAX,
    KEY_NAME_CHARS_MAX,
    ROLL_OVERLAP_S_MAX,
    SCOPES_SECRET_ONLY,
    MerchantStatus,
    Scope,
)
from beyondpay.merchants.kyc import (
    ACCOUNT_NUMBER_PATTERN,
    GSTIN_PATTERN,
    IFSC_PATTERN,
    KINDS_REQUIRED,
    NAME_CHARS_MAX,
    PAN_PATTERN,
    REASON_CHARS_MAX,
    KycKind,
    KycStatus,
)
from beyondpay.merchants.service import (
    MERCHANT_NAME_CHARS_MAX,
    SCOPES_MAX,
    AccountView,
    ApiKeyView,
    KeyWithSecret,
    KycDocumentView,
    NewMerchant,
)

# Long enough for any well-formed number with spaces; the service checks the format.
DOCUMENT_NUMBER_CHARS_MAX: Final = 40
SCOPE_CHARS_MAX: Final = 64
NETWORK_CHARS_MAX: Final = 64

Reason = Annotated[str, Field(min_length=1, max_length=REASON_CHARS_MAX)]


# ---- parameters --------------------------------------------------------------------------------


# Patterns are documented (json_schema_extra) in their compact form; the service also accepts
# the spaces people type and gives the error messages.
class PanParams(Params):
    number: str = Field(
        max_length=DOCUMENT_NUMBER_CHARS_MAX, json_schema_extra={"pattern": PAN_PATTERN.pattern}
    )


class GstParams(Params):
    number: str = Field(
        max_length=DOCUMENT_NUMBER_CHARS_MAX, json_schema_extra={"pattern": GSTIN_PATTERN.pattern}
    )


class BankAccountParams(Params):
    account_number: str = Field(
        max_length=DOCUMENT_NUMBER_CHARS_MAX,
        json_schema_extra={"pattern": ACCOUNT_NUMBER_PATTERN.pattern},
    )
    ifsc: str = Field(
        max_length=DOCUMENT_NUMBER_CHARS_MAX, json_schema_extra={"pattern": IFSC_PATTERN.pattern}
    )
    account_holder_name: str = Field(max_length=NAME_CHARS_MAX * 2)


class KycDocumentCreateParams(Params):
    """``type`` and the hash of that name: ``type=pan&pan[number]=…``."""

    type: KycKind
    pan: PanParams | None = None
    gst: GstParams | None = None
    bank_account: BankAccountParams | None = None

    def details(self) -> dict[str, str]:
        """The hash named by ``type``; a 400 naming the parameter for a missing or stray one."""
        for kind in KycKind:
            if kind is not self.type and getattr(self, kind.value) is not None:
                raise InvalidRequestError(
                    f"{kind.value} cannot be sent with type={self.type.value}.", param=kind.value
                )
        sent: BaseModel | None = getattr(self, self.type.value)
        if sent is None:
            raise ParameterMissingError.for_param(self.type.value)
        return {field: str(value) for field, value in sent.model_dump().items()}


class KycDocumentListParams(ListParams):
    pass


class PlatformKycDocumentListParams(ListParams):
    status: KycStatus | None = None


class ApiKeyCreateParams(Params):
    """A restricted key of the caller's merchant and mode."""

    scopes: list[str] = Field(
        min_length=1,
        max_length=SCOPES_MAX,
        json_schema_extra={
            "items": {
                "type": "string",
                "enum": [scope.value for scope in Scope if scope not in SCOPES_SECRET_ONLY],
            }
        },
    )
    name: str | None = Field(default=None, max_length=KEY_NAME_CHARS_MAX)
    allowed_ips: list[str] | None = Field(default=None, max_length=ALLOWED_IPS_MAX)


class ApiKeyRollParams(Params):
    expires_in: int = Field(
        default=0,
        ge=0,
        le=ROLL_OVERLAP_S_MAX,
        description="Seconds the old key keeps working (0 to 604800, 7 days; default 0).",
    )


class ApiKeyListParams(ListParams):
    pass


class PlatformMerchantCreateParams(Params):
    name: str = Field(min_length=1, max_length=MERCHANT_NAME_CHARS_MAX)


class PlatformMerchantListParams(ListParams):
    status: MerchantStatus | None = None


class SuspendParams(Params):
    reason: Reason


class RejectParams(Params):
    reason: Reason


# ---- objects -----------------------------------------------------------------------------------


class Requirements(BaseModel):
    currently_due: list[str]
    pending_verification: list[str]


class Account(BaseModel):
    id: str
    object: Literal["account"]
    name: str
    status: MerchantStatus
    status_reason: str | None
    created: int
    requirements: Requirements


class KycDocument(BaseModel):
    id: str
    object: Literal["kyc_document"]
    account: str
    type: KycKind
    status: KycStatus
    details: dict[str, str]
    rejection_reason: str | None
    created: int
    reviewed_at: int | None


class ApiKey(BaseModel):
    id: str
    object: Literal["api_key"]
    type: Literal["secret", "publishable", "restricted"]
    livemode: bool
    name: str | None
    redacted: str
    scopes: list[str]
    allowed_ips: list[str]
    status: Literal["active", "expired", "revoked"]
    created: int
    expires_at: int | None
    last_used_at: int | None
    revoked_at: int | None
    rolled_to: str | None


class ApiKeyWithSecret(ApiKey):
    secret: str = Field(description="The key's text: shown in this response only.")


class RolledApiKey(ApiKeyWithSecret):
    rolled_from: ApiKey


class NewAccount(Account):
    api_keys: list[ApiKeyWithSecret] = Field(
        description="The account's four keys: shown in this response only."
    )


def _unix(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def account_object(view: AccountView) -> dict[str, Any]:
    due = sorted(KINDS_REQUIRED - view.kyc_approved - view.kyc_pending)
    return {
        "id": view.id,
        "object": "account",
        "name": view.name,
        "status": view.status.value,
        "status_reason": view.status_reason,
        "created": int(view.created_at.timestamp()),
        "requirements": {
            "currently_due": [kind.value for kind in due],
            "pending_verification": sorted(kind.value for kind in view.kyc_pending),
        },
    }


def kyc_document_object(view: KycDocumentView) -> dict[str, Any]:
    return {
        "id": view.id,
        "object": "kyc_document",
        "account": view.merchant_id,
        "type": view.kind.value,
        "status": view.status.value,
        "details": view.details,
        "rejection_reason": view.rejection_reason,
        "created": int(view.created_at.timestamp()),
        "reviewed_at": _unix(view.reviewed_at),
    }


def _key_status(view: ApiKeyView) -> str:
    if view.revoked_at is not None:
        return "revoked"
    if view.expires_at is not None and view.expires_at <= utcnow():
        return "expired"
    return "active"


def api_key_object(view: ApiKeyView) -> dict[str, Any]:
    return {
        "id": view.id,
        "object": "api_key",
        "type": view.kind.value,
        "livemode": view.livemode,
        "name": view.name,
        "redacted": view.redacted,
        "scopes": list(view.scopes),
        "allowed_ips": list(view.allowed_ips),
        "status": _key_status(view),
        "created": int(view.created_at.timestamp()),
        "expires_at": _unix(view.expires_at),
        "last_used_at": _unix(view.last_used_at),
        "revoked_at": _unix(view.revoked_at),
        "rolled_to": view.rolled_to,
    }


def api_key_with_secret(created: KeyWithSecret) -> dict[str, Any]:
    return {**api_key_object(created.key), "secret": created.secret}


def new_account_object(view: AccountView, created: NewMerchant) -> dict[str, Any]:
    keys = []
    for issued in created.keys:
        kind = issued.kind.value
        keys.append(
            {
                "id": issued.id,
                "object": "api_key",
                "type": kind,
                "livemode": issued.livemode,
                "name": None,
                "redacted": issued.redacted,
                "scopes": [],
                "allowed_ips": [],
                "status": "active",
                "created": int(issued.created_at.timestamp()),
                "expires_at": None,
                "last_used_at": None,
                "revoked_at": None,
                "rolled_to": None,
                "secret": issued.secret,
            }
        )
    return {**account_object(view), "api_keys": keys}
