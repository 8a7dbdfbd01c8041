"""The merchant's bank accounts (issue 20, part 1): Stripe's external accounts on the merchant's
own account, verified by a penny drop, and the payout hold a change of them starts."""
