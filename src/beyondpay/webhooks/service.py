"""Webhook endpoint use cases, always within the caller's (merchant, mode). Never commits.

URLs reach this service already vetted by :mod:`beyondpay.webhooks.ssrf` (the route checks them
before the mutation starts: a refused URL is a validation failure, which is not stored).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.pagination import (
    created_conditions,
    merchant_owner,
    owned_page,
    scoped,
    scoped_page,
)
from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.kit.params import merge_metadata
from beyondpay.merchants.domain import Caller
from beyondpay.webhooks.errors import WebhookEndpointsLimitError
from beyondpay.webhooks.models import WebhookAttemptRow, WebhookDeliveryRow, WebhookEndpointRow
from beyondpay.webhooks.schemas import (
    EndpointStatus,
    WebhookDeliveryListParams,
    WebhookEndpointCreateParams,
    WebhookEndpointListParams,
    WebhookEndpointUpdateParams,
)
from beyondpay.webhooks.signing import new_secret

OBJECT_NAME = "webhook_endpoint"
DISABLED_BY_MERCHANT = "merchant"
ENDPOINTS_MAX = 16  # per merchant and mode, as in Stripe; deleted ones do not count


def _blank_to_none(value: str | None) -> str | None:
    return value if value else None


def active_secrets(ring: KeyRing, row: WebhookEndpointRow, now: datetime) -> list[str]:
    """The secrets a delivery at ``now`` is signed with: the current one, and the previous one
    while its overlap lasts. Newest first."""
    found = [ring.open(row.secret_sealed, context=row.id).decode()]
    expires_at = row.previous_secret_expires_at
    if row.previous_secret_sealed is not None and expires_at is not None and now < expires_at:
        found.append(ring.open(row.previous_secret_sealed, context=row.id).decode())
    return found


class WebhookEndpointService:
    async def create(
        self,
        session: AsyncSession,
        ring: KeyRing,
        caller: Caller,
        params: WebhookEndpointCreateParams,
    ) -> tuple[WebhookEndpointRow, str]:
        """The new endpoint and its secret (shown to the caller this once)."""
        await self._check_room(session, caller)
        endpoint_id = new_id("we")
        secret = new_secret()
        row = WebhookEndpointRow(
            id=endpoint_id,
            merchant_id=caller.merchant,
            livemode=caller.livemode,
            url=params.url,
            description=_blank_to_none(params.description),
            enabled_events=list(params.enabled_events),
            status=EndpointStatus.enabled.value,
            disabled_reason=None,
            secret_sealed=ring.seal(secret.encode(), context=endpoint_id),
            previous_secret_sealed=None,
            previous_secret_expires_at=None,
            metadata_=merge_metadata(
                {}, params.metadata if isinstance(params.metadata, dict) else None
            ),
            failing_since=None,
            created_at=utcnow(),
            deleted_at=None,
        )
        session.add(row)
        await session.flush()
        return row, secret

    async def _check_room(self, session: AsyncSession, caller: Caller) -> None:
        # Serialized per (merchant, mode), so two creations at once cannot both take the last.
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"webhook_endpoints:{caller.merchant}:{caller.livemode}"},
        )
        count = (
            await session.execute(
                select(func.count()).select_from(
                    scoped(
                        WebhookEndpointRow,
                        caller.merchant,
                        caller.livemode,
                        WebhookEndpointRow.deleted_at.is_(None),
                    ).subquery()
                )
            )
        ).scalar_one()
        if count >= ENDPOINTS_MAX:
            mode = "live" if caller.livemode else "test"
            raise WebhookEndpointsLimitError(
                f"You have reached the maximum of {ENDPOINTS_MAX} {mode} webhook endpoints;"
                " delete one to add another."
            )

    async def get(
        self, session: AsyncSession, caller: Caller, endpoint_id: str, *, for_update: bool = False
    ) -> WebhookEndpointRow:
        """The endpoint, deleted ones included; 404 outside the caller's scope."""
        statement = scoped(
            WebhookEndpointRow,
            caller.merchant,
            caller.livemode,
            WebhookEndpointRow.id == endpoint_id,
        )
        if for_update:
            statement = statement.with_for_update()
        row: WebhookEndpointRow | None = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object(OBJECT_NAME, endpoint_id)
        return row

    async def _live_row(
        self, session: AsyncSession, caller: Caller, endpoint_id: str
    ) -> WebhookEndpointRow:
        row = await self.get(session, caller, endpoint_id, for_update=True)
        if row.deleted_at is not None:
            raise ResourceMissingError.for_object(OBJECT_NAME, endpoint_id)
        return row

    async def update(
        self,
        session: AsyncSession,
        caller: Caller,
        endpoint_id: str,
        params: WebhookEndpointUpdateParams,
    ) -> WebhookEndpointRow:
        row = await self._live_row(session, caller, endpoint_id)
        sent = params.model_fields_set
        if "url" in sent and params.url is not None:
            row.url = params.url
        if "enabled_events" in sent and params.enabled_events is not None:
            row.enabled_events = list(params.enabled_events)
        if "description" in sent:
            row.description = _blank_to_none(params.description)
        if "metadata" in sent:
            metadata = params.metadata if isinstance(params.metadata, dict) else {}
            row.metadata_ = merge_metadata(row.metadata_, metadata)
        if "disabled" in sent and params.disabled is not None:
            if params.disabled:
                row.status = EndpointStatus.disabled.value
                row.disabled_reason = DISABLED_BY_MERCHANT
            else:
                # Enabled again by its owner: the failure streak that may have disabled it
                # starts afresh.
                row.status = EndpointStatus.enabled.value
                row.disabled_reason = None
                row.failing_since = None
        await session.flush()
        return row

    async def roll_secret(
        self,
        session: AsyncSession,
        ring: KeyRing,
        caller: Caller,
        endpoint_id: str,
        expires_in_s: int,
    ) -> tuple[WebhookEndpointRow, str]:
        """A new secret; the current one keeps signing for ``expires_in_s`` more seconds (a
        previous secret still in its own overlap is dropped: at most two sign at once)."""
        row = await self._live_row(session, caller, endpoint_id)
        secret = new_secret()
        if expires_in_s > 0:
            row.previous_secret_sealed = row.secret_sealed
            row.previous_secret_expires_at = utcnow() + timedelta(seconds=expires_in_s)
        else:
            row.previous_secret_sealed = None
            row.previous_secret_expires_at = None
        row.secret_sealed = ring.seal(secret.encode(), context=row.id)
        await session.flush()
        return row, secret

    async def delete(
        self, session: AsyncSession, caller: Caller, endpoint_id: str
    ) -> WebhookEndpointRow:
        row = await self._live_row(session, caller, endpoint_id)
        row.deleted_at = utcnow()
        await session.flush()
        return row

    async def list(
        self, session: AsyncSession, caller: Caller, params: WebhookEndpointListParams
    ) -> tuple[Sequence[WebhookEndpointRow], bool]:
        conditions: list[Any] = [WebhookEndpointRow.deleted_at.is_(None)]
        conditions += created_conditions(WebhookEndpointRow.created_at, params.created)
        return await scoped_page(
            session,
            WebhookEndpointRow,
            caller.merchant,
            caller.livemode,
            params,
            *conditions,
            object_name=OBJECT_NAME,
        )


webhook_endpoint_service = WebhookEndpointService()

DELIVERY_OBJECT_NAME = "webhook_delivery"


class WebhookDeliveryService:
    """Reading deliveries (they are written by :mod:`beyondpay.webhooks.deliveries`)."""

    async def list_for_endpoint(
        self,
        session: AsyncSession,
        caller: Caller,
        endpoint_id: str,
        params: WebhookDeliveryListParams,
    ) -> tuple[Sequence[WebhookDeliveryRow], bool]:
        await webhook_endpoint_service.get(session, caller, endpoint_id)
        # The endpoint (the caller's, checked above) owns its deliveries; the merchant and mode
        # still bound what is read.
        return await owned_page(
            session,
            WebhookDeliveryRow,
            params,
            owner=[WebhookDeliveryRow.endpoint_id == endpoint_id],
            filters=[
                *merchant_owner(WebhookDeliveryRow, caller.merchant, caller.livemode),
                *created_conditions(WebhookDeliveryRow.created_at, params.created),
            ],
            object_name=DELIVERY_OBJECT_NAME,
        )

    async def get(
        self, session: AsyncSession, caller: Caller, delivery_id: str
    ) -> tuple[WebhookDeliveryRow, list[WebhookAttemptRow]]:
        row: WebhookDeliveryRow | None = (
            await session.execute(
                scoped(
                    WebhookDeliveryRow,
                    caller.merchant,
                    caller.livemode,
                    WebhookDeliveryRow.id == delivery_id,
                )
            )
        ).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object(DELIVERY_OBJECT_NAME, delivery_id)
        attempts = (
            await session.execute(
                select(WebhookAttemptRow)
                .where(WebhookAttemptRow.delivery_id == delivery_id)
                .order_by(WebhookAttemptRow.id)
            )
        ).scalars()
        return row, list(attempts)


webhook_delivery_service = WebhookDeliveryService()
