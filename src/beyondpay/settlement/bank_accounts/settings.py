"""The settings bank accounts run on: the key ring (the account number is sealed under it, and
the validation job opens it) and the payout cooling period. One shape with every module's
settings (``kit.module_settings``)."""

from __future__ import annotations

from dataclasses import dataclass

from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.module_settings import ModuleSettings
from beyondpay.kit.settings import Settings


@dataclass(frozen=True, slots=True)
class BankAccountsConfig:
    ring: KeyRing
    cooling_period_h: int

    @classmethod
    def from_settings(
        cls, settings: Settings, *, ring: KeyRing | None = None
    ) -> BankAccountsConfig:
        return cls(
            ring=ring if ring is not None else settings.key_ring(),
            cooling_period_h=settings.payout_account_cooling_period_h,
        )


CONFIG: ModuleSettings[BankAccountsConfig] = ModuleSettings(BankAccountsConfig.from_settings)


def configure(settings: Settings, *, ring: KeyRing | None = None) -> BankAccountsConfig:
    """The composition root (``app.configure_modules``) calls it when the API or worker starts."""
    return CONFIG.set(BankAccountsConfig.from_settings(settings, ring=ring))
