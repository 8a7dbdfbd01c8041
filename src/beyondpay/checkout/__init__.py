"""Checkout: hosted Checkout Sessions (Stripe's ``checkout.session``), payment mode."""
