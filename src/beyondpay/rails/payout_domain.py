"""Pure rules of payouts on India's rails: which rail a payout takes, when it arrives, the
references each rail gives it, and the sandbox payout rail's test values.

No I/O here. The rules follow RBI and NPCI as they stand (docs/settlement.md, "Payout rails",
cites the sources):

- IMPS (NPCI): 24x7, instant, up to ₹5,00,000 a payment (RBI raised it from ₹2,00,000 on
  8 October 2021, for every channel but SMS and IVRS).
- NEFT (RBI): 24x7 since 16 December 2019, in 48 half-hourly batches a day (the first settles
  after 00:30 IST, the last at 00:00); no minimum and no maximum set by RBI.
- RTGS (RBI): 24x7 since 14 December 2020, real time, ₹2,00,000 and above, no maximum. The
  issue asked for RTGS "in business hours": RBI made it round the clock, so no hour refuses it.
- UPI payout to a VPA: UPI's common per-payment limit, ₹1,00,000.

Every rail is open at every hour, so the time of a payout no longer changes which rail it takes:
it changes when the money arrives (a NEFT payout waits for its batch).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Final, Literal

from beyondpay.kit.money import Money
from beyondpay.rails.errors import PayoutRailUnusableError, RailAmountInvalidError
from beyondpay.rails.protocol import PayoutRail

IST: Final = timezone(timedelta(hours=5, minutes=30), "IST")
IMPS_AMOUNT_MINOR_MAX: Final = 5_00_000_00  # ₹5,00,000
RTGS_AMOUNT_MINOR_MIN: Final = 2_00_000_00  # ₹2,00,000
UPI_PAYOUT_AMOUNT_MINOR_MAX: Final = 1_00_000_00  # ₹1,00,000
# Our own cap on one payout (RBI sets none for NEFT and RTGS): ₹10,00,00,000 (₹10 crore), so
# a bug that pays a balance many times over is stopped at the edge.
PAYOUT_AMOUNT_MINOR_MAX: Final = 10_00_00_000_00
NEFT_BATCH_INTERVAL: Final = timedelta(minutes=30)
CURRENCY: Final = "inr"

Destination = Literal["bank_account", "vpa"]
BANK_RAILS: Final = frozenset({PayoutRail.imps, PayoutRail.neft, PayoutRail.rtgs})


@dataclass(frozen=True, slots=True)
class RailChoice:
    rail: PayoutRail
    # When the money is expected at the destination: at once, or the NEFT batch it joins.
    arrival_at: datetime


def _amount_range(rail: PayoutRail) -> tuple[int, int]:
    """The smallest and the biggest amount ``rail`` carries, in paise."""
    if rail is PayoutRail.imps:
        return 1, IMPS_AMOUNT_MINOR_MAX
    if rail is PayoutRail.rtgs:
        return RTGS_AMOUNT_MINOR_MIN, PAYOUT_AMOUNT_MINOR_MAX
    if rail is PayoutRail.upi:
        return 1, UPI_PAYOUT_AMOUNT_MINOR_MAX
    return 1, PAYOUT_AMOUNT_MINOR_MAX


def _rupees(amount_minor: int) -> str:
    return Money(amount_minor, CURRENCY).format()  # ₹5,00,000.00


def check_rail(rail: PayoutRail, destination: Destination, amount_minor: int) -> None:
    """``rail`` can carry ``amount_minor`` paise to ``destination``, else a 400 naming why:
    ``method`` for a rail that cannot reach the destination, ``amount`` for an amount outside
    the rail's range (its message says the range)."""
    if destination == "vpa" and rail is not PayoutRail.upi:
        raise PayoutRailUnusableError(
            f"A payout to a VPA goes by UPI; {rail.value.upper()} pays bank accounts only.",
            param="method",
            reason="destination_unsupported",
        )
    if destination == "bank_account" and rail is PayoutRail.upi:
        raise PayoutRailUnusableError(
            "A UPI payout goes to a VPA; a bank account is paid by IMPS, NEFT or RTGS.",
            param="method",
            reason="destination_unsupported",
        )
    low, high = _amount_range(rail)
    if amount_minor < low:
        raise PayoutRailUnusableError(
            f"{rail.value.upper()} carries {_rupees(low)} and above.",
            param="amount",
            reason="amount_too_small",
        )
    if amount_minor > high:
        raise PayoutRailUnusableError(
            f"{rail.value.upper()} carries at most {_rupees(high)} in one payout.",
            param="amount",
            reason="amount_too_large",
        )


def check_amount(amount_minor: int, currency: str) -> None:
    """A payout's amount and currency at the edge: a positive integer of paise, at most
    ``PAYOUT_AMOUNT_MINOR_MAX``, in rupees (India's rails carry nothing else)."""
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
        raise RailAmountInvalidError(param="amount")
    if not 0 < amount_minor <= PAYOUT_AMOUNT_MINOR_MAX:
        raise RailAmountInvalidError(
            f"A payout's amount is 1 to {PAYOUT_AMOUNT_MINOR_MAX} paise.", param="amount"
        )
    if currency.lower() != CURRENCY:
        raise PayoutRailUnusableError(
            "India's payout rails carry rupees only (currency inr).",
            param="currency",
            reason="currency_unsupported",
        )


def next_neft_batch(at: datetime) -> datetime:
    """The NEFT batch a payout accepted at ``at`` joins: the next half hour of IST strictly
    after it (a payout accepted at the very moment of a batch waits for the next one). In UTC:
    IST is 5 h 30 min ahead, so IST's half hours are UTC's too."""
    if at.tzinfo is None:
        raise ValueError("a payout's time must be aware")
    local = at.astimezone(IST)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    batches_done = (local - midnight) // NEFT_BATCH_INTERVAL
    return (midnight + (batches_done + 1) * NEFT_BATCH_INTERVAL).astimezone(UTC)


def arrival(rail: PayoutRail, at: datetime) -> datetime:
    """When a payout accepted at ``at`` on ``rail`` reaches the destination (the sandbox credits
    a NEFT batch as it settles; RBI allows the beneficiary's bank 2 hours after it)."""
    return next_neft_batch(at) if rail is PayoutRail.neft else at.astimezone(UTC)


def choose_payout_rail(
    amount_minor: int,
    currency: str,
    destination: Destination,
    at: datetime,
    preferred: PayoutRail | None = None,
) -> RailChoice:
    """The rail a payout of ``amount_minor`` paise to ``destination`` accepted at ``at`` takes.

    A VPA is paid by UPI. A bank account is paid by IMPS up to ₹5,00,000 (instant at any hour),
    above that by RTGS (instant, 24x7, ₹2,00,000 and above); NEFT only when the merchant asks
    for it (it waits for a half-hourly batch and is never faster). ``preferred`` — the
    merchant's choice — is used when it can carry the payout, else refused with the reason
    (:func:`check_rail`): no silent switch to another rail.
    """
    check_amount(amount_minor, currency)
    if preferred is not None:
        rail = preferred
    elif destination == "vpa":
        rail = PayoutRail.upi
    elif amount_minor <= IMPS_AMOUNT_MINOR_MAX:
        rail = PayoutRail.imps
    else:
        rail = PayoutRail.rtgs
    check_rail(rail, destination, amount_minor)
    return RailChoice(rail=rail, arrival_at=arrival(rail, at))


# --- the rails' references -----------------------------------------------------------------

RRN_DIGITS: Final = 12
RRN_SEQUENCE_DIGITS: Final = 6
NEFT_UTR_CHARS: Final = 16
RTGS_UTR_CHARS: Final = 22
NEFT_SEQUENCE_DIGITS: Final = 6
RTGS_SEQUENCE_DIGITS: Final = 8
SANDBOX_REMITTER_BANK: Final = "SBXP"  # the IFSC bank code of the sandbox's payout bank
RTGS_CHANNEL_INTERNET: Final = "1"


def rrn(at: datetime, sequence: str) -> str:
    """IMPS' and UPI's retrieval reference number: 12 digits ``ydddhhnnnnnn`` (the year's last
    digit, the day of the year, the hour, then 6 digits of sequence), in IST."""
    if len(sequence) != RRN_SEQUENCE_DIGITS or not sequence.isdigit():
        raise ValueError("an RRN's sequence is 6 digits")
    local = at.astimezone(IST)
    return f"{local.year % 10}{local.timetuple().tm_yday:03d}{local.hour:02d}{sequence}"


def neft_utr(bank: str, at: datetime, sequence: str) -> str:
    """A NEFT UTR: 16 characters ``XXXXNyydddnnnnnn`` (the sending bank's IFSC code, ``N``,
    the year in 2 digits and the day of the year, then 6 digits of sequence), in IST."""
    if len(sequence) != NEFT_SEQUENCE_DIGITS or not sequence.isdigit():
        raise ValueError("a NEFT UTR's sequence is 6 digits")
    local = at.astimezone(IST)
    return f"{bank}N{local.year % 100:02d}{local.timetuple().tm_yday:03d}{sequence}"


def rtgs_utr(bank: str, at: datetime, sequence: str) -> str:
    """An RTGS UTR: 22 characters ``XXXXRCyyyymmddnnnnnnnn`` (the sending bank's IFSC code,
    ``R``, the channel, the date, then 8 digits of sequence), in IST."""
    if len(sequence) != RTGS_SEQUENCE_DIGITS or not sequence.isdigit():
        raise ValueError("an RTGS UTR's sequence is 8 digits")
    local = at.astimezone(IST)
    return f"{bank}R{RTGS_CHANNEL_INTERNET}{local:%Y%m%d}{sequence}"


# --- destinations ------------------------------------------------------------------------

ACCOUNT_NUMBER_DIGITS_MIN: Final = 9
ACCOUNT_NUMBER_DIGITS_MAX: Final = 18
ACCOUNT_NUMBER_DIGITS_SHOWN: Final = 4


def account_number_valid(number: str) -> bool:
    """An Indian bank account number: 9 to 18 digits (banks differ within that range)."""
    return (
        number.isascii()
        and number.isdigit()
        and (ACCOUNT_NUMBER_DIGITS_MIN <= len(number) <= ACCOUNT_NUMBER_DIGITS_MAX)
    )


def mask_account(number: str) -> str:
    """``"000123456789"`` → ``"XXXXXXXX6789"``: the last 4 digits, one X for each hidden."""
    shown = number[-ACCOUNT_NUMBER_DIGITS_SHOWN:]
    return "X" * (len(number) - len(shown)) + shown


# --- the sandbox payout rail's test values -------------------------------------------------


# What the sandbox payout rail does with a destination (its "scenario"): pay it, leave the
# credit deemed (in transit until a status check confirms it), or fail with one of Stripe's
# payout failure codes, each with the message the rail gives.
PAID: Final = "paid"
DEEMED: Final = "deemed"
ACCOUNT_CLOSED: Final = "account_closed"
NO_ACCOUNT: Final = "invalid_account_number"
RESTRICTED: Final = "bank_account_restricted"
DECLINED: Final = "declined"
NOT_PROCESSED: Final = "could_not_process"
FAILURE_MESSAGES: Final[dict[str, str]] = {
    ACCOUNT_CLOSED: "The bank account has been closed.",
    NO_ACCOUNT: "No account with this number at the IFSC's branch.",
    RESTRICTED: "The bank account takes no credits (frozen or restricted).",
    DECLINED: "The beneficiary's bank declined the payout.",
    NOT_PROCESSED: "The rail could not process the payout.",
}
SCENARIOS: Final = frozenset({PAID, DEEMED, *FAILURE_MESSAGES})
# Test account numbers (docs/settlement.md, "Payout rails"), after Stripe's test bank accounts
# where Stripe has the case; any other well-formed account number is paid.
ACCOUNT_SCENARIOS: Final[dict[str, str]] = {
    "000111111113": ACCOUNT_CLOSED,
    "000111111116": NO_ACCOUNT,
    "000222222227": RESTRICTED,
    "000333333335": DECLINED,
    "000444444440": NOT_PROCESSED,
    "000555555553": DEEMED,
}
# IFSC branch codes (the last 6 characters) that do not hold the account: a wrong IFSC.
IFSC_BRANCH_SCENARIOS: Final[dict[str, str]] = {
    "000404": NO_ACCOUNT,  # the branch has no such account: the IFSC does not match
    "000403": RESTRICTED,  # the branch restricts credits to the account
}
VPA_SCENARIOS: Final[dict[str, str]] = {
    "payout.closed@sandbox": ACCOUNT_CLOSED,
    "payout.invalid@sandbox": NO_ACCOUNT,
    "payout.restricted@sandbox": RESTRICTED,
    "payout.declined@sandbox": DECLINED,
    "payout.error@sandbox": NOT_PROCESSED,
    "payout.deemed@sandbox": DEEMED,
}


def bank_account_scenario(account_number: str, ifsc: str) -> str:
    """A wrong IFSC is found before the account (the branch is asked first)."""
    branch = IFSC_BRANCH_SCENARIOS.get(ifsc[-6:])
    if branch is not None:
        return branch
    return ACCOUNT_SCENARIOS.get(account_number, PAID)


def vpa_scenario(vpa: str) -> str:
    return VPA_SCENARIOS.get(vpa, PAID)


# A deemed payout (the beneficiary's bank did not confirm the credit in time) is in transit
# until a status check from this long after it: NPCI's pacing for UPI, used for IMPS too.
DEEMED_CHECK_AFTER_S: Final = 90
