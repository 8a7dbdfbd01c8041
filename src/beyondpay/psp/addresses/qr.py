"""UPI deep links and QR codes (NPCI's UPI Linking Specifications 1.6), pure apart from
rendering.

A link is ``upi://pay?pa=&pn=&mc=&tr=&am=&cu=INR&tn=`` (and ``mam``), values percent-encoded as
UTF-8 with ``%20`` for a space (never ``+``). The ``@`` of ``pa`` is left as it is: NPCI's own
examples and the QR codes UPI apps print carry it bare, and every app reads it so, while some
older readers do not decode ``%40``. Empty values and the string ``null`` are never written.

A scanned payload is checked field by field, each refusal a 400 naming the field (``param``):
scheme ``upi`` and host ``pay``; ``pa`` a VPA (folded to lower case: UPI addresses are not case
sensitive, and some printed codes are in capitals); ``pn`` present; ``cu`` only INR; ``am`` and
``mam`` decimal rupees with at most two decimals, above zero and within ``AMOUNT_MINOR_MAX``;
``mc`` four digits. A parameter given twice is refused (which one to believe?). Parameters of
the specification this PSP does not act on (``tid``, ``url``, ``mode``, ``orgid``, ``sign``, …)
and unknown ones are ignored, as UPI apps do, within ``PARAMETERS_MAX``. Empty values and
``null`` count as absent (NPCI's own sample has ``mam=null``). ``+`` reads as a space, as the
links of form-encoding libraries mean it.

Codes are rendered with segno at error correction level M (15 % of the code may be damaged or
covered), never boosted, with the standard quiet zone of four modules.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import quote, unquote_plus, urlsplit

import segno
from pydantic import SecretStr

from beyondpay.kit.upi import VpaInvalidError, check_vpa
from beyondpay.psp.addresses.errors import UpiLinkInvalidError

SCHEME: Final = "upi"
HOST: Final = "pay"
CURRENCY: Final = "INR"
# The highest per-transaction cap UPI has for any category (₹10,00,000); the payer's own,
# lower limits are the transfers' business.
AMOUNT_MINOR_MAX: Final = 10_00_000_00
LINK_CHARS_MAX: Final = 2_048
PARAMETERS_MAX: Final = 30
PAYEE_NAME_CHARS_MAX: Final = 99
REFERENCE_CHARS_MAX: Final = 35
NOTE_CHARS_MAX: Final = 80
SCALE_DEFAULT: Final = 8
SCALE_MAX: Final = 40
QUIET_ZONE_MODULES: Final = 4
ERROR_CORRECTION: Final = "m"
# The order NPCI lists the parameters in, which is the order links are written in.
FIELDS: Final = ("pa", "pn", "mc", "tr", "am", "mam", "cu", "tn")

_AMOUNT: Final = re.compile(r"^[0-9]{1,10}(?:\.[0-9]{1,2})?$")
_MERCHANT_CATEGORY: Final = re.compile(r"^[0-9]{4}$")
_PARAMETER_NAME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")
_ABSENT: Final = frozenset({"", "null"})


@dataclass(frozen=True, slots=True)
class UpiLink:
    """The fields of a UPI payment link. ``pa`` is kept out of the repr (it is a VPA)."""

    pa: str = field(repr=False)
    pn: str
    mc: str | None = None
    tr: str | None = None
    am_minor: int | None = None
    cu: str = CURRENCY
    tn: str | None = None
    mam_minor: int | None = None


def _rupees(amount_minor: int) -> str:
    rupees, paise = divmod(amount_minor, 100)
    return f"{rupees}.{paise:02d}"


def _check_amount(amount_minor: int, name: str) -> int:
    if amount_minor <= 0:
        raise UpiLinkInvalidError(name, "must be above zero")
    if amount_minor > AMOUNT_MINOR_MAX:
        raise UpiLinkInvalidError(name, f"must be at most {_rupees(AMOUNT_MINOR_MAX)} rupees")
    return amount_minor


def _minor(text: str, name: str) -> int:
    """Decimal rupees (``149``, ``149.5``, ``149.50``) in paise."""
    if not _AMOUNT.match(text):
        raise UpiLinkInvalidError(name, "must be rupees with at most two decimals, like 149.50")
    rupees, _, paise = text.partition(".")
    return _check_amount(int(rupees) * 100 + int(paise.ljust(2, "0") or "0"), name)


def _text(value: str | None, name: str, chars_max: int, *, required: bool = False) -> None:
    if value is None:
        if required:
            raise UpiLinkInvalidError(name, "is missing")
        return
    if not value.strip():
        raise UpiLinkInvalidError(name, "cannot be blank")
    if value in _ABSENT:
        raise UpiLinkInvalidError(name, "cannot be the word null (it reads as absent)")
    if len(value) > chars_max:
        raise UpiLinkInvalidError(name, f"must be at most {chars_max} characters")
    if any(ord(character) < 32 or ord(character) == 127 for character in value):
        raise UpiLinkInvalidError(name, "cannot hold control characters")


def _check_pa(pa: str | None) -> None:
    if pa is None:
        raise UpiLinkInvalidError("pa", "is missing")
    try:
        check_vpa(SecretStr(pa), param="pa")
    except VpaInvalidError:
        raise UpiLinkInvalidError("pa", "is not a valid VPA (local@handle)") from None


def check_link(link: UpiLink) -> UpiLink:
    """The link if every field is valid; a 400 naming the first field that is not."""
    _check_pa(link.pa)
    _text(link.pn, "pn", PAYEE_NAME_CHARS_MAX, required=True)
    if link.mc is not None and not _MERCHANT_CATEGORY.match(link.mc):
        raise UpiLinkInvalidError("mc", "must be a 4-digit merchant category code")
    _text(link.tr, "tr", REFERENCE_CHARS_MAX)
    _text(link.tn, "tn", NOTE_CHARS_MAX)
    if link.cu != CURRENCY:
        raise UpiLinkInvalidError("cu", "must be INR (UPI pays in rupees only)")
    for name, amount_minor in (("am", link.am_minor), ("mam", link.mam_minor)):
        if amount_minor is not None:
            _check_amount(amount_minor, name)
    if link.am_minor is not None and link.mam_minor is not None and link.mam_minor > link.am_minor:
        raise UpiLinkInvalidError("mam", "cannot be above am")
    return link


def _encode(value: str, *, safe: str = "") -> str:
    return quote(value, safe=safe, encoding="utf-8", errors="strict")


def build_upi_link(link: UpiLink) -> str:
    """``upi://pay?pa=…&pn=…``: the fields that are set, in NPCI's order, percent-encoded."""
    check_link(link)
    values: dict[str, str | None] = {
        "pa": link.pa,
        "pn": link.pn,
        "mc": link.mc,
        "tr": link.tr,
        "am": _rupees(link.am_minor) if link.am_minor is not None else None,
        "mam": _rupees(link.mam_minor) if link.mam_minor is not None else None,
        "cu": link.cu,
        "tn": link.tn,
    }
    parts = [
        f"{name}={_encode(value, safe='@' if name == 'pa' else '')}"
        for name in FIELDS
        if (value := values[name]) is not None
    ]
    return f"{SCHEME}://{HOST}?{'&'.join(parts)}"


def _parameters(query: str) -> dict[str, str]:
    """Each parameter once, decoded; empty and ``null`` values left out."""
    found: dict[str, str] = {}
    seen: set[str] = set()
    pieces = [piece for piece in query.split("&") if piece]
    if len(pieces) > PARAMETERS_MAX:
        raise UpiLinkInvalidError("link", f"has more than {PARAMETERS_MAX} parameters")
    for piece in pieces:
        raw_name, _, raw_value = piece.partition("=")
        if not _PARAMETER_NAME.match(raw_name):
            raise UpiLinkInvalidError("link", "has a malformed parameter name")
        if raw_name in seen:
            raise UpiLinkInvalidError(raw_name, "is given more than once")
        seen.add(raw_name)
        try:
            value = unquote_plus(raw_value, encoding="utf-8", errors="strict")
        except UnicodeDecodeError:
            raise UpiLinkInvalidError(raw_name, "is not valid UTF-8") from None
        if value not in _ABSENT:
            found[raw_name] = value
    return found


def parse_upi_link(text: str) -> UpiLink:
    """The fields of a scanned or clicked UPI link; a 400 naming the field that is wrong."""
    if len(text) > LINK_CHARS_MAX:
        raise UpiLinkInvalidError("link", f"is longer than {LINK_CHARS_MAX} characters")
    text = text.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        raise UpiLinkInvalidError("link", "is not a URL") from None
    if parts.scheme.lower() != SCHEME:
        raise UpiLinkInvalidError("link", "must start with upi://")
    if parts.netloc.lower() != HOST or parts.path not in ("", "/"):
        raise UpiLinkInvalidError("link", "must be a payment link (upi://pay?…)")
    if parts.fragment or "#" in text:
        raise UpiLinkInvalidError("link", "cannot have a '#' fragment (encode it as %23)")
    values = _parameters(parts.query)
    for required in ("pa", "pn"):
        if required not in values:
            raise UpiLinkInvalidError(required, "is missing")
    link = UpiLink(
        pa=values["pa"].lower(),
        pn=values["pn"],
        mc=values.get("mc"),
        tr=values.get("tr"),
        am_minor=_minor(values["am"], "am") if "am" in values else None,
        cu=values.get("cu", CURRENCY).upper(),
        tn=values.get("tn"),
        mam_minor=_minor(values["mam"], "mam") if "mam" in values else None,
    )
    return check_link(link)


def _code(text: str) -> segno.QRCode:
    return segno.make_qr(text, error=ERROR_CORRECTION, boost_error=False)


def _check_scale(scale: int) -> None:
    if not 1 <= scale <= SCALE_MAX:
        raise ValueError(f"scale must be 1 to {SCALE_MAX}")


def render_png(text: str, scale: int = SCALE_DEFAULT) -> bytes:
    """A PNG of the QR code of ``text``: ``scale`` pixels a module, with the quiet zone."""
    _check_scale(scale)
    buffer = io.BytesIO()
    _code(text).save(buffer, kind="png", scale=scale, border=QUIET_ZONE_MODULES)
    return buffer.getvalue()


def render_svg(text: str, scale: int = SCALE_DEFAULT) -> str:
    """An SVG document of the QR code of ``text``, with the quiet zone."""
    _check_scale(scale)
    buffer = io.BytesIO()
    _code(text).save(
        buffer, kind="svg", scale=scale, border=QUIET_ZONE_MODULES, xmldecl=False, unit="px"
    )
    return buffer.getvalue().decode("utf-8")
