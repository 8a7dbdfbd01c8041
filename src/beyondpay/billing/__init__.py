"""Billing: Stripe Billing's objects on Indian law and rails (issue 18).

One module in parts, each with the usual file set, layered so that each builds on the ones below
it (as ``psp`` is): ``documents`` (amounts in words, the invoice PDF, its email) and ``tax`` (GST,
tax rates, tax ids) and ``catalog`` (products, prices, coupons) at the bottom, then
``invoices``, ``credit_notes``, ``subscriptions`` and the customer ``portal``.
"""
