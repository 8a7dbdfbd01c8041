"""The settings SetupIntents run on: the key ring (the reconciliation job opens a card to ask
the network again for a verification never applied). One shape with every module's settings
(``kit.module_settings``)."""

from __future__ import annotations

from dataclasses import dataclass

from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.module_settings import ModuleSettings
from beyondpay.kit.settings import Settings


@dataclass(frozen=True, slots=True)
class SetupIntentsConfig:
    ring: KeyRing

    @classmethod
    def from_settings(
        cls, settings: Settings, *, ring: KeyRing | None = None
    ) -> SetupIntentsConfig:
        return cls(ring=ring if ring is not None else settings.key_ring())


CONFIG: ModuleSettings[SetupIntentsConfig] = ModuleSettings(SetupIntentsConfig.from_settings)


def configure(settings: Settings, *, ring: KeyRing | None = None) -> SetupIntentsConfig:
    """The composition root (``app.configure_modules``) calls it when the API or worker starts."""
    return CONFIG.set(SetupIntentsConfig.from_settings(settings, ring=ring))


def key_ring() -> KeyRing:
    return CONFIG.current().ring
