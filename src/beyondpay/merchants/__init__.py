"""Merchant accounts, KYC review, API keys and scopes: who is calling."""
