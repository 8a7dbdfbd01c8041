"""Secrets at rest: a key ring, keyed fingerprints and AES-GCM sealed fields.

The ring holds named 256-bit keys, newest first. New fingerprints and sealed values use the newest
key; reads try every key, so a key is rotated by putting a new one first and retired once nothing
sealed or fingerprinted with it is left. Fingerprints are HMAC-SHA256 (a stolen table of API-key
fingerprints is useless without the ring); sealed values are AES-256-GCM with a random 96-bit
nonce and the caller's context as associated data, so a value cannot be moved to another row.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["KEY_BYTES", "KeyRing", "KeyRingError", "load_or_create_dev_ring"]

KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
KEY_ID_PATTERN: Final = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
SEALED_VERSION: Final = "v1"


class KeyRingError(ValueError):
    """A malformed key ring or sealed value. The message never contains key material."""


@dataclass(frozen=True, slots=True)
class _Key:
    id: str
    secret: bytes

    def __repr__(self) -> str:
        return f"_Key(id={self.id!r}, secret=<redacted>)"


class KeyRing:
    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise KeyRingError("the key ring is empty")
        seen: set[str] = set()
        for key_id, secret in keys:
            if not KEY_ID_PATTERN.match(key_id):
                raise KeyRingError("a key id must match [A-Za-z0-9_-]{1,32}")
            if len(secret) != KEY_BYTES:
                raise KeyRingError(f"key {key_id!r} must be {KEY_BYTES} bytes")
            if key_id in seen:
                raise KeyRingError(f"key {key_id!r} appears twice")
            seen.add(key_id)
        self._keys = [_Key(key_id, secret) for key_id, secret in keys]
        self._by_id = {key.id: key for key in self._keys}

    def __repr__(self) -> str:
        return f"KeyRing(ids={[key.id for key in self._keys]})"

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        """``id:base64key`` entries separated by commas, newest first."""
        keys: list[tuple[str, bytes]] = []
        for entry in (part.strip() for part in text.split(",")):
            if not entry:
                continue
            key_id, separator, encoded = entry.partition(":")
            if not separator:
                raise KeyRingError("each key ring entry must be `id:base64key`")
            try:
                secret = base64.b64decode(encoded, validate=True)
            except binascii.Error:
                raise KeyRingError(f"key {key_id!r} is not valid base64") from None
            keys.append((key_id, secret))
        return cls(keys)

    @staticmethod
    def generate_entry(key_id: str) -> str:
        return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"

    @property
    def current_id(self) -> str:
        return self._keys[0].id

    def fingerprint(self, value: str) -> bytes:
        """The keyed fingerprint of ``value`` under the newest key."""
        return _fingerprint(self._keys[0].secret, value)

    def fingerprints(self, value: str) -> list[bytes]:
        """``value``'s fingerprint under every key, newest first: for lookups across rotation."""
        return [_fingerprint(key.secret, value) for key in self._keys]

    def derive(self, context: str, key_id: str | None = None) -> tuple[str, bytes]:
        """A 256-bit key for ``context`` (HKDF-SHA256 of the ring key ``key_id``, the newest when
        None) and that key's id. For a secret keyed by the ring that is checked by other means
        than these methods (the pepper of a slow hash): store the id beside what it keyed, so a
        value made before a rotation is still checked under its own key."""
        key = self._keys[0] if key_id is None else self._by_id.get(key_id)
        if key is None:
            raise KeyRingError("no key with that id in the ring")
        derived = HKDF(
            algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=context.encode()
        ).derive(key.secret)
        return key.id, derived

    def seal(self, plaintext: bytes, context: str) -> str:
        key = self._keys[0]
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = AESGCM(key.secret).encrypt(nonce, plaintext, context.encode())
        body = base64.urlsafe_b64encode(nonce + sealed).decode()
        return f"{SEALED_VERSION}.{key.id}.{body}"

    def open(self, token: str, context: str) -> bytes:
        version, _, rest = token.partition(".")
        key_id, _, body = rest.partition(".")
        key = self._by_id.get(key_id)
        if version != SEALED_VERSION or key is None:
            raise KeyRingError("sealed value has an unknown version or key")
        try:
            raw = base64.urlsafe_b64decode(body)
            return AESGCM(key.secret).decrypt(
                raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode()
            )
        except (binascii.Error, InvalidTag, ValueError):
            raise KeyRingError("sealed value does not open under its key and context") from None


def _fingerprint(secret: bytes, value: str) -> bytes:
    return hmac.new(secret, value.encode(), hashlib.sha256).digest()


def load_or_create_dev_ring(path: Path) -> KeyRing:
    """The ring of a development install: one key in ``path`` (mode 0600), created on first use.

    Production configures ``BEYONDPAY_SECRET_KEYS``; ``beyondpay doctor`` says so when it is not.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole under a temporary name, then linked: a concurrent reader never sees half.
        staging = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(KeyRing.generate_entry("dev1") + "\n")
        try:
            os.link(staging, path)  # fails if another process created the ring first
        except FileExistsError:
            pass
        finally:
            staging.unlink()
    return KeyRing.parse(path.read_text())
