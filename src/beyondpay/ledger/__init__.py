"""The double-entry ledger: the only writer of accounts and transfers."""
