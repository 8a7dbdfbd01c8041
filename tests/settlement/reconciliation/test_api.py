"""Reconciliation's operator routes: only platform admin keys; a run twice opens nothing twice
(also two at once); exceptions listed, retrieved and resolved once (two resolutions racing:
one wins); bad input is a 400 naming the parameter."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx

from beyondpay.db.session import Database
from beyondpay.kit.clock import utcnow
from beyondpay.rails.file_domain import business_date_of
from tests.payments.support import deliver_callbacks, get, pay
from tests.settlement.reconciliation.support import (
    ALL_FAULTS,
    admin_headers,
    exceptions,
    run,
    trade_day,
)
from tests.settlement.reconciliation.test_week import MONDAY
from tests.support import TestMerchant

RUNS = "/v1/platform/reconciliation/runs"


async def test_only_platform_admins_reconcile(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    body = {"business_date": MONDAY.isoformat()}
    assert (await client.post(RUNS, json=body)).status_code == 401
    refused = await client.post(RUNS, json=body, headers=merchant.auth())
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "platform_key_required"
    listed = await client.get("/v1/platform/reconciliation/exceptions", headers=merchant.auth())
    assert listed.status_code == 403


async def test_a_run_twice_opens_nothing_twice(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    admin = await admin_headers(database)
    await trade_day(client, database, merchant, MONDAY)
    first = await run(client, admin, MONDAY, ALL_FAULTS)
    assert first["exceptions_opened"] == len(await exceptions(client, admin)) > 0
    second = await run(client, admin, MONDAY, ALL_FAULTS)
    assert second["id"] != first["id"] and second["exceptions_opened"] == 0
    racing = await asyncio.gather(*(run(client, admin, MONDAY, ALL_FAULTS) for _ in range(2)))
    assert [r["exceptions_opened"] for r in racing] == [0, 0]
    assert len(await exceptions(client, admin)) == first["exceptions_opened"]
    for field in ("lines", "matched", "unmatched", "missing", "mismatch_ppm"):
        assert second[field] == first[field]
    runs = (await client.get(RUNS, headers=admin)).json()
    assert [r["id"] for r in runs["data"]][-1] == first["id"] and len(runs["data"]) == 4
    again = await client.get(f"{RUNS}/{first['id']}", headers=admin)
    assert again.json() == first


async def test_two_runs_of_a_fresh_date_at_once_open_each_break_once(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    admin = await admin_headers(database)
    await trade_day(client, database, merchant, MONDAY)
    racing = await asyncio.gather(*(run(client, admin, MONDAY, ALL_FAULTS) for _ in range(2)))
    recorded = await exceptions(client, admin)
    assert sum(r["exceptions_opened"] for r in racing) == len(recorded) > 0
    assert len({(e["kind"], e["file"], e["reference"]) for e in recorded}) == len(recorded)


async def test_an_exception_is_resolved_once_with_its_note_and_resolver(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    admin = await admin_headers(database)
    await trade_day(client, database, merchant, MONDAY)
    await run(client, admin, MONDAY, ["amount_mismatch"])
    opened_all = await exceptions(client, admin, status="open")
    assert sorted(e["file"] for e in opened_all) == ["card", "payouts"]
    opened = next(e for e in opened_all if e["file"] == "card")
    assert opened["kind"] == "amount_mismatch" and opened["merchant"] == merchant.id
    assert opened["file_amount"] == opened["platform_amount"] + 1
    assert opened["object_id"].startswith(("ch_", "re_"))  # the fault picks a charge or a refund
    url = f"/v1/platform/reconciliation/exceptions/{opened['id']}"
    assert (await client.get(url, headers=admin)).json() == opened
    note = {"resolution_note": "The network's file was corrected the next day."}
    answers = await asyncio.gather(
        *(client.post(f"{url}/resolve", json=note, headers=admin) for _ in range(2))
    )
    assert sorted(answer.status_code for answer in answers) == [200, 400]
    refused = next(answer for answer in answers if answer.status_code == 400)
    assert refused.json()["error"]["code"] == "reconciliation_exception_resolved"
    resolved = (await client.get(url, headers=admin)).json()
    assert resolved["status"] == "resolved" and resolved["resolved_at"] is not None
    assert resolved["resolution_note"] == note["resolution_note"]
    assert resolved["resolved_by"]  # the admin key's id
    assert [e["file"] for e in await exceptions(client, admin, status="open")] == ["payouts"]
    assert len(await exceptions(client, admin, kind="amount_mismatch")) == 2
    audit = (await client.get("/v1/platform/audit_events", headers=admin)).json()
    resolutions = [
        (item["status"], item["api_key"])
        for item in audit["data"]
        if item["route"] == "/v1/platform/reconciliation/exceptions/{id}/resolve"
    ]
    assert sorted(resolutions) == [(200, resolved["resolved_by"]), (400, resolved["resolved_by"])]


async def test_bad_input_names_the_parameter(client: httpx.AsyncClient, database: Database) -> None:
    admin = await admin_headers(database)
    tomorrow = business_date_of(utcnow() + timedelta(days=2)).isoformat()
    cases = [
        ({"business_date": tomorrow}, "business_date"),
        ({"business_date": "2026-13-01"}, "business_date"),
        ({"business_date": "0001-01-01"}, "business_date"),
        ({"business_date": "2026-11-02", "fault_injection": {"kinds": ["typo"]}}, None),
        ({"business_date": "2026-11-02", "extra": "x"}, "extra"),
        (
            {
                "business_date": "2026-11-02",
                "livemode": True,
                "fault_injection": {"kinds": ["duplicate"]},
            },
            "fault_injection",
        ),
    ]
    for body, param in cases:
        answer = await client.post(RUNS, json=body, headers=admin)
        assert answer.status_code == 400, answer.text
        if param is not None:
            assert answer.json()["error"]["param"] == param
        else:
            assert answer.json()["error"]["param"].startswith("fault_injection")
    missing = await client.get("/v1/platform/reconciliation/exceptions/rex_nothing", headers=admin)
    assert missing.status_code == 404
    empty_note = await client.post(
        "/v1/platform/reconciliation/exceptions/rex_nothing/resolve",
        json={"resolution_note": ""},
        headers=admin,
    )
    assert empty_note.status_code == 400
    assert empty_note.json()["error"]["param"] == "resolution_note"


async def test_a_upi_payment_is_matched_on_the_npci_report(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    admin = await admin_headers(database)
    intent = await pay(
        client,
        merchant,
        **{
            "payment_method_types[0]": "upi",
            "payment_method_data[type]": "upi",
            "payment_method_data[upi][vpa]": "success@sandbox",
        },
    )
    assert await deliver_callbacks(database) >= 1
    paid = await get(client, merchant, f"/v1/payment_intents/{intent['id']}")
    assert paid["status"] == "succeeded"
    today = business_date_of(utcnow())
    clean = await run(client, admin, today)
    upi = next(counts for counts in clean["files"] if counts["file"] == "upi")
    assert upi == {"file": "upi", "lines": 1, "matched": 1, "unmatched": 0, "missing": 0}
    faulty = await run(client, admin, today, ["amount_mismatch"])
    assert [f["file"] for f in faulty["faults_injected"]] == ["upi"]
    (found,) = await exceptions(client, admin)
    assert (found["file"], found["kind"]) == ("upi", "amount_mismatch")
    assert found["object_id"] == paid["latest_charge"]
