"""Billing: products, prices, coupons, tax rates, GST invoices with their PDF, credit notes,
subscriptions and dunning (issue 18).

It is one module in parts, layered like ``psp`` so that each builds on the ones below it
(import-linter checks the order): ``documents`` (amounts in words, the invoice and credit-note
PDF, the email that carries it) ← ``catalog`` | ``tax`` ← ``invoices`` ← ``credit_notes`` ←
``subscriptions`` ← ``portal``. Each part has the usual file set.
"""
