"""Helpers for tests that call the HTTP API as merchants."""

from __future__ import annotations

import base64
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from beyondpay.db.session import Database
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.settings import Settings
from beyondpay.merchants.domain import KeyKind, MerchantStatus
from beyondpay.merchants.service import api_key_service, merchant_service

TEST_RING_TEXT = "t1:" + base64.b64encode(secrets.token_bytes(32)).decode()


def ring_for_tests() -> KeyRing:
    return KeyRing.parse(TEST_RING_TEXT)


@dataclass
class TestMerchant:
    __test__ = False

    id: str
    keys: dict[str, str] = field(default_factory=dict)  # "sk_test", "pk_live", … → key text

    def auth(self, name: str = "sk_test") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[name]}"}


async def make_merchant(
    database: Database,
    *,
    name: str = "Acme",
    status: MerchantStatus = MerchantStatus.active,
    restricted_scopes: tuple[str, ...] | None = None,
) -> TestMerchant:
    ring = ring_for_tests()
    async with database.unit_of_work() as session:
        created = await merchant_service.create(session, ring, name=name)
        if status is not MerchantStatus.pending_kyc:
            await merchant_service.set_status(session, created.id, status)
        merchant = TestMerchant(created.id)
        for key in created.keys:
            prefix = "sk" if key.kind is KeyKind.secret else "pk"
            merchant.keys[f"{prefix}_{'live' if key.livemode else 'test'}"] = key.secret
        if restricted_scopes is not None:
            for livemode in (False, True):
                issued = await api_key_service.issue(
                    session,
                    ring,
                    merchant_id=created.id,
                    kind=KeyKind.restricted,
                    livemode=livemode,
                    scopes=restricted_scopes,
                )
                merchant.keys[f"rk_{'live' if livemode else 'test'}"] = issued.secret
    return merchant


@asynccontextmanager
async def app_client(
    database_url: str, settings: Settings, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The API in this process, on ``settings`` with ``overrides`` (a slow rail, a short
    answer wait), as an HTTP client."""
    from beyondpay.app import create_app

    app = create_app(settings.model_copy(update=overrides), database_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http
