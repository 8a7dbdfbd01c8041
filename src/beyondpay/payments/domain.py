"""The payment intent's state machine, fees and the ledger chart of payments: pure, no I/O.

Statuses are Stripe's. An intent moves only through :func:`next_status`, which either names the
status an action leads to or raises :class:`UnexpectedStateError` naming the statuses the action
is allowed from; tests/payments/test_domain.py walks every (status, action) pair.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from beyondpay.kit.invariants import invariant
from beyondpay.kit.money import AMOUNT_MINOR_MAX

# The platform fee is a percentage in basis points plus a fixed amount, never more than the
# amount itself (a fee can not make a charge cost the merchant money).
FEE_BPS_MAX: Final = 10_000
BPS_PER_UNIT: Final = 10_000
# Merchant ids become part of ledger names, which are lower case only (ledger/domain.py).
_UPPER: Final = re.compile(r"[A-Z]")


class Status(StrEnum):
    requires_payment_method = "requires_payment_method"
    requires_confirmation = "requires_confirmation"
    requires_action = "requires_action"
    processing = "processing"
    requires_capture = "requires_capture"
    succeeded = "succeeded"
    canceled = "canceled"


class Action(StrEnum):
    """What can happen to an intent: the merchant's calls and the rail's answers."""

    set_payment_method = "set_payment_method"  # create/update with a payment method
    update = "update"  # any other update (amount, metadata, …)
    confirm = "confirm"
    rail_requires_action = "rail_requires_action"  # 3-D Secure, a collect, a bank redirect
    rail_pending = "rail_pending"  # the rail has not decided yet: status checks follow
    rail_authorized = "rail_authorized"  # authorized, held for a manual capture
    rail_succeeded = "rail_succeeded"  # authorized and captured
    rail_failed = "rail_failed"
    capture = "capture"
    cancel = "cancel"


class CaptureMethod(StrEnum):
    automatic = "automatic"
    automatic_async = "automatic_async"
    manual = "manual"


S = Status
_FROM: Final[dict[Action, frozenset[Status]]] = {
    Action.set_payment_method: frozenset(
        {S.requires_payment_method, S.requires_confirmation, S.requires_action}
    ),
    Action.update: frozenset(
        {S.requires_payment_method, S.requires_confirmation, S.requires_action}
    ),
    Action.confirm: frozenset(
        {S.requires_payment_method, S.requires_confirmation, S.requires_action}
    ),
    # The rail answers only while the intent waits for it: confirming (the status the confirm
    # left it in), a challenge or collect in progress, or a pending rail transaction.
    Action.rail_requires_action: frozenset({S.requires_confirmation, S.requires_action}),
    Action.rail_pending: frozenset({S.requires_confirmation, S.requires_action, S.processing}),
    Action.rail_authorized: frozenset({S.requires_confirmation, S.requires_action, S.processing}),
    Action.rail_succeeded: frozenset({S.requires_confirmation, S.requires_action, S.processing}),
    Action.rail_failed: frozenset({S.requires_confirmation, S.requires_action, S.processing}),
    Action.capture: frozenset({S.requires_capture}),
    # Stripe refuses to cancel an intent that is processing: the rail may still take the money.
    Action.cancel: frozenset(
        {S.requires_payment_method, S.requires_confirmation, S.requires_action, S.requires_capture}
    ),
}


class UnexpectedStateError(Exception):
    def __init__(self, status: Status, action: Action) -> None:
        self.status = status
        self.action = action
        self.allowed = sorted(_FROM[action])
        super().__init__(f"{action} is not allowed in status {status}")


def next_status(status: Status, action: Action, *, has_payment_method: bool = True) -> Status:
    """The status ``action`` leads to from ``status``; raises if it is not allowed there."""
    if status not in _FROM[action]:
        raise UnexpectedStateError(status, action)
    match action:
        case Action.set_payment_method:
            return S.requires_confirmation
        case Action.update:
            # Changing what is being paid for invalidates a challenge in progress, as in Stripe.
            if status is S.requires_action:
                return S.requires_confirmation if has_payment_method else S.requires_payment_method
            return status
        case Action.confirm:
            # The intent waits for the rail's answer in requires_confirmation, inside the
            # confirming transaction; callers apply the rail's answer before committing.
            return S.requires_confirmation
        case Action.rail_requires_action:
            return S.requires_action
        case Action.rail_pending:
            return S.processing
        case Action.rail_authorized:
            return S.requires_capture
        case Action.rail_succeeded | Action.capture:
            return S.succeeded
        case Action.rail_failed:
            return S.requires_payment_method
        case Action.cancel:
            return S.canceled


def allowed_from(action: Action) -> frozenset[Status]:
    return _FROM[action]


def platform_fee(amount_minor: int, fee_bps: int, fee_fixed_minor: int) -> int:
    """The platform's fee on a captured amount: ``fee_bps`` basis points, rounded half up, plus
    a fixed amount, capped at the amount."""
    invariant(0 <= amount_minor <= AMOUNT_MINOR_MAX, "amount within bounds")
    invariant(0 <= fee_bps <= FEE_BPS_MAX and fee_fixed_minor >= 0, "fee settings within bounds")
    percent = (amount_minor * fee_bps + BPS_PER_UNIT // 2) // BPS_PER_UNIT
    fee = min(amount_minor, percent + fee_fixed_minor)
    invariant(0 <= fee <= amount_minor, "a fee never exceeds the amount")
    return fee


@dataclass(frozen=True, slots=True)
class Chart:
    """The ledger accounts of one merchant and mode, and the platform's, for one currency.

    Merchant: ``pending`` (captured, not yet available), ``available``. Platform: ``fees`` and
    one ``rail_clearing`` account per rail (what the rail owes us for authorized payments, or we
    owe it for refunds), both kept per merchant. Ids use the ledger's id characters; ledger
    names are lower case.
    """

    merchant_id: str
    livemode: bool
    currency: str

    @property
    def mode(self) -> str:
        return "live" if self.livemode else "test"

    @property
    def merchant_ledger(self) -> str:
        # One-to-one: merchant ids hold no '-', so '-x' can only stand for 'X'.
        escaped = _UPPER.sub(lambda match: "-" + match.group(0).lower(), self.merchant_id)
        return f"merchant:{escaped}:{self.mode}"

    @property
    def platform_ledger(self) -> str:
        return f"platform:{self.mode}"

    @property
    def pending(self) -> str:
        return f"merchant:{self.merchant_id}:{self.mode}:pending:{self.currency}"

    @property
    def available(self) -> str:
        return f"merchant:{self.merchant_id}:{self.mode}:available:{self.currency}"

    # The platform's accounts are kept per merchant: one fee or clearing account for every
    # merchant would make each capture in the platform wait for the one before it to commit
    # (its row stays locked until then); the platform's total is the sum over merchants.
    @property
    def fees(self) -> str:
        return f"platform:{self.mode}:fees:{self.currency}:{self.merchant_id}"

    def rail_clearing(self, rail: str) -> str:
        return f"platform:{self.mode}:rail_clearing:{rail}:{self.currency}:{self.merchant_id}"

    def customer_balance(self, customer_id: str) -> str:
        """Stripe's ``customer.balance`` of one customer (billing, issue 18): debits less
        credits is the balance (negative: credit the merchant owes the customer)."""
        prefix = f"merchant:{self.merchant_id}:{self.mode}:customer_balance"
        return f"{prefix}:{customer_id}:{self.currency}"

    @property
    def payouts_in_transit(self) -> str:
        """The platform's account (per merchant) for payouts on their way to the merchant's
        bank: debited from available when a payout is made, emptied when the rail pays it (to
        the rail's clearing account) or returns it (back to available)."""
        return f"platform:{self.mode}:payouts_in_transit:{self.currency}:{self.merchant_id}"
