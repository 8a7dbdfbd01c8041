"""The keyed slow hash of UPI PINs. Pure computation: no I/O, no clock.

A PIN has at most a million values, so its hash must be both slow and keyed. Slow: Argon2id
(RFC 9106) with ``PIN_HASH_MEMORY_KIB`` of memory and ``PIN_HASH_ITERATIONS`` passes, about 30 ms
a check on one core here (docs/psp.md has the measurement), so trying every 6-digit PIN against
one stolen hash costs hours of a core. Keyed: Argon2's ``secret`` input is a pepper derived from
the key ring (``KeyRing.derive``), which is not in the database, so a stolen table alone cannot be
tried at all. Each hash has its own random salt and is bound, as Argon2's associated data, to
the bank account it belongs to: a hash copied onto another account's row does not verify.

The ring key and the Argon2 parameters are stored with each hash, so a hash made before a key
rotation or a change of parameters still verifies; :func:`needs_rehash` says when the next right
entry should store a fresh one. Comparison is constant-time.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from pydantic import SecretStr

from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.invariants import InvariantError

# RFC 9106 / OWASP's Argon2id baseline is 19 MiB and 2 passes; one more pass brings a check to
# the 20-50 ms this project aims for (a payer waits for it once per payment).
PIN_HASH_MEMORY_KIB: Final = 19 * 1024
PIN_HASH_ITERATIONS: Final = 3
# One lane: a check uses one core, so two checks at once do not slow each other down.
PIN_HASH_LANES: Final = 1
PIN_HASH_BYTES: Final = 32
PIN_SALT_BYTES: Final = 16
# The ring derives the pepper under this context, so it is no other use's key.
PEPPER_CONTEXT: Final = "psp.upi_pin"
PIN_HASH_ALGORITHM: Final = "argon2id"
_PARAMETERS: Final = re.compile(r"argon2id\$m=(\d{1,7}),t=(\d{1,3}),p=(\d{1,2})")


@dataclass(frozen=True, slots=True)
class HashParameters:
    memory_kib: int
    iterations: int
    lanes: int

    def encode(self) -> str:
        return f"{PIN_HASH_ALGORITHM}$m={self.memory_kib},t={self.iterations},p={self.lanes}"

    @classmethod
    def decode(cls, text: str) -> HashParameters:
        match = _PARAMETERS.fullmatch(text)
        if match is None:
            raise InvariantError("a stored PIN hash names its Argon2id parameters")
        memory_kib, iterations, lanes = (int(group) for group in match.groups())
        return cls(memory_kib, iterations, lanes)


CURRENT_PARAMETERS: Final = HashParameters(PIN_HASH_MEMORY_KIB, PIN_HASH_ITERATIONS, PIN_HASH_LANES)


@dataclass(frozen=True, slots=True)
class PinHash:
    """What is stored of a PIN. ``key_id`` names the ring key its pepper came from."""

    digest: bytes
    salt: bytes
    key_id: str
    parameters: str

    def __repr__(self) -> str:
        return f"PinHash(key_id={self.key_id!r}, parameters={self.parameters!r})"


def _digest(
    pepper: bytes, salt: bytes, parameters: HashParameters, pin: SecretStr, bound_to: str
) -> bytes:
    kdf = Argon2id(
        salt=salt,
        length=PIN_HASH_BYTES,
        iterations=parameters.iterations,
        lanes=parameters.lanes,
        memory_cost=parameters.memory_kib,
        ad=bound_to.encode(),
        secret=pepper,
    )
    return kdf.derive(pin.get_secret_value().encode())


def hash_pin(ring: KeyRing, pin: SecretStr, bound_to: str) -> PinHash:
    """A fresh hash of ``pin`` for the account ``bound_to``, under the ring's newest key.
    CPU-bound for tens of milliseconds: callers run it in a thread."""
    key_id, pepper = ring.derive(PEPPER_CONTEXT)
    salt = secrets.token_bytes(PIN_SALT_BYTES)
    digest = _digest(pepper, salt, CURRENT_PARAMETERS, pin, bound_to)
    return PinHash(digest, salt, key_id, CURRENT_PARAMETERS.encode())


def verify_pin(ring: KeyRing, stored: PinHash, pin: SecretStr, bound_to: str) -> bool:
    """Whether ``pin`` is the one ``stored`` was made from, for the account ``bound_to``."""
    _, pepper = ring.derive(PEPPER_CONTEXT, stored.key_id)
    parameters = HashParameters.decode(stored.parameters)
    candidate = _digest(pepper, stored.salt, parameters, pin, bound_to)
    return hmac.compare_digest(candidate, stored.digest)


def needs_rehash(ring: KeyRing, stored: PinHash) -> bool:
    """A hash under an older ring key or older parameters: replace it on the next right entry,
    so that the old key can be retired."""
    return stored.key_id != ring.current_id or stored.parameters != CURRENT_PARAMETERS.encode()
