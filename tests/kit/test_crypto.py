"""The key ring: fingerprints that survive rotation, sealed values bound to their context."""

from __future__ import annotations

import base64

import pytest

from beyondpay.kit.crypto import KeyRing, KeyRingError


def test_fingerprints_are_keyed_and_survive_rotation() -> None:
    old = KeyRing.parse(KeyRing.generate_entry("old"))
    other = KeyRing.parse(KeyRing.generate_entry("other"))
    assert old.fingerprint("sk_test_x") != other.fingerprint("sk_test_x")
    rotated = KeyRing.parse(KeyRing.generate_entry("new") + "," + _entry_of(old))
    assert rotated.current_id == "new"
    assert old.fingerprint("sk_test_x") in rotated.fingerprints("sk_test_x")
    assert rotated.fingerprint("sk_test_x") != old.fingerprint("sk_test_x")


def test_sealed_values_open_only_in_their_context_and_after_rotation() -> None:
    ring = KeyRing.parse(KeyRing.generate_entry("a"))
    token = ring.seal(b"ABCDE1234F", "kyc_1")
    assert b"ABCDE1234F" not in token.encode()
    assert ring.open(token, "kyc_1") == b"ABCDE1234F"
    with pytest.raises(KeyRingError):
        ring.open(token, "kyc_2")  # moved to another row
    version, key_id, body = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(body))
    raw[len(raw) // 2] ^= 0x01  # one bit of the ciphertext
    tampered = f"{version}.{key_id}.{base64.urlsafe_b64encode(bytes(raw)).decode()}"
    with pytest.raises(KeyRingError):
        ring.open(tampered, "kyc_1")
    rotated = KeyRing.parse(KeyRing.generate_entry("b") + "," + _entry_of(ring))
    assert rotated.open(token, "kyc_1") == b"ABCDE1234F"


def test_malformed_rings_are_refused_without_echoing_key_material() -> None:
    for text in ["", "nokey", "a:!!!", "a:" + "QUJD", "a b:QUJD"]:
        with pytest.raises(KeyRingError) as raised:
            KeyRing.parse(text)
        assert "QUJD" not in str(raised.value)
    entry = KeyRing.generate_entry("dup")
    with pytest.raises(KeyRingError, match="twice"):
        KeyRing.parse(f"{entry},{entry}")
    encoded = entry.partition(":")[2]
    assert encoded not in repr(KeyRing.parse(entry))
    assert encoded not in repr(KeyRing.parse(entry)._keys)


def _entry_of(ring: KeyRing) -> str:
    key = ring._keys[0]
    return f"{key.id}:{base64.b64encode(key.secret).decode()}"


def test_derived_keys_are_per_context_and_per_key_and_survive_rotation() -> None:
    old_secret, new_secret = bytes(range(32)), bytes(range(1, 33))
    before = KeyRing([("old", old_secret)])
    after = KeyRing([("new", new_secret), ("old", old_secret)])
    key_id, derived = before.derive("psp.pin")
    assert key_id == "old"
    assert len(derived) == 32
    assert derived not in (old_secret, before.derive("other")[1])
    assert after.derive("psp.pin")[0] == "new"
    assert after.derive("psp.pin", "old") == (key_id, derived)
    assert after.derive("psp.pin")[1] != derived
    with pytest.raises(KeyRingError) as refused:
        after.derive("psp.pin", "gone")
    assert "gone" not in str(refused.value)
