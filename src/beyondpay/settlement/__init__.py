"""Money out (issue 20): the merchant's bank accounts, settlement windows on India's bank
working days, payouts over India's rails, and reconciliation against the rails' files.

One module in parts, layered like ``billing`` so that each builds on the ones below it
(import-linter checks the order once the parts exist): ``bank_accounts`` | ``windows`` ←
``payouts`` ← ``reconciliation``. Each part has the usual file set.
"""
