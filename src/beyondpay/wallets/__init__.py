"""Wallets: the merchant's own ledger (wallets, credits, points) over HTTP, in its namespace."""
