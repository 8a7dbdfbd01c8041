"""Sandbox net banking: the payer picks a bank, logs in on its page and authorizes or fails
the payment there. ``SBXD`` is a bank that is always down.

On the wire, amounts are rupees as a decimal string and the currency is INR only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.clock import utcnow
from beyondpay.kit.invariants import invariant
from beyondpay.rails.domain import (
    NETBANKING_BANK_DOWN,
    NETBANKING_BANKS,
    minor_from_rupees,
    rupees_from_minor,
)
from beyondpay.rails.errors import RailCurrencyUnsupportedError, RailInstrumentInvalidError
from beyondpay.rails.models import SandboxRailOperationRow as Row
from beyondpay.rails.protocol import AuthorizeRequest, NetbankingInstrument, Rail
from beyondpay.rails.sandbox.common import SandboxConnector, page_token, random_digits

BANK_PAGE_EXPIRY_S: Final = 15 * 60  # how long the bank's login page accepts an answer
BANK_REFERENCE_DIGITS: Final = 12


class SandboxNetbankingConnector(SandboxConnector):
    rail = Rail.netbanking

    def to_wire(self, amount_minor: int, currency: str) -> dict[str, Any]:
        return {"txn_amount": rupees_from_minor(amount_minor), "currency": currency.upper()}

    def from_wire(self, answer: Mapping[str, Any]) -> tuple[int, str]:
        return minor_from_rupees(str(answer["txn_amount"])), str(answer["currency"]).lower()

    async def new_authorization(self, session: AsyncSession, request: AuthorizeRequest) -> Row:
        instrument = request.instrument
        if not isinstance(instrument, NetbankingInstrument):
            raise RailInstrumentInvalidError("Net banking takes a bank.", param="instrument")
        bank = instrument.bank.strip().upper()
        if bank not in NETBANKING_BANKS:
            raise RailInstrumentInvalidError("Unknown bank code for net banking.", param="bank")
        if request.currency.lower() != "inr":
            raise RailCurrencyUnsupportedError("Net banking carries INR only.", param="currency")
        row = self.new_row(
            "authorize",
            request.request_id,
            merchant_id=request.merchant_id,
            livemode=request.livemode,
            amount_minor=request.amount_minor,
            currency="inr",
            status="requires_action",
            scenario="bank_page",
            capture_method="automatic",
            instrument_brand=bank,
            instrument_masked=bank,
            return_url=request.return_url,
            action_type="redirect_to_url",
            action_expires_at=utcnow() + timedelta(seconds=BANK_PAGE_EXPIRY_S),
            details={"bank": bank, "bank_reference": random_digits(BANK_REFERENCE_DIGITS)},
        )
        if bank == NETBANKING_BANK_DOWN or self.config.fails_technically(self.rail):
            row.status, row.code, row.failure_code = (
                "failed",
                "bank_unavailable",
                "bank_unavailable",
            )
            row.message = "The bank is not available right now. Try another bank or later."
            row.action_type = None
        return row

    def action_url(self, row: Row) -> str | None:
        return f"{self.config.public_url}/sandbox/bank/{page_token(self.ring, row.reference)}"

    def complete_page(self, row: Row, *, authorized: bool) -> None:
        """The payer authorized (or failed) the payment on the bank's page."""
        invariant(row.status == "requires_action", "only an open bank page completes")
        if authorized:
            row.status, row.code = "succeeded", "00"
            row.hold_state, row.captured_minor = "captured", row.amount_minor
        else:
            row.status, row.code = "failed", "declined"
            row.failure_code = "payment_method_provider_decline"
            row.message = "The payment was not authorized at the bank."
        row.updated_at = utcnow()

    async def resolve(self, session: AsyncSession, row: Row) -> None:
        raise NotImplementedError("net banking answers only from its page")
