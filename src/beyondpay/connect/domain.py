"""Connect's rules: no I/O."""

from __future__ import annotations

from beyondpay.kit.invariants import invariant


def reversal_amount(transfer_amount: int, amount_reversed: int, asked: int | None) -> int | None:
    """What a reversal takes back: ``asked``, or all that is left; None when that is more than
    is left (or nothing is left)."""
    invariant(0 <= amount_reversed <= transfer_amount, "a transfer is never over-reversed")
    remaining = transfer_amount - amount_reversed
    amount = remaining if asked is None else asked
    if amount <= 0 or amount > remaining:
        return None
    return amount
