"""UPI links and QR codes: built links follow NPCI's linking specification, scanned ones are
checked field by field, and a rendered PNG decoded by zxing-cpp gives back the same fields."""

from __future__ import annotations

import io
import string
from xml.etree import ElementTree

import pytest
import zxingcpp
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from beyondpay.psp.addresses.errors import UpiLinkInvalidError
from beyondpay.psp.addresses.qr import (
    AMOUNT_MINOR_MAX,
    LINK_CHARS_MAX,
    NOTE_CHARS_MAX,
    PAYEE_NAME_CHARS_MAX,
    REFERENCE_CHARS_MAX,
    UpiLink,
    build_upi_link,
    parse_upi_link,
    render_png,
    render_svg,
)

CHAI = UpiLink(
    pa="chai.co@beyondpay",
    pn="Chai & Co — Pune",
    mc="5812",
    tr="ORD-2026-0042",
    am_minor=14_950,
    tn="2 chai + 1 bun, 100% tasty",
)


def _decoded(png: bytes) -> str:
    # QR codes only: with every format on, zxing may also read a stray 1-D barcode in the
    # modules of a QR code (hypothesis found one), which is not what a UPI app scans for.
    image = Image.open(io.BytesIO(png))
    barcodes = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(barcodes) == 1
    return str(barcodes[0].text)


def test_a_link_is_written_in_npci_order_with_percent_encoding() -> None:
    link = build_upi_link(CHAI)
    assert link == (
        "upi://pay?pa=chai.co@beyondpay&pn=Chai%20%26%20Co%20%E2%80%94%20Pune&mc=5812"
        "&tr=ORD-2026-0042&am=149.50&cu=INR&tn=2%20chai%20%2B%201%20bun%2C%20100%25%20tasty"
    )
    assert "+" not in link and "null" not in link


def test_a_static_link_leaves_out_what_is_not_set() -> None:
    link = build_upi_link(UpiLink(pa="asha@beyondpay", pn="Asha Rao"))
    assert link == "upi://pay?pa=asha@beyondpay&pn=Asha%20Rao&cu=INR"


def test_amounts_are_rupees_with_two_decimals() -> None:
    for amount_minor, text in (
        (1, "0.01"),
        (100, "1.00"),
        (10_05, "10.05"),
        (1_00_000_00, "100000.00"),
    ):
        link = build_upi_link(UpiLink(pa="a.b@x", pn="N", am_minor=amount_minor))
        assert f"am={text}&" in link


def test_a_png_is_decoded_by_zxing_and_parses_back_to_the_same_fields() -> None:
    link = build_upi_link(CHAI)
    png = render_png(link)
    assert png.startswith(b"\x89PNG")
    barcodes = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert barcodes[0].format == zxingcpp.BarcodeFormat.QRCode
    assert barcodes[0].ec_level == "M"
    assert parse_upi_link(_decoded(png)) == CHAI


def test_a_png_keeps_a_quiet_zone() -> None:
    image = Image.open(io.BytesIO(render_png(build_upi_link(CHAI), scale=4))).convert("L")
    width, height = image.size
    border_px = 4 * 4
    for x in range(width):
        for y in (*range(border_px), *range(height - border_px, height)):
            assert image.getpixel((x, y)) == 255


def test_an_svg_is_a_document_of_the_same_code() -> None:
    svg = render_svg(build_upi_link(CHAI))
    root = ElementTree.fromstring(svg)
    assert root.tag.endswith("svg")
    assert root.get("width") == root.get("height")


@pytest.mark.parametrize(
    ("link", "param"),
    [
        ("https://pay?pa=a@b&pn=N", "link"),
        ("upi://mandate?pa=a@b&pn=N", "link"),
        ("upi://pay/extra?pa=a@b&pn=N", "link"),
        ("upi://pay?pn=Shop", "pa"),
        ("upi://pay?pa=&pn=Shop", "pa"),
        ("upi://pay?pa=null&pn=Shop", "pa"),
        ("upi://pay?pa=shop@ybl", "pn"),
        ("upi://pay?pa=shop@ybl&pn=null", "pn"),
        ("upi://pay?pa=shop@ybl&pn=%20%20", "pn"),
        ("upi://pay?pa=shop&pn=Shop", "pa"),
        ("upi://pay?pa=a@b@c&pn=Shop", "pa"),
        ("upi://pay?pa=.shop@ybl&pn=Shop", "pa"),
        ("upi://pay?pa=sh%20op@ybl&pn=Shop", "pa"),
        ("upi://pay?pa=shop@ybl&pn=Shop&cu=USD", "cu"),
        ("upi://pay?pa=shop@ybl&pn=Shop&am=abc", "am"),
        ("upi://pay?pa=shop@ybl&pn=Shop&am=1.234", "am"),
        ("upi://pay?pa=shop@ybl&pn=Shop&am=-5", "am"),
        ("upi://pay?pa=shop@ybl&pn=Shop&am=1e3", "am"),
        ("upi://pay?pa=shop@ybl&pn=Shop&am=0", "am"),
        ("upi://pay?pa=shop@ybl&pn=Shop&am=0.00", "am"),
        ("upi://pay?pa=shop@ybl&pn=Shop&am=10000000.01", "am"),
        ("upi://pay?pa=shop@ybl&pn=Shop&am=%EF%BC%91", "am"),
        ("upi://pay?pa=shop@ybl&pn=Shop&mam=x", "mam"),
        ("upi://pay?pa=shop@ybl&pn=Shop&am=10&mam=20", "mam"),
        ("upi://pay?pa=shop@ybl&pn=Shop&mc=541", "mc"),
        ("upi://pay?pa=shop@ybl&pn=Shop&mc=54a1", "mc"),
        ("upi://pay?pa=shop@ybl&pn=Shop&am=10&am=1000", "am"),
        ("upi://pay?pa=shop@ybl&pa=thief@ybl&pn=Shop", "pa"),
        ("upi://pay?pa=shop@ybl&pn=%FF", "pn"),
        ("upi://pay?pa=shop@ybl&pn=A%0AB", "pn"),
        ("upi://pay?pa=shop@ybl&pn=Shop#frag", "link"),
        ("upi://pay?pa=shop@ybl&pn=Shop&=x", "link"),
        (f"upi://pay?pa=shop@ybl&pn={'N' * (PAYEE_NAME_CHARS_MAX + 1)}", "pn"),
        (f"upi://pay?pa=shop@ybl&pn=N&tr={'R' * (REFERENCE_CHARS_MAX + 1)}", "tr"),
        (f"upi://pay?pa=shop@ybl&pn=N&tn={'n' * (NOTE_CHARS_MAX + 1)}", "tn"),
        (f"upi://pay?pa=shop@ybl&pn=N&tn={'n' * LINK_CHARS_MAX}", "link"),
        ("upi://pay?pa=shop@ybl&pn=N" + "".join(f"&x{i}=1" for i in range(40)), "link"),
    ],
)
def test_a_bad_scan_is_a_400_naming_the_field(link: str, param: str) -> None:
    with pytest.raises(UpiLinkInvalidError) as raised:
        parse_upi_link(link)
    assert raised.value.status == 400
    assert raised.value.param == param
    assert raised.value.code == "upi_link_invalid"


def test_what_real_codes_carry_is_read() -> None:
    # NPCI's own sample: tid, url, mode-like parameters ignored, mam=null absent, am without
    # decimals, '@' bare or encoded, capitals in the VPA, '+' as a space.
    sample = (
        "upi://pay?pa=nadeem@npci&pn=nadeem%20chinna&mc=0000&tid=cxnkjcnkjdfdvjndkjfvn"
        "&tr=4894398cndhcd23&tn=Pay%20to%20mystar%20store&am=10&mam=null&cu=INR"
        "&url=https://mystar.com/orderid=9298yw89e8973e87389e78923ue892"
    )
    assert parse_upi_link(sample) == UpiLink(
        pa="nadeem@npci",
        pn="nadeem chinna",
        mc="0000",
        tr="4894398cndhcd23",
        am_minor=1_000,
        tn="Pay to mystar store",
    )
    sticker = "UPI://PAY?pa=SHOP.42%40YBL&pn=Kumar+Stores&mode=02&purpose=00&am=7.5&cu=inr"
    assert parse_upi_link(sticker) == UpiLink(pa="shop.42@ybl", pn="Kumar Stores", am_minor=750)
    npci_handle = "upi://pay?pa=12345678@sbin0001234.ifsc.npci&pn=A"
    assert parse_upi_link(npci_handle).pa == "12345678@sbin0001234.ifsc.npci"


def test_the_repr_of_a_link_holds_no_vpa() -> None:
    assert "chai.co@beyondpay" not in repr(CHAI)


_LOCAL = st.from_regex(r"\A[a-z0-9](?:[a-z0-9._-]{0,20}[a-z0-9])?\Z")
_HANDLE = st.from_regex(r"\A[a-z][a-z0-9]{1,15}\Z")
_TEXT_ALPHABET = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x7f")


def _text(chars_max: int) -> st.SearchStrategy[str]:
    return (
        st.text(_TEXT_ALPHABET, min_size=1, max_size=chars_max)
        .filter(lambda value: value.strip() != "")
        .filter(lambda value: value not in ("null",))
    )


_AMOUNTS = st.integers(min_value=1, max_value=AMOUNT_MINOR_MAX)


@st.composite
def _links(draw: st.DrawFn) -> UpiLink:
    am_minor = draw(st.none() | _AMOUNTS)
    mam_minor = draw(st.none() | (st.integers(1, am_minor) if am_minor is not None else _AMOUNTS))
    return UpiLink(
        pa=f"{draw(_LOCAL)}@{draw(_HANDLE)}",
        pn=draw(_text(PAYEE_NAME_CHARS_MAX)),
        mc=draw(st.none() | st.text(string.digits, min_size=4, max_size=4)),
        tr=draw(st.none() | _text(REFERENCE_CHARS_MAX)),
        am_minor=am_minor,
        tn=draw(st.none() | _text(NOTE_CHARS_MAX)),
        mam_minor=mam_minor,
    )


@given(_links())
def test_parse_reads_back_what_build_writes(link: UpiLink) -> None:
    text = build_upi_link(link)
    assert text.isascii()
    assert parse_upi_link(text) == link


@given(st.text(max_size=300))
def test_parse_never_fails_but_with_a_named_400(text: str) -> None:
    try:
        parse_upi_link("upi://pay?" + text)
    except UpiLinkInvalidError as error:
        assert error.param is not None


@given(_links())
def test_every_link_fits_a_qr_code_zxing_reads(link: UpiLink) -> None:
    text = build_upi_link(link)
    assert parse_upi_link(_decoded(render_png(text, scale=2))) == link
