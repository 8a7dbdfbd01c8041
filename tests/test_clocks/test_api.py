"""Test clocks over HTTP: lifecycle and events, bad input named, live keys refused, racing
advances, customers on a clock, and what an advance runs (funds becoming available)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock
from beyondpay.payments.tasks import release_funds
from beyondpay.rails.tasks import void_operation_on
from beyondpay.test_clocks.tasks import advance_on, delete_expired_on
from beyondpay.test_clocks.timeline import Interval, Stage, off_advance, on_advance
from tests.payments.support import balance_and_transactions, deliver_callbacks, get, pay
from tests.support import TestMerchant
from tests.test_clocks.support import CLOCKS_PATH, advance, new_clock, run_advances

DAY_S: Final = 86_400
# 1 January 2020: a clock far in the past, where the real-time jobs would see everything due.
JANUARY_2020: Final = 1_577_836_800


async def _events(database: Database, object_id: str) -> list[str]:
    async with database.unit_of_work() as session:
        rows = await session.execute(
            text("SELECT type FROM events WHERE object_id = :id ORDER BY inserted"),
            {"id": object_id},
        )
        return [str(row) for row in rows.scalars()]


async def _customer(
    client: httpx.AsyncClient, merchant: TestMerchant, clock_id: str, key: str = "sk_test"
) -> httpx.Response:
    return await client.post(
        "/v1/customers", data={"name": "Asha", "test_clock": clock_id}, headers=merchant.auth(key)
    )


async def test_lifecycle_in_stripes_shape_with_its_events(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    before_s = int(time.time())
    clock = await new_clock(client, merchant, JANUARY_2020, name="Renewals")
    assert clock["id"].startswith("clock_")
    assert clock["object"] == "test_helpers.test_clock"
    assert clock["frozen_time"] == JANUARY_2020 and clock["name"] == "Renewals"
    assert clock["livemode"] is False
    assert clock["status"] == "ready" and clock["status_details"] == {}
    assert before_s <= clock["created"] <= int(time.time())
    assert clock["deletes_after"] == clock["created"] + 30 * DAY_S

    fetched = await get(client, merchant, f"{CLOCKS_PATH}/{clock['id']}")
    assert fetched == clock
    listed = await get(client, merchant, CLOCKS_PATH)
    assert listed["object"] == "list" and listed["url"] == CLOCKS_PATH
    assert [item["id"] for item in listed["data"]] == [clock["id"]]

    target = JANUARY_2020 + 3 * DAY_S
    advancing = await advance(client, merchant, clock["id"], target)
    assert advancing.status_code == 200, advancing.text
    assert advancing.json()["status"] == "advancing"
    assert advancing.json()["frozen_time"] == JANUARY_2020
    assert advancing.json()["status_details"] == {"advancing": {"target_frozen_time": target}}

    assert await run_advances(database) == 1
    ready = await get(client, merchant, f"{CLOCKS_PATH}/{clock['id']}")
    assert ready["status"] == "ready" and ready["frozen_time"] == target
    assert ready["status_details"] == {}

    deleted = await client.delete(f"{CLOCKS_PATH}/{clock['id']}", headers=merchant.auth())
    stub = {"id": clock["id"], "object": "test_helpers.test_clock", "deleted": True}
    assert deleted.status_code == 200 and deleted.json() == stub
    assert await get(client, merchant, f"{CLOCKS_PATH}/{clock['id']}") == stub
    assert (await get(client, merchant, CLOCKS_PATH))["data"] == []
    again = await client.delete(f"{CLOCKS_PATH}/{clock['id']}", headers=merchant.auth())
    assert again.status_code == 404
    assert await _events(database, clock["id"]) == [
        "test_helpers.test_clock.created",
        "test_helpers.test_clock.advancing",
        "test_helpers.test_clock.ready",
        "test_helpers.test_clock.deleted",
    ]


async def test_bad_input_names_the_parameter_and_writes_nothing(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    for params, param in [
        ({}, "frozen_time"),
        ({"frozen_time": "soon"}, "frozen_time"),
        ({"frozen_time": "-1"}, "frozen_time"),
        ({"frozen_time": JANUARY_2020, "name": "n" * 301}, "name"),
        ({"frozen_time": JANUARY_2020, "colour": "red"}, "colour"),
    ]:
        refused = await client.post(CLOCKS_PATH, data=params, headers=merchant.auth())
        assert refused.status_code == 400, (params, refused.text)
        assert refused.json()["error"]["param"] == param, (params, refused.text)
    assert (await get(client, merchant, CLOCKS_PATH))["data"] == []

    clock = await new_clock(client, merchant, JANUARY_2020)
    two_years_later = int(datetime(2022, 1, 1, tzinfo=UTC).timestamp())
    for frozen_time in (JANUARY_2020, JANUARY_2020 - 1, two_years_later + 1):
        refused = await advance(client, merchant, clock["id"], frozen_time)
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["param"] == "frozen_time", refused.text
    unchanged = await get(client, merchant, f"{CLOCKS_PATH}/{clock['id']}")
    assert unchanged["status"] == "ready" and unchanged["frozen_time"] == JANUARY_2020
    # Two years to the second is Stripe's limit, and allowed.
    assert (await advance(client, merchant, clock["id"], two_years_later)).status_code == 200
    unknown = await advance(client, merchant, "clock_" + "Z" * 22, JANUARY_2020 + 1)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"] == f"No such test clock: 'clock_{'Z' * 22}'"


async def test_live_keys_are_refused_clearly(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    clock = await new_clock(client, merchant, JANUARY_2020)
    live = merchant.auth("sk_live")
    answers = [
        await client.post(CLOCKS_PATH, data={"frozen_time": JANUARY_2020}, headers=live),
        await client.get(CLOCKS_PATH, headers=live),
        await client.get(f"{CLOCKS_PATH}/{clock['id']}", headers=live),
        await client.post(
            f"{CLOCKS_PATH}/{clock['id']}/advance", data={"frozen_time": 1}, headers=live
        ),
        await client.delete(f"{CLOCKS_PATH}/{clock['id']}", headers=live),
    ]
    for answer in answers:
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["code"] == "test_mode_only"
        assert "test mode" in answer.json()["error"]["message"]
    customer = await _customer(client, merchant, clock["id"], key="sk_live")
    assert customer.status_code == 400
    assert customer.json()["error"]["code"] == "test_mode_only"
    assert customer.json()["error"]["param"] == "test_clock"


async def test_two_racing_advances_make_one(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock = await new_clock(client, merchant, JANUARY_2020)
    answers = await asyncio.gather(
        advance(client, merchant, clock["id"], JANUARY_2020 + DAY_S),
        advance(client, merchant, clock["id"], JANUARY_2020 + 2 * DAY_S),
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200, 400], [answer.text for answer in answers]
    (refused,) = [answer for answer in answers if answer.status_code == 400]
    assert refused.json()["error"]["code"] == "test_clock_not_ready"
    (accepted,) = [answer for answer in answers if answer.status_code == 200]
    target = accepted.json()["status_details"]["advancing"]["target_frozen_time"]
    assert await run_advances(database) == 1
    # The job run again (a worker that died after committing) finds nothing to do.
    assert not await advance_on(database, clock["id"], target, last=True)
    ready = await get(client, merchant, f"{CLOCKS_PATH}/{clock['id']}")
    assert ready["status"] == "ready" and ready["frozen_time"] == target
    assert (await _events(database, clock["id"])).count("test_helpers.test_clock.ready") == 1


async def test_customers_attach_at_the_clocks_time(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock = await new_clock(client, merchant, JANUARY_2020)
    customers = []
    for _ in range(3):
        created = await _customer(client, merchant, clock["id"])
        assert created.status_code == 200, created.text
        customers.append(created.json())
    assert all(c["test_clock"] == clock["id"] for c in customers)
    assert all(c["created"] == JANUARY_2020 for c in customers)
    full = await _customer(client, merchant, clock["id"])
    assert full.status_code == 400 and full.json()["error"]["param"] == "test_clock"
    unknown = await _customer(client, merchant, "clock_" + "Z" * 22)
    assert unknown.status_code == 404 and unknown.json()["error"]["param"] == "test_clock"
    plain = await client.post("/v1/customers", data={"name": "Ravi"}, headers=merchant.auth())
    assert plain.json()["test_clock"] is None
    on_clock = await get(client, merchant, "/v1/customers", test_clock=clock["id"])
    assert sorted(c["id"] for c in on_clock["data"]) == sorted(c["id"] for c in customers)
    update = await client.post(
        f"/v1/customers/{customers[0]['id']}",
        data={"test_clock": clock["id"]},
        headers=merchant.auth(),
    )
    assert update.status_code == 400 and update.json()["error"]["param"] == "test_clock"

    # An advancing clock takes no new customer until it is ready.
    assert (await advance(client, merchant, clock["id"], JANUARY_2020 + DAY_S)).status_code == 200
    await client.delete(f"/v1/customers/{customers[0]['id']}", headers=merchant.auth())
    busy = await _customer(client, merchant, clock["id"])
    assert busy.status_code == 400 and busy.json()["error"]["code"] == "test_clock_not_ready"
    await run_advances(database)

    # Deleting the clock deletes its customers, as Stripe does; others stay.
    deleted = await client.delete(f"{CLOCKS_PATH}/{clock['id']}", headers=merchant.auth())
    assert deleted.status_code == 200
    for customer in customers:
        after = await get(client, merchant, f"/v1/customers/{customer['id']}")
        assert after == {"id": customer["id"], "object": "customer", "deleted": True}
        assert (await _events(database, customer["id"])).count("customer.deleted") == 1
    assert "deleted" not in await get(client, merchant, f"/v1/customers/{plain.json()['id']}")


async def test_a_payment_on_a_clock_is_made_at_its_time_and_available_when_it_advances(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock = await new_clock(client, merchant, JANUARY_2020)
    customer = (await _customer(client, merchant, clock["id"])).json()
    intent = await pay(client, merchant, customer=customer["id"], payment_method="pm_card_visa")
    assert intent["status"] == "succeeded" and intent["created"] == JANUARY_2020
    charge = await get(
        client,
        merchant,
        f"/v1/charges/{intent['latest_charge']}",
        **{"expand[]": "balance_transaction"},
    )
    assert charge["created"] == JANUARY_2020
    transaction = charge["balance_transaction"]
    assert transaction["status"] == "pending" and transaction["created"] == JANUARY_2020
    assert transaction["available_on"] == JANUARY_2020 + 2 * DAY_S
    # The real-time job leaves a clock's funds alone, though their available_on is long past.
    assert await release_funds(database) == 0

    assert (await advance(client, merchant, clock["id"], JANUARY_2020 + DAY_S)).status_code == 200
    await run_advances(database)
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums == {"available": 0, "pending": 9_800}

    assert (
        await advance(client, merchant, clock["id"], JANUARY_2020 + 3 * DAY_S)
    ).status_code == 200
    await run_advances(database)
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums == {"available": 9_800, "pending": 0}
    after = await get(client, merchant, f"/v1/balance_transactions/{transaction['id']}")
    assert after["status"] == "available"


async def test_an_advance_that_cannot_complete_leaves_the_clock_at_its_time(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    ran: list[Interval] = []

    async def broken(session: Any, interval: Interval) -> None:
        ran.append(interval)
        raise RuntimeError("a handler that cannot complete")

    clock = await new_clock(client, merchant, JANUARY_2020)
    on_advance(broken, stage=Stage.billing)
    try:
        await advance(client, merchant, clock["id"], JANUARY_2020 + DAY_S)
        await run_advances(database)
    finally:
        off_advance(broken)
    assert [(i.start.timestamp(), i.end.timestamp()) for i in ran] == [
        (JANUARY_2020, JANUARY_2020 + DAY_S)
    ]
    failed = await get(client, merchant, f"{CLOCKS_PATH}/{clock['id']}")
    assert failed["status"] == "internal_failure" and failed["frozen_time"] == JANUARY_2020
    assert "test_helpers.test_clock.internal_failure" in await _events(database, clock["id"])
    # It may be advanced again.
    assert (await advance(client, merchant, clock["id"], JANUARY_2020 + DAY_S)).status_code == 200
    await run_advances(database)
    assert (await get(client, merchant, f"{CLOCKS_PATH}/{clock['id']}"))["status"] == "ready"


async def test_clocks_delete_themselves_after_30_days(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock = await new_clock(client, merchant, JANUARY_2020)
    customer = (await _customer(client, merchant, clock["id"])).json()
    assert await delete_expired_on(database) == 0
    # The sweep's own timing (real time, not a clock's): 30 days after creation.
    with use_clock(FrozenClock(datetime.now(UTC) + timedelta(days=30, seconds=1))):
        assert await delete_expired_on(database) == 1
        assert await delete_expired_on(database) == 0
    gone = await get(client, merchant, f"{CLOCKS_PATH}/{clock['id']}")
    assert gone["deleted"] is True
    assert (await get(client, merchant, f"/v1/customers/{customer['id']}"))["deleted"] is True


async def test_a_upi_collect_on_a_clock_expires_on_the_clocks_time(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock = await new_clock(client, merchant, JANUARY_2020)
    customer = (await _customer(client, merchant, clock["id"])).json()
    upi = {
        "customer": customer["id"],
        "payment_method_types[0]": "upi",
        "payment_method_data[type]": "upi",
        "payment_method_data[upi][vpa]": "success@sandbox",
    }
    intent = await pay(client, merchant, **upi)
    assert intent["status"] == "requires_action"
    assert intent["next_action"]["type"] == "upi_collect"
    # The collect stays open 5 minutes (of the clock's time): a minute on, it still waits.
    assert (await advance(client, merchant, clock["id"], JANUARY_2020 + 60)).status_code == 200
    await run_advances(database)
    waiting = await get(client, merchant, f"/v1/payment_intents/{intent['id']}")
    assert waiting["status"] == "requires_action"
    assert (await advance(client, merchant, clock["id"], JANUARY_2020 + 360)).status_code == 200
    await run_advances(database)
    expired = await get(client, merchant, f"/v1/payment_intents/{intent['id']}")
    assert expired["status"] == "requires_payment_method"
    error = expired["last_payment_error"]
    assert error["code"] == "payment_intent_payment_attempt_expired"
    assert error["network_decline_code"] == "U69"
    charge = await get(client, merchant, f"/v1/charges/{intent['latest_charge']}")
    assert charge["status"] == "failed"
    assert "payment_intent.payment_failed" in await _events(database, intent["id"])
    # The rail is asked to release the collect (the void job, run as the worker would, at
    # once), so the sandbox payer's answer, arriving later in real time, changes nothing.
    async with database.unit_of_work() as session:
        voids = (
            await session.execute(
                text(
                    "UPDATE procrastinate_jobs SET status = 'succeeded'"
                    " WHERE task_name = 'rails:void_operation' AND status = 'todo'"
                    " RETURNING args"
                )
            )
        ).scalars()
        asked = list(voids)
    assert len(asked) == 1
    await void_operation_on(database, **asked[0])
    await deliver_callbacks(database)
    after = await get(client, merchant, f"/v1/payment_intents/{intent['id']}")
    assert after["status"] == "requires_payment_method"
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums == {"available": 0, "pending": 0}
