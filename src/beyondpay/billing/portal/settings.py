"""The settings the customer portal runs on: where customers' browsers reach this server (a
session's ``url`` and the 3-D Secure page's way back are built on it). One shape with every
module's settings (``kit.module_settings``)."""

from __future__ import annotations

from dataclasses import dataclass

from beyondpay.kit.module_settings import ModuleSettings
from beyondpay.kit.settings import Settings


@dataclass(frozen=True, slots=True)
class PortalConfig:
    public_url: str  # without a trailing slash

    @classmethod
    def from_settings(cls, settings: Settings) -> PortalConfig:
        return cls(public_url=settings.public_url_value().rstrip("/"))

    @property
    def secure_cookies(self) -> bool:
        """Whether the visit's cookie is sent only over HTTPS: whenever browsers reach us so
        (a plain-HTTP address is a developer's machine)."""
        return self.public_url.startswith("https://")


CONFIG: ModuleSettings[PortalConfig] = ModuleSettings(PortalConfig.from_settings)


def configure(settings: Settings) -> PortalConfig:
    """The composition root (``app.configure_modules``) calls it when the API or worker starts."""
    return CONFIG.set(PortalConfig.from_settings(settings))
