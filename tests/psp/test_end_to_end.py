"""The payer's whole path over HTTP, as issue #7 checks it: sign up → bind the device → register
a passkey (a software authenticator) → link a bank account → set the UPI PIN → create a VPA →
pay another payer, and both sandbox bank balances move (the ledger is verified after the test by
the database fixture). Then a frozen payer cannot pay until a passkey unfreezes them; a payment
through a private alias saved as a beneficiary keeps reaching the right VPA after the alias
rotates, and a revoked alias fails clearly. Nothing secret — PIN, VPA, alias, mobile — is in the
logs or in any table in clear."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from beyondpay.db.session import Database
from tests.psp.authenticator import SoftwareAuthenticator
from tests.psp.support import post
from tests.psp.test_passkeys import register_passkey, step_up
from tests.psp.transfers_support import PIN, ReadyPayer, balance, pay, ready_payer

OPENING_BALANCE = 1_00_000_00


async def _alias(client: httpx.AsyncClient, owner: ReadyPayer) -> dict[str, Any]:
    made = await post(client, "/v1/psp/aliases", {"vpa": owner.vpa_id}, headers=owner.headers)
    assert made.status_code == 200, made.text
    alias: dict[str, Any] = made.json()
    assert owner.vpa not in made.text  # the alias stands for the VPA without showing it
    return alias


async def _texts_holding(database: Database, needle: str) -> list[str]:
    """Every table column holding ``needle`` in clear (text, JSON, bytes, arrays)."""
    found: list[str] = []
    async with database.unit_of_work() as session:
        columns = await session.execute(
            text(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = 'public' AND data_type IN"
                " ('text', 'jsonb', 'json', 'bytea', 'character varying', 'ARRAY')"
            )
        )
        for table, column in columns.all():
            hit = await session.execute(
                text(f'SELECT 1 FROM "{table}" WHERE position(:n in "{column}"::text) > 0 LIMIT 1'),
                {"n": needle},
            )
            if hit.first() is not None:
                found.append(f"{table}.{column}")
    return found


async def test_sign_up_to_paying_another_payer_with_passkey_freeze_and_aliases(
    client: httpx.AsyncClient,
    database: Database,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    authenticator = SoftwareAuthenticator()
    asha = await ready_payer(client, name="Asha Rao")
    await register_passkey(client, asha.payer, authenticator)
    ravi = await ready_payer(client, name="Ravi Kumar", bank="sbx2")

    paid = await pay(client, asha, 1_200_00, vpa=ravi.vpa, note="rent share")
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "succeeded"
    assert await balance(client, asha) == OPENING_BALANCE - 1_200_00
    assert await balance(client, ravi) == OPENING_BALANCE + 1_200_00

    # Remote freeze stops payments; only a passkey unfreezes.
    assert (await post(client, "/v1/psp/freeze", {}, headers=asha.headers)).status_code == 200
    refused = await pay(client, asha, 100_00, vpa=ravi.vpa)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "payer_frozen"
    unfrozen = await post(
        client,
        "/v1/psp/unfreeze",
        await step_up(client, asha.payer, authenticator),
        headers=asha.headers,
    )
    assert unfrozen.status_code == 200, unfrozen.text

    # Ravi shares an alias; Asha saves it as a beneficiary; Ravi rotates it.
    alias = await _alias(client, ravi)
    saved = await post(
        client,
        "/v1/psp/beneficiaries",
        {"alias": alias["alias"], "nickname": "Ravi"},
        headers=asha.headers,
    )
    assert saved.status_code == 200, saved.text
    preview = await post(
        client,
        "/v1/psp/payments/review",
        {"alias": alias["alias"], "amount": 100_00},
        headers=asha.headers,
    )
    assert preview.status_code == 200, preview.text
    assert preview.json()["payee"]["name"] == "Ravi Kumar"
    assert ravi.vpa not in preview.text
    rotated = await post(client, f"/v1/psp/aliases/{alias['id']}/rotate", {}, headers=ravi.headers)
    assert rotated.status_code == 200, rotated.text

    by_beneficiary = await pay(client, asha, 300_00, beneficiary=saved.json()["id"])
    assert by_beneficiary.status_code == 200, by_beneficiary.text
    assert by_beneficiary.json()["payee"]["name"] == "Ravi Kumar"
    assert await balance(client, ravi) == OPENING_BALANCE + 1_500_00
    old_text = await pay(client, asha, 100_00, alias=alias["alias"])
    assert old_text.status_code == 400 and old_text.json()["error"]["code"] == "alias_rotated"

    new_alias = rotated.json()
    revoked = await post(
        client, f"/v1/psp/aliases/{new_alias['id']}/revoke", {}, headers=ravi.headers
    )
    assert revoked.status_code == 200, revoked.text
    after_revoke = await pay(client, asha, 100_00, beneficiary=saved.json()["id"])
    assert after_revoke.status_code == 400, after_revoke.text
    assert after_revoke.json()["error"]["code"] == "alias_revoked"
    assert await balance(client, ravi) == OPENING_BALANCE + 1_500_00

    # A wrong PIN, to have the PIN path in the logs too.
    wrong = await pay(client, asha, 100_00, vpa=ravi.vpa, pin="9731")
    assert wrong.status_code == 402

    # The server's logs; the test's own HTTP client (httpx) logs the URLs it calls, the sandbox
    # SMS sink's ``?mobile=`` among them, and is not the server.
    server_records = [record for record in caplog.records if record.name != "httpx"]
    logs = "\n".join(record.getMessage() for record in server_records) + "".join(
        line
        for line in capsys.readouterr().out.splitlines(keepends=True)
        if "HTTP Request" not in line
    )
    secrets = [asha.vpa, ravi.vpa, alias["alias"], new_alias.get("alias", alias["alias"])]
    for secret in secrets:
        assert secret not in logs, "a VPA or alias reached the logs"
        assert await _texts_holding(database, secret) == [], secret
    for secret in (asha.payer.mobile, ravi.payer.mobile):
        assert secret not in logs, "a mobile number reached the logs"
    assert f'"pin": "{PIN}"' not in logs and "9731" not in logs
