"""Sessions of one link completing at once (real connections, a card network slow enough,
300 ms, that the payments overlap): the link's count is exact and it is deactivated once.

The choice (Stripe's): the completion that reaches ``restrictions.completed_sessions.limit``
deactivates the link, so no new session opens; a session opened before that may still be paid
and is counted. So two sessions of a limit-1 link paid at once both complete, each charged
once, the count is 2, and the link records one ``payment_link.updated``. The ledger is
verified after each test (tests/conftest.py)."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.kit.settings import Settings
from tests.checkout.support import card, events_of, give_email
from tests.payment_links.support import link, visit
from tests.payments.support import get
from tests.support import TestMerchant, app_client

SLOW_CARD_MS = "300"


async def _succeeded_charges(database: Database, link_id: str) -> int:
    async with database.unit_of_work() as db:
        return int(
            (
                await db.execute(
                    text(
                        "SELECT count(*) FROM charges c JOIN checkout_sessions s"
                        " ON s.payment_intent_id = c.payment_intent_id"
                        " WHERE s.payment_link_id = :id AND c.status = 'succeeded'"
                    ),
                    {"id": link_id},
                )
            ).scalar_one()
        )


async def test_two_sessions_of_a_limit_one_link_paid_at_once(
    database_url: str, api_settings: Settings, merchant: TestMerchant, database: Database
) -> None:
    async with app_client(
        database_url, api_settings, sandbox_card_latency_ms=SLOW_CARD_MS
    ) as client:
        made = await link(client, merchant, **{"restrictions[completed_sessions][limit]": "1"})
        paths = []
        for _ in range(2):
            opened = await visit(client, made)
            assert opened.status_code == 303
            paths.append(httpx.URL(opened.headers["location"]).path)
        csrfs = [await give_email(client, path) for path in paths]
        answers = await asyncio.gather(
            *(
                client.post(f"{path}/pay", data={"csrf": csrf, **card("4242424242424242")})
                for path, csrf in zip(paths, csrfs, strict=True)
            )
        )
        for answer, path in zip(answers, paths, strict=True):
            assert answer.headers["location"] == path  # paid, no error
        done = await get(client, merchant, f"/v1/payment_links/{made['id']}")
        assert done["active"] is False
        assert done["restrictions"] == {"completed_sessions": {"count": 2, "limit": 1}}
        assert await _succeeded_charges(database, made["id"]) == 2
        sessions = await get(client, merchant, "/v1/checkout/sessions", status="complete")
        assert sum(s["payment_link"] == made["id"] for s in sessions["data"]) == 2
        assert await events_of(database, made["id"]) == [
            "payment_link.created",
            "payment_link.updated",
        ]
        assert (await visit(client, made)).status_code == 410


async def test_many_completions_at_once_are_all_counted(
    database_url: str, api_settings: Settings, merchant: TestMerchant, database: Database
) -> None:
    """Four sessions of a limit-3 link paid at once: none of the counts is lost (the link's row
    lock serialises them), the link is off, and recorded so once."""
    async with app_client(
        database_url, api_settings, sandbox_card_latency_ms=SLOW_CARD_MS
    ) as client:
        made = await link(client, merchant, **{"restrictions[completed_sessions][limit]": "3"})
        paths = []
        for _ in range(4):
            opened = await visit(client, made)
            paths.append(httpx.URL(opened.headers["location"]).path)
        csrfs = [await give_email(client, path) for path in paths]
        await asyncio.gather(
            *(
                client.post(f"{path}/pay", data={"csrf": csrf, **card("4242424242424242")})
                for path, csrf in zip(paths, csrfs, strict=True)
            )
        )
        done = await get(client, merchant, f"/v1/payment_links/{made['id']}")
        assert done["active"] is False
        assert done["restrictions"]["completed_sessions"]["count"] == 4
        assert await _succeeded_charges(database, made["id"]) == 4
        assert (await events_of(database, made["id"])).count("payment_link.updated") == 1
