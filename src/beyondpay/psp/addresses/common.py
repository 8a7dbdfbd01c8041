"""What every address service shares: this PSP's handle, and the lock that serialises one
payer's changes to a kind of row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.module_settings import ModuleSettings
from beyondpay.kit.settings import Settings
from beyondpay.psp.addresses.domain import check_handle

ACTIVE: Final = "active"
_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))")


@dataclass(frozen=True, slots=True)
class AddressesConfig:
    handle: str  # this process's PSP handle: payers' VPAs are username@handle

    @classmethod
    def from_settings(cls, settings: Settings) -> AddressesConfig:
        return cls(handle=check_handle(settings.psp_handle))


CONFIG: ModuleSettings[AddressesConfig] = ModuleSettings(AddressesConfig.from_settings)


def configure(settings: Settings) -> AddressesConfig:
    """The composition root (``app.configure_modules``) calls it when the API or worker starts."""
    return CONFIG.set(AddressesConfig.from_settings(settings))


def current_handle() -> str:
    return CONFIG.current().handle


async def lock(session: AsyncSession, name: str) -> None:
    """A transaction-scoped lock on a name: serialises one payer's changes to a kind of row, so
    counts (VPAs, aliases) and the one primary hold under concurrent requests."""
    await session.execute(_LOCK, {"name": name})
