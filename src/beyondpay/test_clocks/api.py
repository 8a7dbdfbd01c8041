"""Test clock routes (Stripe's ``/v1/test_helpers/test_clocks``): parse, authorize, call the
service, render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from beyondpay.api.access import TestClocksReader, TestClocksWriter
from beyondpay.api.auth import SessionDep
from beyondpay.api.mutation import Outcome
from beyondpay.api.routing import Body, Listed, Query, Router, listed
from beyondpay.test_clocks.schemas import (
    DeletedTestClock,
    TestClock,
    TestClockAdvanceParams,
    TestClockCreateParams,
    TestClockListParams,
    test_clock_object,
)
from beyondpay.test_clocks.service import test_clock_service

router = Router(prefix="/v1/test_helpers/test_clocks", tags=["test_clocks"])

TestClockId = Annotated[str, Path(max_length=255, description="The test clock's id (`clock_…`).")]


@router.post("", returns=TestClock)
async def create_test_clock(
    session: SessionDep, caller: TestClocksWriter, params: Body[TestClockCreateParams]
) -> Outcome:
    """Create a test clock (test mode only).

    Its `frozen_time` is the time of every object attached to it (customers, and their
    payments) until it is advanced.
    """
    return Outcome(test_clock_object(await test_clock_service.create(session, caller, params)))


@router.get("/{test_clock}", returns=TestClock | DeletedTestClock)
async def retrieve_test_clock(
    test_clock: TestClockId, session: SessionDep, caller: TestClocksReader
) -> dict[str, Any]:
    """Retrieve a test clock."""
    return test_clock_object(await test_clock_service.get(session, caller, test_clock))


@router.post("/{test_clock}/advance", returns=TestClock)
async def advance_test_clock(
    test_clock: TestClockId,
    session: SessionDep,
    caller: TestClocksWriter,
    params: Body[TestClockAdvanceParams],
) -> Outcome:
    """Advance a test clock.

    Answers at once with the clock `advancing`; what would have happened to its objects up to
    the new `frozen_time` (funds becoming available, …) then runs in the background, and the
    clock becomes `ready` (event `test_helpers.test_clock.ready`).
    """
    row = await test_clock_service.advance(session, caller, test_clock, params)
    return Outcome(test_clock_object(row))


@router.delete("/{test_clock}", returns=DeletedTestClock)
async def delete_test_clock(
    test_clock: TestClockId, session: SessionDep, caller: TestClocksWriter
) -> Outcome:
    """Delete a test clock, and the customers attached to it."""
    return Outcome(test_clock_object(await test_clock_service.delete(session, caller, test_clock)))


@router.get("", returns=TestClock)
async def list_test_clocks(
    session: SessionDep, caller: TestClocksReader, params: Query[TestClockListParams]
) -> Listed:
    """List test clocks."""
    return listed(test_clock_object, await test_clock_service.list(session, caller, params))
