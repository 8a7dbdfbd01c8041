"""Typed errors of PSP transfers. Refusals that UPI has a code for carry NPCI's code too
(``npci_code`` in the error body), so an app can show the message UPI apps show.

A payment refused for what Stripe calls a decline (the payer's bank or the switch said no, a
wrong PIN, a limit, risk) is ``402`` with type ``card_error``, as Stripe answers a declined card;
every other refusal keeps its usual type (``invalid_request_error``, ``permission_error``, …).
``tests/psp/test_error_types.py`` holds every PSP error to that rule.
"""

from __future__ import annotations

from typing import Any, ClassVar

from beyondpay.kit.errors import InvalidRequestError, PermissionDeniedError


class NpciCodedError(InvalidRequestError):
    """A refusal with NPCI's response code beside our own, in ``npci_code`` and, as the banking
    part's PIN refusals do, ``decline_code``."""

    npci_code: ClassVar[str | None] = None

    def __init__(
        self, message: str | None = None, *, param: str | None = None, npci_code: str | None = None
    ) -> None:
        npci = npci_code if npci_code is not None else type(self).npci_code
        super().__init__(message, param=param, decline_code=npci)
        self.npci = npci

    def to_dict(self) -> dict[str, object]:
        body = super().to_dict()
        error = body["error"]
        if self.npci is not None and isinstance(error, dict):
            error["npci_code"] = self.npci
        return body


class LimitExceededError(NpciCodedError):
    """Over one of the payer's limits: Z8 for an amount, Z7 for the count of the day."""

    status = 402
    type = "card_error"
    code = "limit_exceeded"


class TransferLimitExceededError(LimitExceededError):
    """Built from a :class:`~beyondpay.psp.transfers.domain.LimitBreach`: its code is the
    breach's (``daily_limit_exceeded``, ``daily_count_limit_exceeded``, …)."""

    def __init__(self, code: str, message: str, npci_code: str) -> None:
        super().__init__(message, param="amount", npci_code=npci_code)
        self.breach_code = code

    def to_dict(self) -> dict[str, object]:
        body = super().to_dict()
        error = body["error"]
        if isinstance(error, dict):
            error["code"] = self.breach_code
        return body


class PayerFrozenError(PermissionDeniedError):
    code = "payer_frozen"
    default_message = (
        "Payments are stopped on this account (it was frozen). Unfreeze it with a passkey."
    )


class DeviceNotBoundError(PermissionDeniedError):
    code = "device_not_bound"
    default_message = "Payments can only be made from a bound device: bind this device first."


class ClientRequestIdReusedError(InvalidRequestError):
    code = "client_request_id_reused"
    default_message = (
        "This client_request_id was already used for a payment with other terms; use a new one"
        " for a new payment."
    )


class PayeeIsPayerAccountError(InvalidRequestError):
    code = "payee_is_payer_account"
    default_message = "The payee's account is the account being debited."


class CollectRequestNotPendingError(NpciCodedError):
    code = "collect_request_not_pending"


class CollectRequestExpiredError(NpciCodedError):
    code = "collect_request_expired"
    npci_code = "U69"
    default_message = "This collect request has expired."


class CollectPayeeUnsupportedError(InvalidRequestError):
    code = "collect_payee_unsupported"
    default_message = (
        "Collect requests can only be sent to payers of this PSP in the sandbox: the VPA is not"
        " one of ours."
    )


class ScreeningRefusalError(NpciCodedError):
    """Refused before the switch by risk or limits. Answered, not raised, by the routes, so the
    assessment and the limits decision it rests on are committed with the answer."""

    status = 402
    type = "card_error"


class RiskBlockedError(ScreeningRefusalError):
    code = "risk_blocked"
    npci_code = "U16"  # NPCI's "risk threshold exceeded"
    default_message = "This payment was blocked: it looks like fraud. Nothing was paid."


class StepUpRequiredError(ScreeningRefusalError):
    code = "step_up_required"
    default_message = (
        "Confirm this payment with your passkey: send it again with step_up (a challenge from"
        " POST /v1/psp/passkeys/step_up/options and your passkey's answer)."
    )


class PolicyRefusedError(ScreeningRefusalError):
    """A limits policy refused the payment; ``code`` is the policy's refusal code."""

    code = "limits_refused"

    def __init__(self, code: str, message: str, npci_code: str | None) -> None:
        super().__init__(message, param="amount", npci_code=npci_code)
        self.policy_code = code

    def to_dict(self) -> dict[str, object]:
        body = super().to_dict()
        error = body["error"]
        if isinstance(error, dict):
            error["code"] = self.policy_code
        return body


class PaymentDeclinedError(NpciCodedError):
    """The switch or the payer's bank refused the payment (``Z9`` insufficient funds, ``U30``
    debit failed, …). The failed transaction is what the payment committed, so this is answered,
    not raised, with the object the route answers beside the error, as Stripe puts the payment
    intent in a declined card's ``card_error``. ``code`` is the transaction's ``failure_code``."""

    status = 402
    type = "card_error"
    code = "upi_declined"
    default_message = "The payer's bank declined the payment."

    def __init__(
        self, code: str | None, message: str | None, npci_code: str | None, *, attached: str
    ) -> None:
        super().__init__(message or None, npci_code=npci_code)
        self.declined_code = code or type(self).code
        self.attached = attached  # "transaction" or "collect_request"

    def answer(self, obj: dict[str, Any]) -> dict[str, object]:
        """The error body, with ``obj`` (the failed transaction or collect request)."""
        body = self.to_dict()
        error = body["error"]
        if isinstance(error, dict):
            error["code"] = self.declined_code
            error[self.attached] = obj
        return body
