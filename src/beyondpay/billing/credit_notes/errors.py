"""Typed errors of credit notes. Stripe's reference names no codes for these refusals; these
are ours, named as Stripe names its objects' state errors."""

from __future__ import annotations

from beyondpay.kit.errors import InvalidRequestError


class CreditNoteInvalidError(InvalidRequestError):
    """A credit note its invoice cannot take: more than is left to credit or refund, a line
    that is not the invoice's, amounts that do not add up."""

    code = "credit_note_invalid"


class CreditNoteInvoiceStateError(InvalidRequestError):
    """A credit note for an invoice that is a draft or void (only open, uncollectible or paid
    invoices are credited)."""

    code = "invoice_unexpected_state"


class CreditNoteUnexpectedStateError(InvalidRequestError):
    """Voiding a credit note already void, or one whose money cannot come back (a refund)."""

    code = "credit_note_unexpected_state"
