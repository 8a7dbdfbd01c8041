"""The connector protocol every rail implements: the only way payments and refunds reach a rail.

A connector turns our requests into the rail's wire format and back (amounts converted and the
answer checked against what was sent happen in the connector and nowhere else, as Hyperswitch's
transformers do). Every call carries a request id chosen by the caller: the same id is the same
operation on the rail, so a retry after a crash never authorizes, captures or refunds twice.

A rail is a network peer, so it is never called inside a transaction of the caller: the caller
commits what it asked (a recovery point naming the request id) before the call, and applies the
answer in a transaction of its own after it (docs/development.md, "The money path"). Every
method takes the caller's session *outside* any transaction. Sandbox connectors
(``rails.sandbox``) keep their state in the same database and run each operation in a short
transaction of their own on that idle session, after the simulated latency; they refuse to run
inside the caller's transaction (an invariant). A real connector would ignore the session, call
its network, and be made idempotent by the request id the same way.

The UPI switch (and the banks behind it) is the PSP's rail: :class:`Switch` is its protocol, with
the sandbox switch (``rails.sandbox.switch``) as its implementation. What a rail does later by
itself (a callback, a void asked after the deciding transaction) goes through a
:class:`Scheduler` the composition root hands the rails, so the rails never import their jobs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal, Protocol

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.crypto import KeyRing


class Rail(StrEnum):
    card = "card"
    upi = "upi"
    netbanking = "netbanking"


OutcomeStatus = Literal["succeeded", "pending", "requires_action", "failed"]
# push: a payer's bank account pays another bank account through the UPI switch (the PSP's pay).
# dispute: the card network (a chargeback) or the UPI switch (an NPCI chargeback raised through
# UDIR) took a captured payment's money back; reported by itself, with the payment's request id.
# verify: a zero-amount card verification (a SetupIntent's), which moves no money.
# increment: a held card authorization raised to a new total (incremental authorization).
Operation = Literal[
    "authorize", "capture", "void", "refund", "push", "dispute", "verify", "increment"
]


@dataclass(frozen=True, slots=True)
class CardInstrument:
    number: SecretStr
    exp_month: int
    exp_year: int


@dataclass(frozen=True, slots=True)
class UpiInstrument:
    """``vpa`` set: a collect request to that VPA. ``None``: the intent flow (the payer's app
    pays the ``upi://pay`` link shown to them)."""

    vpa: SecretStr | None


@dataclass(frozen=True, slots=True)
class NetbankingInstrument:
    bank: str


Instrument = CardInstrument | UpiInstrument | NetbankingInstrument


@dataclass(frozen=True, slots=True)
class AuthorizeRequest:
    request_id: str  # the caller's id for this operation (the charge id): idempotent on the rail
    merchant_id: str
    livemode: bool
    amount_minor: int
    currency: str
    instrument: Instrument
    # Cards only: False holds the amount for a later capture; UPI and net banking always capture.
    capture: bool = True
    return_url: str | None = None  # where the payer is sent back after a challenge or redirect
    description: str | None = None
    # Cards: the risk engine challenged the payment, so the payer must authenticate (3-D Secure)
    # whatever the card would do otherwise.
    authenticate: bool = False
    # Cards: a merchant-initiated payment with the customer away (Stripe's off_session): no
    # challenge can be shown, so a card that needs one fails with authentication_required
    # unless ``stored_credential`` names the verification or payment that set it up.
    off_session: bool = False
    stored_credential: str | None = None
    # UPI's intent flow: the transaction reference (``tr``) its ``upi://pay`` link carries, the
    # order the merchant knows the payment by (a Checkout Session's id); None: the rail's own
    # reference. A push to the switch's collecting VPA carrying it pays the request.
    payee_reference: str | None = None


@dataclass(frozen=True, slots=True)
class VerifyRequest:
    """A zero-amount verification of an instrument for later use (a SetupIntent's): the card
    network checks the card and may ask the payer to authenticate (3-D Secure); no money is
    held or moved. A verification for ``off_session`` use that succeeds answers the network
    transaction id later merchant-initiated payments name as their stored credential."""

    request_id: str  # the caller's id for this verification (the setup attempt's)
    merchant_id: str
    livemode: bool
    currency: str
    instrument: Instrument
    off_session: bool = False  # the usage the card is set up for
    return_url: str | None = None


@dataclass(frozen=True, slots=True)
class RailOutcome:
    """The rail's answer to one operation, or to a status check of it."""

    operation: Operation
    status: OutcomeStatus
    reference: str  # the rail's id of the operation; status checks and callbacks name it
    request_id: str
    amount_minor: int
    currency: str
    # The rail's own response code: NPCI's for UPI ("00", "ZA", "U69", …), the network's for cards.
    code: str | None = None
    # Stripe's vocabulary for a failure: code "card_declined" / "expired_card" / …, decline_code
    # "generic_decline" / "insufficient_funds" / …; never holds a card number or a VPA.
    failure_code: str | None = None
    decline_code: str | None = None
    message: str | None = None
    # requires_action: the page where the payer completes the step (3-D Secure, bank login),
    # or the ``upi://pay`` link of the intent flow.
    action_type: Literal["redirect_to_url", "upi_collect", "upi_intent"] | None = None
    action_url: str | None = None
    action_expires_at: datetime | None = None
    # pending: the earliest time a status check may be made (the rail's pacing).
    check_after: datetime | None = None
    # Rail identifiers worth showing (UPI transaction id, RRN, card network id): no secrets.
    details: Mapping[str, str] = field(default_factory=dict)

    @property
    def final(self) -> bool:
        return self.status in ("succeeded", "failed")


class Connector(Protocol):
    rail: Rail

    async def authorize(self, session: AsyncSession, request: AuthorizeRequest) -> RailOutcome: ...

    async def capture(
        self, session: AsyncSession, request_id: str, reference: str, amount_minor: int
    ) -> RailOutcome:
        """Capture ``amount_minor`` (at most the authorized amount) of an authorization; the
        rest is released."""
        ...

    async def void(self, session: AsyncSession, request_id: str, reference: str) -> RailOutcome: ...

    async def increment(
        self, session: AsyncSession, request_id: str, reference: str, amount_minor: int
    ) -> RailOutcome:
        """Raise a held authorization to ``amount_minor`` (the new total, more than held);
        cards only. Refused (a failed outcome): nothing changes, the old hold stays."""
        ...

    async def refund(
        self, session: AsyncSession, request_id: str, reference: str, amount_minor: int
    ) -> RailOutcome:
        """Refund part or all of a captured payment (``reference`` is the authorization's)."""
        ...

    async def status(self, session: AsyncSession, reference: str) -> RailOutcome:
        """Where an operation stands now (``reference`` of an authorization or a refund)."""
        ...

    async def verify(self, session: AsyncSession, request: VerifyRequest) -> RailOutcome:
        """A zero-amount verification (cards only; other rails refuse it)."""
        ...


# Called with every outcome a rail reports by itself (a callback: a collect approved, a
# challenge completed, a refund settled). Rails may call it more than once and late for one
# operation, as real rails do; the handler must treat a repeat as a no-op.
OutcomeHandler = Callable[[AsyncSession, RailOutcome], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class BankAccountInfo:
    """A payer's account at a sandbox bank, as discovery by mobile number finds it."""

    bank: str  # the bank's code ("sbx1")
    bank_name: str
    ifsc: str
    # The opaque name of the account the PSP keeps and passes back (to push, answer a collect,
    # read a balance): it names the account, never the mobile number.
    account_ref: str
    account_number_masked: str  # "XXXXXXXX1234"
    account_type: Literal["savings"]
    holder_name: str  # the name the PSP registered: the sandbox bank "KYC'd" the payer under it


@dataclass(frozen=True, slots=True)
class PushRequest:
    """A push payment (P2P or P2M) from one bank account to another through the UPI switch."""

    request_id: str  # the caller's id of the payment: the same id is the same push
    payer_account_ref: str
    payee_account_ref: str
    amount_minor: int
    currency: str = "inr"
    note: str | None = None  # the payer's remark; the switch forwards it and keeps none
    # What the payee's side is told of the payment (the switch forwards them, keeps none): the
    # payee's own reference (``tr`` of a merchant's QR), and who paid as the payee may see
    # them — the payer's name and VPA masked by the payer's PSP, never a VPA in clear.
    payee_reference: str | None = None
    payer_name: str | None = None
    payer_vpa_masked: str | None = None


@dataclass(frozen=True, slots=True)
class CollectNotice:
    """A collect request the switch received for a VPA, shown to whoever may own that VPA."""

    reference: str  # the collect's reference: the owner answers with it (``answer_collect``)
    vpa: SecretStr
    amount_minor: int
    currency: str
    payee_name: str
    merchant_id: str
    livemode: bool
    expires_at: datetime
    note: str | None


# Asked, in the transaction of a new collect, whether it owns the VPA: True means the owner will
# answer (approve or decline) before ``expires_at``, and the switch scripts no answer of its own.
CollectListener = Callable[[AsyncSession, CollectNotice], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class CreditNotice:
    """The switch credited a bank account with a push: told to whoever may own the account
    (a merchant's VPA is paid into one), in the transaction the money moved in."""

    reference: str  # the push's reference on the switch (a refund of the payment names it)
    upi_transaction_id: str
    rrn: str | None
    payee_account_ref: str
    amount_minor: int
    currency: str
    livemode: bool
    credited_at: datetime
    payee_reference: str | None  # ``tr``: the payee's own reference, from its QR
    note: str | None
    payer_name: str | None
    payer_vpa_masked: str | None


# Told, in the transaction of a push that credited an account, of the credit: answers the id of
# the merchant whose payment it became (the account is behind that merchant's VPA), else None.
# A push moves money once (unique per request id), so a listener hears of it once; it must
# still treat a repeat as a no-op.
CreditListener = Callable[[AsyncSession, CreditNotice], Awaitable[str | None]]
# Asked before a payer's push pays a waiting intent request (the acquiring side validating
# the order, as a payee PSP does in NPCI's address validation), with the request's request id
# (the caller's, e.g. a charge's): False when the caller no longer waits for that payment (its
# PaymentIntent canceled, or confirmed again with another attempt) though the request's void
# has not reached the switch yet.
PayableCheck = Callable[[AsyncSession, str], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class IntentPayee:
    """Who a PSP's payer pays when they scan an intent link (a Checkout Session's QR): the
    merchant behind its ``tr``, shown by name, and the account the push goes to."""

    account_ref: str
    merchant_id: str
    name: str


class Switch(Protocol):
    """The UPI switch and its banks, as the PSP reaches them: account discovery, debit-card
    checks and balances at the payer's bank, push payments and their status, and the answer to
    a collect the switch offered to a VPA the PSP owns (a :data:`CollectListener` claimed it).

    Like a connector, a call that moves money or asks the switch (``push``, ``push_status``,
    ``answer_collect``) takes the caller's session outside any transaction; account discovery
    and opening run in the caller's transaction (the sandbox banks are tables of ours).
    """

    async def intent_payee(
        self, session: AsyncSession, vpa: str, reference: str | None
    ) -> IntentPayee | None:
        """The switch validating an address for a payment (NPCI's ReqValAdd): ``vpa`` is the
        switch's collecting VPA and ``reference`` (the link's ``tr``) names an intent request;
        else None. Reads in the caller's transaction, as account discovery does."""
        ...

    async def discover_accounts(
        self, session: AsyncSession, ring: KeyRing, mobile: SecretStr, holder_name: str
    ) -> list[BankAccountInfo]:
        """The payer's accounts at the banks, found by mobile number."""
        ...

    def verify_debit_card(
        self,
        ring: KeyRing,
        mobile: SecretStr,
        bank: str,
        last6: SecretStr,
        expiry_month: int,
        expiry_year: int,
    ) -> bool:
        """Whether the payer holds the debit card of their account at ``bank``."""
        ...

    async def account_balance(self, session: AsyncSession, account_ref: str) -> int:
        """The posted balance of a payer's account, in minor units."""
        ...

    async def open_account(
        self,
        session: AsyncSession,
        ring: KeyRing,
        bank: str,
        holder: SecretStr,
        *,
        opening_balance_minor: int,
    ) -> str:
        """An account at ``bank`` for ``holder`` (a merchant's VPA is paid into one): found,
        or opened with ``opening_balance_minor``; its ``account_ref``."""
        ...

    async def push(self, session: AsyncSession, request: PushRequest) -> RailOutcome:
        """Pay from one account to another (idempotent by ``request.request_id``)."""
        ...

    async def push_status(self, session: AsyncSession, reference: str) -> RailOutcome:
        """Where a push stands (its ``reference``)."""
        ...

    async def answer_collect(
        self,
        session: AsyncSession,
        reference: str,
        *,
        approve: bool,
        payer_account_ref: str | None = None,
    ) -> RailOutcome:
        """The owner's answer to a collect it claimed: approve pays it from
        ``payer_account_ref``, decline refuses it."""
        ...


class Scheduler(Protocol):
    """Work a rail asks for later, deferred in the caller's transaction (a rollback asks for
    nothing). The composition root injects one (``rails.tasks.JobScheduler``: jobs on
    PostgreSQL)."""

    async def callback_at(
        self, session: AsyncSession, reference: str, at: datetime, *, delivery: int
    ) -> None:
        """Deliver the rail's callback for ``reference`` at ``at`` (``delivery`` 1, or 2 for a
        duplicate)."""
        ...

    async def void_later(
        self, session: AsyncSession, rail: Rail, livemode: bool, request_id: str, reference: str
    ) -> None:
        """Ask the rail to void ``reference`` once this transaction commits."""
        ...

    async def payout_settles_at(self, session: AsyncSession, reference: str, at: datetime) -> None:
        """Settle the payout ``reference`` at ``at`` (a NEFT payout's half-hourly batch):
        ``rails.service.settle_payout`` then, every payout listener hearing its outcome."""
        ...


# --- payouts: money out to a bank account or a VPA ------------------------------------------


class PayoutRail(StrEnum):
    """The rails a payout leaves by (``rails.payout_domain`` chooses one)."""

    imps = "imps"  # NPCI's Immediate Payment Service: 24x7, instant, up to ₹5,00,000
    neft = "neft"  # RBI's NEFT: 24x7, settled in 48 half-hourly batches a day
    rtgs = "rtgs"  # RBI's RTGS: 24x7, real time, ₹2,00,000 and above
    upi = "upi"  # a UPI payout to a VPA: up to ₹1,00,000 a payment


# Stripe's payout statuses as the rail knows them (``canceled`` is the caller's: a payout the
# rail never received): ``pending`` the rail holds it (a NEFT payout waiting for its batch),
# ``in_transit`` sent and not yet confirmed (a deemed or timed-out credit, resolved by a status
# check), then ``paid`` or ``failed`` with Stripe's ``failure_code``.
PayoutStatus = Literal["pending", "in_transit", "paid", "failed"]


@dataclass(frozen=True, slots=True)
class BankAccountDestination:
    """An Indian bank account: its number (9 to 18 digits) and its branch's IFSC."""

    account_number: SecretStr
    ifsc: str


@dataclass(frozen=True, slots=True)
class VpaDestination:
    vpa: SecretStr


PayoutDestination = BankAccountDestination | VpaDestination


@dataclass(frozen=True, slots=True)
class PayoutRequest:
    request_id: str  # the caller's id of the payout (``po_…``): the same id is the same payout
    merchant_id: str
    livemode: bool
    amount_minor: int
    currency: str
    rail: PayoutRail  # chosen by ``rails.payout_domain.choose_payout_rail``; checked again here
    destination: PayoutDestination
    narration: str | None = None  # what the payee's statement shows; no personal data


@dataclass(frozen=True, slots=True)
class PayoutOutcome:
    """The rail's answer to a payout, or to a status check of it."""

    request_id: str
    reference: str  # the rail's id of the payout: status checks name it
    rail: PayoutRail
    status: PayoutStatus
    amount_minor: int
    currency: str
    # The rail's transaction reference, given when the rail accepts the payout: IMPS and UPI a
    # 12-digit RRN, NEFT a 16-character UTR, RTGS a 22-character UTR.
    utr: str | None
    destination_masked: str  # "XXXXXXXX1234" or "s******@sandbox": never the full number or VPA
    # When the money is expected in the destination account (a NEFT payout: its batch).
    arrival_at: datetime | None = None
    # Stripe's payout failure codes: account_closed, invalid_account_number,
    # bank_account_restricted, declined, could_not_process, …
    failure_code: str | None = None
    failure_message: str | None = None
    # in_transit: the earliest time a status check may resolve it.
    check_after: datetime | None = None

    @property
    def final(self) -> bool:
        return self.status in ("paid", "failed")


class PayoutConnector(Protocol):
    """A payout rail. Like a :class:`Connector`, it is called with the caller's session outside
    any transaction; ``request.request_id`` makes ``payout`` idempotent (the same id answers the
    same payout, never a second one; the same id with other parameters is refused)."""

    async def payout(self, session: AsyncSession, request: PayoutRequest) -> PayoutOutcome: ...

    async def status(self, session: AsyncSession, reference: str) -> PayoutOutcome:
        """Where a payout stands now; an ``in_transit`` payout checked from ``check_after`` on
        is resolved (a deemed credit confirmed)."""
        ...


# Called with every payout outcome a rail reports by itself (a NEFT batch settled), in the
# transaction of the rail's change; a repeat must be a no-op.
PayoutOutcomeHandler = Callable[[AsyncSession, PayoutOutcome], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class AccountValidationRequest:
    """A penny drop: ₹1 credited by IMPS to a bank account, whose bank answers with the name
    of the account's holder as it has it (settlement's bank accounts verify a merchant's payout
    account this way). The name the merchant gave travels too, as the validation services of
    Indian banks take it, but the match is the caller's: the answer carries the bank's name."""

    request_id: str  # the caller's id (the bank account's): the same id is the same penny drop
    merchant_id: str
    livemode: bool
    account_number: SecretStr
    ifsc: str
    account_holder_name: str


@dataclass(frozen=True, slots=True)
class AccountValidationOutcome:
    """The bank's answer to a penny drop. ``succeeded``: the rupee was credited and
    ``name_at_bank`` is the holder's name; ``failed``: the account cannot be credited
    (``failure_code`` ``account_closed`` or ``no_account``); ``pending``: the bank did not
    answer in time (deemed): ask again later with the same request id."""

    request_id: str
    status: Literal["succeeded", "failed", "pending"]
    reference: str  # the rail's id of the credit
    code: str  # the IMPS response code ("00", "M1", "M5", "08")
    amount_minor: int  # what was credited (100: one rupee), 0 unless succeeded
    name_at_bank: str | None = None
    failure_code: str | None = None


class AccountValidator(Protocol):
    """Validates a bank account by a penny drop; like a connector, called with the caller's
    session outside any transaction, idempotent by ``request.request_id``."""

    async def validate(
        self, session: AsyncSession, request: AccountValidationRequest
    ) -> AccountValidationOutcome: ...
