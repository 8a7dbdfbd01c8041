"""PSP addresses: parameters and objects.

VPAs, aliases and mobile numbers are ``SecretStr`` from the moment they are parsed. An object
shows a VPA or alias in clear only to its owner (``vpa`` / ``alias``, opened from the sealed
copy); events and everyone else get the masked form alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, Field, SecretStr

from beyondpay.db.pagination import UNIX_S_MAX, ListParams
from beyondpay.kit.params import Params
from beyondpay.kit.upi import VPA_CHARS_MAX
from beyondpay.psp.addresses.domain import (
    MERCHANT_DISPLAY_NAME_CHARS_MAX,
    NICKNAME_CHARS_MAX,
    Payee,
)
from beyondpay.psp.addresses.models import AliasRow, BeneficiaryRow, VpaRow
from beyondpay.psp.addresses.qr import (
    AMOUNT_MINOR_MAX,
    NOTE_CHARS_MAX,
    REFERENCE_CHARS_MAX,
    SCALE_MAX,
)

ID_CHARS_MAX: Final = 64
MOBILE_CHARS_MAX: Final = 20
LIVEMODE: Final = False

Address = Annotated[SecretStr, Field(min_length=1, max_length=VPA_CHARS_MAX)]
Mobile = Annotated[SecretStr, Field(min_length=1, max_length=MOBILE_CHARS_MAX)]
ObjectId = Annotated[str, Field(min_length=1, max_length=ID_CHARS_MAX)]
# Only a bound on the size here: the rules (domain.check_username) answer with the reason.
Username = Annotated[str, Field(min_length=1, max_length=VPA_CHARS_MAX)]


def _unix(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


# ---- parameters -------------------------------------------------------------------------------


class VpaCreateParams(Params):
    username: Username
    bank_account: ObjectId


class VpaUpdateParams(Params):
    bank_account: ObjectId


class ResolveParams(Params):
    """Exactly one of ``vpa``, ``mobile`` or ``alias``."""

    vpa: Address | None = None
    mobile: Mobile | None = None
    alias: Address | None = None


class AliasCreateParams(Params):
    vpa: ObjectId = Field(description="The id (`vpa_…`) of the payer's VPA the alias stands for.")
    counterparty: Address | None = Field(
        default=None,
        description="Only the payer with this mobile number or VPA may pay through the alias.",
    )
    merchant: ObjectId | None = Field(
        default=None, description="Only this merchant (`acct_…`) may use the alias."
    )
    one_time: bool = Field(default=False, description="The alias works for one payment.")
    expires_at: int | None = Field(
        default=None, ge=0, le=UNIX_S_MAX, description="The alias stops working then (unix s)."
    )


class BeneficiaryCreateParams(Params):
    """Exactly one of ``vpa``, ``alias`` or ``mobile``, and a nickname."""

    nickname: Annotated[str, Field(min_length=1, max_length=NICKNAME_CHARS_MAX)]
    vpa: Address | None = None
    alias: Address | None = None
    mobile: Mobile | None = None


class MerchantVpaCreateParams(Params):
    username: Username
    merchant_category_code: Annotated[str, Field(pattern=r"^[0-9]{4}$")]
    display_name: Annotated[str, Field(min_length=1, max_length=MERCHANT_DISPLAY_NAME_CHARS_MAX)]


class MerchantQrParams(Params):
    """Without ``amount`` a static QR (the payer types the amount); with ``amount`` and ``tr``
    a dynamic one for one payment."""

    amount: int | None = Field(default=None, ge=1, le=AMOUNT_MINOR_MAX, description="Paise.")
    tr: Annotated[str | None, Field(min_length=1, max_length=REFERENCE_CHARS_MAX)] = None
    tn: Annotated[str | None, Field(min_length=1, max_length=NOTE_CHARS_MAX)] = None
    scale: int = Field(default=8, ge=1, le=SCALE_MAX, description="Pixels (PNG) per module.")


class PspListParams(ListParams):
    pass


# ---- objects ----------------------------------------------------------------------------------


class PspVpa(BaseModel):
    id: str
    object: Literal["psp_vpa"]
    vpa: str = Field(description="The VPA in full: shown only to its owner.")
    masked: str
    bank_account: str
    is_primary: bool
    status: Literal["active", "inactive"]
    created: int
    livemode: bool


class PspPayeePreview(BaseModel):
    object: Literal["psp_payee_preview"]
    kind: Literal["payer", "merchant"]
    verified_name: str
    masked: str
    merchant_category_code: str | None


class PspAlias(BaseModel):
    id: str
    object: Literal["psp_alias"]
    alias: str = Field(description="The alias's current text: shown only to its owner.")
    masked: str
    vpa: str
    status: Literal["active", "revoked"]
    counterparty: str | None
    merchant: str | None
    one_time: bool
    expires_at: int | None
    used: bool
    used_at: int | None
    rotations: int
    rotated_at: int | None
    revoked_at: int | None
    created: int
    livemode: bool


class PspBeneficiary(BaseModel):
    id: str
    object: Literal["psp_beneficiary"]
    nickname: str
    saved_by: Literal["vpa", "alias", "mobile"]
    kind: Literal["payer", "merchant"]
    masked: str
    verified_name: str
    created: int
    livemode: bool


class DeletedPspBeneficiary(BaseModel):
    id: str
    object: Literal["psp_beneficiary"]
    deleted: Literal[True]


class UpiMerchantVpa(BaseModel):
    id: str
    object: Literal["upi_merchant_vpa"]
    vpa: str
    display_name: str
    merchant_category_code: str
    status: Literal["active", "inactive"]
    created: int
    livemode: bool


def vpa_object(row: VpaRow, vpa: SecretStr | None) -> dict[str, Any]:
    """A payer's VPA; ``vpa`` (opened from the sealed copy) only for its owner. Without it —
    in events — the object holds the masked form alone."""
    shown: dict[str, Any] = {"id": row.id, "object": "psp_vpa"}
    if vpa is not None:
        shown["vpa"] = vpa.get_secret_value()
    return {
        **shown,
        "masked": row.vpa_masked,
        "bank_account": row.bank_account_id,
        "is_primary": row.is_primary,
        "status": row.status,
        "created": int(row.created_at.timestamp()),
        "livemode": LIVEMODE,
    }


def alias_object(row: AliasRow, alias: SecretStr | None) -> dict[str, Any]:
    shown: dict[str, Any] = {"id": row.id, "object": "psp_alias"}
    if alias is not None:
        shown["alias"] = alias.get_secret_value()
    return {
        **shown,
        "masked": row.alias_masked,
        "vpa": row.vpa_id,
        "status": row.status,
        "counterparty": row.counterparty_masked,
        "merchant": row.merchant_id,
        "one_time": row.one_time,
        "expires_at": _unix(row.expires_at),
        "used": row.uses > 0,
        "used_at": _unix(row.used_at),
        "rotations": row.rotations,
        "rotated_at": _unix(row.rotated_at),
        "revoked_at": _unix(row.revoked_at),
        "created": int(row.created_at.timestamp()),
        "livemode": LIVEMODE,
    }


def beneficiary_object(row: BeneficiaryRow) -> dict[str, Any]:
    if row.deleted_at is not None:
        return {"id": row.id, "object": "psp_beneficiary", "deleted": True}
    return {
        "id": row.id,
        "object": "psp_beneficiary",
        "nickname": row.nickname,
        "saved_by": row.saved_by,
        "kind": row.payee_kind,
        "masked": row.masked,
        "verified_name": row.verified_name,
        "created": int(row.created_at.timestamp()),
        "livemode": LIVEMODE,
    }


def merchant_vpa_object(row: VpaRow, vpa: SecretStr | None) -> dict[str, Any]:
    """A merchant's VPA: in full for the merchant (it is printed in its QR codes), masked in
    events."""
    shown: dict[str, Any] = {"id": row.id, "object": "upi_merchant_vpa"}
    if vpa is not None:
        shown["vpa"] = vpa.get_secret_value()
    else:
        shown["masked"] = row.vpa_masked
    return {
        **shown,
        "display_name": row.display_name,
        "merchant_category_code": row.merchant_category_code,
        "status": row.status,
        "created": int(row.created_at.timestamp()),
        "livemode": row.livemode,
    }


def payee_preview_object(payee: Payee) -> dict[str, Any]:
    return {
        "object": "psp_payee_preview",
        "kind": payee.kind,
        "verified_name": payee.verified_name,
        "masked": payee.masked,
        "merchant_category_code": payee.merchant_category_code,
    }
