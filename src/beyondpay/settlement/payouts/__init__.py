"""Payouts (issue 20, part 3): Stripe's ``/v1/payouts`` over India's rails, from the merchant's
available balance to its verified bank account, manual or automatic from closed settlement
windows by the merchant's payout schedule."""
