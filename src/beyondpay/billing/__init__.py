"""Billing: products and prices, GST, invoices, credit notes, subscriptions and the customer
portal, Stripe's objects on Indian rails (issue 18).

It is one module in parts, layered so that each builds on the ones below it (import-linter
checks the order): ``documents`` (amounts in words, the invoice PDF, its email) ← ``catalog``
(products, prices, coupons, promotion codes) | ``tax`` (GST, tax rates, tax ids) ← ``invoices``
← ``credit_notes`` ← ``subscriptions`` ← ``portal``. Each part has the usual file set. The whole
of billing sits above payments, refunds, notifications and setup intents, which it reaches
through their services.
"""
