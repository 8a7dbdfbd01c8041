"""Screening: the one gate a payment passes before its rail (risk, then limits) and its verdict."""
