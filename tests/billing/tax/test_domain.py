"""GST's rules, exhaustively where the space is small and by property where it is not: the GSTIN
checksum and its refusals, every state code and what addresses call it, the place of supply,
the CGST/SGST/IGST split, a line's tax, financial years and invoice numbers, tax id values."""

from __future__ import annotations

import string
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from beyondpay.billing.tax.domain import (
    INVOICE_NUMBER_CHARS_MAX,
    GstinInvalidError,
    GstinProblem,
    GstKind,
    InvoiceNumberError,
    SupplyBasis,
    TaxIdValueError,
    check_gstin,
    check_tax_id_value,
    financial_year,
    financial_year_at,
    financial_year_label,
    gst_split,
    gstin_check_character,
    invoice_number,
    line_tax,
    place_of_supply,
    serial_digits,
    tax_id_country,
)
from beyondpay.billing.tax.states import (
    FOREIGN_COUNTRY,
    RETIRED_CODES,
    STATES,
    StateTax,
    state_code_of,
    state_name,
)

# The example GSTIN GST guides print (a firm's, in Maharashtra): its check character is V.
DOCS_EXAMPLE = "27AAPFU0939F1ZV"
ALPHABET = string.digits + string.ascii_uppercase
UT_WITHOUT_LEGISLATURE = {"04", "26", "31", "35", "38", "97"}

state_codes = st.sampled_from(sorted(STATES))
pans = st.tuples(
    st.text(string.ascii_uppercase, min_size=5, max_size=5),
    st.text(string.digits, min_size=4, max_size=4),
    st.sampled_from(string.ascii_uppercase),
).map("".join)
entity_numbers = st.sampled_from(ALPHABET[1:])


@st.composite
def gstins(draw: st.DrawFn) -> str:
    """A well-formed GSTIN: a state, a PAN, an entity number, Z, and its check character."""
    body = draw(state_codes) + draw(pans) + draw(entity_numbers) + "Z"
    return body + gstin_check_character(body)


def _problem(text: str) -> GstinProblem:
    with pytest.raises(GstinInvalidError) as raised:
        check_gstin(text)
    return raised.value.problem


# ---- GSTIN ------------------------------------------------------------------------------------


def test_the_documented_example_is_valid_and_normalised() -> None:
    assert check_gstin(DOCS_EXAMPLE) == DOCS_EXAMPLE
    assert check_gstin(f"  {DOCS_EXAMPLE.lower()} ") == DOCS_EXAMPLE
    assert gstin_check_character(DOCS_EXAMPLE[:14]) == "V"


def test_the_placeholder_guides_print_fails_its_checksum() -> None:
    # "22AAAAA0000A1Z5" shows the format in many guides; its check character would be C.
    assert _problem("22AAAAA0000A1Z5") is GstinProblem.check_character
    assert gstin_check_character("22AAAAA0000A1Z") == "C"


@given(gstins())
def test_every_well_formed_gstin_is_accepted(gstin: str) -> None:
    assert check_gstin(gstin) == gstin


@given(gstins(), st.integers(min_value=0, max_value=14), st.sampled_from(ALPHABET + "-/ .@"))
def test_any_single_character_changed_is_refused(gstin: str, position: int, new: str) -> None:
    mutated = gstin[:position] + new + gstin[position + 1 :]
    if mutated == gstin:
        return
    with pytest.raises(GstinInvalidError):
        check_gstin(mutated)


def test_every_single_character_mutation_of_the_example_is_refused() -> None:
    """All 15 x 35 substitutions with another letter or digit, exhaustively."""
    refused = 0
    for position in range(15):
        for new in ALPHABET:
            if new == DOCS_EXAMPLE[position]:
                continue
            mutated = DOCS_EXAMPLE[:position] + new + DOCS_EXAMPLE[position + 1 :]
            with pytest.raises(GstinInvalidError):
                check_gstin(mutated)
            refused += 1
    assert refused == 15 * 35


@given(gstins(), st.integers(min_value=0, max_value=13))
def test_swapping_two_neighbours_is_refused_when_it_changes_the_text(
    gstin: str, position: int
) -> None:
    swapped = gstin[:position] + gstin[position + 1] + gstin[position] + gstin[position + 2 :]
    if swapped == gstin:
        return
    # Luhn's scheme misses a few swaps (as mod 10 misses 09/90); the rules around it catch
    # most, and what passes must still be a well-formed GSTIN.
    try:
        accepted = check_gstin(swapped)
    except GstinInvalidError:
        return
    assert accepted[14] == gstin_check_character(accepted[:14])


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("27AAPFU0939F1Z", GstinProblem.length),
        ("27AAPFU0939F1ZVV", GstinProblem.length),
        ("", GstinProblem.length),
        ("27AAPFU0939F1Z-", GstinProblem.characters),
        ("27AAPFU 939F1ZV", GstinProblem.characters),
        ("27AAPFU0939F1ZÉ", GstinProblem.characters),
        ("00AAPFU0939F1ZV", GstinProblem.state_code),
        ("39AAPFU0939F1ZV", GstinProblem.state_code),
        ("96AAPFU0939F1ZV", GstinProblem.state_code),  # a place of supply, never a GSTIN
        ("99AAPFU0939F1ZV", GstinProblem.state_code),
        ("25AAPFU0939F1ZV", GstinProblem.state_code),  # retired
        ("28AAPFU0939F1ZV", GstinProblem.state_code),  # retired
        ("271APFU0939F1ZV", GstinProblem.pan),
        ("27AAPFUA939F1ZV", GstinProblem.pan),
        ("27AAPFU093991ZV", GstinProblem.pan),
        ("27AAPFU0939F0ZV", GstinProblem.entity_number),
        ("27AAPFU0939F1DV", GstinProblem.default_character),
        ("27AAPFU0939F1ZW", GstinProblem.check_character),
    ],
)
def test_each_rule_is_named(text: str, problem: GstinProblem) -> None:
    assert _problem(text) is problem


def test_a_retired_state_code_says_why() -> None:
    with pytest.raises(GstinInvalidError, match="retired"):
        check_gstin("25AAPFU0939F1ZV")


@pytest.mark.parametrize("code", sorted(STATES))
def test_a_gstin_of_every_state_is_accepted(code: str) -> None:
    body = f"{code}AAPFU0939F1Z"
    assert check_gstin(body + gstin_check_character(body)).startswith(code)


# ---- states -----------------------------------------------------------------------------------


def test_the_state_table_is_gst_s_list() -> None:
    expected = {f"{number:02d}" for number in range(1, 39)} - set(RETIRED_CODES) | {"97"}
    assert set(STATES) == expected
    assert state_name("29") == "Karnataka" and state_name("38") == "Ladakh"
    assert state_name(FOREIGN_COUNTRY) == "Foreign Country"


@pytest.mark.parametrize("code", sorted(STATES))
def test_every_state_is_found_by_its_code_its_name_and_its_iso_codes(code: str) -> None:
    state = STATES[code]
    assert state_code_of(code) == code
    assert state_code_of(state.name) == code
    assert state_code_of(state.name.upper()) == code
    for alias in state.aliases:
        assert state_code_of(alias) == code
    for iso in state.iso_codes:
        assert state_code_of(iso) == code
        assert state_code_of(iso.lower()) == code
        assert state_code_of(f"IN-{iso}") == code
    expected = StateTax.utgst if code in UT_WITHOUT_LEGISLATURE else StateTax.sgst
    assert state.state_tax is expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("KA", "29"),
        ("IN-KA", "29"),
        ("Karnataka", "29"),
        ("  karnataka ", "29"),
        ("Jammu & Kashmir", "01"),
        ("Orissa", "21"),
        ("IN-OR", "21"),
        ("IN-OD", "21"),
        ("IN-TG", "36"),
        ("TS", "36"),
        ("IN-CT", "22"),
        ("CG", "22"),
        ("IN-UT", "05"),
        ("UK", "05"),
        ("Uttaranchal", "05"),
        ("DN", "26"),
        ("DD", "26"),
        ("DH", "26"),
        ("Daman and Diu", "26"),
        ("Pondicherry", "34"),
        ("N.C.T. of Delhi", "07"),
        ("New Delhi", "07"),
        ("Andaman & Nicobar Islands", "35"),
    ],
)
def test_what_addresses_call_a_state(text: str, code: str) -> None:
    assert state_code_of(text) == code


@pytest.mark.parametrize("text", [None, "", "XX", "IN-XX", "California", "25", "28", "96", "99"])
def test_what_names_no_state(text: str | None) -> None:
    assert state_code_of(text) is None


# ---- place of supply --------------------------------------------------------------------------

BENGALURU = {"line1": "1 MG Road", "city": "Bengaluru", "state": "KA", "country": "IN"}
PUNE = {"city": "Pune", "state": "Maharashtra", "country": "IN"}
BERLIN = {"city": "Berlin", "state": "BE", "country": "DE"}


def test_a_registered_customer_is_supplied_where_their_gstin_is() -> None:
    place = place_of_supply(
        supplier_state="29", customer_gstin=DOCS_EXAMPLE, shipping_address=BENGALURU
    )
    assert place == ("27", SupplyBasis.gstin)


def test_an_unregistered_customer_is_supplied_at_their_shipping_address_first() -> None:
    place = place_of_supply(supplier_state="29", shipping_address=PUNE, address=BENGALURU)
    assert place == ("27", SupplyBasis.shipping)
    assert place_of_supply(supplier_state="27", address=BENGALURU) == ("29", SupplyBasis.address)


def test_an_address_abroad_is_an_export() -> None:
    assert place_of_supply(supplier_state="29", address=BERLIN) == (
        FOREIGN_COUNTRY,
        SupplyBasis.address,
    )


def test_no_usable_address_falls_back_to_the_supplier_s_state() -> None:
    unknown = {"city": "Somewhere", "state": "Nowhere", "country": "IN"}
    assert place_of_supply(supplier_state="29") == ("29", SupplyBasis.supplier)
    assert place_of_supply(supplier_state="29", shipping_address=unknown, address={}) == (
        "29",
        SupplyBasis.supplier,
    )
    # No country, a state we know: India's.
    assert place_of_supply(supplier_state="29", address={"state": "Goa"}) == (
        "30",
        SupplyBasis.address,
    )


# ---- the split --------------------------------------------------------------------------------


def test_within_a_state_cgst_and_sgst_halves_the_odd_paisa_to_cgst() -> None:
    split = gst_split(tax_minor=1_801, supplier_state="29", place_of_supply="29")
    assert (split.kind, split.cgst_minor, split.state_minor, split.igst_minor) == (
        GstKind.intra_state,
        901,
        900,
        0,
    )
    assert split.state_tax is StateTax.sgst


def test_a_union_territory_without_a_legislature_charges_utgst() -> None:
    split = gst_split(tax_minor=1_800, supplier_state="04", place_of_supply="04")
    assert split.state_tax is StateTax.utgst and split.cgst_minor == split.state_minor == 900
    assert gst_split(tax_minor=2, supplier_state="07", place_of_supply="07").state_tax is (
        StateTax.sgst
    )


def test_across_states_and_to_exports_igst() -> None:
    for place in ("27", FOREIGN_COUNTRY):
        split = gst_split(tax_minor=1_801, supplier_state="29", place_of_supply=place)
        assert (split.kind, split.igst_minor, split.cgst_minor, split.state_minor) == (
            GstKind.inter_state,
            1_801,
            0,
            0,
        )
        assert split.state_tax is None


@given(
    st.integers(min_value=-(10**12), max_value=10**12),
    state_codes,
    st.one_of(state_codes, st.just(FOREIGN_COUNTRY)),
)
def test_the_split_always_sums_to_the_tax(tax: int, supplier: str, place: str) -> None:
    split = gst_split(tax_minor=tax, supplier_state=supplier, place_of_supply=place)
    assert split.total_minor == tax
    if split.kind is GstKind.intra_state:
        assert 0 <= abs(split.cgst_minor) - abs(split.state_minor) <= 1


# ---- a line's tax -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "rate", "inclusive", "expected"),
    [
        (10_000, 1_800, False, (10_000, 1_800)),
        (11_800, 1_800, True, (10_000, 1_800)),
        (99, 1_800, False, (99, 18)),  # 17.82 → 18
        (25, 1_800, False, (25, 5)),  # 4.5 → 5: half up
        (-25, 1_800, False, (-25, -5)),  # a credit mirrors it
        (59, 1_800, True, (50, 9)),  # 9.0
        (1, 500, True, (1, 0)),  # 0.047 → 0
        (10_000, 0, True, (10_000, 0)),
        (10_000, 10_000, True, (5_000, 5_000)),
        (1_000, 25, False, (1_000, 3)),  # 0.25%: 2.5 → 3
    ],
)
def test_a_line_s_tax(amount: int, rate: int, inclusive: bool, expected: tuple[int, int]) -> None:
    assert line_tax(amount, rate, inclusive) == expected


@given(
    st.integers(min_value=-(10**14), max_value=10**14), st.integers(min_value=0, max_value=10_000)
)
def test_a_line_s_tax_is_the_exact_tax_rounded_half_up(amount: int, rate: int) -> None:
    taxable, tax = line_tax(amount, rate, inclusive=False)
    assert taxable == amount
    assert abs(2 * (tax * 10_000 - amount * rate)) <= 10_000  # within half a paisa
    taxable, tax = line_tax(amount, rate, inclusive=True)
    assert taxable + tax == amount
    assert abs(2 * (tax * (10_000 + rate) - amount * rate)) <= 10_000 + rate


# ---- financial years and invoice numbers ------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "year"),
    [
        (date(2027, 3, 31), 2026),
        (date(2027, 4, 1), 2027),
        (date(2027, 1, 1), 2026),
        (date(2026, 12, 31), 2026),
        (date(2000, 4, 1), 2000),
    ],
)
def test_the_financial_year_starts_on_1_april(day: date, year: int) -> None:
    assert financial_year(day) == year


def test_the_financial_year_of_an_instant_is_india_s() -> None:
    # 18:29 UTC on 31 March is 23:59 in India; 18:30 UTC is already 1 April there.
    assert financial_year_at(datetime(2027, 3, 31, 18, 29, tzinfo=UTC)) == 2026
    assert financial_year_at(datetime(2027, 3, 31, 18, 30, tzinfo=UTC)) == 2027


def test_invoice_numbers_roll_over_on_1_april() -> None:
    march = invoice_number("INV", financial_year(date(2027, 3, 31)), 4_812)
    april = invoice_number("INV", financial_year(date(2027, 4, 1)), 1)
    assert (march, april) == ("INV/2627/0004812", "INV/2728/0000001")
    assert financial_year_label(2099) == "9900"


@given(
    st.from_regex(r"[A-Z0-9](?:[A-Z0-9-]{0,3}[A-Z0-9])?", fullmatch=True),
    st.integers(min_value=2017, max_value=2200),
    st.integers(min_value=1, max_value=99_999),
)
def test_every_invoice_number_is_16_characters_of_gst_s_alphabet(
    prefix: str, year: int, sequence: int
) -> None:
    number = invoice_number(prefix, year, sequence)
    assert len(number) == INVOICE_NUMBER_CHARS_MAX
    assert set(number) <= set(ALPHABET + "-/")
    assert number.startswith(f"{prefix}/") and int(number.rsplit("/", 1)[1]) == sequence


def test_invoice_numbers_of_one_prefix_sort_as_issued() -> None:
    numbers = [invoice_number("AB-1", 2026, sequence) for sequence in (1, 9, 10, 99_999)]
    assert numbers == sorted(numbers)


def test_a_serial_that_does_not_fit_is_refused() -> None:
    assert serial_digits("ACMEX") == 5
    assert invoice_number("ACMEX", 2026, 99_999) == "ACMEX/2627/99999"
    with pytest.raises(InvoiceNumberError, match="does not fit"):
        invoice_number("ACMEX", 2026, 100_000)
    with pytest.raises(InvoiceNumberError):
        invoice_number("INV", 2026, 0)


@pytest.mark.parametrize("prefix", ["", "ACMEXY", "inv", "-INV", "INV-", "IN/V", "IN V"])
def test_a_prefix_gst_cannot_hold_is_refused(prefix: str) -> None:
    with pytest.raises(InvoiceNumberError):
        invoice_number(prefix, 2026, 1)


# ---- tax id values ----------------------------------------------------------------------------


def test_tax_id_values_and_countries() -> None:
    assert check_tax_id_value("in_gst", DOCS_EXAMPLE.lower()) == DOCS_EXAMPLE
    assert tax_id_country("in_gst", DOCS_EXAMPLE) == "IN"
    assert check_tax_id_value("eu_vat", " DE123456789 ") == "DE123456789"
    assert tax_id_country("eu_vat", "DE123456789") == "DE"
    assert tax_id_country("eu_vat", "EL123456789") == "GR"
    assert tax_id_country("eu_oss_vat", "EU123456789") is None
    assert check_tax_id_value("gb_vat", "GB 123 4567 89") == "GB 123 4567 89"
    assert tax_id_country("us_ein", "12-3456789") == "US"
    with pytest.raises(GstinInvalidError):
        check_tax_id_value("in_gst", "22AAAAA0000A1Z5")
    for bad in ("", "  ", "-12", "12-", "A" * 41, "12<script>"):
        with pytest.raises(TaxIdValueError):
            check_tax_id_value("us_ein", bad)
    with pytest.raises(TaxIdValueError, match="two letters"):
        check_tax_id_value("eu_vat", "123456789")
