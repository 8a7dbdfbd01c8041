"""Billing: products and prices, tax, invoices, subscriptions and dunning (issue 18).

It is one module in parts, layered like ``psp``: ``documents`` ← ``catalog`` | ``tax`` ←
``invoices`` ← ``credit_notes`` ← ``subscriptions`` ← ``portal``. Each part has the usual file
set; a part reaches another only through its ``service``, ``schemas`` or pure rules.
"""
