"""Settlement windows' API objects: the schedule's parameters, the ``settlement_schedule`` and
the ``settlement_window`` (our extension: Stripe has payout schedules, not windows)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, Field

from beyondpay.kit.params import Params
from beyondpay.settlement.windows import domain
from beyondpay.settlement.windows.domain import Schedule, Speed, Window
from beyondpay.settlement.windows.models import SettlementWindowRow

TIMEZONE: Final = "Asia/Kolkata"


def _cut_offs(values: list[str]) -> list[str]:
    parsed = tuple(domain.parse_cut_off(value) for value in values)
    problem = domain.cut_offs_problem(parsed)
    if problem is not None:
        raise ValueError(problem)
    return values


CutOff = Annotated[str, Field(min_length=5, max_length=5, examples=["11:00"])]


class ScheduleParams(Params):
    speed: Speed | None = Field(
        default=None,
        description="`t0`: several cut-offs a working day, money at the bank the same day; "
        "`t1` / `t2`: one cut-off a working day, money at the bank 1 / 2 working days later.",
    )
    cutoffs: Annotated[
        list[CutOff] | None,
        Field(default=None, max_length=domain.T0_CUT_OFFS_MAX),
        AfterValidator(lambda values: None if values is None else _cut_offs(values)),
    ] = Field(
        default=None,
        description="For `t0` only: the cut-offs, `HH:MM` in IST, ascending, an hour apart, "
        "between 09:00 and 19:00 (default 11:00, 15:00, 19:00).",
    )


class SettlementSchedule(BaseModel):
    object: Literal["settlement_schedule"]
    speed: Speed
    cutoffs: list[str] = Field(description="The working day's cut-offs, `HH:MM` in IST.")
    timezone: Literal["Asia/Kolkata"]
    livemode: bool
    updated: int | None = Field(description="When the merchant last chose it; null: default.")


class SettlementWindowTotal(BaseModel):
    currency: str
    amount: int
    fee: int
    net: int
    count: int


class SettlementWindow(BaseModel):
    id: str = Field(description="`sw_<speed>_<cut-off as YYYYMMDDHHMM IST>`, per merchant.")
    object: Literal["settlement_window"]
    speed: Speed
    status: Literal["open", "closed"]
    opens_at: int
    cut_off_at: int
    eta: int = Field(description="When the window's money reaches the bank.")
    seconds_to_cut_off: int
    closed_at: int | None
    closed_late: bool
    totals: list[SettlementWindowTotal] = Field(
        description="Per currency, the balance transactions that became available in the "
        "window; filled when it closes."
    )
    livemode: bool


def _unix(moment: datetime) -> int:
    return int(moment.timestamp())


def _hhmm(at: time) -> str:
    return f"{at:%H:%M}"


def schedule_object(schedule: Schedule, livemode: bool, updated: datetime | None) -> dict[str, Any]:
    return {
        "object": "settlement_schedule",
        "speed": schedule.speed.value,
        "cutoffs": [_hhmm(at) for at in schedule.cut_off_times()],
        "timezone": TIMEZONE,
        "livemode": livemode,
        "updated": None if updated is None else _unix(updated),
    }


def window_object(window: Window, livemode: bool, now: datetime) -> dict[str, Any]:
    """A window not closed yet (recorded or still to come)."""
    return {
        "id": window.id,
        "object": "settlement_window",
        "speed": window.speed.value,
        "status": "open",
        "opens_at": _unix(window.opens_at),
        "cut_off_at": _unix(window.cut_off_at),
        "eta": _unix(window.eta),
        "seconds_to_cut_off": domain.seconds_to_cut_off(window, now),
        "closed_at": None,
        "closed_late": False,
        "totals": [],
        "livemode": livemode,
    }


def window_row_object(row: SettlementWindowRow, now: datetime) -> dict[str, Any]:
    window = as_window(row)
    rendered = window_object(window, row.livemode, now)
    rendered.update(
        status=row.status,
        closed_at=None if row.closed_at is None else _unix(row.closed_at),
        closed_late=row.closed_late,
        totals=[dict(total) for total in row.totals],
    )
    return rendered


def as_window(row: SettlementWindowRow) -> Window:
    return Window(
        speed=Speed(row.speed), opens_at=row.opens_at, cut_off_at=row.cut_off_at, eta=row.eta
    )
