"""Pure rules of the rails: status-check pacing, amount wire formats, test values' behaviour.

No I/O here. The sandbox connectors (``rails.sandbox``) apply these rules to their stored state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from beyondpay.kit.cards import luhn_valid
from beyondpay.kit.upi import mask_vpa
from beyondpay.rails.protocol import Rail

# Status-check pacing, as offsets from the start of the transaction. UPI follows what is
# reported of NPCI's rules: the first check no sooner than 90 s after the transaction, at most
# 3 checks in 2 hours. Cards and net banking have no such rule; their pacing is ours: a card
# network answers within seconds or not at all, a bank's page may stay open for a while.
UPI_STATUS_CHECK_OFFSETS_S: Final = (90, 30 * 60, 2 * 3600)
CARD_STATUS_CHECK_OFFSETS_S: Final = (10, 60, 5 * 60)
NETBANKING_STATUS_CHECK_OFFSETS_S: Final = (60, 5 * 60, 30 * 60)
_OFFSETS_S: Final = {
    Rail.upi: UPI_STATUS_CHECK_OFFSETS_S,
    Rail.card: CARD_STATUS_CHECK_OFFSETS_S,
    Rail.netbanking: NETBANKING_STATUS_CHECK_OFFSETS_S,
}
# The biggest amount the sandbox rails take in one operation: ₹1,00,000 (UPI's common
# per-transaction limit), and as many minor units for other currencies.
AMOUNT_MINOR_MAX: Final = 1_00_000_00
LATENCY_MS_MAX: Final = 99_999


def next_status_check(rail: Rail, checks_made: int, started_at: datetime) -> datetime | None:
    """When the next status check of a transaction started at ``started_at`` may be made, given
    ``checks_made`` checks already made; ``None``: no check is left, give up (fail the payment
    and release the money)."""
    if checks_made < 0:
        raise ValueError("checks_made cannot be negative")
    offsets = _OFFSETS_S[rail]
    if checks_made >= len(offsets):
        return None
    return started_at + timedelta(seconds=offsets[checks_made])


# --- what each rail carries -------------------------------------------------------------------

# The rails this deployment offers, in the order a payer is shown them. UPI and net banking carry
# rupees only (NPCI's and the Indian banks' networks); the card network takes any currency. No
# merchant setting narrows this yet: every merchant is "enabled" for every rail its currency
# allows (docs/api.md, "Choosing payment method types").
RAILS_IN_ORDER: Final = (Rail.card, Rail.upi, Rail.netbanking)
_INR_ONLY: Final = frozenset({Rail.upi, Rail.netbanking})
# Rails whose payer always leaves the merchant's page (the bank's login page): what Stripe calls
# redirect-based, left out by ``automatic_payment_methods[allow_redirects]=never``. A card's
# 3-D Secure page and a UPI collect are not: a card without a challenge, a collect approved in
# the payer's app, never leave it.
REDIRECT_RAILS: Final = frozenset({Rail.netbanking})


def rails_for_currency(currency: str) -> tuple[Rail, ...]:
    """The rails a payment in ``currency`` (ISO 4217, any case) may be made on, in order."""
    inr = currency.lower() == "inr"
    return tuple(rail for rail in RAILS_IN_ORDER if inr or rail not in _INR_ONLY)


# --- amounts on the wire ---------------------------------------------------------------------

_RUPEES: Final = re.compile(r"^(0|[1-9][0-9]{0,15})\.([0-9]{2})$")
PAISE_PER_RUPEE: Final = 100


def rupees_from_minor(amount_minor: int) -> str:
    """``1050`` → ``"10.50"``: the decimal in rupees UPI and net banking carry."""
    if amount_minor < 0:
        raise ValueError("amount cannot be negative")
    rupees, paise = divmod(amount_minor, PAISE_PER_RUPEE)
    return f"{rupees}.{paise:02d}"


def minor_from_rupees(text: str) -> int:
    """``"10.50"`` → ``1050``; exactly two decimals, no sign, no exponent (never a float)."""
    match = _RUPEES.match(text)
    if match is None:
        raise ValueError("not an amount in rupees with two decimals")
    return int(match.group(1)) * PAISE_PER_RUPEE + int(match.group(2))


def parse_latency_ms(text: str) -> tuple[int, int]:
    """``"50-200"`` → ``(50, 200)``; ``"30"`` → ``(30, 30)``."""
    low_text, _, high_text = text.partition("-")
    low = int(low_text)
    high = int(high_text) if high_text else low
    if not 0 <= low <= high <= LATENCY_MS_MAX:
        raise ValueError("a latency range is min-max milliseconds with min <= max")
    return low, high


# --- cards -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CardBehaviour:
    """What the sandbox network does with a card number."""

    scenario: str  # approve | decline | challenge | challenge_decline | refund_fails | dispute
    network_code: str  # the ISO 8583 response code the network answers with
    failure_code: str | None = None
    decline_code: str | None = None
    message: str | None = None
    # An off-session payment that would be challenged (the customer is away, so it cannot be):
    # "authenticate" fails it with authentication_required, "unless_set_up" approves it when
    # it names the stored credential of a setup of this card, "approve" approves it anyway
    # (a card the issuer treats as set up already). Stripe's testing docs, "Authentication and
    # setup": 4000 0025 0000 3155 authenticates unless set up, 4000 0027 6000 3184 always.
    off_session: str = "authenticate"


_APPROVE: Final = CardBehaviour("approve", "00", off_session="unless_set_up")
# Stripe's documented test numbers and what they do (docs/testing.md, "Cards").
CARD_BEHAVIOURS: Final[dict[str, CardBehaviour]] = {
    "4242424242424242": _APPROVE,
    "5555555555554444": _APPROVE,
    "4000000000000002": CardBehaviour(
        "decline", "05", "card_declined", "generic_decline", "Your card was declined."
    ),
    "4000000000009995": CardBehaviour(
        "decline",
        "51",
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    "4000000000000069": CardBehaviour(
        "decline", "54", "expired_card", "expired_card", "Your card has expired."
    ),
    # Stripe's "attaches, then charges are declined": attaching asks nothing of the network,
    # so a customer can hold it as a default and every later charge fails (dunning's tests).
    "4000000000000341": CardBehaviour(
        "decline", "05", "card_declined", "generic_decline", "Your card was declined."
    ),
    "4000000000000127": CardBehaviour(
        "decline", "N7", "incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."
    ),
    "4000000000000119": CardBehaviour(
        "decline",
        "96",
        "processing_error",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
    ),
    "4000002500003155": CardBehaviour("challenge", "1A", off_session="unless_set_up"),
    "4000002760003184": CardBehaviour("challenge", "1A"),
    "4000003800000446": CardBehaviour("challenge", "1A", off_session="approve"),
    "4000000000003063": CardBehaviour("challenge", "1A"),
    "4000000000003220": CardBehaviour("challenge", "1A"),
    "4000008400001629": CardBehaviour("challenge_decline", "1A"),
    "4000000000005126": CardBehaviour("refund_fails", "00"),
    "4000000000000259": CardBehaviour("dispute", "00"),
}
PROCESSING_ERROR: Final = CARD_BEHAVIOURS["4000000000000119"]
INCORRECT_NUMBER: Final = CardBehaviour(
    "decline", "14", "incorrect_number", None, "Your card number is incorrect."
)
EXPIRED: Final = CARD_BEHAVIOURS["4000000000000069"]
AUTHENTICATION_FAILED: Final = CardBehaviour(
    "decline",
    "1A",
    "payment_intent_authentication_failure",
    None,
    "The provided payment method has failed authentication.",
)
DECLINED_AFTER_AUTHENTICATION: Final = CARD_BEHAVIOURS["4000000000000002"]
AUTHENTICATION_REQUIRED: Final = CardBehaviour(
    "decline",
    "1A",
    "authentication_required",
    "authentication_required",
    "Your card was declined. This transaction requires authentication.",
)


CARD_DIGITS_MIN: Final = 12
CARD_DIGITS_MAX: Final = 19


def card_number_valid(number: str) -> bool:
    """12 to 19 digits whose last is the Luhn check digit."""
    if not number.isdigit() or not CARD_DIGITS_MIN <= len(number) <= CARD_DIGITS_MAX:
        return False
    return luhn_valid(number)


def card_brand(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or "2221" <= number[:4] <= "2720":
        return "mastercard"
    if number[:2] in {"34", "37"}:
        return "amex"
    if number.startswith(("60", "65", "81", "82", "508")):
        return "rupay"
    return "unknown"


def card_behaviour(number: str, exp_month: int, exp_year: int, now: datetime) -> CardBehaviour:
    if not card_number_valid(number):
        return INCORRECT_NUMBER
    if (exp_year, exp_month) < (now.year, now.month) or not 1 <= exp_month <= 12:
        return EXPIRED
    return CARD_BEHAVIOURS.get(number, _APPROVE)


# --- disputes ----------------------------------------------------------------------------------

# A payment whose test value scripts a dispute (the card 4000 0000 0000 0259, the VPA
# dispute@sandbox) is taken back by the network this long after its capture, as Stripe's test
# card is "shortly after": long enough for the capture to be applied on our side first.
DISPUTE_SCENARIO: Final = "dispute"
DISPUTE_OPENS_AFTER_S: Final = 10


@dataclass(frozen=True, slots=True)
class DisputeReason:
    reason: str  # Stripe's reason: fraudulent, product_not_received, ...
    network_reason_code: str | None  # the network's code; None where we know none to cite


# Visa's 10.4 "Other fraud, card-absent environment", the reason of Stripe's 0259 card. For
# UPI we cite no NPCI chargeback reason code (its circulars are not public in full).
CARD_DISPUTE_REASON: Final = DisputeReason("fraudulent", "10.4")
UPI_DISPUTE_REASON: Final = DisputeReason("product_not_received", None)


def off_session_behaviour(behaviour: CardBehaviour, *, forced: bool, set_up: bool) -> CardBehaviour:
    """What an off-session payment meets where an on-session one would be challenged (by the
    card, or by ``forced``: the risk engine asked for 3-D Secure): the customer is away, so the
    issuer approves it only as its ``off_session`` rule says, given whether the payment names
    the stored credential of a setup of this card (``set_up``)."""
    challenged = behaviour.scenario.startswith("challenge") or (
        forced and behaviour.scenario != "decline"
    )
    if not challenged:
        return behaviour
    if behaviour.off_session == "approve" or (behaviour.off_session == "unless_set_up" and set_up):
        return _APPROVE
    return AUTHENTICATION_REQUIRED


# --- UPI ---------------------------------------------------------------------------------------

# What the switch shows of a payer's VPA: one character, enough to recognise, not to reach.
SWITCH_MASK_KEPT_CHARS: Final = 1


@dataclass(frozen=True, slots=True)
class NpciCode:
    code: str
    failure_code: str | None
    decline_code: str | None
    message: str


# NPCI response codes the sandbox switch answers with, and Stripe-style codes for each.
NPCI_CODES: Final[dict[str, NpciCode]] = {
    item.code: item
    for item in (
        NpciCode("00", None, None, "Transaction approved."),
        NpciCode("ZA", "upi_declined", "declined_by_payer", "The payer declined the request."),
        NpciCode("U69", "upi_collect_expired", None, "The collect request expired unanswered."),
        NpciCode("Z9", "upi_declined", "insufficient_funds", "The payer's account lacks funds."),
        NpciCode("U30", "upi_debit_failed", None, "The payer's bank could not debit the account."),
        NpciCode("U16", "upi_declined", "risk_threshold_exceeded", "Risk threshold exceeded."),
        NpciCode("ZM", "upi_declined", "invalid_pin", "The payer entered an invalid UPI PIN."),
        NpciCode("Z8", "upi_declined", "transaction_limit_exceeded", "Per-transaction limit."),
        NpciCode("U09", None, None, "No answer from the payer's bank yet (timeout)."),
        NpciCode("RB", None, None, "Deemed: the outcome is not known yet; check the status."),
        NpciCode("U01", "upi_duplicate", None, "Duplicate transaction."),
        NpciCode(
            "B3",
            "upi_declined",
            "transaction_not_permitted",
            "The payee refused the payment: the request it pays is closed or unknown.",
        ),
    )
}


@dataclass(frozen=True, slots=True)
class VpaBehaviour:
    # collect: the payer answers with final_code after the approval delay (or at expiry).
    # deemed: pending at once; the first status check from check_after on answers 00.
    # timeout: pending at once and forever.
    scenario: str
    final_code: str
    opening_balance_minor: int = 1_00_000_00  # ₹1,00,000 in the payer's sandbox bank account
    duplicate_callback: bool = False
    disputed: bool = False  # approved, then taken back by a chargeback (DISPUTE_SCENARIO)


INSUFFICIENT_OPENING_BALANCE_MINOR: Final = 100  # ₹1.00
# The test VPAs (docs/testing.md, "UPI"); any other well-formed VPA approves.
VPA_BEHAVIOURS: Final[dict[str, VpaBehaviour]] = {
    "success@sandbox": VpaBehaviour("collect", "00"),
    "failure@sandbox": VpaBehaviour("collect", "ZA"),
    "expired@sandbox": VpaBehaviour("collect", "U69"),
    "pending@sandbox": VpaBehaviour("deemed", "00"),
    "timeout@sandbox": VpaBehaviour("timeout", "U09"),
    "insufficient@sandbox": VpaBehaviour(
        "collect", "00", opening_balance_minor=INSUFFICIENT_OPENING_BALANCE_MINOR
    ),
    "debitfail@sandbox": VpaBehaviour("collect", "U30"),
    "risk@sandbox": VpaBehaviour("collect", "U16"),
    "wrongpin@sandbox": VpaBehaviour("collect", "ZM"),
    "duplicate@sandbox": VpaBehaviour("collect", "00", duplicate_callback=True),
    "dispute@sandbox": VpaBehaviour("collect", "00", disputed=True),
}
DEFAULT_VPA_BEHAVIOUR: Final = VpaBehaviour("collect", "00")


def vpa_behaviour(vpa: str) -> VpaBehaviour:
    return VPA_BEHAVIOURS.get(vpa, DEFAULT_VPA_BEHAVIOUR)


def mask_switch_vpa(vpa: str) -> str:
    """``success@sandbox`` → ``s******@sandbox`` (``SWITCH_MASK_KEPT_CHARS``)."""
    return mask_vpa(vpa, kept=SWITCH_MASK_KEPT_CHARS)


def upi_pay_link(payee_vpa: str, payee_name: str, reference: str, amount_minor: int) -> str:
    """The intent flow's ``upi://pay`` link (values percent-encoded, spaces as %20)."""
    from urllib.parse import quote

    parts = {
        "pa": payee_vpa,
        "pn": payee_name,
        "tr": reference,
        "am": rupees_from_minor(amount_minor),
        "cu": "INR",
    }
    return "upi://pay?" + "&".join(
        f"{key}={quote(value, safe='@.')}" for key, value in parts.items()
    )


# --- net banking -------------------------------------------------------------------------------

NETBANKING_BANKS: Final[dict[str, str]] = {
    "HDFC": "HDFC Bank (sandbox)",
    "ICIC": "ICICI Bank (sandbox)",
    "SBIN": "State Bank of India (sandbox)",
    "UTIB": "Axis Bank (sandbox)",
    "KKBK": "Kotak Mahindra Bank (sandbox)",
    "SBXD": "Sandbox Down Bank (always unavailable)",
}
NETBANKING_BANK_DOWN: Final = "SBXD"


# --- sandbox banks (the PSP's side) ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SandboxBank:
    code: str  # the bank's id in the sandbox: its ledger namespace is ``bank:<code>``
    name: str
    ifsc: str  # 4 letters, a 0, 6 characters: the branch where every sandbox account is kept


SANDBOX_BANK_PRIMARY: Final = "sbx1"  # the bank behind the @sandbox handle
SANDBOX_BANK_SECONDARY: Final = "sbx2"
SANDBOX_BANKS: Final[dict[str, SandboxBank]] = {
    bank.code: bank
    for bank in (
        SandboxBank(SANDBOX_BANK_PRIMARY, "Sandbox Bank A", "SBXA0000001"),
        SandboxBank(SANDBOX_BANK_SECONDARY, "Sandbox Bank B", "SBXB0000001"),
    )
}
IFSC_PATTERN: Final = re.compile(r"^[A-Z]{4}0[A-Z0-9]{6}$")
MOBILE_DIGITS: Final = 10
# Discovery by mobile number (docs/operations.md, "Rails"): deterministic so tests can choose.
MOBILE_SUFFIX_NO_ACCOUNTS: Final = "0000"
MOBILE_SUFFIX_SMALL_BALANCE: Final = "1"
OPENING_BALANCE_MINOR: Final = 1_00_000_00  # ₹1,00,000
SMALL_OPENING_BALANCE_MINOR: Final = 500_00  # ₹500: enough to pay a little, then Z9
# Every sandbox debit card ends in the last 6 digits of the mobile number and expires 12/2030.
DEBIT_CARD_DIGITS_CHECKED: Final = 6
DEBIT_CARD_EXPIRY_MONTH: Final = 12
DEBIT_CARD_EXPIRY_YEAR: Final = 2030
ACCOUNT_NUMBER_DIGITS_SHOWN: Final = 4
ACCOUNT_NUMBER_DIGITS: Final = 12


@dataclass(frozen=True, slots=True)
class DiscoveredAccount:
    bank: str
    opening_balance_minor: int


def accounts_of_mobile(mobile: str) -> list[DiscoveredAccount]:
    """The sandbox banks' accounts of a mobile number: one at sbx1; one at sbx2 too when the last
    digit is even; none at all when it ends in 0000. Those ending in 1 open with ₹500."""
    if len(mobile) != MOBILE_DIGITS or not mobile.isdigit():
        raise ValueError("a mobile number is 10 digits")
    if mobile.endswith(MOBILE_SUFFIX_NO_ACCOUNTS):
        return []
    small = mobile.endswith(MOBILE_SUFFIX_SMALL_BALANCE)
    balance = SMALL_OPENING_BALANCE_MINOR if small else OPENING_BALANCE_MINOR
    banks = [SANDBOX_BANK_PRIMARY]
    if int(mobile[-1]) % 2 == 0:
        banks.append(SANDBOX_BANK_SECONDARY)
    return [DiscoveredAccount(bank, balance) for bank in banks]


def mask_account_number(digest: bytes) -> str:
    """``XXXXXXXX1234``: the last digits come from a keyed digest naming the account, so they
    are stable for the account and say nothing of the mobile number."""
    shown = int.from_bytes(digest[:8], "big") % 10**ACCOUNT_NUMBER_DIGITS_SHOWN
    hidden = "X" * (ACCOUNT_NUMBER_DIGITS - ACCOUNT_NUMBER_DIGITS_SHOWN)
    return f"{hidden}{shown:0{ACCOUNT_NUMBER_DIGITS_SHOWN}d}"


def debit_card_expiry_matches(expiry_month: int, expiry_year: int) -> bool:
    return (expiry_month, expiry_year) == (DEBIT_CARD_EXPIRY_MONTH, DEBIT_CARD_EXPIRY_YEAR)
