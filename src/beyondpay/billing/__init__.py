"""Billing: what a merchant sells and how it is invoiced, taxed and renewed.

One module in parts, layered so that each builds only on the parts below it (an import-linter
contract checks the order), each with the usual file set:

- ``portal`` — the customer's hosted billing portal;
- ``subscriptions`` — subscriptions and their items, trials, proration, dunning;
- ``credit_notes`` — credit notes against invoices, GST reversed in proportion;
- ``invoices`` — invoices and invoice items, numbering, collection, the hosted invoice page;
- ``catalog`` | ``tax`` — products, prices, coupons and promotion codes | GST (GSTINs, place of
  supply, CGST + SGST or IGST), tax rates and tax ids;
- ``documents`` — amounts in words, the invoice and credit-note PDF, the email that carries it.
"""
