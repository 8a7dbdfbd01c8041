"""Test clock parameters and the test clock object, in Stripe's shape."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from beyondpay.db.pagination import EXPAND_MAX, ListParams
from beyondpay.kit.params import Params
from beyondpay.test_clocks.domain import FROZEN_TIME_S_MAX, NAME_CHARS_MAX, Status, unix_s
from beyondpay.test_clocks.models import TestClockRow

FrozenTime = Annotated[int, Field(ge=0, le=FROZEN_TIME_S_MAX, description="Unix seconds.")]
Expand = Annotated[list[str], Field(default_factory=list, max_length=EXPAND_MAX)]


class TestClockCreateParams(Params):
    __test__ = False  # not a pytest class, whatever its name

    frozen_time: FrozenTime = Field(description="The clock's initial frozen time (unix seconds).")
    name: Annotated[str | None, Field(default=None, max_length=NAME_CHARS_MAX)] = None
    expand: Expand


class TestClockAdvanceParams(Params):
    __test__ = False

    frozen_time: FrozenTime = Field(
        description="The time to advance to: after the current frozen time, at most two years"
        " after it (unix seconds)."
    )
    expand: Expand


class TestClockListParams(ListParams):
    __test__ = False


class TestClockAdvancing(BaseModel):
    __test__ = False

    target_frozen_time: int = Field(description="The frozen_time the clock is advancing to.")


class TestClockStatusDetails(BaseModel):
    __test__ = False

    advancing: TestClockAdvancing | None = None


class TestClock(BaseModel):
    __test__ = False

    id: str
    object: Literal["test_helpers.test_clock"]
    created: int
    deletes_after: int = Field(description="When the clock deletes itself (unix seconds).")
    frozen_time: int = Field(description="The time of every object on the clock (unix seconds).")
    livemode: Literal[False]
    name: str | None
    status: Literal["ready", "advancing", "internal_failure"]
    status_details: TestClockStatusDetails


class DeletedTestClock(BaseModel):
    __test__ = False

    id: str
    object: Literal["test_helpers.test_clock"]
    deleted: Literal[True]


def test_clock_object(row: TestClockRow) -> dict[str, Any]:
    if row.deleted_at is not None:
        return {"id": row.id, "object": "test_helpers.test_clock", "deleted": True}
    details: dict[str, Any] = {}
    if row.status == Status.advancing and row.target_frozen_time is not None:
        details["advancing"] = {"target_frozen_time": unix_s(row.target_frozen_time)}
    return {
        "id": row.id,
        "object": "test_helpers.test_clock",
        "created": unix_s(row.created_at),
        "deletes_after": unix_s(row.deletes_after),
        "frozen_time": unix_s(row.frozen_time),
        "livemode": row.livemode,
        "name": row.name,
        "status": row.status,
        "status_details": details,
    }


test_clock_object.__test__ = False  # type: ignore[attr-defined]
