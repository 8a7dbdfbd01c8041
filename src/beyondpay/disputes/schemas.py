"""Dispute parameters and the dispute object, in Stripe's shape."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, Field

from beyondpay.db.pagination import ListParams
from beyondpay.disputes.domain import EVIDENCE_SHORT_CHARS_MAX, EVIDENCE_TEXT_CHARS_MAX
from beyondpay.disputes.models import DisputeRow
from beyondpay.kit.params import Params, check_metadata
from beyondpay.payments.schemas import BalanceTransaction

MetadataParam = Annotated[dict[str, str] | str | None, AfterValidator(check_metadata)]
Id = Annotated[str, Field(min_length=1, max_length=255)]
Expand = Annotated[list[str], Field(default_factory=list, max_length=20)]
# A long explanation (Stripe: at most 20,000 characters), or a short value: a name, an
# address, a date, a tracking number, an IP address or the id of an uploaded file.
Text = Annotated[str | None, Field(default=None, max_length=EVIDENCE_TEXT_CHARS_MAX)]
Short = Annotated[str | None, Field(default=None, max_length=EVIDENCE_SHORT_CHARS_MAX)]


class DisputeEvidenceParams(Params):
    """Stripe's evidence fields. A field sent empty is unset; the fields that name a file in
    Stripe (``receipt``, ``uncategorized_file``, …) take its id as text: there is no file
    upload yet."""

    access_activity_log: Text = None
    billing_address: Short = None
    cancellation_policy: Short = None
    cancellation_policy_disclosure: Text = None
    cancellation_rebuttal: Text = None
    customer_communication: Short = None
    customer_email_address: Short = None
    customer_name: Short = None
    customer_purchase_ip: Short = None
    customer_signature: Short = None
    duplicate_charge_documentation: Short = None
    duplicate_charge_explanation: Text = None
    duplicate_charge_id: Short = None
    product_description: Text = None
    receipt: Short = None
    refund_policy: Short = None
    refund_policy_disclosure: Text = None
    refund_refusal_explanation: Text = None
    service_date: Short = None
    service_documentation: Short = None
    shipping_address: Short = None
    shipping_carrier: Short = None
    shipping_date: Short = None
    shipping_documentation: Short = None
    shipping_tracking_number: Short = None
    uncategorized_file: Short = None
    uncategorized_text: Text = None


EVIDENCE_FIELDS: Final = tuple(DisputeEvidenceParams.model_fields)


class DisputeUpdateParams(Params):
    evidence: DisputeEvidenceParams | None = None
    metadata: MetadataParam = None
    # Stripe's default: evidence sent is submitted to the network; false stages it.
    submit: bool = True
    expand: Expand


class DisputeCloseParams(Params):
    expand: Expand


class DisputeListParams(ListParams):
    charge: Id | None = None
    payment_intent: Id | None = None


class DisputeEvidence(BaseModel):
    access_activity_log: str | None
    billing_address: str | None
    cancellation_policy: str | None
    cancellation_policy_disclosure: str | None
    cancellation_rebuttal: str | None
    customer_communication: str | None
    customer_email_address: str | None
    customer_name: str | None
    customer_purchase_ip: str | None
    customer_signature: str | None
    duplicate_charge_documentation: str | None
    duplicate_charge_explanation: str | None
    duplicate_charge_id: str | None
    enhanced_evidence: dict[str, Any] = Field(description="Always empty: no program applies.")
    product_description: str | None
    receipt: str | None
    refund_policy: str | None
    refund_policy_disclosure: str | None
    refund_refusal_explanation: str | None
    service_date: str | None
    service_documentation: str | None
    shipping_address: str | None
    shipping_carrier: str | None
    shipping_date: str | None
    shipping_documentation: str | None
    shipping_tracking_number: str | None
    uncategorized_file: str | None
    uncategorized_text: str | None


class DisputeEvidenceDetails(BaseModel):
    due_by: int | None = Field(description="When evidence must be submitted by.")
    enhanced_eligibility: dict[str, Any]
    has_evidence: bool = Field(description="Whether evidence is staged on the dispute.")
    past_due: bool
    submission_count: int
    submission_method: str = Field(description="manual or not_submitted.")


class DisputeNetworkDetails(BaseModel):
    brand: str | None = Field(default=None, description="Cards: the card's brand.")
    case_type: str = Field(description="chargeback (or inquiry).")
    network: str = Field(description="The card network, or npci for UPI.")
    network_reason_code: str | None


class DisputePaymentMethodDetails(BaseModel):
    type: str = Field(description="card or upi: only the hash it names is rendered.")
    card: DisputeNetworkDetails | None = None
    upi: DisputeNetworkDetails | None = None


class Dispute(BaseModel):
    id: str
    object: Literal["dispute"]
    amount: int
    balance_transactions: list[BalanceTransaction] = Field(
        description="The money the dispute withdrew, and gave back if won, oldest first."
    )
    charge: str
    created: int
    currency: str
    enhanced_eligibility_types: list[str]
    evidence: DisputeEvidence
    evidence_details: DisputeEvidenceDetails
    intended_submission_method: str | None
    is_charge_refundable: bool
    livemode: bool
    metadata: dict[str, str]
    network_reason_code: str | None
    payment_intent: str
    payment_method_details: DisputePaymentMethodDetails
    reason: str
    status: str


def dispute_object(row: DisputeRow, transactions: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The dispute, with its balance transactions already rendered (``transactions``)."""
    evidence: dict[str, Any] = {name: row.evidence.get(name) for name in EVIDENCE_FIELDS}
    evidence["enhanced_evidence"] = {}
    submitted = row.submission_count > 0
    return {
        "id": row.id,
        "object": "dispute",
        "amount": row.amount,
        "balance_transactions": list(transactions),
        "charge": row.charge_id,
        "created": int(row.created_at.timestamp()),
        "currency": row.currency,
        "enhanced_eligibility_types": [],
        "evidence": dict(sorted(evidence.items())),
        "evidence_details": {
            "due_by": int(row.evidence_due_by.timestamp()),
            "enhanced_eligibility": {},
            "has_evidence": bool(row.evidence),
            "past_due": row.past_due,
            "submission_count": row.submission_count,
            "submission_method": "manual" if submitted else "not_submitted",
        },
        "intended_submission_method": None,
        # A chargeback has taken the money already: refunding would pay the payer twice.
        "is_charge_refundable": False,
        "livemode": row.livemode,
        "metadata": row.metadata_,
        "network_reason_code": row.network_reason_code,
        "payment_intent": row.payment_intent_id,
        "payment_method_details": row.payment_method_details,
        "reason": row.reason,
        "status": row.status,
    }
