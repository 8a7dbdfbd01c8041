"""The settings disputes run on: the dispute fee and whether winning returns it. One shape with
every module's settings (``kit.module_settings``)."""

from __future__ import annotations

from dataclasses import dataclass

from beyondpay.kit.module_settings import ModuleSettings
from beyondpay.kit.settings import Settings


@dataclass(frozen=True, slots=True)
class DisputesConfig:
    fee_minor: int  # taken with the disputed amount, in the charge currency's minor units
    fee_returned_when_won: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> DisputesConfig:
        return cls(
            fee_minor=settings.disputes_fee_minor,
            fee_returned_when_won=settings.disputes_fee_returned_when_won,
        )


CONFIG: ModuleSettings[DisputesConfig] = ModuleSettings(DisputesConfig.from_settings)


def configure(settings: Settings) -> DisputesConfig:
    """The composition root (``app.configure_modules``) calls it when the API or worker starts."""
    return CONFIG.set(DisputesConfig.from_settings(settings))
