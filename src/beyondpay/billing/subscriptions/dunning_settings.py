"""Each merchant's dunning settings, per mode (``GET``/``POST /v1/billing/dunning_settings``):
the retry schedule, the final action, what becomes of the invoice and the mandate category.
A merchant that never set them has Stripe's recommended schedule (``dunning.DunningSettings()``).
Never commits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.subscriptions import dunning
from beyondpay.billing.subscriptions.domain import FinalAction
from beyondpay.billing.subscriptions.errors import RetryScheduleInvalidError
from beyondpay.billing.subscriptions.models import DunningSettingsRow
from beyondpay.billing.subscriptions.schemas import DunningSettingsUpdateParams
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import InvalidRequestError
from beyondpay.merchants.domain import Caller

DEFAULTS = dunning.DunningSettings()


async def settings_of(
    session: AsyncSession, merchant_id: str, livemode: bool
) -> dunning.DunningSettings:
    """The merchant's settings in ``livemode``, or Stripe's recommended ones."""
    row = (
        await session.execute(
            select(DunningSettingsRow)
            .where(
                DunningSettingsRow.merchant_id == merchant_id,
                DunningSettingsRow.livemode == livemode,
            )
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if row is None:
        return DEFAULTS
    return dunning.DunningSettings(
        retry_offsets=tuple(timedelta(seconds=offset) for offset in row.retry_offsets_s),
        final_action=FinalAction(row.final_action),
        final_invoice=dunning.FinalInvoice(row.final_invoice),
        mandate_category=dunning.MandateCategory(row.mandate_category),
    )


def settings_object(livemode: bool, settings: dunning.DunningSettings) -> dict[str, Any]:
    return {
        "object": "dunning_settings",
        "livemode": livemode,
        "retry_offsets_seconds": [int(o.total_seconds()) for o in settings.retry_offsets],
        "final_action": settings.final_action.value,
        "final_invoice": settings.final_invoice.value,
        "mandate_category": settings.mandate_category.value,
        "authentication_limit": dunning.authentication_limit_minor(settings.mandate_category),
    }


def _offsets(params: DunningSettingsUpdateParams) -> tuple[tuple[timedelta, ...], str] | None:
    if params.retry_offsets_days is not None and params.retry_offsets_seconds is not None:
        raise InvalidRequestError(
            "Give the retry schedule in days or in seconds, not both.",
            param="retry_offsets_seconds",
        )
    if params.retry_offsets_days is not None:
        days = params.retry_offsets_days
        return tuple(timedelta(days=offset) for offset in days), "retry_offsets_days"
    if params.retry_offsets_seconds is not None:
        seconds = params.retry_offsets_seconds
        return tuple(timedelta(seconds=offset) for offset in seconds), "retry_offsets_seconds"
    return None


class DunningSettingsService:
    async def retrieve(self, session: AsyncSession, caller: Caller) -> dict[str, Any]:
        settings = await settings_of(session, caller.merchant, caller.livemode)
        return settings_object(caller.livemode, settings)

    async def update(
        self, session: AsyncSession, caller: Caller, params: DunningSettingsUpdateParams
    ) -> dict[str, Any]:
        """Changes what was sent; the rest stays. A schedule dunning cannot follow is refused
        (400 ``retry_schedule_invalid`` naming the parameter) before anything is written.
        Subscriptions already in dunning take the new settings at their next failed try."""
        current = await settings_of(session, caller.merchant, caller.livemode)
        offsets = _offsets(params)
        retry_offsets = current.retry_offsets
        if offsets is not None:
            retry_offsets, param = offsets
            try:
                dunning.DunningSettings(retry_offsets=retry_offsets)
            except RetryScheduleInvalidError as error:
                raise RetryScheduleInvalidError(error.message, param=param) from None
        settings = dunning.DunningSettings(
            retry_offsets=retry_offsets,
            final_action=params.final_action or current.final_action,
            final_invoice=params.final_invoice or current.final_invoice,
            mandate_category=params.mandate_category or current.mandate_category,
        )
        values = {
            "retry_offsets_s": [int(o.total_seconds()) for o in settings.retry_offsets],
            "final_action": settings.final_action.value,
            "final_invoice": settings.final_invoice.value,
            "mandate_category": settings.mandate_category.value,
            "updated_at": utcnow(),
        }
        await session.execute(
            insert(DunningSettingsRow)
            .values(merchant_id=caller.merchant, livemode=caller.livemode, **values)
            .on_conflict_do_update(
                index_elements=[DunningSettingsRow.merchant_id, DunningSettingsRow.livemode],
                set_=values,
            )
        )
        return settings_object(caller.livemode, settings)


dunning_settings_service = DunningSettingsService()
