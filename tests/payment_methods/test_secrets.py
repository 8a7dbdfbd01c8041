"""Card numbers, CVCs and VPAs at rest: never in clear in any column of any table; data keys
re-wrapped after a ring rotation so the old ring key can go; fingerprints stable across it."""

from __future__ import annotations

import base64
import re
import secrets

import psycopg
import pytest
from pydantic import SecretStr

from beyondpay.db.session import Database
from beyondpay.db.urls import libpq_url
from beyondpay.kit.crypto import KeyRing, KeyRingError
from beyondpay.merchants.domain import Caller, KeyKind, MerchantStatus
from beyondpay.payment_methods.domain import PaymentMethodType
from beyondpay.payment_methods.schemas import (
    CardParams,
    PaymentMethodCreateParams,
    PaymentMethodDataParams,
    UpiParams,
)
from beyondpay.payment_methods.service import (
    open_card_number,
    open_vpa,
    payment_method_service,
    rewrap_data_keys,
)
from tests.support import make_merchant

PAN = "378282246310005"  # amex: a 4-digit CVC, rarer by chance in other data than 3 digits
CVC = "7391"
VPA = "priya.sharma77@okaxis"


def _key(name: str) -> tuple[str, bytes]:
    return name, secrets.token_bytes(32)


def _caller(merchant_id: str, livemode: bool = False) -> Caller:
    return Caller(
        key_id="key_test",
        kind=KeyKind.secret,
        livemode=livemode,
        merchant_id=merchant_id,
        merchant_status=MerchantStatus.active,
    )


def _card(number: str = PAN, cvc: str | None = CVC) -> PaymentMethodCreateParams:
    return PaymentMethodCreateParams(
        type=PaymentMethodType.card,
        card=CardParams(
            number=SecretStr(number),
            exp_month=7,
            exp_year=2041,
            cvc=None if cvc is None else SecretStr(cvc),
        ),
    )


def _columns(connection: psycopg.Connection) -> list[tuple[str, str, str]]:
    return [
        (table, column, kind)
        for table, column, kind in connection.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = 'public'"
            " AND data_type IN ('text', 'character varying', 'jsonb', 'json', 'bytea', 'ARRAY')"
        ).fetchall()
    ]


def _found(url: str, needle: str) -> list[str]:
    """Every (table.column) whose value holds ``needle`` standing alone (not inside a longer
    run of letters or digits), in text, JSON, arrays or raw bytes."""
    places: list[str] = []
    with psycopg.connect(libpq_url(url)) as connection:
        columns = _columns(connection)
        assert ("payment_methods", "secret_ciphertext", "bytea") in columns
        for table, column, kind in columns:
            if kind == "bytea":
                sql = f'SELECT count(*) FROM "{table}" WHERE position(%s::bytea in "{column}") > 0'
                parameter: object = needle.encode()
            else:
                sql = f'SELECT count(*) FROM "{table}" WHERE "{column}"::text ~ %s'
                parameter = f"(^|[^0-9A-Za-z]){re.escape(needle)}([^0-9A-Za-z]|$)"
            row = connection.execute(sql, (parameter,)).fetchone()
            if row and row[0]:
                places.append(f"{table}.{column}")
    return places


async def test_no_card_number_cvc_or_vpa_in_any_column(
    database: Database, database_url: str
) -> None:
    ring = KeyRing([_key("a")])
    merchant = await make_merchant(database)
    caller = _caller(merchant.id)
    async with database.unit_of_work() as session:
        card = await payment_method_service.create(session, caller, ring, _card())
        upi = await payment_method_service.create(
            session,
            caller,
            ring,
            PaymentMethodCreateParams(
                type=PaymentMethodType.upi, upi=UpiParams(vpa=SecretStr(VPA))
            ),
        )
        card_id, upi_id = card.id, upi.id
    # The scan can find what is there: the masked VPA and the last four are stored.
    assert _found(database_url, "pr************@okaxis") == ["payment_methods.upi_vpa_masked"]
    assert _found(database_url, PAN[-4:]) == ["payment_methods.card_last4"]
    for needle in (PAN, CVC, VPA, VPA.partition("@")[0]):
        assert _found(database_url, needle) == [], needle
    async with database.unit_of_work() as session:
        card = await payment_method_service.get(session, caller, card_id)
        upi = await payment_method_service.get(session, caller, upi_id)
        assert open_card_number(ring, card).get_secret_value() == PAN
        opened = open_vpa(ring, upi)
        assert opened is not None and opened.get_secret_value() == VPA
        assert card.card_cvc_given is True


async def test_rotation_then_rewrap_lets_the_old_key_go(database: Database) -> None:
    old, new = _key("old"), _key("new")
    ring_old = KeyRing([old])
    ring_rotated = KeyRing([new, old])
    ring_new = KeyRing([new])
    merchant = await make_merchant(database)
    caller = _caller(merchant.id)
    async with database.unit_of_work() as session:
        before = await payment_method_service.create(session, caller, ring_old, _card())
        upi = await payment_method_service.create(
            session,
            caller,
            ring_old,
            PaymentMethodCreateParams(
                type=PaymentMethodType.upi, upi=UpiParams(vpa=SecretStr(VPA))
            ),
        )
        before_id, upi_id, fingerprint = before.id, upi.id, before.fingerprint
    async with database.unit_of_work() as session:
        row = await payment_method_service.get(session, caller, before_id)
        with pytest.raises(KeyRingError):  # not re-wrapped yet: the new key alone cannot open it
            open_card_number(ring_new, row)

    async with database.unit_of_work() as session:
        assert await rewrap_data_keys(session, ring_rotated, 1) == 2  # one data key, one fp key
        assert await rewrap_data_keys(session, ring_rotated, 100) == 1
        assert await rewrap_data_keys(session, ring_rotated, 100) == 0

    async with database.unit_of_work() as session:
        row = await payment_method_service.get(session, caller, before_id)
        assert row.data_key_ring_id == "new"
        assert open_card_number(ring_new, row).get_secret_value() == PAN
        with pytest.raises(KeyRingError):
            open_card_number(ring_old, row)
        upi_row = await payment_method_service.get(session, caller, upi_id)
        opened = open_vpa(ring_new, upi_row)
        assert opened is not None and opened.get_secret_value() == VPA
        after = await payment_method_service.create(session, caller, ring_new, _card(cvc=None))
        assert after.fingerprint == fingerprint
        other = await payment_method_service.create(
            session, caller, ring_new, _card("4242424242424242", None)
        )
        assert other.fingerprint != fingerprint


async def test_fingerprints_differ_between_merchants(database: Database) -> None:
    ring = KeyRing([_key("a")])
    first, second = await make_merchant(database), await make_merchant(database, name="Beta")
    async with database.unit_of_work() as session:
        one = await payment_method_service.create(
            session, _caller(first.id), ring, _card("4111111111111111", None)
        )
        two = await payment_method_service.create(
            session, _caller(second.id), ring, _card("4111111111111111", None)
        )
        again = await payment_method_service.create(
            session, _caller(first.id, livemode=True), ring, _card("4111111111111111", None)
        )
    assert one.fingerprint != two.fingerprint
    assert one.fingerprint == again.fingerprint  # one merchant: the same in both modes


async def test_payment_method_data_errors_name_the_embedding_parameter(database: Database) -> None:
    from beyondpay.kit.errors import BeyondpayError

    ring = KeyRing([_key("a")])
    merchant = await make_merchant(database)
    data = PaymentMethodDataParams(
        type=PaymentMethodType.card,
        card=CardParams(number=SecretStr("4242424242424241"), exp_month=1, exp_year=2040),
    )
    async with database.unit_of_work() as session:
        with pytest.raises(BeyondpayError) as caught:
            await payment_method_service.create_from_data(session, _caller(merchant.id), ring, data)
    assert caught.value.param == "payment_method_data[card][number]"
    async with database.unit_of_work() as session:
        with pytest.raises(BeyondpayError) as missing:
            await payment_method_service.resolve(session, _caller(merchant.id), ring, "pm_nope")
    assert (missing.value.code, missing.value.param) == ("resource_missing", "payment_method")
    async with database.unit_of_work() as session:
        made = await payment_method_service.resolve(
            session, _caller(merchant.id), ring, "pm_card_threeDSecure2Required"
        )
        assert open_card_number(ring, made).get_secret_value() == "4000000000003220"


def test_ring_text_round_trip() -> None:
    # The test rings above are built from raw bytes; the configured form parses the same way.
    entry = KeyRing.generate_entry("k1")
    assert KeyRing.parse(entry).current_id == "k1"
    assert base64.b64decode(entry.partition(":")[2])
