"""GST state codes, and what a customer's address may call each state. Pure data, no I/O.

GST numbers India's states and union territories with two digits (the first two characters of
a GSTIN, and the "place of supply" an invoice names): 01 Jammu and Kashmir … 38 Ladakh, and 97
for "Other Territory" (the offshore areas beyond the states' waters). 96 stands for a place
outside India (an export) in a place of supply, never in a GSTIN.

Two codes are retired: 25 (Daman and Diu, merged with Dadra and Nagar Haveli into 26 on
26 January 2020) and 28 (Andhra Pradesh before its 2014 division; GST, from 2017, registers it
as 37). No current GSTIN begins with them, and a place of supply never is one.

An address names its state as Stripe's ``address[state]`` holds it: an ISO 3166-2:IN code
("KA" or "IN-KA", current or superseded: ISO renamed Chhattisgarh CT → CG, Odisha OR → OD,
Telangana TG → TS and Uttarakhand UT → UK in 2023, and replaced DN and DD by DH in 2020), the
state's name (with the spellings people still write: Orissa, Pondicherry, Uttaranchal, "Jammu &
Kashmir"), or its GST code itself ("29").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from beyondpay.kit.invariants import invariant

FOREIGN_COUNTRY: Final = "96"  # a place of supply outside India: an export
OTHER_TERRITORY: Final = "97"
RETIRED_CODES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "25": "Daman and Diu, merged into 26 on 26 January 2020",
        "28": "Andhra Pradesh before its 2014 division, registered as 37 under GST",
    }
)


class StateTax(StrEnum):
    """What the state's half of an intra-state supply is called: SGST in a state (and in the
    union territories with a legislature: Delhi, Puducherry, Jammu and Kashmir), UTGST in the
    union territories without one (the UTGST Act, 2017, section 7)."""

    sgst = "sgst"
    utgst = "utgst"


@dataclass(frozen=True, slots=True)
class State:
    code: str  # the GST state code, two digits
    name: str
    iso_codes: tuple[str, ...]  # ISO 3166-2:IN without "IN-", current first
    aliases: tuple[str, ...] = ()  # other names in use
    state_tax: StateTax = StateTax.sgst


_UT = StateTax.utgst
STATES: Final[Mapping[str, State]] = MappingProxyType(
    {
        state.code: state
        for state in (
            State("01", "Jammu and Kashmir", ("JK",)),
            State("02", "Himachal Pradesh", ("HP",)),
            State("03", "Punjab", ("PB",)),
            State("04", "Chandigarh", ("CH",), state_tax=_UT),
            State("05", "Uttarakhand", ("UK", "UT", "UL"), ("Uttaranchal",)),
            State("06", "Haryana", ("HR",)),
            State(
                "07",
                "Delhi",
                ("DL",),
                ("New Delhi", "NCT of Delhi", "National Capital Territory of Delhi"),
            ),
            State("08", "Rajasthan", ("RJ",)),
            State("09", "Uttar Pradesh", ("UP",)),
            State("10", "Bihar", ("BR",)),
            State("11", "Sikkim", ("SK",)),
            State("12", "Arunachal Pradesh", ("AR",)),
            State("13", "Nagaland", ("NL",)),
            State("14", "Manipur", ("MN",)),
            State("15", "Mizoram", ("MZ",)),
            State("16", "Tripura", ("TR",)),
            State("17", "Meghalaya", ("ML",)),
            State("18", "Assam", ("AS",)),
            State("19", "West Bengal", ("WB",)),
            State("20", "Jharkhand", ("JH",)),
            State("21", "Odisha", ("OD", "OR"), ("Orissa",)),
            State("22", "Chhattisgarh", ("CG", "CT"), ("Chattisgarh",)),
            State("23", "Madhya Pradesh", ("MP",)),
            State("24", "Gujarat", ("GJ",)),
            State(
                "26",
                "Dadra and Nagar Haveli and Daman and Diu",
                ("DH", "DN", "DD"),
                ("Dadra and Nagar Haveli", "Daman and Diu"),
                state_tax=_UT,
            ),
            State("27", "Maharashtra", ("MH",)),
            State("29", "Karnataka", ("KA",)),
            State("30", "Goa", ("GA",)),
            State("31", "Lakshadweep", ("LD",), ("Lakshadweep Islands",), state_tax=_UT),
            State("32", "Kerala", ("KL",)),
            State("33", "Tamil Nadu", ("TN",)),
            State("34", "Puducherry", ("PY",), ("Pondicherry",)),
            State(
                "35",
                "Andaman and Nicobar Islands",
                ("AN",),
                ("Andaman and Nicobar",),
                state_tax=_UT,
            ),
            State("36", "Telangana", ("TS", "TG")),
            State("37", "Andhra Pradesh", ("AP",)),
            State("38", "Ladakh", ("LA",), state_tax=_UT),
            State(OTHER_TERRITORY, "Other Territory", (), state_tax=_UT),
        )
    }
)


def _key(text: str) -> str:
    """``"Jammu & Kashmir."`` and ``"jammu and  kashmir"`` alike: case, ``&``, dots and spacing
    do not matter."""
    spaced = text.casefold().replace("&", " and ").replace(".", "").replace("-", " ")
    return " ".join(spaced.split())


def _lookup() -> Mapping[str, str]:
    names: dict[str, str] = {}
    for state in STATES.values():
        keys = [state.code, state.name, *state.aliases, *state.iso_codes]
        keys += [f"IN-{iso}" for iso in state.iso_codes]
        for key in keys:
            normalised = _key(key)
            known = names.setdefault(normalised, state.code)
            invariant(known == state.code, f"{key!r} names one state only")
    return MappingProxyType(names)


_BY_KEY: Final = _lookup()


def state_code_of(text: str | None) -> str | None:
    """The GST state code an address's ``state`` names, or None when it names none we know."""
    if text is None:
        return None
    return _BY_KEY.get(_key(text))


def state_name(code: str) -> str:
    """``"29"`` → ``"Karnataka"``; ``"96"`` → ``"Foreign Country"``."""
    if code == FOREIGN_COUNTRY:
        return "Foreign Country"
    return STATES[code].name
