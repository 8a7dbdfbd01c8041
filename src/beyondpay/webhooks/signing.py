"""Webhook secrets and the signatures of a delivery, for Stripe's and Standard Webhooks' verifiers.

One secret serves both schemes, as Standard Webhooks 1.0 intends: ``whsec_<base64 bytes>``.
Stripe's ``Stripe-Signature`` is HMAC-SHA256 keyed with the whole secret text over
``"{t}.{body}"``; Standard Webhooks' ``webhook-signature`` is HMAC-SHA256 keyed with the decoded
bytes after ``whsec_`` over ``"{id}.{timestamp}.{body}"``. While a secret is rolled, every active
secret signs, so a receiver holding either one verifies the delivery.

Pure: no I/O, no clock (the caller passes the timestamp).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from secrets import token_bytes
from typing import Final

SECRET_PREFIX: Final = "whsec_"  # noqa: S105 (the format's prefix, not a password)
# Standard Webhooks asks for 24 to 64 random bytes; 32 match the HMAC-SHA256 block's key size.
SECRET_BYTES: Final = 32
SECRET_BYTES_MIN: Final = 24
SECRET_BYTES_MAX: Final = 64
SIGNATURE_SCHEME: Final = "v1"


class SecretFormatError(ValueError):
    """A secret that is not ``whsec_<base64>`` of 24 to 64 bytes. Never carries the secret."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(token_bytes(SECRET_BYTES)).decode()


def secret_key_bytes(secret: str) -> bytes:
    """The Standard Webhooks HMAC key: the decoded bytes after ``whsec_``."""
    if not secret.startswith(SECRET_PREFIX):
        raise SecretFormatError("a webhook secret starts with whsec_")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except binascii.Error:
        raise SecretFormatError("a webhook secret is base64 after whsec_") from None
    if not SECRET_BYTES_MIN <= len(key) <= SECRET_BYTES_MAX:
        raise SecretFormatError(
            f"a webhook secret holds {SECRET_BYTES_MIN} to {SECRET_BYTES_MAX} bytes"
        )
    return key


def stripe_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex ``v1`` of ``Stripe-Signature``: keyed with the whole ``whsec_…`` text."""
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def standard_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The base64 ``v1`` of ``webhook-signature``: keyed with the secret's decoded bytes."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key_bytes(secret), signed, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signature_headers(
    secrets: Sequence[str], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The headers of one delivery attempt, with one signature per active secret.

    ``message_id`` is the same on every retry of a message (receivers de-duplicate on it);
    ``timestamp`` is the attempt's Unix time in seconds, which both verifiers bound to ±5 min.
    """
    if not secrets:
        raise SecretFormatError("a delivery is signed with at least one secret")
    stripe_parts = [f"t={timestamp}"]
    stripe_parts += [f"{SIGNATURE_SCHEME}={stripe_signature(s, timestamp, body)}" for s in secrets]
    standard_parts = [
        f"{SIGNATURE_SCHEME},{standard_signature(s, message_id, timestamp, body)}" for s in secrets
    ]
    return {
        "Stripe-Signature": ",".join(stripe_parts),
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(standard_parts),
    }
