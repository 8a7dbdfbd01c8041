"""Appending to the audit trail. Runs in the caller's transaction; never commits.

A record names who (merchant, key, IP), what (method, route template, object id), how it ended
(status, error code) and the request id. It holds no parameters and no response body, so no
secret, card number or VPA can reach it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.audit.models import AuditEventRow
from beyondpay.kit.clock import utcnow
from beyondpay.kit.ids import new_id


@dataclass(frozen=True, slots=True)
class AuditRecord:
    merchant_id: str
    livemode: bool
    api_key_id: str | None
    ip: str | None
    method: str
    route: str
    object_id: str | None
    status: int
    error_code: str | None
    request_id: str


_INSERT_SQL: Final = (
    "INSERT INTO audit_events (id, merchant_id, livemode, api_key_id, ip, method, route,"
    " object_id, status, error_code, request_id, created_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)


def insert_statement(record: AuditRecord) -> tuple[str, tuple[Any, ...]]:
    """The record's INSERT as SQL and parameters for the driver: the hot path of every mutation
    writes it in one statement with the stored answer (a data-modifying CTE)."""
    parameters = (
        new_id("aud"),
        record.merchant_id,
        record.livemode,
        record.api_key_id,
        record.ip,
        record.method,
        record.route,
        record.object_id,
        record.status,
        record.error_code,
        record.request_id,
        utcnow(),
    )
    return _INSERT_SQL, parameters


class AuditService:
    async def append(self, session: AsyncSession, record: AuditRecord) -> str:
        audit_id = new_id("aud")
        await session.execute(
            insert(AuditEventRow).values(
                id=audit_id,
                merchant_id=record.merchant_id,
                livemode=record.livemode,
                api_key_id=record.api_key_id,
                ip=record.ip,
                method=record.method,
                route=record.route,
                object_id=record.object_id,
                status=record.status,
                error_code=record.error_code,
                request_id=record.request_id,
                created_at=utcnow(),
            )
        )
        return audit_id


audit_service = AuditService()
