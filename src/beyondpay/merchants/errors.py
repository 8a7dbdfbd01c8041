"""Typed errors of merchants, KYC review and API keys. Messages never quote a key or a document
number: both are secrets or personal data."""

from __future__ import annotations

from beyondpay.kit.errors import AuthenticationError, InvalidRequestError


class ApiKeyExpiredError(AuthenticationError):
    code = "api_key_expired"
    default_message = "Expired API key provided."


class PanInvalidError(InvalidRequestError):
    code = "pan_invalid"
    default_message = "The PAN is not valid."


class GstinInvalidError(InvalidRequestError):
    code = "gstin_invalid"
    default_message = "The GSTIN is not valid."


class GstinPanMismatchError(InvalidRequestError):
    code = "gstin_pan_mismatch"
    default_message = "The GSTIN does not belong to the PAN on file."


class IfscInvalidError(InvalidRequestError):
    code = "ifsc_invalid"
    default_message = "The IFSC is not valid."


class BankAccountNumberInvalidError(InvalidRequestError):
    code = "account_number_invalid"
    default_message = "The bank account number is not valid."


class AccountHolderNameInvalidError(InvalidRequestError):
    code = "account_holder_name_invalid"
    default_message = "The account holder's name is not valid."


class KycDocumentUnexpectedStateError(InvalidRequestError):
    code = "kyc_document_unexpected_state"
    default_message = "Only a document pending review can be approved or rejected."


class AccountUnexpectedStateError(InvalidRequestError):
    code = "account_unexpected_state"
    default_message = "The account's status does not allow this."


class ScopeInvalidError(InvalidRequestError):
    code = "scope_invalid"
    default_message = "Unknown scope."


class ScopeNotGrantableError(InvalidRequestError):
    code = "scope_not_grantable"
    default_message = "A restricted key cannot hold this scope."


class ApiKeyUnexpectedStateError(InvalidRequestError):
    code = "api_key_unexpected_state"
    default_message = "The API key's state does not allow this."


class LastApiKeyError(ApiKeyUnexpectedStateError):
    code = "api_key_last_of_kind"
    default_message = (
        "This is the only working key of its kind in this mode; roll it instead of revoking it."
    )
