"""The settings invoices run on: the key ring (a hosted invoice's link is an HMAC under it, as a
receipt's is) and the address a customer's browser reaches the platform at (the links
``hosted_invoice_url`` and ``invoice_pdf``). One shape with every module's settings
(``kit.module_settings``)."""

from __future__ import annotations

from dataclasses import dataclass

from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.module_settings import ModuleSettings
from beyondpay.kit.settings import Settings


@dataclass(frozen=True, slots=True)
class InvoicesConfig:
    ring: KeyRing
    public_url: str

    @classmethod
    def from_settings(cls, settings: Settings, *, ring: KeyRing | None = None) -> InvoicesConfig:
        return cls(
            ring=ring if ring is not None else settings.key_ring(),
            public_url=settings.public_url_value().rstrip("/"),
        )


CONFIG: ModuleSettings[InvoicesConfig] = ModuleSettings(InvoicesConfig.from_settings)


def configure(settings: Settings, *, ring: KeyRing | None = None) -> InvoicesConfig:
    """The composition root (``app.configure_modules``) calls it when the API or worker starts."""
    return CONFIG.set(InvoicesConfig.from_settings(settings, ring=ring))
