"""Bank account parameters and the ``bank_account`` object, in Stripe's shape (external
accounts). The account number is a ``SecretStr`` from the moment it is parsed, so a repr, a log
or an error cannot show it; the object shows ``last4`` and a keyed ``fingerprint`` only."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, Field, SecretStr

from beyondpay.db.pagination import ListParams
from beyondpay.kit.params import Params, check_metadata
from beyondpay.settlement.bank_accounts.models import BankAccountRow

ACCOUNT_NUMBER_CHARS_MAX: Final = 34  # an IBAN's length: any longer is no account number
HOLDER_NAME_CHARS_MAX: Final = 140
ROUTING_NUMBER_CHARS_MAX: Final = 20
EXPAND_MAX: Final = 20

MetadataParam = Annotated[dict[str, str] | str | None, AfterValidator(check_metadata)]
HolderType = Literal["individual", "company"]


class ExternalBankAccountParams(Params):
    """``external_account[…]``: a bank account in India (``routing_number`` is its IFSC)."""

    object: Literal["bank_account"]
    country: Annotated[str, Field(min_length=2, max_length=2)]
    currency: Annotated[str | None, Field(max_length=3)] = None
    account_number: Annotated[SecretStr, Field(max_length=ACCOUNT_NUMBER_CHARS_MAX)]
    routing_number: Annotated[str | None, Field(max_length=ROUTING_NUMBER_CHARS_MAX)] = None
    account_holder_name: Annotated[str | None, Field(max_length=HOLDER_NAME_CHARS_MAX)] = None
    account_holder_type: HolderType | None = None


class ExternalAccountCreateParams(Params):
    external_account: ExternalBankAccountParams
    default_for_currency: bool | None = None
    metadata: MetadataParam = None
    expand: list[str] = Field(default_factory=list, max_length=EXPAND_MAX)


class ExternalAccountUpdateParams(Params):
    default_for_currency: bool | None = None
    metadata: MetadataParam = None
    account_holder_name: Annotated[str | None, Field(max_length=HOLDER_NAME_CHARS_MAX)] = None
    account_holder_type: HolderType | None = None
    expand: list[str] = Field(default_factory=list, max_length=EXPAND_MAX)


class ExternalAccountListParams(ListParams):
    # Stripe's filter between bank accounts and cards; a merchant has bank accounts only.
    object: Literal["bank_account", "card"] | None = None


class BankAccount(BaseModel):
    id: str
    object: Literal["bank_account"]
    account: str = Field(description="The merchant's account (`acct_…`) the account pays out to.")
    account_holder_name: str
    account_holder_type: HolderType | None
    account_type: str | None
    bank_name: str | None = Field(description="From the IFSC's bank code (major banks).")
    country: str
    currency: str
    default_for_currency: bool
    fingerprint: str = Field(
        description="The same for every external account with this IFSC and number (keyed)."
    )
    last4: str
    metadata: dict[str, str]
    routing_number: str = Field(description="The IFSC.")
    status: Literal["new", "validated", "verified", "verification_failed", "errored"] = Field(
        description="`new` until the penny drop answers; then `verified` (the bank's holder"
        " name matches), `verification_failed` (it does not) or `errored` (no rupee could be"
        ' credited). docs/settlement.md, "Bank accounts".'
    )


class DeletedBankAccount(BaseModel):
    id: str
    object: Literal["bank_account"]
    deleted: Literal[True]


def bank_account_object(row: BankAccountRow) -> dict[str, Any]:
    if row.deleted_at is not None:
        return {"id": row.id, "object": "bank_account", "deleted": True}
    return {
        "id": row.id,
        "object": "bank_account",
        "account": row.merchant_id,
        "account_holder_name": row.account_holder_name,
        "account_holder_type": row.account_holder_type,
        "account_type": None,
        "bank_name": row.bank_name,
        "country": row.country,
        "currency": row.currency,
        "default_for_currency": row.default_for_currency,
        "fingerprint": row.fingerprint,
        "last4": row.last4,
        "metadata": row.metadata_,
        "routing_number": row.routing_number,
        "status": row.status,
    }
