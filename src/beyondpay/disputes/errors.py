"""Typed errors of disputes."""

from __future__ import annotations

from beyondpay.kit.errors import InvalidRequestError


class DisputeUnexpectedStateError(InvalidRequestError):
    """Evidence for, a submission of, or the closing of a dispute no longer waiting for the
    merchant's response (under review, or closed)."""

    code = "dispute_unexpected_state"


class EvidenceTooLongError(InvalidRequestError):
    code = "evidence_too_long"
