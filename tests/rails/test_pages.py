"""The 3-D Secure and bank pages, through the app, as a payer's browser (or httpx) uses them."""

from __future__ import annotations

import base64
import hashlib

import httpx
import pytest
from fastapi import FastAPI

from beyondpay.db.session import Database
from beyondpay.rails import service
from beyondpay.rails.protocol import Rail, RailOutcome
from tests.rails.conftest import Heard, bank, card, rail_caller, request, sandbox_settings


@pytest.fixture(autouse=True)
def sandbox_of_the_app(api_app: FastAPI) -> None:
    # The app configured the rails from its own settings at start-up; these tests read theirs.
    service.configure(sandbox_settings(), ring=api_app.state.key_ring)


async def _authorize(
    database: Database, api_app: FastAPI, rail: Rail, instrument: object, **options: object
) -> RailOutcome:
    async with rail_caller(database) as session:
        connector = service.connector_for(rail, False, ring=api_app.state.key_ring)
        return await connector.authorize(session, request(instrument, **options))  # type: ignore[arg-type]


def _path(outcome: RailOutcome) -> str:
    assert outcome.action_url is not None
    return outcome.action_url.removeprefix("http://payer.test:8000")


async def test_challenge_completes_once_and_redirects(
    client: httpx.AsyncClient, database: Database, api_app: FastAPI, heard: Heard
) -> None:
    outcome = await _authorize(
        database, api_app, Rail.card, card("4000002500003155"), return_url="https://shop.test/done"
    )
    page = await client.get(_path(outcome))
    assert page.status_code == 200
    assert "Complete authentication" in page.text and "Fail authentication" in page.text
    assert "4000002500003155" not in page.text and "3155" in page.text
    done = await client.post(_path(outcome), data={"outcome": "complete"})
    assert done.status_code == 303 and done.headers["location"] == "https://shop.test/done"
    again = await client.post(_path(outcome), data={"outcome": "fail"})
    assert again.status_code == 303
    assert [(o.status, o.reference) for o in heard.outcomes] == [("succeeded", outcome.reference)]
    async with rail_caller(database) as session:
        status = await service.connector_for(Rail.card, False).status(session, outcome.reference)
    assert status.status == "succeeded"
    assert "already" in (await client.get(_path(outcome))).text


async def test_challenge_failed_and_declined_after_authentication(
    client: httpx.AsyncClient, database: Database, api_app: FastAPI, heard: Heard
) -> None:
    failing = await _authorize(database, api_app, Rail.card, card("4000000000003063"))
    declined = await _authorize(
        database, api_app, Rail.card, card("4000008400001629"), request_id="ch_2"
    )
    page = await client.post(_path(failing), data={"outcome": "fail"})
    assert page.status_code == 200 and "failed" in page.text  # no return_url: a done page
    await client.post(_path(declined), data={"outcome": "complete"})
    assert [(o.status, o.failure_code) for o in heard.outcomes] == [
        ("failed", "payment_intent_authentication_failure"),
        ("failed", "card_declined"),
    ]


async def test_bank_page(
    client: httpx.AsyncClient, database: Database, api_app: FastAPI, heard: Heard
) -> None:
    outcome = await _authorize(database, api_app, Rail.netbanking, bank("HDFC"))
    assert (outcome.status, outcome.action_type) == ("requires_action", "redirect_to_url")
    page = await client.get(_path(outcome))
    assert "Authorize test payment" in page.text and "HDFC" in page.text
    assert (await client.post(_path(outcome), data={"outcome": "complete"})).status_code == 200
    assert [o.status for o in heard.outcomes] == ["succeeded"]
    wrong_kind = _path(outcome).replace("/sandbox/bank/", "/sandbox/3ds/")
    assert (await client.get(wrong_kind)).status_code == 404


async def test_forged_links_and_bad_answers_are_refused(
    client: httpx.AsyncClient, database: Database, api_app: FastAPI
) -> None:
    outcome = await _authorize(database, api_app, Rail.card, card("4000002500003155"))
    forged = f"/sandbox/3ds/{outcome.reference}.AAAAAAAAAAAAAAAAAAAAAA"
    assert (await client.get(forged)).status_code == 404
    assert (await client.post(forged, data={"outcome": "complete"})).status_code == 404
    assert (await client.post(_path(outcome), data={"outcome": "maybe"})).status_code == 400


async def test_pages_carry_a_policy_that_allows_their_style_and_the_way_back(
    client: httpx.AsyncClient, database: Database, api_app: FastAPI
) -> None:
    challenge = await _authorize(
        database, api_app, Rail.card, card("4000002500003155"), return_url="https://shop.test/done"
    )
    page = await client.get(_path(challenge))
    policy = dict(
        part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";")
    )
    # The inline style is allowed by its hash and nothing else is: a changed style without a
    # changed hash would leave the page unstyled.
    style = page.text.split("<style>", 1)[1].split("</style>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert policy["style-src"] == f"'sha256-{digest}'"
    assert policy["default-src"] == "'none'" and "script-src" not in policy
    # The form posts to the page, and the browser then follows the 303 to the merchant.
    assert policy["form-action"] == "'self' https://shop.test"
    # The challenge may be framed by the page that asked for it (the card element's modal);
    # the link is the page's credential, so it is never sent on as a referrer.
    assert policy["frame-ancestors"] == "*"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"

    login = await _authorize(database, api_app, Rail.netbanking, bank("HDFC"))
    bank_page = await client.get(_path(login))
    assert "frame-ancestors 'none'" in bank_page.headers["content-security-policy"]
    assert "form-action 'self';" in bank_page.headers["content-security-policy"]
    assert bank_page.headers["x-frame-options"] == "DENY"
