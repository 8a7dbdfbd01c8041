"""Files (Stripe's File object): what the platform produces for a merchant to download —
report runs' results for now. Only this module writes the ``files`` table."""
