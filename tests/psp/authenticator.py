"""A software WebAuthn authenticator for tests: what a phone's platform authenticator does.

EC P-256 keys (``cryptography``), "none" attestation, CBOR (``cbor2``). Registration answers
WebAuthn's creation options with an attestation object whose authenticator data holds the RP id
hash, flags UP|UV|AT, the sign count and the attested credential data (AAGUID, credential id,
COSE public key). An assertion signs the authenticator data followed by SHA-256 of the client
data JSON, and moves the sign count forward by one each time.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any, Final

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

FLAG_USER_PRESENT: Final = 0x01
FLAG_USER_VERIFIED: Final = 0x04
FLAG_ATTESTED_DATA: Final = 0x40
AAGUID: Final = bytes(16)  # "none" attestation: an all-zero AAGUID
COSE_KEY_TYPE_EC2: Final = 2
COSE_ALGORITHM_ES256: Final = -7
COSE_CURVE_P256: Final = 1


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def from_b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Credential:
    credential_id: bytes
    private_key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0


@dataclass
class SoftwareAuthenticator:
    origin: str = "http://localhost:8000"
    credentials: dict[bytes, Credential] = field(default_factory=dict)
    user_verified: bool = True

    def _client_data(self, kind: str, challenge: str) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": False},
            separators=(",", ":"),
        ).encode()

    def _flags(self, attested: bool) -> int:
        flags = FLAG_USER_PRESENT
        if self.user_verified:
            flags |= FLAG_USER_VERIFIED
        if attested:
            flags |= FLAG_ATTESTED_DATA
        return flags

    def create(self, options: dict[str, Any]) -> str:
        """``navigator.credentials.create(options)``: the registration credential as JSON."""
        rp_id = options["rp"]["id"]
        key = ec.generate_private_key(ec.SECP256R1())
        numbers = key.public_key().public_numbers()
        cose_key = cbor2.dumps(
            {
                1: COSE_KEY_TYPE_EC2,
                3: COSE_ALGORITHM_ES256,
                -1: COSE_CURVE_P256,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )
        credential_id = secrets.token_bytes(32)
        credential = Credential(credential_id, key, rp_id, from_b64url(options["user"]["id"]))
        self.credentials[credential_id] = credential
        attested = AAGUID + struct.pack(">H", len(credential_id)) + credential_id + cose_key
        authenticator_data = (
            hashlib.sha256(rp_id.encode()).digest()
            + bytes([self._flags(attested=True)])
            + struct.pack(">I", credential.sign_count)
            + attested
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": authenticator_data})
        client_data = self._client_data("webauthn.create", options["challenge"])
        return json.dumps(
            {
                "id": b64url(credential_id),
                "rawId": b64url(credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64url(client_data),
                    "attestationObject": b64url(attestation),
                    "transports": ["internal"],
                },
                "clientExtensionResults": {},
                "authenticatorAttachment": "platform",
            }
        )

    def get(self, options: dict[str, Any], *, sign_count: int | None = None) -> str:
        """``navigator.credentials.get(options)``: an assertion as JSON, by the first of this
        authenticator's credentials the options allow (any of its credentials for the RP when
        they allow none). ``sign_count`` forces the counter (a cloned authenticator's)."""
        rp_id = options["rpId"]
        allowed = {from_b64url(each["id"]) for each in options.get("allowCredentials") or []}
        candidates = [
            each
            for each in self.credentials.values()
            if each.rp_id == rp_id and (not allowed or each.credential_id in allowed)
        ]
        assert candidates, "this authenticator holds no credential the options allow"
        credential = candidates[0]
        credential.sign_count = credential.sign_count + 1 if sign_count is None else sign_count
        authenticator_data = (
            hashlib.sha256(rp_id.encode()).digest()
            + bytes([self._flags(attested=False)])
            + struct.pack(">I", credential.sign_count)
        )
        client_data = self._client_data("webauthn.get", options["challenge"])
        signature = credential.private_key.sign(
            authenticator_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return json.dumps(
            {
                "id": b64url(credential.credential_id),
                "rawId": b64url(credential.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64url(client_data),
                    "authenticatorData": b64url(authenticator_data),
                    "signature": b64url(signature),
                    "userHandle": b64url(credential.user_handle),
                },
                "clientExtensionResults": {},
                "authenticatorAttachment": "platform",
            }
        )
