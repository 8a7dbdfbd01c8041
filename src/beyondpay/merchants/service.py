"""Merchant and API-key use cases. Runs in the caller's unit of work; never commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import AuthenticationError
from beyondpay.kit.ids import new_id
from beyondpay.merchants.domain import (
    Caller,
    KeyKind,
    MerchantStatus,
    new_key_text,
    parse_key_text,
    redact_key,
)
from beyondpay.merchants.models import ApiKeyRow, MerchantRow

# last_used_at is written at most this often per key: a write per request would make every
# read a write and serialize a busy key on its row.
LAST_USED_RESOLUTION_S: Final = 60


class ApiKeyExpiredError(AuthenticationError):
    code = "api_key_expired"
    default_message = "Expired API key provided."


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A key as created: ``secret`` is the only time its text is ever available."""

    id: str
    kind: KeyKind
    livemode: bool
    secret: str
    redacted: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewMerchant:
    id: str
    name: str
    keys: list[IssuedKey]


class MerchantService:
    async def create(self, session: AsyncSession, ring: KeyRing, *, name: str) -> NewMerchant:
        """A merchant pending KYC, with a secret and a publishable key for each mode."""
        now = utcnow()
        merchant_id = new_id("acct")
        session.add(
            MerchantRow(
                id=merchant_id,
                name=name,
                status=MerchantStatus.pending_kyc.value,
                created_at=now,
                updated_at=now,
            )
        )
        await session.flush()
        keys = [
            await api_key_service.issue(
                session, ring, merchant_id=merchant_id, kind=kind, livemode=live
            )
            for live in (False, True)
            for kind in (KeyKind.secret, KeyKind.publishable)
        ]
        return NewMerchant(id=merchant_id, name=name, keys=keys)

    async def get(self, session: AsyncSession, merchant_id: str) -> MerchantRow | None:
        return await session.get(MerchantRow, merchant_id)

    async def set_status(
        self,
        session: AsyncSession,
        merchant_id: str,
        status: MerchantStatus,
        *,
        reason: str | None = None,
    ) -> MerchantRow | None:
        row = await session.get(MerchantRow, merchant_id, with_for_update=True)
        if row is None:
            return None
        row.status = status.value
        row.status_reason = reason
        row.updated_at = utcnow()
        await session.flush()
        return row


class ApiKeyService:
    async def issue(
        self,
        session: AsyncSession,
        ring: KeyRing,
        *,
        merchant_id: str | None,
        kind: KeyKind,
        livemode: bool,
        name: str | None = None,
        scopes: Sequence[str] = (),
        allowed_ips: Sequence[str] | None = None,
        expires_at: datetime | None = None,
    ) -> IssuedKey:
        secret = new_key_text(kind, livemode)
        row = ApiKeyRow(
            id=new_id("key"),
            merchant_id=merchant_id,
            kind=kind.value,
            livemode=livemode,
            fingerprint=ring.fingerprint(secret),
            ring_key_id=ring.current_id,
            redacted=redact_key(secret),
            name=name,
            scopes=sorted(set(scopes)),
            allowed_ips=list(allowed_ips) if allowed_ips else None,
            created_at=utcnow(),
            expires_at=expires_at,
        )
        session.add(row)
        await session.flush()
        return IssuedKey(row.id, kind, livemode, secret, row.redacted, row.created_at)

    async def authenticate(self, session: AsyncSession, ring: KeyRing, text: str) -> Caller:
        """The caller a key names; ``AuthenticationError`` for a malformed, unknown, revoked or
        expired key. The message shows the key redacted, never whole."""
        parsed = parse_key_text(text)
        if parsed is None:
            raise AuthenticationError("Invalid API key provided.")
        shown = redact_key(text)
        statement = (
            select(ApiKeyRow, MerchantRow.status)
            .outerjoin(MerchantRow, MerchantRow.id == ApiKeyRow.merchant_id)
            .where(ApiKeyRow.fingerprint.in_(ring.fingerprints(text)))
        )
        found = (await session.execute(statement)).first()
        if found is None:
            raise AuthenticationError(f"Invalid API key provided: {shown}")
        row, merchant_status = found
        now = utcnow()
        if row.revoked_at is not None or (row.kind, row.livemode) != (parsed[0].value, parsed[1]):
            raise AuthenticationError(f"Invalid API key provided: {shown}")
        if row.expires_at is not None and row.expires_at <= now:
            raise ApiKeyExpiredError(f"Expired API key provided: {shown}")
        if row.last_used_at is None or now - row.last_used_at >= timedelta(
            seconds=LAST_USED_RESOLUTION_S
        ):
            await session.execute(
                update(ApiKeyRow).where(ApiKeyRow.id == row.id).values(last_used_at=now)
            )
        return Caller(
            key_id=row.id,
            kind=KeyKind(row.kind),
            livemode=row.livemode,
            merchant_id=row.merchant_id,
            merchant_status=MerchantStatus(merchant_status) if merchant_status else None,
            scopes=frozenset(row.scopes),
            allowed_ips=tuple(str(network) for network in row.allowed_ips or ()),
            last_used_at=row.last_used_at,
        )


merchant_service = MerchantService()
api_key_service = ApiKeyService()
