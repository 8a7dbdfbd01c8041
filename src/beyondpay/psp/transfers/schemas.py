"""Parameters and objects of PSP transfers: a payment's review and receipt, collect requests and
the payer's history. A VPA, an alias, a mobile number, a QR payload and a PIN are ``SecretStr``:
they never reach a log or a repr, and the objects show masked addresses only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator

from beyondpay.db.pagination import ListParams
from beyondpay.kit.params import Params
from beyondpay.psp.transfers.domain import (
    COLLECT_EXPIRY_S_MAX,
    COLLECT_EXPIRY_S_MIN,
    NOTE_CHARS_MAX,
)
from beyondpay.psp.transfers.models import CollectRequestRow, TransferRow

# The app's own request id: what makes a retried payment return the first receipt.
CLIENT_REQUEST_ID_PATTERN: Final = r"^[A-Za-z0-9_.:-]{1,64}$"
AMOUNT_PARAM_MINOR_MAX: Final = 10**12  # above any limit: the limits say what is too much
PAYEE_PARAMS: Final = ("vpa", "alias", "mobile", "beneficiary", "qr_payload")

Address = Annotated[SecretStr | None, Field(default=None, max_length=255)]
Pin = Annotated[SecretStr, Field(min_length=4, max_length=6)]
Note = Annotated[str | None, Field(default=None, max_length=NOTE_CHARS_MAX)]
Id = Annotated[str | None, Field(default=None, min_length=1, max_length=255)]


def _one_payee(values: Any, names: tuple[str, ...]) -> Any:
    if not isinstance(values, dict):
        return values
    given = [name for name in names if values.get(name) not in (None, "")]
    if len(given) != 1:
        raise ValueError(f"give exactly one of {', '.join(names)}")
    return values


class PayeeParams(Params):
    """Who to pay: exactly one of a VPA, a private alias, a mobile number, a saved beneficiary
    or a scanned UPI QR (its ``upi://pay`` text)."""

    vpa: Address = None
    alias: Address = None
    mobile: Address = None
    beneficiary: Id = None
    qr_payload: Annotated[SecretStr | None, Field(default=None, max_length=2_048)] = None

    @model_validator(mode="before")
    @classmethod
    def _exactly_one(cls, values: Any) -> Any:
        return _one_payee(values, PAYEE_PARAMS)


class PaymentReviewParams(PayeeParams):
    # Optional with a QR that carries its amount (`am`).
    amount: Annotated[int | None, Field(default=None, ge=1, le=AMOUNT_PARAM_MINOR_MAX)] = None
    currency: Literal["inr"] = "inr"
    note: Note = None
    bank_account: Id = None


class StepUp(Params):
    """A passkey's answer to a step-up challenge, for a payment the risk engine challenged."""

    challenge_id: Annotated[str, Field(min_length=1, max_length=255)]
    credential: Annotated[str, Field(min_length=1, max_length=16_384)]


class PaymentCreateParams(PaymentReviewParams):
    client_request_id: Annotated[str, Field(pattern=CLIENT_REQUEST_ID_PATTERN)]
    pin: Pin
    step_up: StepUp | None = None


class CollectCreateParams(Params):
    """Ask a payer of this PSP to pay: by their VPA, mobile number or a saved beneficiary."""

    vpa: Address = None
    mobile: Address = None
    beneficiary: Id = None
    amount: Annotated[int, Field(ge=1, le=AMOUNT_PARAM_MINOR_MAX)]
    currency: Literal["inr"] = "inr"
    note: Note = None
    expires_in_s: Annotated[
        int | None, Field(default=None, ge=COLLECT_EXPIRY_S_MIN, le=COLLECT_EXPIRY_S_MAX)
    ] = None

    @model_validator(mode="before")
    @classmethod
    def _exactly_one(cls, values: Any) -> Any:
        return _one_payee(values, ("vpa", "mobile", "beneficiary"))


class CollectApproveParams(Params):
    pin: Pin
    bank_account: Id = None
    step_up: StepUp | None = None


class CollectDeclineParams(Params):
    pass


class CollectListParams(ListParams):
    role: Literal["payer", "requester"] = "payer"
    status: Literal["pending", "paid", "declined", "expired", "failed"] | None = None


class TransactionListParams(ListParams):
    direction: Literal["sent", "received"] | None = None
    status: Literal["pending", "succeeded", "failed"] | None = None


# ---- objects ----------------------------------------------------------------------------------


class Party(BaseModel):
    kind: Literal["payer", "merchant"]
    name: str
    masked: str


class PaymentReview(BaseModel):
    object: Literal["psp_payment_review"]
    payee: Party
    amount: int
    currency: str
    note: str | None
    reference: str | None
    merchant_category_code: str | None
    limits: dict[str, int | None]


class Transaction(BaseModel):
    id: str
    object: Literal["psp_transaction"]
    direction: Literal["sent", "received"]
    status: Literal["pending", "succeeded", "failed"]
    amount: int
    currency: str
    note: str | None
    payer: Party
    payee: Party
    via: str
    reference: str | None
    collect_request: str | None
    upi_transaction_id: str | None
    rrn: str | None
    npci_code: str | None
    failure_code: str | None
    failure_message: str | None
    client_request_id: str | None
    bank_account: str | None
    created: int
    completed: int | None


class CollectRequest(BaseModel):
    id: str
    object: Literal["psp_collect_request"]
    role: Literal["payer", "requester"]
    status: Literal["pending", "paid", "declined", "expired", "failed"]
    amount: int
    currency: str
    note: str | None
    requester: Party
    transaction: str | None
    npci_code: str | None
    expires_at: int
    created: int


def _unix(moment: datetime) -> int:
    return int(moment.timestamp())


def transaction_object(row: TransferRow, viewer_payer_id: str) -> dict[str, Any]:
    """The receipt as ``viewer_payer_id`` sees it: the sender sees its request id and account,
    the payee does not."""
    sent = row.payer_id == viewer_payer_id
    return {
        "id": row.id,
        "object": "psp_transaction",
        "direction": "sent" if sent else "received",
        "status": row.status,
        "amount": row.amount_minor,
        "currency": row.currency,
        "note": row.note,
        "payer": {"kind": "payer", "name": row.payer_name, "masked": row.payer_masked},
        "payee": {"kind": row.payee_kind, "name": row.payee_name, "masked": row.payee_masked},
        "via": row.via,
        "reference": row.reference,
        "collect_request": row.collect_request_id,
        "upi_transaction_id": row.upi_transaction_id,
        "rrn": row.rrn,
        "npci_code": row.npci_code,
        "failure_code": row.failure_code,
        "failure_message": row.failure_message,
        "client_request_id": row.client_request_id if sent else None,
        "bank_account": row.bank_account_id if sent else None,
        "created": _unix(row.created_at),
        "completed": _unix(row.completed_at) if row.completed_at is not None else None,
    }


def collect_status(row: CollectRequestRow, now: datetime) -> str:
    """A pending request past its expiry is expired, whether or not the job has marked it —
    unless it is being paid (its approval's answer decides, U69 when too late)."""
    if row.status == "pending" and row.transfer_id is None and now >= row.expires_at:
        return "expired"
    return row.status


def collect_request_object(
    row: CollectRequestRow, viewer_payer_id: str, now: datetime
) -> dict[str, Any]:
    status = collect_status(row, now)
    return {
        "id": row.id,
        "object": "psp_collect_request",
        "role": "payer" if row.payer_id == viewer_payer_id else "requester",
        "status": status,
        "amount": row.amount_minor,
        "currency": row.currency,
        "note": row.note,
        "requester": {
            "kind": row.requester_kind,
            "name": row.requester_name,
            "masked": row.requester_masked,
        },
        "transaction": row.transfer_id,
        "npci_code": "U69" if status == "expired" else row.npci_code,
        "expires_at": _unix(row.expires_at),
        "created": _unix(row.created_at),
    }
