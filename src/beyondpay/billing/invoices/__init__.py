"""Invoices and invoice items (Stripe's), numbered, collected and shown on a hosted page."""
