"""Dispute use cases. Never commit: the request or job owns the transaction.

A dispute is opened by the rail, never by the merchant: the card network (a chargeback) or the
UPI switch (NPCI's chargeback, raised through UDIR) reports that it took a captured payment's
money back, as a ``dispute`` outcome of the payment's request id (:func:`handle_rail_outcome`,
registered by ``app.wire_modules``). In the rail's callback transaction, with the charge locked,
the dispute is written ``needs_response``, the disputed amount and the dispute fee leave the
merchant's available balance (``<dispute>:withdrawal`` and ``<dispute>:fee``, one linked ledger
batch, one ``adjustment`` balance transaction), and ``charge.dispute.created`` and
``charge.dispute.funds_withdrawn`` are recorded. A repeated report finds the charge's dispute
(one per charge, a unique index) and does nothing.

The merchant stages evidence (``submit=false``) and submits it (the default), which puts the
dispute ``under_review``; or closes it, accepting the loss (``lost``). In test mode the sandbox
network decides at once, in the submission's transaction, as Stripe's test mode documents:
``evidence[uncategorized_text]=winning_evidence`` wins (the amount, and the fee when
``BEYONDPAY_DISPUTES_FEE_RETURNED_WHEN_WON``, come back: ``<dispute>:reinstatement``),
``losing_evidence`` loses (nothing moves), anything else stays under review. Two submissions
at once lock the dispute's row one after the other: the second finds it under review or
closed and is refused, so evidence is submitted once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.pagination import created_conditions, page, scoped
from beyondpay.disputes.domain import (
    EVIDENCE_DUE_AFTER_S,
    EVIDENCE_TOTAL_CHARS_MAX,
    Action,
    Status,
    UnexpectedStateError,
    evidence_chars,
    next_status,
    sandbox_decision,
)
from beyondpay.disputes.errors import DisputeUnexpectedStateError, EvidenceTooLongError
from beyondpay.disputes.events import DisputeEvent, record
from beyondpay.disputes.models import DisputeRow
from beyondpay.disputes.schemas import (
    DisputeEvidenceParams,
    DisputeListParams,
    DisputeUpdateParams,
    dispute_object,
)
from beyondpay.disputes.settings import CONFIG
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.kit.logging import get_logger
from beyondpay.kit.params import merge_metadata
from beyondpay.merchants.domain import Caller
from beyondpay.payments.schemas import balance_transaction_object
from beyondpay.payments.service import ChargeRow, balance_service, charge_service
from beyondpay.rails.protocol import RailOutcome

_log = get_logger(__name__)


async def rendered(session: AsyncSession, row: DisputeRow) -> dict[str, Any]:
    """The dispute object, its balance transactions read and rendered in place."""
    found = await balance_service.get_transactions(session, row.balance_transaction_ids)
    transactions = [balance_transaction_object(found[id]) for id in row.balance_transaction_ids]
    return dispute_object(row, transactions)


async def _announce(session: AsyncSession, row: DisputeRow, *types: DisputeEvent) -> None:
    await session.flush()
    rendering = await rendered(session, row)
    for type in types:
        await record(session, row, type, rendering)


def _moved(row: DisputeRow, action: Action, param: str | None) -> Status:
    try:
        return next_status(Status(row.status), action)
    except UnexpectedStateError as error:
        allowed = ", ".join(error.allowed)
        raise DisputeUnexpectedStateError(
            f"This dispute is {row.status}: it can be responded to only while it is {allowed}.",
            param=param,
        ) from None


def _merged_evidence(row: DisputeRow, evidence: DisputeEvidenceParams) -> dict[str, str]:
    """The staged evidence with what was sent: a field sent empty is unset."""
    merged = dict(row.evidence)
    for name in evidence.model_fields_set:
        value = getattr(evidence, name)
        if value:
            merged[name] = value
        else:
            merged.pop(name, None)
    if evidence_chars(merged) > EVIDENCE_TOTAL_CHARS_MAX:
        raise EvidenceTooLongError(
            f"The evidence can hold at most {EVIDENCE_TOTAL_CHARS_MAX} characters in all.",
            param="evidence",
        )
    return merged


class DisputeService:
    async def get(self, session: AsyncSession, caller: Caller, dispute_id: str) -> DisputeRow:
        statement = scoped(
            DisputeRow, caller.merchant, caller.livemode, DisputeRow.id == dispute_id
        )
        row: DisputeRow | None = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object("dispute", dispute_id)
        return row

    async def _locked(self, session: AsyncSession, caller: Caller, dispute_id: str) -> DisputeRow:
        statement = scoped(
            DisputeRow, caller.merchant, caller.livemode, DisputeRow.id == dispute_id
        ).with_for_update()
        row: DisputeRow | None = (
            await session.execute(statement.execution_options(populate_existing=True))
        ).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object("dispute", dispute_id)
        return row

    async def update(
        self, session: AsyncSession, caller: Caller, dispute_id: str, params: DisputeUpdateParams
    ) -> DisputeRow:
        """Metadata (at any time), evidence staged and, unless ``submit=false``, submitted.
        A call with metadata only submits nothing; ``submit=true`` alone submits what is
        staged."""
        dispute = await self._locked(session, caller, dispute_id)
        sent = params.model_fields_set
        evidence = params.evidence
        evidence_sent = evidence is not None and bool(evidence.model_fields_set)
        submitting = params.submit and (evidence_sent or "submit" in sent)
        changed = False
        if evidence is not None and evidence_sent:
            _moved(dispute, Action.stage_evidence, "evidence")
            dispute.evidence = _merged_evidence(dispute, evidence)
            changed = True
        if submitting:
            dispute.status = _moved(
                dispute, Action.submit, "evidence" if evidence_sent else "submit"
            )
            dispute.submission_count += 1
            dispute.past_due = utcnow() > dispute.evidence_due_by
            changed = True
        if "metadata" in sent:
            metadata = params.metadata if isinstance(params.metadata, dict) else {}
            dispute.metadata_ = merge_metadata(dispute.metadata_, metadata)
            changed = True
        if not changed:
            return dispute
        dispute.updated_at = utcnow()
        await _announce(session, dispute, DisputeEvent.updated)
        decision = sandbox_decision(dispute.evidence) if submitting else None
        if decision is not None and not dispute.livemode:
            await _decide(session, dispute, decision)
        return dispute

    async def close(self, session: AsyncSession, caller: Caller, dispute_id: str) -> DisputeRow:
        """The merchant accepts the loss: ``lost`` (an inquiry: ``warning_closed``). The money
        left with the dispute's opening; nothing moves."""
        dispute = await self._locked(session, caller, dispute_id)
        dispute.status = _moved(dispute, Action.close, None)
        dispute.updated_at = utcnow()
        await _announce(session, dispute, DisputeEvent.closed)
        return dispute

    async def list(
        self, session: AsyncSession, caller: Caller, params: DisputeListParams
    ) -> tuple[Sequence[DisputeRow], bool]:
        conditions: list[Any] = list(created_conditions(DisputeRow.created_at, params.created))
        if params.charge is not None:
            conditions.append(DisputeRow.charge_id == params.charge)
        if params.payment_intent is not None:
            conditions.append(DisputeRow.payment_intent_id == params.payment_intent)
        statement = scoped(DisputeRow, caller.merchant, caller.livemode, *conditions)
        return await page(
            session,
            statement,
            DisputeRow.id,
            params,
            cursor_exists=lambda cursor: scoped(
                DisputeRow, caller.merchant, caller.livemode, DisputeRow.id == cursor
            ),
            object_name="dispute",
        )


async def _decide(session: AsyncSession, dispute: DisputeRow, decision: Action) -> None:
    """The network's decision on a dispute under review (its row locked). Won: the amount,
    and the fee when it is returned, come back to the merchant's available balance."""
    dispute.status = next_status(Status(dispute.status), decision)
    dispute.updated_at = utcnow()
    if dispute.status != Status.won:
        await _announce(session, dispute, DisputeEvent.closed)
        return
    charge = await charge_service.lock_for_dispute(session, dispute.charge_id)
    invariant(charge is not None, "a dispute's charge is never deleted")
    assert charge is not None
    config = CONFIG.current()
    fee_refund = config.fee_minor if config.fee_returned_when_won else 0
    withdrawn = await balance_service.get_transactions(session, dispute.balance_transaction_ids)
    invariant(
        sum(row.fee for row in withdrawn.values()) >= fee_refund,
        "a dispute returns no more fee than it took",
    )
    transaction = await charge_service.reinstate_for_dispute(
        session, charge, dispute.id, dispute.amount, fee_refund
    )
    dispute.balance_transaction_ids = [*dispute.balance_transaction_ids, transaction]
    await _announce(session, dispute, DisputeEvent.closed, DisputeEvent.funds_reinstated)


def _payment_method_details(charge: ChargeRow, outcome: RailOutcome) -> dict[str, Any]:
    """Stripe's ``payment_method_details`` of a dispute; UPI's names NPCI as its network."""
    if charge.rail == "card":
        card = charge.payment_method_details.get("card") or {}
        brand = card.get("brand")
        details = {
            "brand": brand,
            "case_type": "chargeback",
            "network": card.get("network") or brand or "unknown",
            "network_reason_code": outcome.code,
        }
    else:
        details = {
            "case_type": "chargeback",
            "network": "npci",
            "network_reason_code": outcome.code,
        }
    return {"type": charge.rail, charge.rail: details}


def _new_dispute(charge: ChargeRow, outcome: RailOutcome, amount: int) -> DisputeRow:
    now = utcnow()
    return DisputeRow(
        id=new_id("dp"),
        merchant_id=charge.merchant_id,
        livemode=charge.livemode,
        charge_id=charge.id,
        payment_intent_id=charge.payment_intent_id,
        amount=amount,
        currency=charge.currency,
        status=Status.needs_response,
        reason=outcome.details.get("reason", "general"),
        network_reason_code=outcome.code,
        rail=charge.rail,
        rail_reference=outcome.reference,
        payment_method_details=_payment_method_details(charge, outcome),
        evidence={},
        evidence_due_by=now + timedelta(seconds=EVIDENCE_DUE_AFTER_S),
        submission_count=0,
        past_due=False,
        balance_transaction_ids=[],
        metadata_={},
        created_at=now,
        updated_at=now,
    )


async def handle_rail_outcome(session: AsyncSession, outcome: RailOutcome) -> None:
    """A rail took a captured payment back (a ``dispute`` outcome): the dispute is opened and
    its money withdrawn, in the rail's transaction. A repeat opens nothing."""
    if outcome.operation != "dispute" or outcome.status != "succeeded":
        return
    charge = await charge_service.lock_for_dispute(session, outcome.request_id)
    if charge is None:
        _log.warning("rail_dispute_unknown_charge", rail_reference=outcome.reference)
        return
    opened = await session.execute(select(DisputeRow.id).where(DisputeRow.charge_id == charge.id))
    if opened.scalar_one_or_none() is not None:
        return
    invariant(
        outcome.currency == charge.currency and 0 < outcome.amount_minor <= charge.amount,
        "a rail disputes at most the payment's amount, in its currency",
    )
    # What the merchant still holds of the payment (a refund of ours may be on its way to the
    # rail); a capture not yet applied on our side (its process died) is the rail's amount.
    held = charge.amount_captured - charge.amount_refunded if charge.captured else charge.amount
    amount = min(outcome.amount_minor, held)
    if amount <= 0:
        _log.warning("rail_dispute_of_refunded_charge", charge=charge.id)
        return
    dispute = _new_dispute(charge, outcome, amount)
    transaction = await charge_service.withdraw_for_dispute(
        session, charge, dispute.id, dispute.amount, CONFIG.current().fee_minor
    )
    dispute.balance_transaction_ids = [transaction]
    session.add(dispute)
    await _announce(session, dispute, DisputeEvent.created, DisputeEvent.funds_withdrawn)


dispute_service = DisputeService()
