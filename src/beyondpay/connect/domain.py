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


def refund_share(
    total: int, taken: int, refunded_after: int, refunded: int, charge_amount: int
) -> int:
    """What a refund of ``refunded`` takes back of ``total`` (a destination charge's transfer
    or application fee, of which ``taken`` is back already), the charge of ``charge_amount``
    being refunded ``refunded_after`` in all once it is counted: its proportion, rounded down
    (Stripe's rule) on the running total, so the shares of a charge's refunds add up to the
    proportion of all that was refunded, and a charge refunded in full (every refund asking)
    takes ``total`` back in full; never more than is left."""
    refunded_before = refunded_after - refunded
    invariant(
        0 <= taken <= total and refunded > 0 and refunded_before >= 0,
        "a share of what is left",
    )
    invariant(refunded_after <= charge_amount, "refunds never pass the charge")
    share = refunded_after * total // charge_amount - refunded_before * total // charge_amount
    return min(share, total - taken)
