"""The full account number is sealed: never in a response, a log, an event, an error, the
audit trail or the stored idempotent answer; only its last four digits show."""

from __future__ import annotations

import logging

import httpx
import pytest
from sqlalchemy import text

from beyondpay.db.session import Database
from tests.settlement.bank_accounts.support import accounts_path, create, made, rows
from tests.support import TestMerchant

NUMBER = "004455667788991"


async def test_the_account_number_is_never_shown_logged_or_announced(
    client: httpx.AsyncClient,
    database: Database,
    merchant: TestMerchant,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    account = await made(
        client, merchant, account_number=NUMBER, headers={"Idempotency-Key": "k-1"}
    )
    replay = await create(
        client, merchant, account_number=NUMBER, headers={"Idempotency-Key": "k-1"}
    )
    # A refused one: the number is valid, the IFSC not.
    refused = await create(client, merchant, account_number=NUMBER, routing_number="XX")
    too_long = await create(client, merchant, account_number=NUMBER * 3)
    other = await client.post(
        f"{accounts_path(merchant)}/{account['id']}",
        json={"account_number": NUMBER},
        headers=merchant.auth(),
    )
    for response in (replay, refused, too_long, other):
        assert NUMBER not in response.text
    assert replay.json() == account and account["last4"] == "8991"
    assert refused.status_code == too_long.status_code == other.status_code == 400
    assert NUMBER not in caplog.text
    printed = capsys.readouterr()
    assert NUMBER not in printed.out and NUMBER not in printed.err
    [row] = await rows(database, merchant)
    assert NUMBER not in row["whole"]  # sealed: not even the table holds it readable
    async with database.unit_of_work() as session:
        for table, column in (
            ("events", "data::text"),
            ("audit_events", "row_to_json(audit_events)::text"),
            ("idempotency_keys", "row_to_json(idempotency_keys)::text"),
            ("sandbox_account_validations", "row_to_json(sandbox_account_validations)::text"),
        ):
            found = await session.execute(
                text(f"SELECT count(*) FROM {table} WHERE {column} LIKE :number"),
                {"number": f"%{NUMBER}%"},
            )
            assert found.scalar_one() == 0, table
