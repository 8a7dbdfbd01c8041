"""SetupIntents: a payment method verified and saved for later payments (Stripe's)."""
