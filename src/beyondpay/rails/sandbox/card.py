"""The sandbox card network: Stripe's test numbers, 3-D Secure challenges, holds, captures,
refunds (one of which fails asynchronously), zero-amount verifications (a SetupIntent's) and
off-session payments, which name the verification that set the card up.

On the wire, amounts are minor units with an upper-case ISO currency. The network gives its own
references (``card_ref_…``) and a ``network_transaction_id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.clock import utcnow
from beyondpay.kit.invariants import invariant
from beyondpay.rails.domain import (
    AUTHENTICATION_FAILED,
    DECLINED_AFTER_AUTHENTICATION,
    PROCESSING_ERROR,
    CardBehaviour,
    card_behaviour,
    card_brand,
    off_session_behaviour,
)
from beyondpay.rails.errors import RailInstrumentInvalidError
from beyondpay.rails.models import SandboxRailOperationRow as Row
from beyondpay.rails.protocol import AuthorizeRequest, CardInstrument, Rail, VerifyRequest
from beyondpay.rails.sandbox.common import SandboxConnector, page_token, random_digits

# The refund of 4000000000005126 is pending this long, then fails (its callback reports it).
REFUND_FAILURE_DELAY_S: Final = 5
NETWORK_TRANSACTION_ID_DIGITS: Final = 15
_CURRENCY_LETTERS: Final = 3


class SandboxCardConnector(SandboxConnector):
    rail = Rail.card

    def to_wire(self, amount_minor: int, currency: str) -> dict[str, Any]:
        return {"amount": amount_minor, "currency": currency.upper()}

    def from_wire(self, answer: Mapping[str, Any]) -> tuple[int, str]:
        amount = answer["amount"]
        if type(amount) is not int:
            raise TypeError("amount must be an integer")
        return amount, str(answer["currency"]).lower()

    def _card(self, instrument: Any, currency: str) -> tuple[str, CardBehaviour]:
        """The card's number and what the network does with it; the currency checked."""
        if not isinstance(instrument, CardInstrument):
            raise RailInstrumentInvalidError("The card rail takes a card.", param="instrument")
        if len(currency) != _CURRENCY_LETTERS or not currency.isalpha():
            raise RailInstrumentInvalidError("Unknown currency.", param="currency")
        number = instrument.number.get_secret_value().replace(" ", "")
        behaviour = card_behaviour(number, instrument.exp_month, instrument.exp_year, utcnow())
        if behaviour.scenario != "decline" and self.config.fails_technically(self.rail):
            behaviour = PROCESSING_ERROR
        return number, behaviour

    async def new_authorization(self, session: AsyncSession, request: AuthorizeRequest) -> Row:
        currency = request.currency.lower()
        number, behaviour = self._card(request.instrument, currency)
        row = self.new_row(
            "authorize",
            request.request_id,
            merchant_id=request.merchant_id,
            livemode=request.livemode,
            amount_minor=request.amount_minor,
            currency=currency,
            status="succeeded",
            scenario=behaviour.scenario,
            capture_method="automatic" if request.capture else "manual",
            instrument_fingerprint=self.ring.fingerprint("card:" + number),
            instrument_masked=f"•••• {number[-4:]}",
            instrument_brand=card_brand(number),
            return_url=request.return_url,
            details={"network_transaction_id": random_digits(NETWORK_TRANSACTION_ID_DIGITS)},
        )
        if request.off_session:
            set_up = await self._set_up(session, row, request.stored_credential)
            behaviour = off_session_behaviour(behaviour, forced=request.authenticate, set_up=set_up)
            row.scenario = behaviour.scenario
        forced = request.authenticate and behaviour.scenario != "decline"
        if forced and not request.off_session and not behaviour.scenario.startswith("challenge"):
            row.scenario = "challenge"  # the risk engine asks for 3-D Secure on this payment
        if row.scenario.startswith("challenge"):
            row.status, row.code, row.action_type = "requires_action", "1A", "redirect_to_url"
        elif behaviour.scenario == "decline":
            self._decline(row, behaviour)
        else:
            self._approve(row)
        return row

    async def _set_up(self, session: AsyncSession, row: Row, stored_credential: str | None) -> bool:
        """Whether ``stored_credential`` is the network transaction id of a verification or
        payment of this same card, for this merchant, that succeeded: the card was set up."""
        if stored_credential is None:
            return False
        found = await session.execute(
            select(Row.reference)
            .where(
                Row.rail == self.rail.value,
                Row.operation.in_(("verify", "authorize")),
                Row.merchant_id == row.merchant_id,
                Row.livemode == row.livemode,
                Row.status == "succeeded",
                Row.instrument_fingerprint == row.instrument_fingerprint,
                Row.details["network_transaction_id"].astext == stored_credential,
            )
            .limit(1)
        )
        return found.scalar() is not None

    async def new_verification(self, session: AsyncSession, request: VerifyRequest) -> Row:
        """A zero-amount verification: the card is checked and, when its issuer asks, the
        payer authenticates (3-D Secure); nothing is held."""
        currency = request.currency.lower()
        number, behaviour = self._card(request.instrument, currency)
        row = self.new_row(
            "verify",
            request.request_id,
            merchant_id=request.merchant_id,
            livemode=request.livemode,
            amount_minor=0,
            currency=currency,
            status="succeeded",
            scenario=behaviour.scenario,
            instrument_fingerprint=self.ring.fingerprint("card:" + number),
            instrument_masked=f"•••• {number[-4:]}",
            instrument_brand=card_brand(number),
            return_url=request.return_url,
            details={"network_transaction_id": random_digits(NETWORK_TRANSACTION_ID_DIGITS)},
        )
        if row.scenario.startswith("challenge"):
            row.status, row.code, row.action_type = "requires_action", "1A", "redirect_to_url"
        elif behaviour.scenario == "decline":
            self._decline(row, behaviour)
        else:
            self._approve(row)
        return row

    @staticmethod
    def _approve(row: Row) -> None:
        row.status, row.code = "succeeded", "00"
        if row.operation == "verify":
            return  # a verification holds nothing
        if row.capture_method == "automatic":
            row.hold_state, row.captured_minor = "captured", row.amount_minor
        else:
            row.hold_state = "held"

    @staticmethod
    def _decline(row: Row, behaviour: CardBehaviour) -> None:
        row.status, row.code = "failed", behaviour.network_code
        row.failure_code, row.decline_code = behaviour.failure_code, behaviour.decline_code
        row.message = behaviour.message

    def complete_challenge(self, row: Row, *, authenticated: bool) -> None:
        """The payer completed (or failed) the 3-D Secure challenge."""
        invariant(row.status == "requires_action", "only a pending challenge completes")
        if not authenticated:
            self._decline(row, AUTHENTICATION_FAILED)
        elif row.scenario == "challenge_decline":
            self._decline(row, DECLINED_AFTER_AUTHENTICATION)
        else:
            self._approve(row)
        row.updated_at = utcnow()

    def action_url(self, row: Row) -> str | None:
        return f"{self.config.public_url}/sandbox/3ds/{page_token(self.ring, row.reference)}"

    async def refund_effect(self, session: AsyncSession, parent: Row, refund: Row) -> None:
        refund.details = {"network_transaction_id": random_digits(NETWORK_TRANSACTION_ID_DIGITS)}
        if parent.scenario != "refund_fails":
            refund.status, refund.code = "succeeded", "00"
            return
        refund.status, refund.final_code = "pending", "refund_failed"
        refund.resolves_at = utcnow() + timedelta(seconds=REFUND_FAILURE_DELAY_S)
        refund.check_after = refund.resolves_at

    async def resolve(self, session: AsyncSession, row: Row) -> None:
        if row.operation == "dispute":
            await self.resolve_dispute(session, row)
            return
        invariant(row.operation == "refund", "a card network answers by itself on refunds")
        parent = await self._parent(session, row.parent_reference or "")
        # The refund failed: the money stays with the merchant, so it may be refunded again.
        parent.refunded_minor -= row.amount_minor
        row.status, row.code = "failed", "refund_failed"
        row.failure_code, row.decline_code = "refund_failed", "expired_or_canceled_card"
        row.message = "The card network could not return the money to the card."
        row.updated_at = parent.updated_at = utcnow()
