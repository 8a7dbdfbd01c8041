"""Report runs (Stripe's reporting): created pending, computed by the job into a CSV file whose
numbers equal the balance transactions', the job twice without effect, the events; report
types listed and retrieved; bad parameters named; another merchant's run is 404."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock, utcnow
from beyondpay.reporting.domain import decimal
from beyondpay.reporting.service import ReportDefinition, register_report_type
from beyondpay.reporting.tasks import run_report_on
from tests.payments.support import get, pay, post
from tests.support import TestMerchant, make_merchant

RUNS = "/v1/reporting/report_runs"


async def _traffic(client: httpx.AsyncClient, merchant: TestMerchant) -> tuple[int, int]:
    """Two payments and a refund an hour ago; returns the interval around them."""
    start = utcnow() - timedelta(hours=2)
    with use_clock(FrozenClock(utcnow() - timedelta(hours=1))):
        paid = await pay(client, merchant, amount="10000", payment_method="pm_card_visa")
        await pay(client, merchant, amount="25050", payment_method="pm_card_visa")
        refund = await post(
            client, merchant, "/v1/refunds", payment_intent=paid["id"], amount="3000"
        )
        assert refund.status_code == 200, refund.text
    return int(start.timestamp()), int(utcnow().timestamp()) - 1


async def _run(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database, **params: Any
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    created = await post(client, merchant, RUNS, **params)
    assert created.status_code == 200, created.text
    pending = created.json()
    assert pending["status"] == "pending" and pending["result"] is None
    await run_report_on(database, pending["id"])
    await run_report_on(database, pending["id"])  # twice: nothing more
    done = await get(client, merchant, f"{RUNS}/{pending['id']}")
    assert done["status"] == "succeeded", done
    contents = await client.get(done["result"]["url"], headers=merchant.auth())
    assert contents.status_code == 200 and contents.headers["content-type"].startswith("text/csv")
    assert done["result"]["size"] == len(contents.content)
    return done, list(csv.DictReader(io.StringIO(contents.text)))


async def test_the_balance_summary_equals_the_balance_transactions(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    start, end = await _traffic(client, merchant)
    done, rows = await _run(
        client,
        merchant,
        database,
        report_type="balance.summary.1",
        **{"parameters[interval_start]": str(start), "parameters[interval_end]": str(end)},
    )
    listed = await get(client, merchant, "/v1/balance_transactions", limit=100)
    by_category: dict[str, int] = {}
    for transaction in listed["data"]:
        category = transaction["reporting_category"]
        by_category[category] = by_category.get(category, 0) + transaction["net"]
    expected = [("starting_balance", decimal(0))]
    expected += [(category, decimal(by_category[category])) for category in sorted(by_category)]
    expected.append(("ending_balance", decimal(sum(by_category.values()))))
    assert [(row["category"], row["net_amount"]) for row in rows] == expected
    balance = await get(client, merchant, "/v1/balance")
    total = sum(part["amount"] for key in ("available", "pending") for part in balance[key])
    assert rows[-1]["net_amount"] == decimal(total)
    assert done["result"]["purpose"] == "finance_report_run"
    async with database.unit_of_work() as session:
        types = (
            await session.execute(
                text("SELECT type FROM events WHERE type LIKE 'reporting.%' ORDER BY inserted")
            )
        ).scalars()
        assert list(types) == ["reporting.report_run.succeeded"]


async def test_itemized_reports_give_each_balance_transaction(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    start, end = await _traffic(client, merchant)
    interval = {"parameters[interval_start]": str(start), "parameters[interval_end]": str(end)}
    _, rows = await _run(
        client, merchant, database, report_type="reconciliation.itemized.1", **interval
    )
    listed = await get(client, merchant, "/v1/balance_transactions", limit=100)
    assert sorted((r["balance_transaction_id"], r["net"]) for r in rows) == sorted(
        (t["id"], decimal(t["net"])) for t in listed["data"]
    )
    assert all(row["automatic_payout_id"] == "" for row in rows)  # no payouts yet
    _, chosen = await _run(
        client,
        merchant,
        database,
        report_type="balance_change_from_activity.itemized.1",
        **interval,
        **{"parameters[columns][0]": "balance_transaction_id", "parameters[columns][1]": "fee"},
    )
    assert set(chosen[0]) == {"balance_transaction_id", "fee"} and len(chosen) == len(rows)


async def test_report_types_are_listed_and_a_module_can_add_one(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    listed = await get(client, merchant, "/v1/reporting/report_types")
    ids = [item["id"] for item in listed["data"]]
    assert {"balance.summary.1", "reconciliation.itemized.1"} <= set(ids)
    one = await get(client, merchant, "/v1/reporting/report_types/balance.summary.1")
    assert one["object"] == "reporting.report_type" and one["version"] == 1

    async def nothing(*_: Any) -> list[dict[str, str]]:
        return []

    register_report_type(
        ReportDefinition("payouts.itemized.1", "Payouts", ("payout_id",), ("payout_id",), nothing)
    )
    added = await get(client, merchant, "/v1/reporting/report_types/payouts.itemized.1")
    assert added["default_columns"] == ["payout_id"]
    missing = await client.get("/v1/reporting/report_types/nope.1", headers=merchant.auth())
    assert missing.status_code == 404


async def test_bad_parameters_are_named_and_nothing_is_written(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    now = int(utcnow().timestamp())
    cases = [
        ({"report_type": "nope.1"}, "report_type"),
        ({"parameters[interval_end]": str(now - 10)}, "parameters[interval_start]"),
        (
            {
                "parameters[interval_start]": str(now - 10),
                "parameters[interval_end]": str(now - 20),
            },
            "parameters[interval_end]",
        ),
        (
            {"parameters[interval_start]": "0", "parameters[interval_end]": str(now + 3600)},
            "parameters[interval_end]",
        ),
        (
            {
                "parameters[interval_start]": "0",
                "parameters[interval_end]": "10",
                "parameters[columns][0]": "secret",
            },
            "parameters[columns]",
        ),
    ]
    for extra, param in cases:
        body = {"report_type": "balance.summary.1", **extra}
        if "report_type" in extra and "parameters[interval_start]" not in extra:
            body |= {"parameters[interval_start]": "0", "parameters[interval_end]": "10"}
        answer = await post(client, merchant, RUNS, **body)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["param"] == param, (extra, answer.text)
    assert (await get(client, merchant, RUNS))["data"] == []


async def test_another_merchant_sees_neither_the_run_nor_its_file(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    start, end = await _traffic(client, merchant)
    done, _ = await _run(
        client,
        merchant,
        database,
        report_type="balance.summary.1",
        **{"parameters[interval_start]": str(start), "parameters[interval_end]": str(end)},
    )
    other = await make_merchant(database, name="Other")
    file_id = done["result"]["id"]
    for path in (f"{RUNS}/{done['id']}", f"/v1/files/{file_id}", f"/v1/files/{file_id}/contents"):
        assert (await client.get(path, headers=other.auth())).status_code == 404
        live = await client.get(path, headers=merchant.auth("sk_live"))
        assert live.status_code == 404
    assert (await get(client, other, "/v1/files"))["data"] == []
    mine = await get(client, merchant, "/v1/files", purpose="finance_report_run")
    assert [item["id"] for item in mine["data"]] == [file_id]
    assert mine["data"][0]["object"] == "file" and mine["data"][0]["type"] == "csv"
