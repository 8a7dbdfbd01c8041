"""The event types beyondpay records, and so the ones a webhook endpoint may subscribe to.

A module that records a new type adds it here; ``tests/events/test_catalog.py`` checks that every
type recorded in the source is listed.
"""

from __future__ import annotations

from typing import Final

EVENT_TYPES: Final = frozenset(
    {
        "customer.created",
        "customer.updated",
        "customer.deleted",
        "ledger_account.created",
        "ledger_transfer.created",
        "payment_method.attached",
        "payment_method.detached",
        "payment_method.updated",
        "webhook_endpoint.disabled",
    }
)
