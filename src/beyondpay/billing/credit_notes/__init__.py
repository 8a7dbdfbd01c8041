"""Credit notes (``/v1/credit_notes``, issue 18 item 4): Stripe's CreditNote against an open or
paid invoice, its GST reversed in proportion, its own GST serial number. Built on invoices."""
