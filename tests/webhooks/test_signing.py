"""Signatures of a delivery, checked by the verifiers receivers actually run: Stripe's SDK
(``stripe.Webhook.construct_event``) and the Standard Webhooks reference package."""

from __future__ import annotations

import base64
import time

import orjson
import pytest
import stripe
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from beyondpay.webhooks.signing import (
    SECRET_BYTES_MAX,
    SECRET_BYTES_MIN,
    SECRET_PREFIX,
    SecretFormatError,
    new_secret,
    secret_key_bytes,
    signature_headers,
)

MESSAGE_ID = "evt_1Qexample000000000000"
BODY = orjson.dumps(
    {
        "id": MESSAGE_ID,
        "object": "event",
        "type": "customer.created",
        "data": {"object": {"id": "cus_1", "object": "customer", "name": "Asha ₹"}},
    }
)


def _stripe_verifies(body: bytes, headers: dict[str, str], secret: str) -> bool:
    try:
        event = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], secret)
    except (stripe.SignatureVerificationError, ValueError):
        return False
    assert event["id"] == MESSAGE_ID
    return True


def _standard_verifies(body: bytes, headers: dict[str, str], secret: str) -> bool:
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


def _both(body: bytes, headers: dict[str, str], secret: str) -> tuple[bool, bool]:
    return _stripe_verifies(body, headers, secret), _standard_verifies(body, headers, secret)


def test_new_secrets_are_whsec_base64_of_enough_random_bytes() -> None:
    first, second = new_secret(), new_secret()
    assert first != second
    assert first.startswith(SECRET_PREFIX)
    raw = base64.b64decode(first.removeprefix(SECRET_PREFIX), validate=True)
    assert SECRET_BYTES_MIN <= len(raw) <= 32
    assert secret_key_bytes(first) == raw


def test_a_signed_delivery_verifies_with_stripe_and_standard_webhooks() -> None:
    secret = new_secret()
    headers = signature_headers([secret], MESSAGE_ID, int(time.time()), BODY)
    assert headers["webhook-id"] == MESSAGE_ID
    assert headers["Stripe-Signature"].startswith(f"t={headers['webhook-timestamp']},v1=")
    assert headers["webhook-signature"].startswith("v1,")
    assert _both(BODY, headers, secret) == (True, True)


def test_a_one_byte_change_is_rejected_by_both() -> None:
    secret = new_secret()
    headers = signature_headers([secret], MESSAGE_ID, int(time.time()), BODY)
    tampered = bytearray(BODY)
    tampered[BODY.index(b"Asha")] = ord("B")
    assert _both(bytes(tampered), headers, secret) == (False, False)


def test_a_timestamp_301_seconds_old_is_rejected_by_both() -> None:
    secret = new_secret()
    headers = signature_headers([secret], MESSAGE_ID, int(time.time()) - 301, BODY)
    assert _both(BODY, headers, secret) == (False, False)


def test_a_wrong_secret_is_rejected_by_both() -> None:
    headers = signature_headers([new_secret()], MESSAGE_ID, int(time.time()), BODY)
    assert _both(BODY, headers, new_secret()) == (False, False)


def test_during_a_roll_both_secrets_verify_with_both() -> None:
    new, old = new_secret(), new_secret()
    headers = signature_headers([new, old], MESSAGE_ID, int(time.time()), BODY)
    assert headers["Stripe-Signature"].count(",v1=") == 2
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert _both(BODY, headers, new) == (True, True)
    assert _both(BODY, headers, old) == (True, True)
    assert _both(BODY, headers, new_secret()) == (False, False)


def test_the_webhook_id_is_part_of_the_standard_signature() -> None:
    secret = new_secret()
    headers = signature_headers([secret], MESSAGE_ID, int(time.time()), BODY)
    assert not _standard_verifies(BODY, {**headers, "webhook-id": "evt_other"}, secret)


@pytest.mark.parametrize(
    "secret",
    [
        "",
        "sk_test_abc",
        "whsec_not base64!",
        SECRET_PREFIX + base64.b64encode(b"x" * (SECRET_BYTES_MIN - 1)).decode(),
        SECRET_PREFIX + base64.b64encode(b"x" * (SECRET_BYTES_MAX + 1)).decode(),
    ],
)
def test_malformed_secrets_are_refused_without_echoing_them(secret: str) -> None:
    with pytest.raises(SecretFormatError) as raised:
        signature_headers([secret], MESSAGE_ID, int(time.time()), BODY)
    if secret:
        assert secret not in str(raised.value)


def test_signing_needs_a_secret() -> None:
    with pytest.raises(SecretFormatError):
        signature_headers([], MESSAGE_ID, int(time.time()), BODY)
