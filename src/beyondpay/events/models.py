"""The events table (migration 0005). Rows are inserted by ``events.service`` in the writer's
transaction; only the numbering job (``events.tasks``) updates them, to set ``sequence``, and
the relay (``events.relay``), to set ``published_at``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base


class EventRow(Base):
    __tablename__ = "events"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    type: Mapped[str] = mapped_column(Text)
    api_version: Mapped[str] = mapped_column(Text)
    object_id: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    request_id: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # An identity column the database sets: the order in which events were inserted (never
    # written from here; events are inserted on the driver).
    inserted: Mapped[int] = mapped_column(BigInteger)
    sequence: Mapped[int | None] = mapped_column(BigInteger)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def event_object(row: EventRow) -> dict[str, Any]:
    """The event in Stripe's shape: what ``GET /v1/events`` answers and what the bus carries."""
    return {
        "id": row.id,
        "object": "event",
        "api_version": row.api_version,
        "created": int(row.created_at.timestamp()),
        "data": row.data,
        "livemode": row.livemode,
        # Deliveries to webhook endpoints are not counted yet.
        "pending_webhooks": 0,
        "request": {"id": row.request_id, "idempotency_key": row.idempotency_key},
        "type": row.type,
        "sequence": row.sequence,
    }
