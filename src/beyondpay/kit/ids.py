"""Identifiers: prefixed public ids (``cus_…``) and UUIDv7 internal keys, both time-ordered.

A public id is ``<prefix>_`` followed by 22 base62 characters encoding 128 bits: 48 bits of unix
milliseconds, then 80 random bits. The alphabet is in ASCII order and the text is zero-padded
to a fixed width, so for one prefix string order is time order (ids minted in the same
millisecond order randomly). Time comes from the injectable clock in ``kit.clock``.

A derived id (:func:`derived_id`) has the same shape, with the 80 bits taken from a hash of a
name instead of drawn at random: the same name and moment give the same id, so an object made
for something another system names once (a UPI transaction id) is made once, however often it
is told.
"""

import hashlib
import re
import secrets
import threading
import uuid
from typing import Final

from beyondpay.kit.clock import unix_now_ms

__all__ = [
    "ID_BODY_CHARS",
    "ID_PREFIX_PATTERN",
    "derived_id",
    "id_timestamp_ms",
    "is_valid_id",
    "new_id",
    "new_uuid7",
    "split_id",
]

# Digits, then upper case, then lower case: ASCII order, so string order equals numeric order.
_ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ALPHABET_INDEX: Final = {character: index for index, character in enumerate(_ALPHABET)}
_TIMESTAMP_BITS: Final = 48
_RANDOM_BITS: Final = 80
_ID_BITS: Final = _TIMESTAMP_BITS + _RANDOM_BITS
_TIMESTAMP_MS_MAX: Final = 2**_TIMESTAMP_BITS - 1
# 62**22 > 2**128 > 62**21: 22 characters hold any 128-bit value.
ID_BODY_CHARS: Final = 22
ID_PREFIX_PATTERN: Final = re.compile(r"[a-z][a-z0-9]{0,15}")
_BODY_PATTERN: Final = re.compile(r"[0-9A-Za-z]{22}")

# UUIDv7 (RFC 9562 section 5.7): 48-bit ms | version 4 bits | 12 bits | variant 2 bits | 62 bits.
_UUID7_RANDOM_BITS: Final = 74
_UUID7_RANDOM_MAX: Final = 2**_UUID7_RANDOM_BITS - 1
# Step between two UUIDv7 of one millisecond: random, so consecutive keys are not guessable.
_UUID7_STEP_MAX: Final = 2**32


def _encode_base62(value: int) -> str:
    characters = ["0"] * ID_BODY_CHARS
    for position in range(ID_BODY_CHARS - 1, -1, -1):
        value, digit = divmod(value, 62)
        characters[position] = _ALPHABET[digit]
    return "".join(characters)


def _decode_base62(text: str) -> int:
    value = 0
    for character in text:
        value = value * 62 + _ALPHABET_INDEX[character]
    return value


def _check_timestamp_ms(now_ms: int) -> None:
    if type(now_ms) is not int or not 0 <= now_ms <= _TIMESTAMP_MS_MAX:
        raise ValueError(f"now_ms must be an int in [0, {_TIMESTAMP_MS_MAX}]")


def new_id(prefix: str, *, now_ms: int | None = None) -> str:
    """A new public id: ``prefix_`` and 22 base62 characters; ``now_ms`` defaults to the clock."""
    if not isinstance(prefix, str) or not ID_PREFIX_PATTERN.fullmatch(prefix):
        raise ValueError("id prefix must match ^[a-z][a-z0-9]{0,15}$")
    timestamp_ms = unix_now_ms() if now_ms is None else now_ms
    _check_timestamp_ms(timestamp_ms)
    value = (timestamp_ms << _RANDOM_BITS) | secrets.randbits(_RANDOM_BITS)
    return f"{prefix}_{_encode_base62(value)}"


def derived_id(prefix: str, name: str, *, at_ms: int) -> str:
    """The id of ``prefix`` for ``name`` at ``at_ms``: shaped and ordered as :func:`new_id`'s
    (its time part is ``at_ms``), its other 80 bits a hash of the prefix and ``name``, so it is
    the same every time it is derived. ``name`` must name the object uniquely for its prefix."""
    if not isinstance(prefix, str) or not ID_PREFIX_PATTERN.fullmatch(prefix):
        raise ValueError("id prefix must match ^[a-z][a-z0-9]{0,15}$")
    _check_timestamp_ms(at_ms)
    digest = hashlib.blake2b(f"{prefix}:{name}".encode(), digest_size=_RANDOM_BITS // 8).digest()
    value = (at_ms << _RANDOM_BITS) | int.from_bytes(digest, "big")
    return f"{prefix}_{_encode_base62(value)}"


def split_id(id_: str) -> tuple[str, str]:
    """``("cus", "<body>")`` for a well-formed id; ``ValueError`` otherwise."""
    prefix, separator, body = id_.partition("_")
    well_formed = (
        bool(separator)
        and ID_PREFIX_PATTERN.fullmatch(prefix) is not None
        and _BODY_PATTERN.fullmatch(body) is not None
        and _decode_base62(body) < 2**_ID_BITS
    )
    if not well_formed:
        raise ValueError("malformed id")
    return prefix, body


def id_timestamp_ms(id_: str) -> int:
    """The unix milliseconds at which the id was minted."""
    _, body = split_id(id_)
    return _decode_base62(body) >> _RANDOM_BITS


def is_valid_id(id_: str, prefix: str) -> bool:
    """Whether ``id_`` is a well-formed id with exactly this prefix (never raises)."""
    if not isinstance(id_, str):
        return False
    try:
        actual_prefix, _ = split_id(id_)
    except ValueError:
        return False
    return actual_prefix == prefix


class _Uuid7State:
    """The last UUIDv7 issued, so that keys from one process strictly increase."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.timestamp_ms = -1
        self.random = 0


_uuid7_state: Final = _Uuid7State()


def _uuid7_from_parts(timestamp_ms: int, random: int) -> uuid.UUID:
    random_a = random >> 62  # the 12 bits after the version nibble
    random_b = random & (2**62 - 1)
    value = (timestamp_ms << 80) | (0x7 << 76) | (random_a << 64) | (0b10 << 62) | random_b
    return uuid.UUID(int=value)


def _next_uuid7_parts(now_ms: int) -> tuple[int, int]:
    """RFC 9562 "monotonic random" (section 6.2, method 2): within one millisecond, or if the
    clock stepped back, add a random step to the previous random bits; on overflow borrow the
    next millisecond."""
    state = _uuid7_state
    with state.lock:
        if now_ms > state.timestamp_ms:
            state.timestamp_ms, state.random = now_ms, secrets.randbits(_UUID7_RANDOM_BITS)
        else:
            state.random += 1 + secrets.randbelow(_UUID7_STEP_MAX)
            if state.random > _UUID7_RANDOM_MAX:
                state.timestamp_ms += 1
                state.random = secrets.randbits(_UUID7_RANDOM_BITS - 1)
        return state.timestamp_ms, state.random


def new_uuid7(*, now_ms: int | None = None) -> uuid.UUID:
    """A new RFC 9562 UUIDv7 for internal primary keys.

    Without ``now_ms`` the time comes from the clock and keys strictly increase within this
    process. With ``now_ms`` (for tests and backfills) the key is built from that time and 74
    fresh random bits, outside the monotonic sequence.
    """
    if now_ms is not None:
        _check_timestamp_ms(now_ms)
        return _uuid7_from_parts(now_ms, secrets.randbits(_UUID7_RANDOM_BITS))
    timestamp_ms, random = _next_uuid7_parts(unix_now_ms())
    return _uuid7_from_parts(timestamp_ms, random)
