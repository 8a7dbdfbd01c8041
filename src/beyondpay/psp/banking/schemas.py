"""PSP banking parameters and objects.

PINs and a card's digits are ``SecretStr`` from the moment they are parsed, so a repr, a log line
or an error cannot show them (and the idempotency fingerprint sees them masked: docs/psp.md says
why that is safe). No object shows a full account number, a PIN or the rails' account reference.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, Field, SecretStr

from beyondpay.kit.params import Params
from beyondpay.psp.banking.models import BankAccountRow
from beyondpay.rails.protocol import BankAccountInfo

BANK_CHARS_MAX: Final = 16
ACCOUNT_NUMBER_MASKED_CHARS_MAX: Final = 32
# Longer than any PIN or card suffix, so a wrong length gets its own clear message from the
# rules (domain.pin_problem) while junk is refused at the edge.
SECRET_DIGITS_CHARS_MAX: Final = 16

Pin = Annotated[
    SecretStr,
    Field(max_length=SECRET_DIGITS_CHARS_MAX, description="The UPI PIN: 4 or 6 digits."),
]
CardLast6 = Annotated[
    SecretStr,
    Field(
        max_length=SECRET_DIGITS_CHARS_MAX,
        description="The last 6 digits of the account's debit card.",
    ),
]
ExpiryMonth = Annotated[int, Field(description="The debit card's expiry month, 1-12.")]
ExpiryYear = Annotated[int, Field(description="The debit card's expiry year, four digits.")]


class PinState(StrEnum):
    not_set = "not_set"
    set = "set"
    locked = "locked"


class DiscoverParams(Params):
    """Discovery takes no parameters: the banks are asked for the payer's registered mobile."""


class BankAccountListParams(Params):
    """The payer's linked accounts: a handful, so one page with no cursor."""


class LinkParams(Params):
    bank: Annotated[str, Field(min_length=1, max_length=BANK_CHARS_MAX)]
    account_number_masked: Annotated[
        str | None,
        Field(
            default=None,
            min_length=1,
            max_length=ACCOUNT_NUMBER_MASKED_CHARS_MAX,
            description=(
                "The masked number discovery showed, to say which account when the bank has"
                " more than one. A full account number is never accepted."
            ),
        ),
    ] = None
    card_last6: CardLast6
    card_expiry_month: ExpiryMonth
    card_expiry_year: ExpiryYear


class PinSetParams(Params):
    pin: Pin
    card_last6: CardLast6
    card_expiry_month: ExpiryMonth
    card_expiry_year: ExpiryYear


class PinChangeParams(Params):
    old_pin: Pin
    new_pin: Pin


class BalanceParams(Params):
    pin: Pin


class PspBankAccount(BaseModel):
    id: str
    object: Literal["psp_bank_account"]
    bank: str
    bank_name: str
    ifsc: str
    account_number_masked: str
    account_type: str
    holder_name: str = Field(description="The account holder's name as the bank verified it.")
    is_primary: bool
    status: Literal["active", "unlinked"]
    upi_pin: PinState
    created: int
    livemode: bool


class PspDiscoveredBankAccount(BaseModel):
    object: Literal["psp_discovered_bank_account"]
    bank: str
    bank_name: str
    ifsc: str
    account_number_masked: str
    account_type: str
    holder_name: str
    linked: bool = Field(description="Whether you have linked this account already.")
    upi_pin: PinState


class PspBankAccountBalance(BaseModel):
    object: Literal["psp_bank_account_balance"]
    bank_account: str
    available: int = Field(description="The available balance, in minor units (paise).")
    currency: str
    created: int


def bank_account_object(row: BankAccountRow, pin: PinState) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "psp_bank_account",
        "bank": row.bank,
        "bank_name": row.bank_name,
        "ifsc": row.ifsc,
        "account_number_masked": row.account_number_masked,
        "account_type": row.account_type,
        "holder_name": row.holder_name,
        "is_primary": row.is_primary,
        "status": row.status,
        "upi_pin": pin.value,
        "created": int(row.created_at.timestamp()),
        "livemode": False,
    }


def discovered_object(info: BankAccountInfo, *, linked: bool, pin: PinState) -> dict[str, Any]:
    return {
        "object": "psp_discovered_bank_account",
        "bank": info.bank,
        "bank_name": info.bank_name,
        "ifsc": info.ifsc,
        "account_number_masked": info.account_number_masked,
        "account_type": info.account_type,
        "holder_name": info.holder_name,
        "linked": linked,
        "upi_pin": pin.value,
    }


def balance_object(
    bank_account_id: str, available: int, currency: str, created: int
) -> dict[str, Any]:
    return {
        "object": "psp_bank_account_balance",
        "bank_account": bank_account_id,
        "available": available,
        "currency": currency,
        "created": created,
    }
