"""No mobile number, OTP or token of the identity flows is kept or logged in clear: not in any
table (every text, JSON and byte column, events and stored idempotent answers included), not in
the logs. Numbers are sealed or fingerprinted, codes and tokens only fingerprinted."""

from __future__ import annotations

import logging
import re

import httpx
import pytest
from sqlalchemy import text

from beyondpay.db.session import Database
from tests.psp.authenticator import SoftwareAuthenticator
from tests.psp.support import attest_sim, log_in, new_device_id, post, read_otp, sign_up
from tests.psp.test_passkeys import register_passkey


async def _columns(database: Database, types: tuple[str, ...]) -> list[tuple[str, str]]:
    async with database.unit_of_work() as session:
        rows = await session.execute(
            text(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = 'public' AND data_type = ANY(:types)"
            ),
            {"types": list(types)},
        )
        return [(str(table), str(column)) for table, column in rows.all()]


_TEXT_TYPES = ("text", "jsonb", "json", "character varying", "ARRAY")


async def _holding(
    database: Database, needle: str, *, standalone_digits: bool = False
) -> list[str]:
    """Where ``needle`` occurs (as a run of digits of its own with ``standalone_digits``: an
    OTP's six digits occur by chance inside longer numbers, timestamps say)."""
    types = _TEXT_TYPES if standalone_digits else (*_TEXT_TYPES, "bytea")
    found: list[str] = []
    condition = (
        "\"{column}\"::text ~ ('(^|[^0-9])' || :needle || '([^0-9]|$)')"
        if standalone_digits
        else 'position(:needle in "{column}"::text) > 0'
    )
    async with database.unit_of_work() as session:
        for table, column in await _columns(database, types):
            hit = (
                await session.execute(
                    text(
                        f'SELECT 1 FROM "{table}" WHERE {condition.format(column=column)} LIMIT 1'
                    ),
                    {"needle": needle},
                )
            ).first()
            if hit is not None:
                found.append(f"{table}.{column}")
    return found


async def test_no_number_code_or_token_is_kept_or_logged(
    client: httpx.AsyncClient,
    database: Database,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    # The test client logs each URL it calls, the sandbox SMS sink's query (the number) too: it
    # is the client's log, not the server's, and the sink exists only in the sandbox.
    caplog.set_level(logging.WARNING, logger="httpx")
    payer = await sign_up(client)
    codes: list[str] = []
    tokens = [payer.access_token, payer.refresh_token]
    session = await log_in(client, payer)
    tokens += [session["access_token"], session["refresh_token"]]
    codes.append(await read_otp(client, payer.mobile))
    wrong = await post(client, "/v1/psp/login", {"mobile": payer.mobile, "otp": "123456"})
    assert wrong.status_code == 400
    refreshed = await post(
        client, "/v1/psp/sessions/refresh", {"refresh_token": payer.refresh_token}
    )
    payer.take_session(refreshed.json())
    tokens += [payer.access_token, payer.refresh_token]
    device_id = new_device_id()
    binding = await attest_sim(client, payer.mobile, device_id)
    tokens.append(binding)
    bound = await post(
        client,
        "/v1/psp/devices",
        {"device_id": device_id, "binding_token": binding},
        headers=payer.headers,
    )
    assert bound.status_code == 200, bound.text
    await register_passkey(client, payer, SoftwareAuthenticator())
    handoff = await post(client, "/v1/psp/handoffs", headers=payer.headers)
    payload = handoff.json()["qr_payload"]
    redeemed = await post(client, "/v1/psp/handoffs/redeem", {"qr_payload": payload})
    tokens += [payload, redeemed.json()["access_token"], redeemed.json()["refresh_token"]]
    await post(client, "/v1/psp/logout_everywhere", headers=payer.headers)
    sms = await client.get("/v1/psp/sandbox/sms", params={"mobile": payer.mobile, "limit": 100})
    codes += [re.findall(r"\b\d{6}\b", message["body"])[0] for message in sms.json()["data"]]
    assert len(codes) >= 2

    # The scans find what is there: the payer's id, and the masked number's last four digits.
    assert "psp_payers.id" in await _holding(database, payer.payer_id)
    assert "psp_payers.mobile_masked" in await _holding(
        database, payer.mobile[-4:], standalone_digits=True
    )
    assert await _holding(database, payer.mobile) == []
    for code in set(codes):
        assert await _holding(database, code, standalone_digits=True) == [], "an OTP is stored"
    for token in tokens:
        assert await _holding(database, token) == [], "a token is stored"
    logs = caplog.text + "".join(capsys.readouterr())
    assert payer.mobile not in logs
    for code in codes:
        assert re.search(rf"(^|\D){code}(\D|$)", logs) is None, "an OTP is logged"
    for token in tokens:
        assert token not in logs, "a token is logged"
