"""The settings checkout runs on: the key ring (a session's page link is an HMAC under it, as
a hosted invoice's is) and the address customers' browsers reach the platform at (the
session's ``url``). One shape with every module's settings (``kit.module_settings``)."""

from __future__ import annotations

from dataclasses import dataclass

from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.module_settings import ModuleSettings
from beyondpay.kit.settings import Settings


@dataclass(frozen=True, slots=True)
class CheckoutConfig:
    ring: KeyRing
    public_url: str

    @classmethod
    def from_settings(cls, settings: Settings, *, ring: KeyRing | None = None) -> CheckoutConfig:
        return cls(
            ring=ring if ring is not None else settings.key_ring(),
            public_url=settings.public_url_value().rstrip("/"),
        )


CONFIG: ModuleSettings[CheckoutConfig] = ModuleSettings(CheckoutConfig.from_settings)


def configure(settings: Settings, *, ring: KeyRing | None = None) -> CheckoutConfig:
    """The composition root (``app.configure_modules``) calls it when the API or worker starts."""
    return CONFIG.set(CheckoutConfig.from_settings(settings, ring=ring))
