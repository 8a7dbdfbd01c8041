"""The UPI PIN end to end over HTTP: set with the debit card, weak PINs refused, balance inquiry,
three wrong tries lock (Z6) until the card resets it, change, the debit check transfers call,
racing wrong tries, key rotation, and no PIN kept or shown anywhere."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.kit.crypto import KeyRing
from beyondpay.psp.banking.domain import PIN_TRIES_MAX
from beyondpay.psp.banking.errors import PinInvalidError, PinLockedError, PinNotSetError
from beyondpay.psp.banking.service import bank_account_service
from tests.psp.support import PspPayer, post, sign_up
from tests.psp.test_banking import ACCOUNTS, card, discover, link, wrong_card
from tests.support import TEST_RING_TEXT, ring_for_tests

PIN = "583917"
OTHER_PIN = "802461"
WRONG_PIN = "583918"
OPENING_BALANCE_MINOR = 1_00_000_00  # ₹1,00,000, each sandbox account's opening balance


async def linked_payer(client: httpx.AsyncClient, pin: str | None = PIN) -> tuple[PspPayer, str]:
    """A payer with their sbx1 account linked (and its UPI PIN set to ``pin``)."""
    payer = await sign_up(client)
    await discover(client, payer)
    account = await link(client, payer, "sbx1")
    if pin is not None:
        answer = await set_pin(client, payer, account["id"], pin)
        assert answer.status_code == 200, answer.text
    return payer, str(account["id"])


async def set_pin(
    client: httpx.AsyncClient, payer: PspPayer, account_id: str, pin: str, **extra: Any
) -> httpx.Response:
    data = {"pin": pin, **card(payer), **extra}
    return await post(client, f"{ACCOUNTS}/{account_id}/pin", data, headers=payer.headers)


async def balance(
    client: httpx.AsyncClient, payer: PspPayer, account_id: str, pin: str, **kwargs: Any
) -> httpx.Response:
    return await post(
        client, f"{ACCOUNTS}/{account_id}/balance", {"pin": pin}, headers=payer.headers, **kwargs
    )


def error_of(answer: httpx.Response) -> tuple[int, str, str | None, str | None]:
    error = answer.json()["error"]
    return answer.status_code, error["code"], error.get("param"), error.get("decline_code")


async def test_a_pin_set_with_the_card_opens_the_balance(client: httpx.AsyncClient) -> None:
    payer, account_id = await linked_payer(client, pin=None)
    no_pin = await balance(client, payer, account_id, PIN)
    assert error_of(no_pin) == (400, "pin_not_set", "pin", "B3")

    answer = await set_pin(client, payer, account_id, PIN)
    assert answer.status_code == 200, answer.text
    assert answer.json()["upi_pin"] == "set"
    assert PIN not in answer.text

    inquiry = await balance(client, payer, account_id, PIN)
    assert inquiry.status_code == 200, inquiry.text
    assert inquiry.json() == {
        "object": "psp_bank_account_balance",
        "bank_account": account_id,
        "available": OPENING_BALANCE_MINOR,
        "currency": "inr",
        "created": inquiry.json()["created"],
    }


@pytest.mark.parametrize(
    ("pin", "code"),
    [
        ("0000", "pin_too_weak"),
        ("1234", "pin_too_weak"),
        ("123456", "pin_too_weak"),
        ("111111", "pin_too_weak"),
        ("121212", "pin_too_weak"),
        ("12345", "pin_invalid"),
        ("12a456", "pin_invalid"),
        ("", "pin_invalid"),
    ],
)
async def test_malformed_and_weak_pins_are_refused_naming_the_parameter(
    client: httpx.AsyncClient, pin: str, code: str
) -> None:
    payer, account_id = await linked_payer(client, pin=None)
    answer = await set_pin(client, payer, account_id, pin)
    assert error_of(answer)[:3] == (400, code, "pin")
    assert pin == "" or pin not in answer.json()["error"]["message"]
    retrieved = await client.get(f"{ACCOUNTS}/{account_id}", headers=payer.headers)
    assert retrieved.json()["upi_pin"] == "not_set"


async def test_the_cards_own_digits_are_no_pin_and_a_wrong_card_sets_none(
    client: httpx.AsyncClient,
) -> None:
    payer, account_id = await linked_payer(client, pin=None)
    same = await set_pin(client, payer, account_id, payer.mobile[-6:])
    assert error_of(same)[:3] == (400, "pin_too_weak", "pin")
    wrong = await post(
        client,
        f"{ACCOUNTS}/{account_id}/pin",
        {"pin": PIN, **wrong_card(payer)},
        headers=payer.headers,
    )
    assert error_of(wrong)[:3] == (402, "card_verification_failed", "card_last6")
    assert (await client.get(f"{ACCOUNTS}/{account_id}", headers=payer.headers)).json()[
        "upi_pin"
    ] == "not_set"


async def test_three_wrong_pins_lock_with_z6_until_the_card_resets_it(
    client: httpx.AsyncClient, database: Database
) -> None:
    payer, account_id = await linked_payer(client)
    first = await balance(client, payer, account_id, WRONG_PIN)
    assert error_of(first) == (402, "incorrect_pin", "pin", "ZM")
    assert "2 tries left" in first.json()["error"]["message"]
    second = await balance(client, payer, account_id, WRONG_PIN)
    assert "1 try left" in second.json()["error"]["message"]
    third = await balance(client, payer, account_id, WRONG_PIN)
    assert error_of(third) == (402, "pin_tries_exceeded", "pin", "Z6")
    # Locked: even the right PIN is refused, and is not checked (nothing to learn from it).
    right = await balance(client, payer, account_id, PIN)
    assert error_of(right) == (402, "pin_tries_exceeded", "pin", "Z6")
    retrieved = await client.get(f"{ACCOUNTS}/{account_id}", headers=payer.headers)
    assert retrieved.json()["upi_pin"] == "locked"
    changed = await post(
        client,
        f"{ACCOUNTS}/{account_id}/pin/change",
        {"old_pin": PIN, "new_pin": OTHER_PIN},
        headers=payer.headers,
    )
    assert error_of(changed)[:2] == (402, "pin_tries_exceeded")

    reset = await set_pin(client, payer, account_id, OTHER_PIN)
    assert reset.status_code == 200, reset.text
    assert reset.json()["upi_pin"] == "set"
    assert (await balance(client, payer, account_id, OTHER_PIN)).status_code == 200
    assert error_of(await balance(client, payer, account_id, PIN))[1] == "incorrect_pin"
    async with database.unit_of_work() as session:
        found = await session.execute(
            text(
                "SELECT type FROM events WHERE merchant_id = :payer AND type LIKE 'psp.upi_pin.%'"
            ),
            {"payer": payer.payer_id},
        )
        assert [row[0] for row in found] == [
            "psp.upi_pin.set",
            "psp.upi_pin.locked",
            "psp.upi_pin.set",
        ]


async def test_a_right_pin_clears_the_count_of_wrong_ones(client: httpx.AsyncClient) -> None:
    payer, account_id = await linked_payer(client)
    for pin in (WRONG_PIN, WRONG_PIN, PIN, WRONG_PIN, WRONG_PIN):
        await balance(client, payer, account_id, pin)
    assert (await balance(client, payer, account_id, PIN)).status_code == 200


async def test_changing_the_pin_needs_the_old_one(client: httpx.AsyncClient) -> None:
    payer, account_id = await linked_payer(client)
    path = f"{ACCOUNTS}/{account_id}/pin/change"
    wrong = await post(
        client, path, {"old_pin": WRONG_PIN, "new_pin": OTHER_PIN}, headers=payer.headers
    )
    assert error_of(wrong) == (402, "incorrect_pin", "old_pin", "ZM")
    same = await post(client, path, {"old_pin": PIN, "new_pin": PIN}, headers=payer.headers)
    assert error_of(same)[:3] == (400, "pin_invalid", "new_pin")
    weak = await post(client, path, {"old_pin": PIN, "new_pin": "4321"}, headers=payer.headers)
    assert error_of(weak)[:3] == (400, "pin_too_weak", "new_pin")
    changed = await post(
        client, path, {"old_pin": PIN, "new_pin": OTHER_PIN}, headers=payer.headers
    )
    assert changed.status_code == 200, changed.text
    assert error_of(await balance(client, payer, account_id, PIN))[1] == "incorrect_pin"
    # The wrong old PIN above and this wrong one make two; the right one clears them.
    assert (await balance(client, payer, account_id, OTHER_PIN)).status_code == 200


async def test_racing_wrong_pins_are_all_counted(
    client: httpx.AsyncClient, database: Database
) -> None:
    """Six wrong PINs at once, each on its own connection: the PIN's row lock counts them one by
    one, so exactly two are told "incorrect" and the third locks (a lost update would let more
    through, each a free guess)."""
    payer, account_id = await linked_payer(client)
    answers = await asyncio.gather(
        *(balance(client, payer, account_id, WRONG_PIN) for _ in range(6))
    )
    codes = sorted(error_of(answer)[1] for answer in answers)
    assert codes == ["incorrect_pin"] * (PIN_TRIES_MAX - 1) + ["pin_tries_exceeded"] * 4
    async with database.unit_of_work() as session:
        tries = (await session.execute(text("SELECT tries_failed FROM psp_upi_pins"))).scalar_one()
        locks = (
            await session.execute(
                text("SELECT count(*) FROM events WHERE type = 'psp.upi_pin.locked'")
            )
        ).scalar_one()
    assert (tries, locks) == (PIN_TRIES_MAX, 1)


async def test_authorize_debit_checks_the_primary_accounts_pin(
    client: httpx.AsyncClient, database: Database
) -> None:
    payer, account_id = await linked_payer(client)
    ring = ring_for_tests()
    async with database.unit_of_work() as session:
        row = await bank_account_service.authorize_debit(
            session, ring, payer.payer_id, None, SecretStr(PIN)
        )
        assert row.id == account_id
        assert row.is_primary
        assert row.account_ref.startswith("bank:sbx1:")
    # A wrong PIN is counted in the caller's transaction, which commits it.
    async with database.unit_of_work() as session:
        with pytest.raises(PinInvalidError) as wrong:
            await bank_account_service.authorize_debit(
                session, ring, payer.payer_id, account_id, SecretStr(WRONG_PIN)
            )
    assert (wrong.value.npci_code, wrong.value.status, wrong.value.code) == (
        "ZM",
        402,
        "incorrect_pin",
    )
    assert PIN not in str(wrong.value) and WRONG_PIN not in str(wrong.value)
    async with database.unit_of_work() as session:
        tries = (await session.execute(text("SELECT tries_failed FROM psp_upi_pins"))).scalar_one()
    assert tries == 1

    second = await link(client, payer, "sbx2")
    async with database.unit_of_work() as session:
        with pytest.raises(PinNotSetError) as not_set:
            await bank_account_service.authorize_debit(
                session, ring, payer.payer_id, second["id"], SecretStr(PIN)
            )
    assert not_set.value.npci_code == "B3"
    for _ in range(PIN_TRIES_MAX - 1):
        async with database.unit_of_work() as session:
            try:
                await bank_account_service.authorize_debit(
                    session, ring, payer.payer_id, None, SecretStr(WRONG_PIN)
                )
            except (PinInvalidError, PinLockedError) as refusal:
                last: Exception = refusal
    assert isinstance(last, PinLockedError)
    assert last.npci_code == "Z6"


async def test_a_pin_hashed_before_a_key_rotation_verifies_and_moves_to_the_new_key(
    client: httpx.AsyncClient, database: Database
) -> None:
    payer, account_id = await linked_payer(client)
    new_key = KeyRing.generate_entry("t2")
    rotated = KeyRing.parse(new_key + "," + TEST_RING_TEXT)

    async def key_id() -> str:
        async with database.unit_of_work() as session:
            found = await session.execute(text("SELECT pepper_key_id FROM psp_upi_pins"))
            return str(found.scalar_one())

    assert await key_id() == "t1"
    async with database.unit_of_work() as session:
        with pytest.raises(PinInvalidError):
            await bank_account_service.authorize_debit(
                session, rotated, payer.payer_id, account_id, SecretStr(WRONG_PIN)
            )
    assert await key_id() == "t1"  # a wrong entry rewrites nothing but the count
    async with database.unit_of_work() as session:
        await bank_account_service.authorize_debit(
            session, rotated, payer.payer_id, account_id, SecretStr(PIN)
        )
    assert await key_id() == "t2"
    # The old key can now be retired: a ring without it still checks the PIN.
    async with database.unit_of_work() as session:
        await bank_account_service.authorize_debit(
            session, KeyRing.parse(new_key), payer.payer_id, account_id, SecretStr(PIN)
        )


async def test_a_replay_under_the_same_key_answers_the_first_request_and_counts_nothing(
    client: httpx.AsyncClient, database: Database
) -> None:
    """The idempotency fingerprint sees a PIN masked: the same key with another PIN is a
    replay of the first answer, not a new check (so it is no way to guess PINs either)."""
    payer, account_id = await linked_payer(client)
    first = await balance(client, payer, account_id, WRONG_PIN, idempotency_key="inquiry-1")
    assert error_of(first)[1] == "incorrect_pin"
    replayed = await balance(client, payer, account_id, PIN, idempotency_key="inquiry-1")
    assert replayed.headers.get("idempotent-replayed") == "true"
    assert replayed.content == first.content
    async with database.unit_of_work() as session:
        tries = (await session.execute(text("SELECT tries_failed FROM psp_upi_pins"))).scalar_one()
    assert tries == 1


async def _text_columns(database: Database) -> list[tuple[str, str, str]]:
    async with database.unit_of_work() as session:
        rows = await session.execute(
            text(
                "SELECT table_name, column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = 'public' AND data_type IN ('text', 'jsonb', 'json',"
                " 'bytea', 'character varying', 'ARRAY')"
            )
        )
        return [(str(table), str(column), str(kind)) for table, column, kind in rows.all()]


async def _places_holding(database: Database, pin: str) -> list[str]:
    """Every column holding ``pin`` as a number of its own (not inside a longer one, where six
    digits occur by chance) or, in a byte column, its ASCII bytes."""
    found: list[str] = []
    async with database.unit_of_work() as session:
        for table, column, kind in await _text_columns(database):
            if kind == "bytea":
                condition = f'position(CAST(:raw AS bytea) in "{column}") > 0'
            else:
                condition = f"\"{column}\"::text ~ ('(^|[^0-9])' || :pin || '([^0-9]|$)')"
            hit = await session.execute(
                text(f'SELECT 1 FROM "{table}" WHERE {condition} LIMIT 1'),
                {"pin": pin, "raw": pin.encode()},
            )
            if hit.first() is not None:
                found.append(f"{table}.{column}")
    return found


async def test_no_pin_is_kept_answered_or_logged(
    client: httpx.AsyncClient,
    database: Database,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    payer, account_id = await linked_payer(client)
    answers = [
        await balance(client, payer, account_id, PIN),
        await balance(client, payer, account_id, WRONG_PIN),
        await post(
            client,
            f"{ACCOUNTS}/{account_id}/pin/change",
            {"old_pin": PIN, "new_pin": OTHER_PIN},
            headers=payer.headers,
        ),
        await set_pin(client, payer, account_id, "12a45"),
    ]
    for _ in range(PIN_TRIES_MAX):
        answers.append(await balance(client, payer, account_id, WRONG_PIN))
    answers.append(await set_pin(client, payer, account_id, PIN))
    async with database.unit_of_work() as session:
        stored = (await session.execute(text("SELECT pin_hash, pin_salt FROM psp_upi_pins"))).one()
    assert PIN.encode() not in bytes(stored[0]) + bytes(stored[1])
    assert PIN not in bytes(stored[0]).hex()

    for pin in (PIN, OTHER_PIN, WRONG_PIN):
        assert await _places_holding(database, pin) == [], pin
        assert not any(pin in answer.text for answer in answers), pin
    logs = caplog.text + "".join(capsys.readouterr())
    for pin in (PIN, OTHER_PIN, WRONG_PIN, "12a45"):
        assert pin not in logs, pin
