"""The rails' use cases: the only way other modules reach a rail.

``connector_for(rail, livemode)`` gives the connector to call (the sandbox in test mode; live
mode has none and says so). ``on_outcome(handler)`` registers who hears what a rail reports by
itself (the composition root, ``app.wire_modules``, registers every handler). ``next_status_check``
paces status checks. Nothing here commits: the caller's request or job owns the transaction.

The PSP's side: ``switch_for(livemode)`` gives the UPI switch (``rails.protocol.Switch``; the
sandbox's in test mode), and its calls are here under the names the PSP uses:
``discover_accounts`` by mobile number, ``verify_debit_card``, ``account_balance``,
``open_payer_account``, ``upi_push`` (and ``upi_push_status``), collects to VPAs another
module owns (``on_collect`` / ``off_collect``, then ``answer_collect``), and credits to
accounts another module owns (``on_credit`` / ``off_credit``: a merchant's VPA paid).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.settings import Settings
from beyondpay.rails import callbacks, file_domain, payout_domain
from beyondpay.rails.callbacks import (
    notify_payout,
    off_collect,
    off_credit,
    off_outcome,
    off_payout_outcome,
    on_collect,
    on_credit,
    on_outcome,
    on_payable,
    on_payout_outcome,
    use_scheduler,
)
from beyondpay.rails.domain import (
    NETBANKING_BANKS,
    REDIRECT_RAILS,
    SANDBOX_BANKS,
    SandboxBank,
    next_status_check,
    rails_for_currency,
)
from beyondpay.rails.errors import RailPageNotFoundError, RailUnavailableError
from beyondpay.rails.models import SandboxRailOperationRow as Row
from beyondpay.rails.payout_domain import RailChoice, choose_payout_rail
from beyondpay.rails.protocol import (
    AccountValidator,
    BankAccountDestination,
    BankAccountInfo,
    CollectListener,
    CollectNotice,
    Connector,
    CreditListener,
    CreditNotice,
    IntentPayee,
    PayoutConnector,
    PayoutOutcome,
    PayoutRail,
    PayoutRequest,
    PushRequest,
    Rail,
    RailOutcome,
    Switch,
    VpaDestination,
)
from beyondpay.rails.sandbox import config
from beyondpay.rails.sandbox import files as sandbox_files
from beyondpay.rails.sandbox import payouts as sandbox_payouts
from beyondpay.rails.sandbox.banks import find_payer_account, move_between
from beyondpay.rails.sandbox.card import SandboxCardConnector
from beyondpay.rails.sandbox.common import (
    FINAL,
    SandboxConnector,
    defer_callback,
    lock_operation,
    reference_of_token,
)
from beyondpay.rails.sandbox.netbanking import SandboxNetbankingConnector
from beyondpay.rails.sandbox.switch import SandboxSwitch
from beyondpay.rails.sandbox.upi import DUPLICATE_CALLBACK_DELAY_S, SandboxUpiConnector
from beyondpay.rails.sandbox.validation import SandboxAccountValidator

__all__ = [
    "REDIRECT_RAILS",
    "BankAccountDestination",
    "BankAccountInfo",
    "CollectListener",
    "CollectNotice",
    "CreditListener",
    "CreditNotice",
    "IntentPayee",
    "PageView",
    "PayoutOutcome",
    "PayoutRail",
    "PayoutRequest",
    "PushRequest",
    "RailChoice",
    "RailOutcome",
    "SandboxBank",
    "VpaDestination",
    "account_balance",
    "answer_collect",
    "choose_payout_rail",
    "complete_page",
    "configure",
    "connector_for",
    "deliver_callback",
    "discover_accounts",
    "find_payer_account",
    "move_between",
    "next_status_check",
    "off_collect",
    "off_credit",
    "off_outcome",
    "off_payout_outcome",
    "on_collect",
    "on_credit",
    "on_outcome",
    "on_payable",
    "on_payout_outcome",
    "open_payer_account",
    "payout_connector_for",
    "payout_domain",
    "rails_for_currency",
    "sandbox_banks",
    "settle_payout",
    "switch_for",
    "upi_intent_payee",
    "upi_push",
    "upi_push_status",
    "use_scheduler",
    "verify_debit_card",
    "view_page",
    "void_later",
]

_SANDBOX: Final[dict[Rail, type[SandboxConnector]]] = {
    Rail.card: SandboxCardConnector,
    Rail.upi: SandboxUpiConnector,
    Rail.netbanking: SandboxNetbankingConnector,
}
# Which kind of page each rail shows the payer.
PAGE_KINDS: Final = {Rail.card: "3ds", Rail.netbanking: "bank"}
_SWITCH: Final[Switch] = SandboxSwitch()


def configure(settings: Settings, *, ring: KeyRing | None = None) -> config.SandboxConfig:
    """The sandbox rails' settings (latency, failure rates, public URL, the ring); the
    composition root (``app.configure_modules``) calls it when the API or worker starts."""
    return config.configure(settings, ring=ring)


def connector_for(rail: Rail, livemode: bool, *, ring: KeyRing | None = None) -> Connector:
    """The connector for ``rail`` in this mode. ``ring`` fingerprints instruments and signs page
    links; by default the configured one."""
    if livemode:
        raise RailUnavailableError(
            f"No live connector is configured for the {rail.value} rail: live-mode payments"
            " cannot reach it. Use test mode (sk_test_ keys) and the sandbox rails."
        )
    return _SANDBOX[rail](ring)


async def void_later(
    session: AsyncSession, rail: Rail, livemode: bool, request_id: str, reference: str
) -> None:
    """Ask the rail to void ``reference`` once this transaction commits (a job, deferred in it
    by the injected scheduler): a transaction that decides to release a payment never waits on
    the network, and a rollback asks for nothing."""
    await callbacks.scheduler().void_later(session, rail, livemode, request_id, reference)


def switch_for(livemode: bool) -> Switch:
    """The UPI switch in this mode: the sandbox switch in test mode; live mode has none."""
    if livemode:
        raise RailUnavailableError(
            "No live UPI switch is configured: live-mode payments cannot reach it. Use test"
            " mode and the sandbox switch."
        )
    return _SWITCH


# The PSP's calls to the switch. The PSP runs in test mode only (psp PSP_LIVEMODE is False),
# so these are the sandbox switch's.
discover_accounts = _SWITCH.discover_accounts
verify_debit_card = _SWITCH.verify_debit_card
account_balance = _SWITCH.account_balance
open_payer_account = _SWITCH.open_account
upi_push = _SWITCH.push
upi_intent_payee = _SWITCH.intent_payee
upi_push_status = _SWITCH.push_status
answer_collect = _SWITCH.answer_collect


def _sandbox(row: Row, ring: KeyRing | None = None) -> SandboxConnector:
    return _SANDBOX[Rail(row.rail)](ring)


async def deliver_callback(session: AsyncSession, reference: str, delivery: int) -> float | None:
    """The rail's callback for ``reference``: its answer reaches its final state and every
    handler hears it, in this transaction. ``delivery`` 1 is the callback, 2 the duplicate that
    ``duplicate@sandbox`` sends late. Safe to run twice: a delivery made is not made again.
    Returns the seconds still to wait when run before the rail answers (the job defers again).
    """
    row = await lock_operation(session, reference)
    if row is None or row.hold_state == "voided" or row.callbacks_sent >= delivery:
        return None
    if delivery > 1 and not row.duplicate_callback:
        return None
    connector = _sandbox(row)
    if row.status not in FINAL:
        if row.resolves_at is None:
            return None  # deemed or timed out: this rail sends no callback
        wait_s = (row.resolves_at - utcnow()) / timedelta(seconds=1)
        if wait_s > 0:
            return wait_s
        await connector.resolve(session, row)
    row.callbacks_sent = delivery
    await callbacks.notify(session, connector.outcome(row))
    if row.duplicate_callback and delivery == 1:
        at = utcnow() + timedelta(seconds=DUPLICATE_CALLBACK_DELAY_S)
        await defer_callback(session, reference, at, delivery=2)
    return None


@dataclass(frozen=True, slots=True)
class PageView:
    reference: str
    rail: Rail
    amount_minor: int
    currency: str
    status: str
    instrument: str  # masked card or bank name: never a card number
    return_url: str | None
    outcome: RailOutcome


async def _page_row(session: AsyncSession, ring: KeyRing, kind: str, token: str) -> Row:
    reference = reference_of_token(ring, token)
    row = await lock_operation(session, reference)
    paged = ("authorize", "verify")  # a verification's 3-D Secure challenge has a page too
    if row is None or PAGE_KINDS.get(Rail(row.rail)) != kind or row.operation not in paged:
        raise RailPageNotFoundError()
    return row


def _view(row: Row, connector: SandboxConnector) -> PageView:
    rail = Rail(row.rail)
    if rail is Rail.netbanking:
        instrument = NETBANKING_BANKS.get(row.instrument_brand or "", "Sandbox bank")
    else:
        instrument = f"{row.instrument_brand or 'card'} {row.instrument_masked or ''}".strip()
    return PageView(
        reference=row.reference,
        rail=rail,
        amount_minor=row.amount_minor,
        currency=row.currency,
        status=row.status,
        instrument=instrument,
        return_url=row.return_url,
        outcome=connector.outcome(row),
    )


async def view_page(session: AsyncSession, ring: KeyRing, kind: str, token: str) -> PageView:
    """What the 3-D Secure (``kind`` "3ds") or bank ("bank") page shows."""
    row = await _page_row(session, ring, kind, token)
    return _view(row, _sandbox(row, ring))


async def complete_page(
    session: AsyncSession, ring: KeyRing, kind: str, token: str, *, complete: bool
) -> tuple[PageView, bool]:
    """The payer's answer on a sandbox page: recorded, and every handler hears it in this
    transaction. A second answer changes nothing (returns ``False``)."""
    row = await _page_row(session, ring, kind, token)
    connector = _sandbox(row, ring)
    if row.status != "requires_action":
        return _view(row, connector), False
    if isinstance(connector, SandboxCardConnector):
        connector.complete_challenge(row, authenticated=complete)
    elif isinstance(connector, SandboxNetbankingConnector):
        connector.complete_page(row, authorized=complete)
    row.callbacks_sent = 1
    await callbacks.notify(session, connector.outcome(row))
    return _view(row, connector), True


def sandbox_banks() -> list[SandboxBank]:
    """The sandbox banks (code, name, IFSC), sbx1 first."""
    return list(SANDBOX_BANKS.values())


# --- payouts (issue 20): money out by IMPS, NEFT, RTGS or UPI ---------------------------------
# ``choose_payout_rail`` picks the rail (pure: amount, destination, time, the merchant's
# preference), ``payout_connector_for(livemode)`` gives the rail to call, ``on_payout_outcome``
# registers who hears what a payout rail reports by itself (a NEFT batch settled), and
# ``settle_payout`` is that report, run by the job the rail deferred for the batch.


def payout_connector_for(livemode: bool, *, ring: KeyRing | None = None) -> PayoutConnector:
    """The payout rail in this mode: the sandbox's in test mode; live mode has none."""
    if livemode:
        raise RailUnavailableError(
            "No live payout rail is configured: live-mode payouts cannot be sent. Use test"
            " mode (sk_test_ keys) and the sandbox payout rail."
        )
    return sandbox_payouts.SandboxPayoutConnector(ring)


async def settle_payout(session: AsyncSession, reference: str) -> float | None:
    """The payout rail's own report for ``reference`` (a NEFT batch): the payout settles if its
    time has come, and every payout listener hears a status it has not heard yet, in this
    transaction. Safe to run twice: what was heard is not told again. Returns the seconds
    still to wait when run before the batch (the job defers again)."""
    row = await sandbox_payouts.lock_payout(session, reference)
    if row is None:
        return None
    if row.status == "pending" and row.settles_at is not None:
        wait_s = (row.settles_at - utcnow()) / timedelta(seconds=1)
        if wait_s > 0:
            return wait_s
        sandbox_payouts.settle(row)
    if row.notified_status != row.status:
        row.notified_status = row.status
        await notify_payout(session, sandbox_payouts.outcome(row))
    return None


def account_validator_for(livemode: bool) -> AccountValidator | None:
    """Who validates a bank account by a penny drop in this mode: the sandbox bank in test
    mode; live mode has no bank connected yet (None: a live account stays ``new``)."""
    return None if livemode else SandboxAccountValidator()


# ---- settlement files (reconciliation reads them) ---------------------------------------------


@dataclass(frozen=True)
class SettlementFile:
    """A rail's file of a business date: its CSV ``text``, the faults written into it, and the
    key of the day's transaction the file held back to the next day's (a ``late`` fault)."""

    kind: file_domain.FileKind
    business_date: date
    text: str
    faults: list[file_domain.InjectedFault]
    held_back: str | None


async def settlement_file(
    session: AsyncSession,
    kind: file_domain.FileKind,
    business_date: date,
    livemode: bool,
    plan: file_domain.FaultPlan = file_domain.NO_FAULTS,
) -> SettlementFile:
    """The file the (sandbox) rail of ``kind`` sends for ``business_date``, generated on demand
    from what it settled, with ``plan``'s faults. Live mode has no rail connected: its files
    are empty."""
    records = await sandbox_files.rail_records(session, kind, business_date, livemode)
    previous = await sandbox_files.rail_records(
        session, kind, business_date - timedelta(days=1), livemode
    )
    lines, faults = file_domain.build_file(kind, business_date, records, previous, plan)
    held_back = file_domain.late_out(kind, business_date, records, plan)
    return SettlementFile(kind, business_date, file_domain.render(kind, lines), faults, held_back)


@dataclass(frozen=True)
class PayoutRecord:
    """A payout as the payout rail holds it: the request id is the payout's id (``po_…``)."""

    utr: str
    request_id: str
    merchant_id: str
    amount_minor: int
    currency: str
    status: str
    business_date: date


async def payouts_by_utr(
    session: AsyncSession, livemode: bool, utrs: list[str]
) -> dict[str, PayoutRecord]:
    rows = await sandbox_files.payouts_by_utr(session, livemode, utrs)
    return {
        utr: PayoutRecord(
            utr,
            row.request_id,
            row.merchant_id,
            row.amount_minor,
            row.currency,
            row.status,
            file_domain.business_date_of(row.created_at),
        )
        for utr, row in rows.items()
    }


async def settled_keys(
    session: AsyncSession, kind: file_domain.FileKind, business_date: date, livemode: bool
) -> list[str]:
    """The keys of what the rail of ``kind`` settled on ``business_date`` (its file's lines
    before any fault)."""
    records = await sandbox_files.rail_records(session, kind, business_date, livemode)
    return [record.key for record in records]
