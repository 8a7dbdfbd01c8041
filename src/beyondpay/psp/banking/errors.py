"""Typed errors of PSP banking, each with a stable code. No message holds a PIN, a card's digits
or an account number.

Counted refusals: a wrong UPI PIN or a wrong debit card counts towards a lock, and that count is
written in the caller's transaction before the error is raised. A route must therefore commit it:
catch :class:`CountedRefusalError` in the mutation and return it as the answer
(``Outcome(error.to_dict(), error.status)``), as payments do with a declined confirmation,
instead of letting it roll the transaction back (which would forget the try and let a PIN be
guessed without end). Every :class:`UpiPinError` is such a refusal, so ``except UpiPinError``
around ``bank_account_service.authorize_debit`` is enough; call it before writing anything else
the refusal should not commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from beyondpay.kit.errors import (
    BeyondpayError,
    InvalidRequestError,
    ResourceMissingError,
)
from beyondpay.psp.banking.domain import CARD_TRIES_MAX, PIN_TRIES_MAX, PinProblem

__all__ = [
    "BankAccountAlreadyLinkedError",
    "BankAccountMissingError",
    "BankAccountsLimitError",
    "BankUnknownError",
    "CardChecksLockedError",
    "CardDigitsInvalidError",
    "CardExpiryInvalidError",
    "CardVerificationFailedError",
    "CountedRefusalError",
    "DiscoveredAccountAmbiguousError",
    "DiscoveredAccountMissingError",
    "PinInvalidError",
    "PinLockedError",
    "PinNotSetError",
    "PinRejectedError",
    "PinTooWeakError",
    "UpiPinError",
]


class CountedRefusalError(BeyondpayError):
    """A refusal whose try is counted in the caller's transaction: render it, commit, do not
    roll back (see the module's docstring). A wrong PIN or debit card is what Stripe calls a
    decline (``incorrect_pin``, ``incorrect_number``): ``402`` with type ``card_error``."""

    status = 402
    type = "card_error"


class UpiPinError(CountedRefusalError):
    """A debit the PIN did not authorize. ``npci_code`` is NPCI's response code, also sent as
    the error's ``decline_code``."""

    npci_code: ClassVar[str]

    def __init__(
        self,
        message: str | None = None,
        *,
        param: str | None = "pin",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, param=param, decline_code=self.npci_code, headers=headers)

    def to_dict(self) -> dict[str, object]:
        """``npci_code`` beside ``decline_code``, as every PSP refusal with NPCI's code has."""
        body = super().to_dict()
        error = body["error"]
        if isinstance(error, dict):
            error["npci_code"] = self.npci_code
        return body


class PinInvalidError(UpiPinError):
    code = "incorrect_pin"
    npci_code = "ZM"
    default_message = "The UPI PIN is incorrect."

    @classmethod
    def with_tries_left(cls, tries_left: int, *, param: str = "pin") -> PinInvalidError:
        noun = "try" if tries_left == 1 else "tries"
        return cls(
            f"The UPI PIN is incorrect: {tries_left} {noun} left before it locks.", param=param
        )


class PinLockedError(UpiPinError):
    code = "pin_tries_exceeded"
    npci_code = "Z6"
    default_message = (
        f"The UPI PIN is locked after {PIN_TRIES_MAX} wrong tries. Set it again with the"
        " account's debit card (POST /v1/psp/bank_accounts/{id}/pin)."
    )


class PinNotSetError(UpiPinError):
    # Not a decline: a step the payer has not taken yet (no try is counted either).
    status = 400
    type = "invalid_request_error"
    code = "pin_not_set"
    # NPCI's "transaction not permitted to the account": no PIN, no debit.
    npci_code = "B3"
    default_message = (
        "This bank account has no UPI PIN yet. Set one with the account's debit card"
        " (POST /v1/psp/bank_accounts/{id}/pin)."
    )


class PinRejectedError(InvalidRequestError):
    """A proposed PIN that is malformed (``pin_invalid``) or too easy to guess
    (``pin_too_weak``); the message never quotes it."""

    code = "pin_invalid"

    @staticmethod
    def for_problem(problem: PinProblem, param: str) -> PinRejectedError:
        weak = (
            PinProblem.repeated_digit,
            PinProblem.sequence,
            PinProblem.pattern,
            PinProblem.card_digits,
        )
        if problem in weak:
            return PinTooWeakError(problem.value, param=param)
        return PinRejectedError(problem.value, param=param)


class PinTooWeakError(PinRejectedError):
    code = "pin_too_weak"


class CardVerificationFailedError(CountedRefusalError):
    code = "card_verification_failed"
    default_message = "The debit card's last 6 digits or expiry do not match this bank account."

    @classmethod
    def with_tries_left(cls, tries_left: int) -> CardVerificationFailedError:
        noun = "try" if tries_left == 1 else "tries"
        return cls(
            f"{cls.default_message} {tries_left} {noun} left before card checks at this bank"
            " stop for a while.",
            param="card_last6",
        )


class CardChecksLockedError(CountedRefusalError):
    code = "card_tries_exceeded"
    default_message = (
        f"After {CARD_TRIES_MAX} wrong debit cards, this bank's card checks are locked for a"
        " while. Retry later."
    )


class CardExpiryInvalidError(InvalidRequestError):
    code = "invalid_expiry"


class CardDigitsInvalidError(InvalidRequestError):
    code = "card_digits_invalid"


class BankAccountMissingError(ResourceMissingError):
    @classmethod
    def for_id(cls, bank_account_id: str) -> BankAccountMissingError:
        return cls.for_object("psp_bank_account", bank_account_id, param="bank_account")


class BankUnknownError(InvalidRequestError):
    code = "bank_unknown"
    default_message = "No account of yours was found at this bank: discover your accounts first."


class DiscoveredAccountMissingError(InvalidRequestError):
    code = "bank_account_not_found"
    default_message = "No account of yours at this bank has this masked account number."


class DiscoveredAccountAmbiguousError(InvalidRequestError):
    code = "bank_account_ambiguous"
    default_message = (
        "You have more than one account at this bank: say which with account_number_masked."
    )


class BankAccountAlreadyLinkedError(InvalidRequestError):
    code = "bank_account_already_linked"
    default_message = "This bank account is already linked."


class BankAccountsLimitError(InvalidRequestError):
    code = "bank_accounts_limit"
