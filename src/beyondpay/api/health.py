"""Liveness, readiness and metrics: what an orchestrator and Prometheus poll."""

from __future__ import annotations

import asyncio
from typing import Final

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.responses import JSONResponse, Response

from beyondpay.db.migrate import head_revision
from beyondpay.db.session import Database

READINESS_TIMEOUT_S: Final = 3.0

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def readiness(database: Database) -> str | None:
    """None when ready, else the reason (no secrets: the URL is never part of it)."""
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_S), database.connect() as connection:
            result = await connection.execute(
                text("SELECT version_num FROM alembic_version LIMIT 1")
            )
            current = result.scalar_one_or_none()
    except TimeoutError:
        return "database: no answer within the readiness timeout"
    except Exception as exc:
        if "alembic_version" in str(exc):
            return "migrations: the database has not been migrated (run `beyondpay migrate`)"
        return f"database: unreachable ({type(exc).__name__})"
    head = head_revision()
    if current != head:
        return f"migrations: database at {current}, code at {head} (run `beyondpay migrate`)"
    return None


@router.get("/readyz")
async def readyz(request: Request) -> Response:
    reason = await readiness(request.app.state.database)
    if reason is None:
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)


@router.get("/metrics")
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
