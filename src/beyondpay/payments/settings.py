"""The settings payments run on: fees, when funds become available, how long a rail may take to
answer, and the key ring (the reconciliation job opens a card to ask the rail again for an
authorization never applied). One shape with every module's settings (``kit.module_settings``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.module_settings import ModuleSettings
from beyondpay.kit.settings import Settings


@dataclass(frozen=True, slots=True)
class PaymentsConfig:
    settings: Settings
    ring: KeyRing

    @classmethod
    def from_settings(cls, settings: Settings, *, ring: KeyRing | None = None) -> PaymentsConfig:
        return cls(settings=settings, ring=ring if ring is not None else settings.key_ring())


CONFIG: ModuleSettings[PaymentsConfig] = ModuleSettings(PaymentsConfig.from_settings)


def configure(settings: Settings, *, ring: KeyRing | None = None) -> PaymentsConfig:
    """The composition root (``app.configure_modules``) calls it when the API or worker starts."""
    return CONFIG.set(PaymentsConfig.from_settings(settings, ring=ring))


def settings() -> Settings:
    return CONFIG.current().settings


def key_ring() -> KeyRing:
    return CONFIG.current().ring


def rail_answer_wait() -> timedelta:
    """An operation asked of a rail and still not applied this long after (its process died
    between the phases) is asked again by the reconciliation job; the API's lease on a request
    past its recovery point is the same setting (refunds use it too)."""
    return timedelta(seconds=settings().rail_answer_wait_s)
