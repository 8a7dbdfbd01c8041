"""Races on real connections: two payments through one one-time alias, two payers taking one
username, one payer creating VPAs in parallel — each with its one allowed outcome."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.kit.errors import BeyondpayError
from beyondpay.psp.addresses.domain import VPAS_PER_PAYER_MAX
from beyondpay.psp.addresses.service import address_service
from tests.psp.support import post, sign_up
from tests.psp.test_aliases import create_alias, owner_with_vpa
from tests.psp.test_vpas import VPAS, payer_with_account

RACERS = 6


async def test_two_payments_through_a_one_time_alias_consume_it_once(
    client: httpx.AsyncClient, database: Database
) -> None:
    owner, vpa = await owner_with_vpa(client, "race.once")
    alias = await create_alias(client, owner, vpa["id"], one_time=True)
    payers = [await sign_up(client) for _ in range(RACERS)]

    async def consume(payer_id: str) -> str:
        try:
            async with database.unit_of_work() as session:
                await address_service.consume_alias(session, alias["id"], payer_id)
                await asyncio.sleep(0.05)  # hold the row while the others queue on it
        except BeyondpayError as error:
            return error.code
        return "consumed"

    outcomes = await asyncio.gather(*(consume(payer.payer_id) for payer in payers))
    assert sorted(outcomes) == ["alias_used"] * (RACERS - 1) + ["consumed"]
    async with database.unit_of_work() as session:
        uses = await session.scalar(
            text("SELECT uses FROM psp_aliases WHERE id = :id"), {"id": alias["id"]}
        )
    assert uses == 1


async def test_two_payers_racing_for_one_username_one_gets_it(
    client: httpx.AsyncClient, database: Database
) -> None:
    racers = [await payer_with_account(client) for _ in range(RACERS)]
    answers = await asyncio.gather(
        *(
            post(
                client,
                VPAS,
                {"username": "the.one", "bank_account": account},
                headers=payer.headers,
            )
            for payer, account in racers
        )
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] + [400] * (RACERS - 1), [answer.text for answer in answers]
    codes = {answer.json()["error"]["code"] for answer in answers if answer.status_code == 400}
    assert codes == {"vpa_username_taken"}


async def test_one_payer_creating_vpas_in_parallel_keeps_one_primary_and_the_cap(
    client: httpx.AsyncClient,
) -> None:
    extra = 2
    payer, account = await payer_with_account(client)
    answers = await asyncio.gather(
        *(
            post(
                client,
                VPAS,
                {"username": f"para{index}", "bank_account": account},
                headers=payer.headers,
            )
            for index in range(VPAS_PER_PAYER_MAX + extra)
        )
    )
    made = [answer.json() for answer in answers if answer.status_code == 200]
    refused = [answer.json()["error"]["code"] for answer in answers if answer.status_code != 200]
    assert len(made) == VPAS_PER_PAYER_MAX
    assert refused == ["vpa_limit_reached"] * extra
    assert sum(vpa["is_primary"] for vpa in made) == 1
