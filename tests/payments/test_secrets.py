"""No card number, CVC or full VPA anywhere after paying with them: not in any table (every
text, JSON and byte column of every table, events and stored idempotent answers included), not in
an error message, not in the logs."""

from __future__ import annotations

import logging

import httpx
import pytest
from sqlalchemy import text

from beyondpay.db.session import Database
from tests.payments.support import deliver_callbacks, pay, post
from tests.support import TestMerchant

PAN = "4000000000005126"  # refunds fail: the refund path runs too
CVC = "737"
VPAS = ("success@sandbox", "failure@sandbox", "timeout@sandbox")
DECLINED_PAN = "4000000000000002"


async def _columns(database: Database) -> list[tuple[str, str]]:
    async with database.unit_of_work() as session:
        rows = await session.execute(
            text(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = 'public'"
                " AND data_type IN ('text', 'jsonb', 'json', 'bytea', 'character varying',"
                " 'ARRAY')"
            )
        )
        return [(str(table), str(column)) for table, column in rows.all()]


async def _tables_holding(database: Database, needle: str) -> list[str]:
    found: list[str] = []
    async with database.unit_of_work() as session:
        for table, column in await _columns(database):
            hit = (
                await session.execute(
                    text(
                        f'SELECT 1 FROM "{table}" WHERE position(:needle in "{column}"::text) > 0'
                        " LIMIT 1"
                    ),
                    {"needle": needle},
                )
            ).first()
            if hit is not None:
                found.append(f"{table}.{column}")
    return found


async def test_no_card_number_cvc_or_vpa_is_kept_or_shown(
    client: httpx.AsyncClient,
    merchant: TestMerchant,
    database: Database,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    card = {
        "payment_method_data[type]": "card",
        "payment_method_data[card][number]": PAN,
        "payment_method_data[card][exp_month]": "12",
        "payment_method_data[card][exp_year]": "2034",
        "payment_method_data[card][cvc]": CVC,
    }
    intent = await pay(client, merchant, **card)
    refund = await post(client, merchant, "/v1/refunds", payment_intent=intent["id"], amount=100)
    assert refund.status_code == 200
    declined = await pay(
        client,
        merchant,
        status=402,
        **{**card, "payment_method_data[card][number]": DECLINED_PAN},
    )
    bodies = [str(intent), refund.text, str(declined)]
    for vpa in VPAS:
        upi = await pay(
            client,
            merchant,
            **{
                "payment_method_types[0]": "upi",
                "payment_method_data[type]": "upi",
                "payment_method_data[upi][vpa]": vpa,
            },
        )
        bodies.append(str(upi))
    bad_vpa = await post(
        client,
        merchant,
        "/v1/payment_intents",
        amount=100,
        currency="inr",
        **{
            "payment_method_types[0]": "upi",
            "payment_method_data[type]": "upi",
            "payment_method_data[upi][vpa]": "Not A Vpa@sandbox",
        },
    )
    assert bad_vpa.status_code == 400
    bodies.append(bad_vpa.text)
    await deliver_callbacks(database)

    secrets = [PAN, DECLINED_PAN, *VPAS]
    for secret in secrets:
        assert await _tables_holding(database, secret) == [], secret
        assert not any(secret in body for body in bodies), secret
    # The CVC is three digits that can occur by chance; stored anywhere, it would sit beside its
    # card: no payment-method or charge column may hold it.
    for table in ("payment_methods", "charges", "payment_intents", "events", "idempotency_keys"):
        holding = [place for place in await _tables_holding(database, f'"{CVC}"') if table in place]
        assert holding == [], holding
    logs = caplog.text + "".join(capsys.readouterr())
    for secret in [*secrets, "Not A Vpa@sandbox"]:
        assert secret not in logs, secret
