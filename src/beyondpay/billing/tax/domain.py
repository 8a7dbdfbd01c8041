"""GST's rules, and the rules of tax rates and tax ids: pure, no I/O.

- **GSTIN** (:func:`check_gstin`): 15 characters, the registration's state code (2 digits), the
  holder's PAN (5 letters, 4 digits, a letter), the entity number of that PAN in that state
  (1-9, then A-Z), ``Z``, and a check character over the first 14: GSTN's mod-36 scheme (Luhn's
  algorithm over base 36): each character's value (0-9, A-Z = 10-35) is multiplied by 1 and 2
  alternately from the left, the product's base-36 digits are added, and the check character is
  the one that brings the sum to a multiple of 36. Any one character changed is caught.
- **Place of supply** (:func:`place_of_supply`): where GST says a supply happens, which decides
  the tax's kind (the IGST Act, 2017, sections 10 and 12).
- **The split** (:func:`gst_split`): within one state CGST and SGST (or UTGST) in halves, across
  states (or to a place outside India) IGST, in whole paise that sum to the tax.
- **A line's tax** (:func:`line_tax`): exclusive or inclusive of the rate, rounded half up to the
  paisa, line by line (as Stripe computes tax per line).
- **Financial years and invoice numbers** (:func:`financial_year`, :func:`invoice_number`):
  GST's year runs from 1 April; an invoice number is a consecutive serial per year, at most 16
  characters of letters, digits, ``-`` and ``/`` (the CGST Rules, 2017, rule 46(b)).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final, NamedTuple

from beyondpay.billing.tax.states import (
    FOREIGN_COUNTRY,
    RETIRED_CODES,
    STATES,
    StateTax,
    state_code_of,
)
from beyondpay.kit.invariants import invariant
from beyondpay.kit.money import Money

# ---- GSTIN ------------------------------------------------------------------------------------

GSTIN_CHARS: Final = 15
_BASE36: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_VALUE: Final = {character: value for value, character in enumerate(_BASE36)}
_PAN: Final = re.compile(r"[A-Z]{5}[0-9]{4}[A-Z]")
# The 14th character: Z for every regular registration. TDS and TCS registrations (D, C) and
# the other schemes' identification numbers (UIN, OIDAR, NRTP) have other shapes: a tax invoice
# is addressed to a regular registration, so they are refused.
_DEFAULT_CHARACTER: Final = "Z"


class GstinProblem(StrEnum):
    length = "length"
    characters = "characters"
    state_code = "state_code"
    pan = "pan"
    entity_number = "entity_number"
    default_character = "default_character"
    check_character = "check_character"


class GstinInvalidError(ValueError):
    """A text that is not a GSTIN: ``problem`` says which rule it breaks, the message how."""

    def __init__(self, problem: GstinProblem, message: str) -> None:
        self.problem = problem
        super().__init__(message)


def gstin_check_character(first_fourteen: str) -> str:
    """The check character GSTN computes over a GSTIN's first 14 characters (upper case)."""
    invariant(len(first_fourteen) == GSTIN_CHARS - 1, "a GSTIN's check covers 14 characters")
    total = 0
    for position, character in enumerate(first_fourteen):
        product = _VALUE[character] * (1 if position % 2 == 0 else 2)
        total += product // 36 + product % 36
    return _BASE36[-total % 36]


def check_gstin(text: str) -> str:
    """``text`` as a GSTIN (surrounding spaces dropped, upper case), or
    :class:`GstinInvalidError` naming the first rule it breaks."""
    gstin = text.strip().upper()
    if len(gstin) != GSTIN_CHARS:
        raise GstinInvalidError(GstinProblem.length, "A GSTIN has 15 characters.")
    if any(character not in _VALUE for character in gstin):
        raise GstinInvalidError(
            GstinProblem.characters, "A GSTIN has only letters (A-Z) and digits."
        )
    state = gstin[:2]
    if state in RETIRED_CODES:
        raise GstinInvalidError(
            GstinProblem.state_code,
            f"A GSTIN's first two digits are its state code; {state} is retired"
            f" ({RETIRED_CODES[state]}).",
        )
    if state not in STATES:
        raise GstinInvalidError(
            GstinProblem.state_code,
            "A GSTIN's first two digits are its state code: 01 to 38 (but 25 and 28), or 97.",
        )
    if not _PAN.fullmatch(gstin[2:12]):
        raise GstinInvalidError(
            GstinProblem.pan,
            "A GSTIN's characters 3 to 12 are a PAN: 5 letters, 4 digits and a letter.",
        )
    if gstin[12] == "0":
        raise GstinInvalidError(
            GstinProblem.entity_number,
            "A GSTIN's 13th character is the registration's number for its PAN in its state:"
            " 1 to 9, then A to Z.",
        )
    if gstin[13] != _DEFAULT_CHARACTER:
        raise GstinInvalidError(GstinProblem.default_character, "A GSTIN's 14th character is Z.")
    if gstin[14] != gstin_check_character(gstin[:14]):
        raise GstinInvalidError(
            GstinProblem.check_character,
            "The GSTIN's check character (the 15th) does not match the first 14: a character"
            " is mistyped.",
        )
    return gstin


def gstin_state(gstin: str) -> str:
    """A (checked) GSTIN's state code: where the registration is."""
    return gstin[:2]


# ---- place of supply --------------------------------------------------------------------------


class SupplyBasis(StrEnum):
    """What decided the place of supply."""

    gstin = "gstin"  # a registered recipient: the state of their GSTIN
    shipping = "shipping"  # the customer's shipping address
    address = "address"  # the customer's (billing) address
    supplier = "supplier"  # no usable address: the supplier's own state


class PlaceOfSupply(NamedTuple):
    state_code: str  # a GST state code, or 96 for a place outside India
    basis: SupplyBasis


INDIA: Final = "IN"


def address_place(address: dict[str, Any] | None) -> str | None:
    """The place an address names: its GST state code, 96 when it is outside India, or None
    when it says neither (no country and no state we know, or India with no state we know)."""
    if not address:
        return None
    country = (address.get("country") or "").strip().upper()
    if country and country != INDIA:
        return FOREIGN_COUNTRY
    return state_code_of(address.get("state"))


def place_of_supply(
    *,
    supplier_state: str,
    customer_gstin: str | None = None,
    shipping_address: dict[str, Any] | None = None,
    address: dict[str, Any] | None = None,
) -> PlaceOfSupply:
    """Where GST says the supply happens.

    A registered customer (a GSTIN): the state of the registration (IGST Act, section 12(2)(a):
    a service to a registered person is supplied where they are). Otherwise the customer's
    shipping address, then their address, in Stripe Tax's order of precedence (section 10(1):
    goods are supplied where their delivery ends; section 12(2)(b)(i): a service to anyone else
    where their address on record is); an address outside India is an export (section 7(5)(a)).
    No usable address: the supplier's own state (section 12(2)(b)(ii)).
    """
    invariant(supplier_state in STATES, "the supplier is registered in a GST state")
    if customer_gstin is not None:
        return PlaceOfSupply(gstin_state(customer_gstin), SupplyBasis.gstin)
    for basis, candidate in (
        (SupplyBasis.shipping, shipping_address),
        (SupplyBasis.address, address),
    ):
        place = address_place(candidate)
        if place is not None:
            return PlaceOfSupply(place, basis)
    return PlaceOfSupply(supplier_state, SupplyBasis.supplier)


# ---- the split --------------------------------------------------------------------------------


class GstKind(StrEnum):
    intra_state = "intra_state"  # CGST + SGST (or UTGST)
    inter_state = "inter_state"  # IGST (across states, or an export)


@dataclass(frozen=True, slots=True)
class GstSplit:
    """A tax amount as GST charges it. Within a state ``cgst_minor + state_minor`` (the state's
    half: SGST, or UTGST where ``state_tax`` says so), across states ``igst_minor``; the parts
    sum to the tax."""

    kind: GstKind
    cgst_minor: int
    state_minor: int
    state_tax: StateTax | None  # None across states
    igst_minor: int

    @property
    def total_minor(self) -> int:
        return self.cgst_minor + self.state_minor + self.igst_minor


def gst_split(*, tax_minor: int, supplier_state: str, place_of_supply: str) -> GstSplit:
    """``tax_minor`` as CGST and SGST (or UTGST) halves when the place of supply is the
    supplier's own state, else as IGST (IGST Act, sections 7 and 8). An odd paisa goes to CGST
    (``Money.split``: the larger share first), so the halves always sum to the tax."""
    invariant(supplier_state in STATES, "the supplier is registered in a GST state")
    invariant(
        place_of_supply in STATES or place_of_supply == FOREIGN_COUNTRY,
        "a place of supply is a GST state code or 96",
    )
    if place_of_supply != supplier_state:
        return GstSplit(GstKind.inter_state, 0, 0, None, tax_minor)
    cgst, state = (share.amount_minor for share in Money(tax_minor, "inr").split(2))
    split = GstSplit(GstKind.intra_state, cgst, state, STATES[supplier_state].state_tax, 0)
    invariant(split.total_minor == tax_minor, "the halves sum to the tax")
    return split


# ---- a line's tax -----------------------------------------------------------------------------

# Rates are kept in basis points of a percent, as integers: 18% is 1800.
BASIS_POINTS_PER_WHOLE: Final = 10_000
RATE_BASIS_POINTS_MAX: Final = BASIS_POINTS_PER_WHOLE  # 100%


class LineTax(NamedTuple):
    taxable_minor: int
    tax_minor: int


def _divide_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to the nearest integer, halves away from zero."""
    invariant(denominator > 0, "a positive denominator")
    quotient = (2 * abs(numerator) + denominator) // (2 * denominator)
    return quotient if numerator >= 0 else -quotient


def line_tax(amount_minor: int, rate_basis_points: int, inclusive: bool) -> LineTax:
    """The taxable amount and the tax of one line of ``amount_minor`` at the rate.

    Exclusive: the amount is taxable, the tax is ``amount * rate`` on top. Inclusive: the amount
    holds the tax, ``amount * rate / (1 + rate)``, and the rest is taxable. Rounded half up to
    the paisa (a negative line, a credit, mirrors a positive one); the taxable amount and the
    tax of an inclusive line sum to the amount exactly.
    """
    invariant(0 <= rate_basis_points <= RATE_BASIS_POINTS_MAX, "a rate from 0% to 100%")
    if not inclusive:
        return LineTax(
            amount_minor,
            _divide_half_up(amount_minor * rate_basis_points, BASIS_POINTS_PER_WHOLE),
        )
    tax = _divide_half_up(
        amount_minor * rate_basis_points, BASIS_POINTS_PER_WHOLE + rate_basis_points
    )
    return LineTax(amount_minor - tax, tax)


# ---- financial year and invoice numbers -------------------------------------------------------

FINANCIAL_YEAR_FIRST_MONTH: Final = 4  # April
IST: Final = timezone(timedelta(hours=5, minutes=30), "IST")
INVOICE_NUMBER_CHARS_MAX: Final = 16  # CGST Rules, rule 46(b)
INVOICE_PREFIX_CHARS_MAX: Final = 5
_INVOICE_PREFIX: Final = re.compile(r"[A-Z0-9](?:[A-Z0-9-]{0,3}[A-Z0-9])?")
_SEPARATORS_AND_YEAR_CHARS: Final = len("/2627/")


class InvoiceNumberError(ValueError):
    """No invoice number can be made: a prefix GST's 16 characters cannot hold, or a year's
    serials used up."""


def financial_year(on: date) -> int:
    """The financial year a day falls in, named by the calendar year it starts in: 31 March
    2027 is in 2026 (2026-27), 1 April 2027 in 2027."""
    return on.year if on.month >= FINANCIAL_YEAR_FIRST_MONTH else on.year - 1


def financial_year_at(moment: datetime) -> int:
    """The financial year of an instant, on India's calendar (IST): 31 March 2027 at 19:00 UTC
    is already 1 April in India."""
    invariant(moment.tzinfo is not None, "an aware instant")
    return financial_year(moment.astimezone(IST).date())


def financial_year_label(year: int) -> str:
    """``2026`` → ``"2627"``: the two years' last two digits, as invoice numbers print them."""
    return f"{year % 100:02d}{(year + 1) % 100:02d}"


def check_invoice_prefix(prefix: str) -> str:
    """A merchant's invoice number prefix: 1 to 5 upper-case letters, digits or inner ``-``."""
    if not _INVOICE_PREFIX.fullmatch(prefix):
        raise InvoiceNumberError(
            f"An invoice prefix is 1 to {INVOICE_PREFIX_CHARS_MAX} upper-case letters, digits or"
            " inner hyphens."
        )
    return prefix


def serial_digits(prefix: str) -> int:
    """How many digits the serial has after ``prefix``: every number is exactly 16 characters,
    so numbers of one prefix sort as they were issued."""
    return INVOICE_NUMBER_CHARS_MAX - len(check_invoice_prefix(prefix)) - _SEPARATORS_AND_YEAR_CHARS


def invoice_number(prefix: str, year: int, sequence: int) -> str:
    """``INV/2627/0000001``: the prefix, the financial year, and the serial (from 1,
    zero-padded to fill GST's 16 characters). A serial that does not fit is refused: a year
    holds ``10 ** serial_digits(prefix) - 1`` invoices per prefix."""
    digits = serial_digits(prefix)
    if not 1 <= sequence < 10**digits:
        raise InvoiceNumberError(
            f"Invoice serial {sequence} does not fit {digits} digits after the prefix {prefix!r}:"
            " a shorter prefix leaves room for more invoices a year."
        )
    number = f"{prefix}/{financial_year_label(year)}/{sequence:0{digits}d}"
    invariant(len(number) == INVOICE_NUMBER_CHARS_MAX, "an invoice number has 16 characters")
    return number


# ---- tax rates --------------------------------------------------------------------------------

# Stripe's tax types (tax_rate.tax_type). GST is charged with ``gst`` (or ``igst``) rates: the
# rate is the whole GST rate (18%), and an invoice splits its tax by the place of supply.
TAX_TYPES: Final = frozenset(
    {
        "admissions_tax", "amusement_tax", "attendance_tax", "communications_tax",
        "digital_excise_tax", "entertainment_tax", "get_fund", "gross_receipts_tax", "gst",
        "hospitality_tax", "hst", "igst", "jct", "lease_tax", "luxury_tax",
        "mass_transit_parking_tax", "nhil", "parking_tax", "pst", "qst", "resort_tax",
        "retail_delivery_fee", "rst", "sales_tax", "service_tax", "tourism_tax",
        "utility_users_tax", "vat",
    }
)  # fmt: skip
GST_TAX_TYPES: Final = frozenset({"gst", "igst"})


def rate_basis_points_of(percentage: Decimal) -> int:
    """A percentage (a ``Decimal`` already checked to hold at most 2 decimals, 0 to 100) in
    basis points: 18.0 → 1800, 0.25 → 25."""
    points = percentage * 100
    invariant(points == int(points), "a percentage has at most 2 decimals")
    return int(points)


def percentage_of(rate_basis_points: int) -> float:
    """Basis points as Stripe renders a percentage: 1800 → 18.0, 25 → 0.25."""
    return rate_basis_points / 100


# ---- tax ids ----------------------------------------------------------------------------------

IN_GST: Final = "in_gst"
TAX_ID_VALUE_CHARS_MAX: Final = 40
# Stripe's tax id types (tax_id.type). in_gst is checked as a GSTIN; the others are stored with
# a check of their shape only (see check_tax_id_value).
TAX_ID_TYPES: Final = frozenset(
    {
        "ad_nrt", "ae_trn", "al_tin", "am_tin", "ao_tin", "ar_cuit", "au_abn", "au_acn", "au_arn",
        "au_wpn", "aw_tin", "az_tin", "ba_tin", "bb_tin", "bd_bin", "bf_ifu", "bg_uic", "bh_vat",
        "bj_ifu", "bo_tin", "br_cnpj", "br_cpf", "bs_tin", "bw_vat", "by_tin", "ca_bn",
        "ca_gst_hst", "ca_pst_bc", "ca_pst_mb", "ca_pst_sk", "ca_qst", "cd_nif", "ch_uid",
        "ch_vat", "ci_vat", "cl_tin", "cm_niu", "cn_tin", "co_nit", "cr_tin", "cv_nif", "cz_dic",
        "de_stn", "do_rcn", "ec_ruc", "eg_tin", "es_cif", "et_tin", "eu_oss_vat", "eu_vat",
        "fo_vat", "fr_siren", "fr_siret", "fr_spi", "gb_vat", "ge_vat", "gh_tin", "gi_tin",
        "gn_nif", "hk_br", "hr_oib", "hu_tin", "ic_nif", "id_npwp", "il_vat", "in_gst", "is_kt",
        "is_vat", "it_cf", "jp_cn", "jp_rn", "jp_trn", "ke_pin", "kg_tin", "kh_tin", "kr_brn",
        "kz_bin", "la_tin", "li_uid", "li_vat", "lk_vat", "ma_vat", "md_cf", "md_vat", "me_pib",
        "mk_vat", "mr_nif", "mu_vat", "mx_rfc", "my_frp", "my_itn", "my_sst", "mz_nuit",
        "ng_tin", "no_vat", "no_voec", "np_pan", "nz_bn", "nz_gst", "om_vat", "pe_ruc", "ph_tin",
        "pl_nip", "pt_nif", "py_ruc", "ro_tin", "rs_pib", "ru_inn", "ru_kpp", "sa_vat", "sg_gst",
        "sg_uen", "si_tin", "sm_coe", "sn_ninea", "sr_fin", "sv_nit", "th_vat", "tj_tin",
        "tr_tin", "tt_bir", "tt_vat", "tw_vat", "tz_vat", "ua_vat", "ug_tin", "us_ein", "uy_ruc",
        "uz_tin", "uz_vat", "ve_rif", "vn_tin", "za_vat", "zm_tin", "zw_tin",
    }
)  # fmt: skip
# Letters and digits, with the separators tax ids are written with.
_TAX_ID_SHAPE: Final = re.compile(r"[0-9A-Za-z](?:[0-9A-Za-z .\-/]*[0-9A-Za-z])?")
_EU_VAT_COUNTRY: Final = re.compile(r"[A-Za-z]{2}")
# EU VAT numbers name Greece EL and Northern Ireland XI; their ISO 3166 countries are GR and GB.
_EU_VAT_PREFIX_COUNTRIES: Final = {"EL": "GR", "XI": "GB"}


class TaxIdValueError(ValueError):
    """A tax id's value that is not one of its type."""


def check_tax_id_value(type: str, value: str) -> str:
    """``value`` as a tax id of ``type`` is stored: an ``in_gst`` is a checked GSTIN
    (:class:`GstinInvalidError` says why not); another type's value is 1 to 40 letters and
    digits with inner spaces, dots, hyphens or slashes (an ``eu_vat`` begins with its country's
    two letters). Surrounding spaces are dropped."""
    invariant(type in TAX_ID_TYPES, "a tax id type Stripe has")
    if type == IN_GST:
        return check_gstin(value)
    stripped = value.strip()
    if len(stripped) > TAX_ID_VALUE_CHARS_MAX or not _TAX_ID_SHAPE.fullmatch(stripped):
        raise TaxIdValueError(
            f"A tax id is 1 to {TAX_ID_VALUE_CHARS_MAX} letters and digits, with spaces, dots,"
            " hyphens or slashes between them."
        )
    if type == "eu_vat" and not _EU_VAT_COUNTRY.match(stripped):
        raise TaxIdValueError("An EU VAT number begins with its country's two letters.")
    return stripped


def tax_id_country(type: str, value: str) -> str | None:
    """The country of a tax id: the type's (``in_gst`` → IN), an EU VAT number's own prefix
    (``DE…`` → DE); none for the EU's one-stop-shop number, which is the Union's."""
    if type == "eu_oss_vat":
        return None
    if type == "eu_vat":
        prefix = value[:2].upper()
        return _EU_VAT_PREFIX_COUNTRIES.get(prefix, prefix)
    return type.partition("_")[0].upper()
