"""Accounts, KYC documents and API keys: parameters and the objects rendered.

A key's text appears in exactly two responses: the one that created it and the one that rolled
to it. A KYC document shows only its masked details.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, Field

from beyondpay.db.pagination import EXPAND_MAX, ListParams
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import InvalidRequestError, ParameterMissingError
from beyondpay.kit.params import Params, check_metadata
from beyondpay.merchants.connected import AccountFields
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


# ---- Connect: connected accounts ---------------------------------------------------------------

EMAIL_CHARS_MAX: Final = 254
PROFILE_TEXT_CHARS_MAX: Final = 500
ProfileText = Annotated[str | None, Field(default=None, max_length=PROFILE_TEXT_CHARS_MAX)]
MetadataParam = Annotated[dict[str, str] | str | None, AfterValidator(check_metadata)]
# Stripe's controller[stripe_dashboard][type] says which kind of account the platform means.
_TYPE_OF_DASHBOARD: Final = {"express": "express", "full": "standard", "none": "custom"}


def _email(value: str | None) -> str | None:
    if value is not None and (
        value.count("@") != 1 or value.startswith("@") or value.endswith("@")
    ):
        raise ValueError("must be an email address")
    return value


Email = Annotated[
    str | None, Field(default=None, max_length=EMAIL_CHARS_MAX), AfterValidator(_email)
]


class CapabilityParams(Params):
    requested: bool | None = None


class CapabilitiesParams(Params):
    card_payments: CapabilityParams | None = None
    transfers: CapabilityParams | None = None

    def requested(self) -> dict[str, bool]:
        asked = {"card_payments": self.card_payments, "transfers": self.transfers}
        return {
            name: bool(item.requested)
            for name, item in asked.items()
            if item is not None and item.requested is not None
        }


class AccountBusinessProfileParams(Params):
    name: ProfileText = None
    url: ProfileText = None
    mcc: Annotated[str | None, Field(default=None, pattern=r"^[0-9]{4}$")] = None
    product_description: ProfileText = None
    support_email: Email = None
    support_phone: ProfileText = None
    support_url: ProfileText = None


class DashboardParams(Params):
    type: Literal["express", "full", "none"] | None = None


class ControllerParams(Params):
    """Stripe's controller properties; only ``stripe_dashboard[type]`` changes anything here
    (which kind of account it is); the others are accepted as Stripe's SDKs send them."""

    fees: dict[str, str] | None = None
    losses: dict[str, str] | None = None
    requirement_collection: Literal["application", "stripe"] | None = None
    stripe_dashboard: DashboardParams | None = None


BusinessType = Literal["individual", "company", "non_profit", "government_entity"]


class ConnectedAccountUpdateParams(Params):
    email: Email = None
    business_type: BusinessType | None = None
    business_profile: AccountBusinessProfileParams | None = None
    capabilities: CapabilitiesParams | None = None
    metadata: MetadataParam = None
    expand: list[str] = Field(default_factory=list, max_length=EXPAND_MAX)

    def fields(self) -> AccountFields:
        profile = self.business_profile
        return AccountFields(
            email=self.email,
            business_type=self.business_type,
            business_profile=profile.model_dump(exclude_none=True) if profile else None,
            capabilities_requested=self.capabilities.requested() if self.capabilities else {},
            metadata=self.metadata if isinstance(self.metadata, dict) else None,
        )


class ConnectedAccountCreateParams(ConnectedAccountUpdateParams):
    type: Literal["custom", "express", "standard"] | None = None
    controller: ControllerParams | None = None
    country: Annotated[str | None, Field(default=None, min_length=2, max_length=2)] = None

    def fields(self) -> AccountFields:
        dashboard = self.controller.stripe_dashboard if self.controller else None
        account_type: str | None = self.type
        if account_type is None and dashboard is not None and dashboard.type is not None:
            account_type = _TYPE_OF_DASHBOARD[dashboard.type]
        return replace(super().fields(), account_type=account_type, country=self.country)


class ConnectedAccountListParams(ListParams):
    pass


class AccountRequirements(BaseModel):
    currently_due: list[str]
    eventually_due: list[str]
    past_due: list[str]
    pending_verification: list[str]
    disabled_reason: str | None = Field(
        description="Why charges and payouts are off: `requirements.past_due` (KYC documents to"
        " send), `requirements.pending_verification` (under review), `rejected.other`."
    )
    current_deadline: int | None
    errors: list[dict[str, Any]]


class ConnectedAccountObject(BaseModel):
    id: str
    object: Literal["account"]
    type: Literal["custom", "express", "standard", "none"]
    business_profile: dict[str, Any]
    business_type: str | None
    capabilities: dict[str, Literal["active", "inactive", "pending"]]
    charges_enabled: bool = Field(description="True once the account's KYC is approved.")
    payouts_enabled: bool
    details_submitted: bool
    country: str
    default_currency: str
    email: str | None
    created: int
    metadata: dict[str, str]
    requirements: AccountRequirements
    settings: dict[str, Any]


class DeletedAccount(BaseModel):
    id: str
    object: Literal["account"]
    deleted: Literal[True]
