"""Secrets, card numbers, PINs and VPAs never reach a log line."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from beyondpay.kit.logging import configure_logging, get_logger, redact_text, redact_value


def test_card_numbers_keep_only_first_six_and_last_four() -> None:
    assert redact_text("card 4242 4242 4242 4242 ok") == "card 424242******4242 ok"
    assert redact_text("4000-0025-0000-3155") == "400000******3155"
    # Not Luhn-valid: an order number, left alone.
    assert redact_text("order 1234567890123") == "order 1234567890123"


def test_api_keys_and_webhook_secrets_are_removed() -> None:
    text = redact_text("key sk_test_51abcDEF and whsec_c2VjcmV0 and rk_live_X9")
    assert "sk_test_51abcDEF" not in text
    assert "whsec_c2VjcmV0" not in text
    assert "rk_live_X9" not in text


def test_vpas_are_removed_but_email_addresses_are_kept() -> None:
    assert redact_text("pay ravi.kumar@okhdfc now") == "pay [REDACTED] now"
    assert redact_text("mail ravi@example.com") == "mail ravi@example.com"


def test_sensitive_keys_are_redacted_at_any_depth() -> None:
    value = {"card": {"number": "4242424242424242", "cvc": "123"}, "upi_pin": "1234", "n": 5}
    redacted = redact_value(value)
    assert redacted["card"]["number"] == "[REDACTED]"
    assert redacted["card"]["cvc"] == "[REDACTED]"
    assert redacted["upi_pin"] == "[REDACTED]"
    assert redacted["n"] == 5


def test_log_lines_are_json_and_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "json")
    try:
        get_logger("test").info(
            "payment", pin="123456", body={"vpa": "a@okaxis"}, note="sk_live_abc ak_live_xyz"
        )
        logging.getLogger("library").warning("card 4242424242424242 seen")
        err = capsys.readouterr().err
    finally:
        structlog.reset_defaults()
    lines = [json.loads(line) for line in err.strip().splitlines()]
    assert lines[0]["event"] == "payment"
    assert lines[0]["pin"] == "[REDACTED]"
    assert "a@okaxis" not in err and "sk_live_abc" not in err and "ak_live_xyz" not in err
    assert "4242424242424242" not in err
    assert "424242******4242" in err


def test_exception_tracebacks_are_redacted_and_carry_no_locals(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("info", "console")
    try:
        secret_local = "sk_test_localsecret"  # noqa: F841 - a local that must not be shown
        try:
            raise ValueError("bad card 4242424242424242")
        except ValueError as exc:
            get_logger("test").error("failed", exc_info=exc)
        err = capsys.readouterr().err
    finally:
        structlog.reset_defaults()
    assert "ValueError" in err
    assert "4242424242424242" not in err
    assert "sk_test_localsecret" not in err
