"""The settings payments run on: fees, when funds become available, how long a rail may take to
answer, and the key ring (the reconciliation job opens a card to ask the rail again for an
authorization never applied)."""

from __future__ import annotations

from datetime import timedelta

from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.settings import Settings, get_settings

# This process's, once configured (the app and the worker call :func:`configure`).
_configured: dict[str, Settings] = {}
_rings: dict[str, KeyRing] = {}


def configure(settings: Settings, *, ring: KeyRing | None = None) -> None:
    """The fee and availability settings of this process (the app and the worker call it)."""
    _configured["settings"] = settings
    _rings["ring"] = ring if ring is not None else settings.key_ring()


def settings() -> Settings:
    return _configured.get("settings") or get_settings()


def key_ring() -> KeyRing:
    if "ring" not in _rings:
        _rings["ring"] = settings().key_ring()
    return _rings["ring"]


def rail_answer_wait() -> timedelta:
    """An operation asked of a rail and still not applied this long after (its process died
    between the phases) is asked again by the reconciliation job; the API's lease on a request
    past its recovery point is the same setting (refunds use it too)."""
    return timedelta(seconds=settings().rail_answer_wait_s)
