"""The sandbox UPI switch and its banks.

A collect request goes to the payer's VPA; the payer answers after the approval delay (or never:
the collect expires). The intent flow (no VPA) answers with a ``upi://pay`` link that a default
sandbox payer pays after the same delay. The answer reaches us as a callback (a job scheduled
for the moment the payer answers), with NPCI's response codes. Money really moves: the payer's
account at the sandbox bank is debited in the bank's own ledger, and refunds credit it back.

A VPA another module owns (the PSP's handle) is not scripted: the switch asks the collect
listeners (``rails.callbacks.on_collect``) before deciding, and when one claims the VPA the collect
waits for its owner's ``answer`` (approve from a bank account, or decline) or expires (U69).

On the wire, amounts are rupees as a decimal string (``"10.00"``) and the currency is INR only.
VPAs are personal data: stored as a keyed fingerprint and a masked form, never in clear.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.clock import utcnow
from beyondpay.kit.invariants import invariant
from beyondpay.kit.upi import VPA_PATTERN
from beyondpay.ledger.domain import CreateTransferResult
from beyondpay.merchants.service import merchant_service
from beyondpay.rails import callbacks
from beyondpay.rails.domain import (
    AMOUNT_MINOR_MAX,
    DISPUTE_SCENARIO,
    NPCI_CODES,
    UPI_DISPUTE_REASON,
    VpaBehaviour,
    mask_switch_vpa,
    minor_from_rupees,
    next_status_check,
    rupees_from_minor,
    upi_pay_link,
    vpa_behaviour,
)
from beyondpay.rails.errors import (
    RailAccountUnknownError,
    RailCurrencyUnsupportedError,
    RailInstrumentInvalidError,
    RailReferenceUnknownError,
)
from beyondpay.rails.models import SandboxRailOperationRow as Row
from beyondpay.rails.protocol import (
    AuthorizeRequest,
    CollectNotice,
    Rail,
    RailOutcome,
    UpiInstrument,
)
from beyondpay.rails.sandbox import banks
from beyondpay.rails.sandbox.common import SandboxConnector, lock_operation, random_digits

UPI_COLLECT_EXPIRY_S: Final = 5 * 60  # a collect request (or intent link) stays open this long
DUPLICATE_CALLBACK_DELAY_S: Final = 30  # duplicate@sandbox: the second callback comes this late
PSP_PREFIX: Final = "SBX"  # the switch's 3-letter prefix of UPI transaction ids
UPI_TRANSACTION_ID_CHARS: Final = 35
PAYEE_VPA: Final = "payee.sandbox@beyondpay"
PAYEE_NAME: Final = "beyondpay sandbox merchant"  # when the merchant has no name to show
# A collect whose VPA another module owns: it waits for the owner's answer or expires.
OWNED_SCENARIO: Final = "owned"
# The payer of every intent link (their VPA is never known to the merchant in this flow).
INTENT_PAYER: Final = SecretStr("vpa:intent-payer@sandbox")
# What a PSP pushes to when its payer pays an intent link (``PAYEE_VPA``): no bank account, the
# switch's collection for the merchants it acquires for; the push's ``tr`` names the request.
INTENT_COLLECTION_ACCOUNT: Final = "switch:intent-collection"
# The key of an intent request's ``tr`` in its row's details (its link's transaction reference).
INTENT_REFERENCE: Final = "tr"
_ALPHANUMERICS: Final = string.ascii_uppercase + string.digits
_MOVED: Final = {CreateTransferResult.ok, CreateTransferResult.exists}


def upi_transaction_id() -> str:
    """35 alphanumerics with the PSP's 3-letter prefix, as NPCI's format wants."""
    body_chars = UPI_TRANSACTION_ID_CHARS - len(PSP_PREFIX)
    return PSP_PREFIX + "".join(secrets.choice(_ALPHANUMERICS) for _ in range(body_chars))


def rrn() -> str:
    """The 12-digit retrieval reference number ``ydddhhnnnnnn``."""
    now = utcnow()
    return f"{now.year % 10}{now.timetuple().tm_yday:03d}{now.hour:02d}{random_digits(6)}"


def apply_code(row: Row, code: str) -> None:
    """The row reaches its final state with NPCI's ``code``."""
    npci = NPCI_CODES[code]
    row.code, row.failure_code, row.decline_code = code, npci.failure_code, npci.decline_code
    row.message = npci.message
    row.status = "succeeded" if code == "00" else "failed"
    if code == "00" and row.operation in ("authorize", "push"):  # taken: it can be refunded
        row.hold_state, row.captured_minor = "captured", row.amount_minor
    row.updated_at = utcnow()


def _checked_vpa(vpa: SecretStr) -> str:
    value = vpa.get_secret_value().strip().lower()
    if not VPA_PATTERN.match(value):
        raise RailInstrumentInvalidError("The VPA is not of the form name@handle.", param="vpa")
    return value


async def _check_payer_account(session: AsyncSession, account_ref: str | None) -> None:
    if account_ref is None:
        raise RailAccountUnknownError(
            "Approving needs the payer's account.", param="payer_account_ref"
        )
    if account_ref not in await banks.payer_balances(session, [account_ref]):
        raise RailAccountUnknownError(param="payer_account_ref")


class SandboxUpiConnector(SandboxConnector):
    rail = Rail.upi
    dispute_reason = UPI_DISPUTE_REASON
    # A push that paid a merchant's VPA is that merchant's payment (push.py): refunded like
    # a collect's, the payer's bank crediting the payer back. Nothing else applies to it (it
    # holds nothing to capture or void).
    parent_operations = ("authorize", "verify", "push")

    def to_wire(self, amount_minor: int, currency: str) -> dict[str, Any]:
        return {"amount": rupees_from_minor(amount_minor), "currency": currency.upper()}

    def from_wire(self, answer: Mapping[str, Any]) -> tuple[int, str]:
        return minor_from_rupees(str(answer["amount"])), str(answer["currency"]).lower()

    async def new_authorization(self, session: AsyncSession, request: AuthorizeRequest) -> Row:
        upi = request.instrument
        if not isinstance(upi, UpiInstrument):
            raise RailInstrumentInvalidError("The UPI rail takes a VPA.", param="instrument")
        if request.currency.lower() != "inr":
            raise RailCurrencyUnsupportedError("UPI carries INR only.", param="currency")
        now = utcnow()
        row = self.new_row(
            "authorize",
            request.request_id,
            merchant_id=request.merchant_id,
            livemode=request.livemode,
            amount_minor=request.amount_minor,
            currency="inr",
            status="requires_action",
            scenario="collect",
            capture_method="automatic",
            return_url=request.return_url,
            action_expires_at=now + timedelta(seconds=UPI_COLLECT_EXPIRY_S),
            details={"upi_transaction_id": upi_transaction_id(), "rrn": rrn()},
        )
        if upi.vpa is not None and await self._owned(session, row, upi.vpa, request):
            return row
        if upi.vpa is None:
            row.details[INTENT_REFERENCE] = request.payee_reference or row.reference
        behaviour = await self._payer(session, row, upi.vpa)
        self._decide(row, behaviour)
        return row

    async def _owned(
        self, session: AsyncSession, row: Row, vpa: SecretStr, request: AuthorizeRequest
    ) -> bool:
        """Ask the collect listeners whether one owns the VPA; if so the collect waits for its
        answer, and expires unanswered (U69) at ``action_expires_at``."""
        value = _checked_vpa(vpa)
        merchant = await merchant_service.get(session, request.merchant_id)
        notice = CollectNotice(
            reference=row.reference,
            vpa=SecretStr(value),
            amount_minor=row.amount_minor,
            currency=row.currency,
            payee_name=merchant.name if merchant is not None and merchant.name else PAYEE_NAME,
            merchant_id=request.merchant_id,
            livemode=request.livemode,
            expires_at=row.action_expires_at or utcnow(),
            note=request.description,
        )
        if not await callbacks.claim_collect(session, notice):
            return False
        row.scenario, row.action_type = OWNED_SCENARIO, "upi_collect"
        row.instrument_fingerprint = self.ring.fingerprint("vpa:" + value)
        row.instrument_masked = mask_switch_vpa(value)
        row.instrument_brand = value.partition("@")[2]
        row.final_code, row.resolves_at = "U69", row.action_expires_at
        return True

    async def _payer(self, session: AsyncSession, row: Row, vpa: SecretStr | None) -> VpaBehaviour:
        """Find or open the payer's sandbox bank account; the VPA stays in memory only."""
        if vpa is None:
            row.scenario, row.action_type = "intent", "upi_intent"
            row.payer_account_id = await banks.open_payer_account(
                session, self.ring, banks.SANDBOX_BANK, INTENT_PAYER
            )
            return vpa_behaviour("")
        value = _checked_vpa(vpa)
        behaviour = vpa_behaviour(value)
        row.action_type = "upi_collect"
        row.instrument_fingerprint = self.ring.fingerprint("vpa:" + value)
        row.instrument_masked = mask_switch_vpa(value)
        row.instrument_brand = value.partition("@")[2]
        row.payer_account_id = await banks.open_payer_account(
            session,
            self.ring,
            banks.SANDBOX_BANK,
            SecretStr("vpa:" + value),
            opening_balance_minor=behaviour.opening_balance_minor,
        )
        return behaviour

    def _decide(self, row: Row, behaviour: VpaBehaviour) -> None:
        now = utcnow()
        scenario = behaviour.scenario
        if row.amount_minor > AMOUNT_MINOR_MAX:
            apply_code(row, "Z8")
            return
        if self.config.fails_technically(self.rail):
            if self.config.random.random() < 0.5:
                apply_code(row, "U30")
                return
            scenario = "deemed"
        if scenario in ("deemed", "timeout"):
            row.scenario, row.status = scenario, "pending"
            row.code = "RB" if scenario == "deemed" else "U09"
            row.final_code = "00" if scenario == "deemed" else None
            row.check_after = next_status_check(self.rail, 0, row.created_at)
            return
        row.final_code = behaviour.final_code
        row.duplicate_callback = behaviour.duplicate_callback
        if behaviour.disputed:
            row.scenario = DISPUTE_SCENARIO  # a chargeback follows the payment (UDIR)
        if behaviour.final_code == "U69":
            row.resolves_at = row.action_expires_at  # the payer never answers
        else:
            row.resolves_at = now + timedelta(seconds=self.config.upi_approval_delay_s)

    async def answer(
        self,
        session: AsyncSession,
        reference: str,
        *,
        approve: bool,
        payer_account_ref: str | None,
    ) -> RailOutcome:
        """The owner's answer to a collect it claimed: approve debits ``payer_account_ref`` (Z9
        when it cannot afford it), decline is ZA, an answer after expiry is U69 and moves
        nothing. Every handler hears it in this transaction; a second answer changes nothing."""
        row = await lock_operation(session, reference)
        if row is None or row.rail != self.rail.value or row.scenario != OWNED_SCENARIO:
            raise RailReferenceUnknownError(param="reference")
        if row.status != "requires_action":
            return self.outcome(row)  # answered, expired or withdrawn: the answer stands
        if approve:
            await _check_payer_account(session, payer_account_ref)
        code = await self._answer_code(session, row, approve, payer_account_ref or "")
        row.final_code = code
        apply_code(row, code)
        row.callbacks_sent = 1  # the expiry's scheduled callback finds it made
        outcome = self.outcome(row)
        await callbacks.notify(session, outcome)
        return outcome

    async def _answer_code(
        self, session: AsyncSession, row: Row, approve: bool, payer_account_id: str
    ) -> str:
        expires_at = row.action_expires_at
        if expires_at is not None and utcnow() >= expires_at:
            return "U69"
        if not approve:
            return "ZA"
        if self.config.fails_technically(self.rail):
            return "U30"
        row.payer_account_id = payer_account_id
        return await self.debit_payer(session, row, payer_account_id)

    def action_url(self, row: Row) -> str | None:
        if row.action_type != "upi_intent":
            return None
        reference = str(row.details.get(INTENT_REFERENCE) or row.reference)
        return upi_pay_link(PAYEE_VPA, PAYEE_NAME, reference, row.amount_minor)

    async def resolve(self, session: AsyncSession, row: Row) -> None:
        """The payer answered (or the collect expired): with 00 the payer's bank debits them,
        and the ledger itself refuses what they cannot afford (Z9). A chargeback reported."""
        if row.operation == "dispute":
            await self.resolve_dispute(session, row)
            return
        invariant(row.operation == "authorize", "the switch answers by itself on payments")
        invariant(row.final_code is not None, "a resolving payment knows its answer")
        code = row.final_code or "U30"
        if code == "00":
            invariant(row.payer_account_id is not None, "an approved payment has a payer")
            code = await self.debit_payer(session, row, row.payer_account_id or "")
        apply_code(row, code)
        await self.open_scripted_dispute(session, row)

    async def debit_payer(self, session: AsyncSession, row: Row, payer_account_id: str) -> str:
        """The payer's bank debits them to its settlement with the switch: "00", or "Z9" when
        the ledger itself refuses what the payer cannot afford (then nothing moves)."""
        result = await banks.move_between(
            session,
            f"upi:{row.reference}:debit",
            payer_account_id,
            banks.settlement_account_id(banks.bank_of(payer_account_id), payer_account_id),
            row.amount_minor,
            code="upi_payment",
        )
        if result == CreateTransferResult.exceeds_credits:
            return "Z9"
        invariant(result in _MOVED, f"the payer's debit: {result}")
        return "00"

    async def status_check_due(self, session: AsyncSession, row: Row) -> None:
        if row.scenario == "deemed":
            await self.resolve(session, row)  # the first check on time learns the answer: 00
            return
        await super().status_check_due(session, row)

    def status_outcome(self, row: Row) -> RailOutcome:
        """Before the payer answers, a status check says the payment is pending."""
        outcome = self.outcome(row)
        if row.status != "requires_action":
            return outcome
        check_after = next_status_check(self.rail, row.status_checks, row.created_at)
        return RailOutcome(
            operation=outcome.operation,
            status="pending",
            reference=outcome.reference,
            request_id=outcome.request_id,
            amount_minor=outcome.amount_minor,
            currency=outcome.currency,
            code="01",
            message="The payer has not answered yet.",
            check_after=check_after,
            details=outcome.details,
        )

    async def refund_effect(self, session: AsyncSession, parent: Row, refund: Row) -> None:
        """The bank credits the payer back from its settlement with the switch."""
        invariant(parent.payer_account_id is not None, "a captured UPI payment has a payer")
        payer = parent.payer_account_id or ""
        result = await banks.move_between(
            session,
            f"upi:{refund.reference}:refund",
            banks.settlement_account_id(banks.bank_of(payer), payer),
            payer,
            refund.amount_minor,
            code="upi_refund",
        )
        invariant(result in _MOVED, f"the payer's refund credit: {result}")
        refund.status, refund.code = "succeeded", "00"
        refund.details = {"upi_transaction_id": upi_transaction_id(), "rrn": rrn()}
