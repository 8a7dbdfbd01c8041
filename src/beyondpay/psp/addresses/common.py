"""What every address service shares: this PSP's handle, and the lock that serialises one
payer's changes to a kind of row."""

from __future__ import annotations

from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.settings import Settings, get_settings
from beyondpay.psp.addresses.domain import check_handle

ACTIVE: Final = "active"
_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))")

_configured: dict[str, str] = {}


def configure(settings: Settings) -> None:
    """This process's PSP handle (the app and the worker call it at start)."""
    _configured["handle"] = check_handle(settings.psp_handle)


def current_handle() -> str:
    return _configured.get("handle") or check_handle(get_settings().psp_handle)


async def lock(session: AsyncSession, name: str) -> None:
    """A transaction-scoped lock on a name: serialises one payer's changes to a kind of row, so
    counts (VPAs, aliases) and the one primary hold under concurrent requests."""
    await session.execute(_LOCK, {"name": name})
