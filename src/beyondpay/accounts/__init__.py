"""Accounts over HTTP: the merchant's own account, KYC documents and API keys, and the platform
admin's routes over merchants. The use cases live in ``beyondpay.merchants``."""
