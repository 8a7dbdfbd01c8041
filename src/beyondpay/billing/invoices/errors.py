"""Typed errors of invoices. ``invoice_not_editable`` and
``invoice_payment_intent_requires_action`` are Stripe's codes; Stripe's reference gives none for
the others (it answers "Invoice is already paid" without one), so these are ours, named as
Stripe names its objects' state errors."""

from __future__ import annotations

from beyondpay.kit.errors import InvalidRequestError


class InvoiceNotEditableError(InvalidRequestError):
    """A change to what a finalized invoice prints (its lines, amounts, description), or an
    item added to or removed from one."""

    code = "invoice_not_editable"


class InvoiceUnexpectedStateError(InvalidRequestError):
    """An action the invoice's status does not allow (finalizing an open invoice, voiding a
    paid one, deleting one that is not a draft)."""

    code = "invoice_unexpected_state"


class InvoiceAlreadyPaidError(InvalidRequestError):
    code = "invoice_already_paid"
    default_message = "Invoice is already paid."


class InvoicePaymentMethodMissingError(InvalidRequestError):
    """Paying with nothing to pay with: no ``payment_method``, no default on the invoice or
    its customer."""

    code = "invoice_payment_method_missing"


class InvoiceNumberExhaustedError(InvalidRequestError):
    """The financial year's numbers no longer fit the 16 characters GST allows with the
    merchant's prefix: a shorter prefix gives room."""

    code = "invoice_number_exhausted"


class InvoiceLinesLimitError(InvalidRequestError):
    code = "invoice_lines_limit"
