"""The settlement schedule and the next window over the API: the default, choosing T+0 with
cut-offs and T+1/T+2, the countdown, refusals naming their parameter with nothing written,
idempotent choices, and scopes."""

from __future__ import annotations

from typing import Any

import httpx

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock
from tests.payments.support import get, post
from tests.settlement.windows.support import events_of_type, ist, windows
from tests.support import TestMerchant, make_merchant


def _refused(response: httpx.Response, param: str, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["param"] == param, error
    return error


async def test_the_default_schedule_and_its_next_window(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    with use_clock(FrozenClock(ist(2026, 12, 10, 17, 0))):
        schedule = await get(client, merchant, "/v1/settlement/schedule")
        assert schedule == {
            "object": "settlement_schedule",
            "speed": "t1",
            "cutoffs": ["18:00"],
            "timezone": "Asia/Kolkata",
            "livemode": False,
            "updated": None,
        }
        window = await get(client, merchant, "/v1/settlement/windows/next")
    assert window["id"] == "sw_t1_202612101800" and window["object"] == "settlement_window"
    assert window["speed"] == "t1" and window["status"] == "open"
    assert window["opens_at"] == int(ist(2026, 12, 9, 18, 0).timestamp())
    assert window["cut_off_at"] == int(ist(2026, 12, 10, 18, 0).timestamp())
    # Thu 10 Dec → Fri 11 Dec, 11:00 IST.
    assert window["eta"] == int(ist(2026, 12, 11, 11, 0).timestamp())
    assert window["seconds_to_cut_off"] == 3_600
    assert window["closed_at"] is None and window["closed_late"] is False
    assert window["totals"] == []
    assert await windows(database, merchant.id) == []  # a GET writes nothing


async def test_choosing_t0_with_cut_offs_starts_its_windows(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    with use_clock(FrozenClock(ist(2026, 12, 10, 10, 29, 30))):
        response = await post(
            client,
            merchant,
            "/v1/settlement/schedule",
            speed="t0",
            **{"cutoffs[0]": "10:30", "cutoffs[1]": "14:00"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["cutoffs"] == ["10:30", "14:00"]
        assert response.json()["updated"] == int(ist(2026, 12, 10, 10, 29, 30).timestamp())
        window = await get(client, merchant, "/v1/settlement/windows/next")
        assert await get(client, merchant, "/v1/settlement/schedule") == response.json()
    assert window["id"] == "sw_t0_202612101030"
    assert window["seconds_to_cut_off"] == 30
    assert window["eta"] == int(ist(2026, 12, 10, 12, 30).timestamp())
    assert window["opens_at"] == int(ist(2026, 12, 9, 14, 0).timestamp())
    recorded = await windows(database, merchant.id)
    assert [(w["id"], w["status"]) for w in recorded] == [("sw_t0_202612101030", "open")]
    (event,) = await events_of_type(database, "settlement_schedule.updated")
    assert event["speed"] == "t0" and event["cutoffs"] == ["10:30", "14:00"]


async def test_a_new_schedule_cuts_the_open_window_again(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    with use_clock(FrozenClock(ist(2026, 12, 10, 12, 0))):
        await post(client, merchant, "/v1/settlement/schedule", speed="t0")
        first = await get(client, merchant, "/v1/settlement/windows/next")
        assert first["id"] == "sw_t0_202612101500"
        moved = await post(client, merchant, "/v1/settlement/schedule", speed="t2")
        assert moved.status_code == 200 and moved.json()["cutoffs"] == ["18:00"]
        second = await get(client, merchant, "/v1/settlement/windows/next")
        # Same opening (nothing between falls outside a window), the new cut-off and ETA.
        assert second["id"] == "sw_t2_202612101800"
        assert second["opens_at"] == first["opens_at"]
        assert second["eta"] == int(ist(2026, 12, 14, 11, 0).timestamp())  # Sat 12 is closed
        # Back to t0 without cut-offs: the defaults again.
        back = await post(client, merchant, "/v1/settlement/schedule", speed="t0")
        assert back.json()["cutoffs"] == ["11:00", "15:00", "19:00"]
    assert [w["id"] for w in await windows(database, merchant.id)] == ["sw_t0_202612101500"]
    changes = await events_of_type(database, "settlement_schedule.updated")
    assert [event["speed"] for event in changes] == ["t0", "t2", "t0"]


async def test_refusals_name_the_parameter_and_write_nothing(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    path = "/v1/settlement/schedule"
    _refused(await post(client, merchant, path, speed="t3"), "speed")
    _refused(await post(client, merchant, path, speed="t0", **{"cutoffs[0]": "08:00"}), "cutoffs")
    _refused(await post(client, merchant, path, speed="t0", **{"cutoffs[0]": "11"}), "cutoffs[0]")
    _refused(
        await post(
            client, merchant, path, speed="t0", **{"cutoffs[0]": "12:00", "cutoffs[1]": "12:30"}
        ),
        "cutoffs",
    )
    error = _refused(
        await post(client, merchant, path, speed="t1", **{"cutoffs[0]": "12:00"}), "cutoffs"
    )
    assert error["code"] == "settlement_cutoffs_not_allowed"
    # Cut-offs for a merchant on the default T+1 without naming a speed: refused likewise.
    _refused(await post(client, merchant, path, **{"cutoffs[0]": "12:00"}), "cutoffs")
    _refused(await post(client, merchant, path, interval="daily"), "interval")
    assert (await get(client, merchant, path))["updated"] is None
    assert await windows(database, merchant.id) == []
    assert await events_of_type(database, "settlement_schedule.updated") == []


async def test_a_choice_is_idempotent(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    headers = {**merchant.auth(), "Idempotency-Key": "schedule-1"}
    body = {"speed": "t0", "cutoffs[0]": "12:00"}
    first = await client.post("/v1/settlement/schedule", data=body, headers=headers)
    again = await client.post("/v1/settlement/schedule", data=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    assert len(await events_of_type(database, "settlement_schedule.updated")) == 1
    other = await client.post("/v1/settlement/schedule", data={"speed": "t2"}, headers=headers)
    assert other.status_code == 400 and other.json()["error"]["type"] == "idempotency_error"


async def test_scopes(client: httpx.AsyncClient, database: Database) -> None:
    reader = await make_merchant(database, restricted_scopes=("settlement:read",))
    headers = reader.auth("rk_test")
    assert (await client.get("/v1/settlement/schedule", headers=headers)).status_code == 200
    assert (await client.get("/v1/settlement/windows/next", headers=headers)).status_code == 200
    refused = await client.post("/v1/settlement/schedule", data={"speed": "t0"}, headers=headers)
    assert refused.status_code == 403, refused.text
    other = await make_merchant(database, restricted_scopes=("balance:read",))
    answer = await client.get("/v1/settlement/schedule", headers=other.auth("rk_test"))
    assert answer.status_code == 403
    publishable = await client.get("/v1/settlement/schedule", headers=reader.auth("pk_test"))
    assert publishable.status_code in (401, 403)


async def test_live_and_test_schedules_are_apart(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    await post(client, merchant, "/v1/settlement/schedule", speed="t0")
    live = await client.get("/v1/settlement/schedule", headers=merchant.auth("sk_live"))
    assert live.status_code == 200 and live.json()["speed"] == "t1"
    assert live.json()["livemode"] is True


async def test_a_new_schedule_does_not_split_the_open_window_after_the_fact(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    with use_clock(FrozenClock(ist(2026, 12, 14, 12, 0))):
        await post(client, merchant, "/v1/settlement/schedule", speed="t1")
        # T+0's cut-offs since Friday's 18:00 (Fri 19:00, Mon 11:00) have passed: the open
        # window keeps its opening and takes T+0's next cut-off, Monday 15:00.
        await post(client, merchant, "/v1/settlement/schedule", speed="t0")
        window = await get(client, merchant, "/v1/settlement/windows/next")
    assert window["id"] == "sw_t0_202612141500"
    assert window["opens_at"] == int(ist(2026, 12, 11, 18, 0).timestamp())
    assert window["seconds_to_cut_off"] == 3 * 3_600
    assert [w["id"] for w in await windows(database, merchant.id)] == ["sw_t0_202612141500"]
