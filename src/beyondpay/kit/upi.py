"""India's UPI addresses (VPAs) and mobile numbers: their shapes and their masks, in one place
for every module (payment methods, the rails, limits, the PSP). Pure: no I/O.

A VPA is NPCI's ``local@handle``: lower case ``[a-z0-9._-]``, exactly one ``@``, no special
character (``.``, ``_``, ``-``) first or last in the local part, at most 255 characters. Modules
differ on purpose in two things, each named here rather than copied:

- how strict a shape they accept (:class:`VpaShape`): the PSP takes any address NPCI routes,
  banks' dotted handles included (:data:`ANY_VPA`); a payment method takes a UPI app's address
  (:data:`APP_VPA`); the sandbox switch and limits' VPA lists match :data:`VPA_PATTERN`.
- how much a mask shows (:func:`mask_vpa`'s ``kept`` and ``stars``), never the whole local part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from pydantic import SecretStr

from beyondpay.kit.errors import InvalidRequestError

# NPCI: a whole VPA is at most 255 characters.
VPA_CHARS_MAX: Final = 255
VPA_HANDLE_CHARS_MAX: Final = 64
VPA_MASK_KEPT_CHARS: Final = 2
MOBILE_SHOWN_DIGITS: Final = 4

# A VPA as the UPI switch routes it between PSPs: a PSP's handle (a letter, then letters and
# digits, no dot) after the local part.
VPA_PATTERN: Final = re.compile(r"^[a-z0-9]([a-z0-9._-]{0,254}[a-z0-9])?@[a-z][a-z0-9]{1,63}$")
_LOCAL: Final = re.compile(r"^[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?$")


@dataclass(frozen=True, slots=True)
class VpaShape:
    """How strict a VPA check is: the local part's length and the handle's form."""

    local_chars_min: int
    local_chars_max: int
    handle_chars_min: int
    handle: re.Pattern[str]


# Any address NPCI routes, as a payer types or scans it: a bank's own handle may have dots
# (``account@ifsc.ifsc.npci``).
ANY_VPA: Final = VpaShape(1, VPA_CHARS_MAX, 1, re.compile(r"^[a-z0-9]+(?:\.[a-z0-9]+)*$"))
# A UPI app's address, as a customer gives it to a merchant: a local part of 2 to 200
# characters at an app's handle (a letter, then letters and digits).
APP_VPA: Final = VpaShape(2, 200, 2, re.compile(r"^[a-z][a-z0-9]*$"))


class VpaInvalidError(InvalidRequestError):
    """A VPA that is not of NPCI's form ``local@handle``."""

    code = "vpa_invalid"

    def __init__(self, reason: str, *, param: str = "vpa") -> None:
        super().__init__(f"Invalid {param}: {reason}.", param=param)


def vpa_problem(value: str, shape: VpaShape = ANY_VPA) -> str | None:
    """Why ``value`` is not a VPA of ``shape`` (a reason for a message, never quoting the
    value), or None when it is one."""
    if len(value) > VPA_CHARS_MAX or value.count("@") != 1:
        return "it must be local@handle with exactly one '@'"
    local, _, handle = value.partition("@")
    if not shape.local_chars_min <= len(local) <= shape.local_chars_max:
        return "it must be local@handle"
    if not shape.handle_chars_min <= len(handle) <= VPA_HANDLE_CHARS_MAX:
        return "it must be local@handle"
    if not _LOCAL.match(local) or not shape.handle.match(handle):
        return (
            "it may hold only lower case letters, digits, '.', '_' and '-', with no special"
            " character first or last"
        )
    return None


def check_vpa(vpa: SecretStr, *, param: str = "vpa", shape: VpaShape = ANY_VPA) -> SecretStr:
    """``vpa`` if it is of ``shape``, else a 400 ``vpa_invalid`` naming ``param``. Upper case
    is refused rather than folded where a payer typed it: a silent change would pay another
    address (a scanned link folds it first, see ``psp.addresses.qr.parse_upi_link``)."""
    problem = vpa_problem(vpa.get_secret_value(), shape)
    if problem is not None:
        raise VpaInvalidError(problem, param=param)
    return vpa


def mask_vpa(
    vpa: SecretStr | str, *, kept: int = VPA_MASK_KEPT_CHARS, stars: int | None = None
) -> str:
    """``success@sandbox`` → ``su*****@sandbox``: the handle in full (which app or PSP), the
    first ``kept`` characters of the local part but never all of it, then one ``*`` for each
    character hidden, or ``stars`` of them whatever the length (a mask that must not tell how
    long the name is)."""
    value = vpa.get_secret_value() if isinstance(vpa, SecretStr) else vpa
    local, _, handle = value.partition("@")
    shown = min(kept, max(len(local) - 1, 0))
    hidden = len(local) - shown if stars is None else stars
    return f"{local[:shown]}{'*' * hidden}@{handle}"


def mask_mobile(mobile: SecretStr | str) -> str:
    """``9876543210`` → ``******3210``: the last four digits, as an app shows a number it sent
    an SMS to."""
    digits = mobile.get_secret_value() if isinstance(mobile, SecretStr) else mobile
    return "*" * (len(digits) - MOBILE_SHOWN_DIGITS) + digits[-MOBILE_SHOWN_DIGITS:]
