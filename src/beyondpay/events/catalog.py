"""The event types beyondpay records, and so the ones a webhook endpoint may subscribe to.

A module that records a new type adds it here; ``tests/events/test_catalog.py`` checks that every
type recorded in the source is listed.
"""

from __future__ import annotations

from typing import Final

EVENT_TYPES: Final = frozenset(
    {
        "charge.captured",
        "charge.failed",
        "charge.refunded",
        "charge.succeeded",
        "charge.updated",
        "customer.created",
        "customer.updated",
        "customer.deleted",
        "ledger_account.created",
        "ledger_transfer.created",
        "payment_intent.amount_capturable_updated",
        "payment_intent.canceled",
        "payment_intent.created",
        "payment_intent.payment_failed",
        "payment_intent.processing",
        "payment_intent.requires_action",
        "payment_intent.succeeded",
        "payment_method.attached",
        "payment_method.detached",
        "payment_method.updated",
        "psp.alias.created",
        "psp.alias.revoked",
        "psp.alias.rotated",
        "psp.alias.used",
        "psp.bank_account.linked",
        "psp.bank_account.unlinked",
        "psp.bank_account.updated",
        "psp.beneficiary.created",
        "psp.beneficiary.deleted",
        "psp.device.binding_blocked",
        "psp.device.bound",
        "psp.device.revoked",
        "psp.device_link.approved",
        "psp.device_link.created",
        "psp.device_link.declined",
        "psp.handoff.created",
        "psp.handoff.redeemed",
        "psp.passkey.created",
        "psp.payer.created",
        "psp.payer.frozen",
        "psp.payer.sessions_revoked",
        "psp.payer.unfrozen",
        "psp.session.created",
        "psp.session.refreshed",
        "psp.session.revoked",
        "psp.session.updated",
        "psp.upi_pin.changed",
        "psp.upi_pin.locked",
        "psp.upi_pin.set",
        "psp.vpa.created",
        "psp.vpa.deactivated",
        "psp.vpa.updated",
        "refund.created",
        "refund.failed",
        "refund.updated",
        "upi.merchant_vpa.created",
        "webhook_endpoint.disabled",
    }
)
