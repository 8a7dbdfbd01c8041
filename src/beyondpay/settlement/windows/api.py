"""Settlement schedule and windows routes (our extension under /v1): parse, authorize, call the
service, render."""

from __future__ import annotations

from typing import Any

from beyondpay.api.access import SettlementReader, SettlementWriter
from beyondpay.api.auth import SessionDep
from beyondpay.api.mutation import Outcome
from beyondpay.api.routing import Body, Router
from beyondpay.settlement.windows.schemas import (
    ScheduleParams,
    SettlementSchedule,
    SettlementWindow,
)
from beyondpay.settlement.windows.service import settlement_window_service

router = Router(prefix="/v1/settlement", tags=["settlement"])


@router.get("/schedule", returns=SettlementSchedule)
async def retrieve_settlement_schedule(
    session: SessionDep, caller: SettlementReader
) -> dict[str, Any]:
    """Retrieve the settlement schedule: `speed` and the working day's `cutoffs` (IST)."""
    return await settlement_window_service.schedule(session, caller)


@router.post("/schedule", returns=SettlementSchedule)
async def update_settlement_schedule(
    session: SessionDep, caller: SettlementWriter, params: Body[ScheduleParams]
) -> Outcome:
    """Choose the settlement schedule: `speed` `t0` (with optional `cutoffs[]`), `t1` or `t2`.
    An open window whose cut-off is ahead is cut again under the new schedule."""
    return Outcome(await settlement_window_service.set_schedule(session, caller, params))


@router.get("/windows/next", returns=SettlementWindow)
async def retrieve_next_settlement_window(
    session: SessionDep, caller: SettlementReader
) -> dict[str, Any]:
    """The next settlement window: its `cut_off_at`, `eta` and `seconds_to_cut_off`."""
    return await settlement_window_service.next_window(session, caller)
