"""schemathesis against ``/openapi.json`` for the PSP's routes (``/v1/psp/…``), called as payers:
whatever a payer app sends, the API answers with a documented status, a body matching the
documented schema, and never a 5xx.

The merchant test (tests/api/test_schemathesis.py) covers every other route, ``/v1/upi/…``
included; it leaves these out because they take a payer's session, not a merchant key. Here each
case is sent with the session of a payer who is ready to pay (signed up, device bound, bank
account linked, PIN set, VPA made), valid cases (positive) and invalid ones (negative).

So that success paths run, not only refusals:

- a route on one object gets most of its cases with the ids of the payer's own objects: bank
  accounts, VPAs, aliases, beneficiaries, transactions (sent and received), collect requests
  (from another payer, from a merchant, and the payer's own), the bound device, a link request;
- half the positive cases are sent as a careful app would send them: the fields a generator
  cannot guess (the PIN, the debit card, a payee who exists, an amount under the limits, the
  payer's own bank account) set to values that work, and one payee where one is wanted;
- a route that uses up what it touches (unlink, deactivate, revoke, a PIN's tries, a day's
  payments) gets a payer of its own, so it cannot take another route's success path away; the
  two logouts get a new payer for every case, since each ends the session it is called with.

With ``HYPOTHESIS_PROFILE=ci`` at least ``CASES_CI_MIN`` cases run in total (885 over 59
operations, about 18 s with the set-up); otherwise ``CASES_PER_OPERATION_LOCAL`` an operation
(472, about 12 s).
"""

from __future__ import annotations

import asyncio
import math
import os
import secrets
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Final, cast

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from beyondpay.kit.settings import Settings
from beyondpay.psp.addresses.qr import UpiLink, build_upi_link
from tests.api.factories import collection_of
from tests.psp.authenticator import SoftwareAuthenticator
from tests.psp.support import attest_sim, log_in, new_device_id, post, sign_up
from tests.psp.transfers_support import PIN, ReadyPayer, card, pay, ready_payer
from tests.support import TEST_RING_TEXT, TestMerchant

PSP_PREFIX: Final = "/v1/psp/"
CASES_CI_MIN: Final = 600
CASES_PER_OPERATION_LOCAL: Final = 8
# Headroom over CASES_CI_MIN / operations: hypothesis stops early on operations whose inputs
# it has exhausted (a route with no parameters at all, say).
CASES_HEADROOM: Final = 1.4
# A floor on the share of cases answered 200: under it, the payers' sessions or objects broke
# and the run only met refusals (it is about 0.45 when all is well).
SUCCESS_SHARE_MIN: Final = 0.2
CHECKS: Final = [not_a_server_error, status_code_conformance, response_schema_conformance]
AMOUNT_MINOR: Final = 1_500  # ₹15: under every limit, so a payment of it can succeed
NEW_PIN: Final = "8147"

# Routes that use up, lock or end what they touch: each gets a payer of its own.
OWN_PAYER: Final = frozenset(
    {
        "POST /v1/psp/sessions/refresh",
        "POST /v1/psp/devices/{device}/revoke",
        "POST /v1/psp/device_links/{link}/approve",
        "POST /v1/psp/device_links/{link}/decline",
        "POST /v1/psp/freeze",
        "POST /v1/psp/unfreeze",
        "DELETE /v1/psp/bank_accounts/{bank_account}",
        "POST /v1/psp/bank_accounts/{bank_account}/pin",
        "POST /v1/psp/bank_accounts/{bank_account}/pin/change",
        "POST /v1/psp/bank_accounts/{bank_account}/balance",
        "POST /v1/psp/vpas/{vpa}/deactivate",
        "POST /v1/psp/aliases/{alias}/revoke",
        "DELETE /v1/psp/beneficiaries/{beneficiary}",
        "POST /v1/psp/payments",
        "POST /v1/psp/collect_requests/{collect_request}/approve",
        "POST /v1/psp/collect_requests/{collect_request}/decline",
    }
)
# Routes that end the session they are called with: a new payer for every case.
NEW_PAYER_PER_CASE: Final = frozenset({"POST /v1/psp/logout", "POST /v1/psp/logout_everywhere"})
# The fields naming a payee, of which a request takes exactly one.
PAYEE_FIELDS: Final = ("vpa", "alias", "mobile", "beneficiary", "qr_payload")
AMOUNT_PATHS: Final = frozenset(
    {"/v1/psp/payments/review", "/v1/psp/payments", "/v1/psp/collect_requests"}
)
PAYEE_PATHS: Final = AMOUNT_PATHS | {"/v1/psp/resolve", "/v1/psp/beneficiaries"}
# Left out of hinted cases: no value of them is known to work (a merchant's id).
UNHINTABLE_FIELDS: Final = frozenset({"merchant"})


def _in_ci_profile() -> bool:
    return os.environ.get("HYPOTHESIS_PROFILE") == "ci"


@pytest.fixture
def api_settings() -> Settings:
    # Hundreds of requests by a few payers in seconds: rate limits would answer most of them.
    return Settings(secret_keys=TEST_RING_TEXT, rate_limits_enabled=False)


class _Client:
    """What tests/psp's helpers call on an ``httpx.AsyncClient`` (``post``, ``get``), over
    schemathesis's ASGI client: the app runs in schemathesis's event loop thread, so each
    blocking call goes to a thread of its own rather than holding ours."""

    def __init__(self, http: asgi.ASGIClient) -> None:
        self._http = http

    async def post(self, path: str, json: Any = None, headers: Any = None) -> Any:
        return await asyncio.to_thread(self._http.post, path, json=json, headers=headers)

    async def get(self, path: str, params: Any = None, headers: Any = None) -> Any:
        return await asyncio.to_thread(self._http.get, path, params=params, headers=headers)

    @property
    def as_httpx(self) -> httpx.AsyncClient:
        return cast("httpx.AsyncClient", self)


@dataclass
class Counterparties:
    """Whom the payers deal with: another payer (paid by VPA, alias or mobile, and asking for
    money) and a merchant (paid by its dynamic QR, and asking for money by a UPI collect)."""

    peer: ReadyPayer
    peer_alias: str  # the text of an alias standing for the peer's VPA
    merchant: TestMerchant
    merchant_qr: str  # a dynamic QR of the merchant's VPA, for AMOUNT_MINOR


@dataclass
class World:
    """A payer ready to pay and their objects' ids by collection (``/v1/psp/vpas`` → ids)."""

    ready: ReadyPayer
    ids: dict[str, list[str]] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return self.ready.headers


def _answer(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, f"{response.status_code} {response.text}"
    body: dict[str, Any] = response.json()
    return body


async def _made(client: _Client, path: str, data: dict[str, Any], headers: Any) -> str:
    """The id of what a POST made."""
    return str(_answer(await post(client.as_httpx, path, data, headers=headers))["id"])


async def _counterparties(client: _Client, merchant: TestMerchant) -> Counterparties:
    peer = await ready_payer(client.as_httpx, name="Ravi Kumar")
    alias = _answer(
        await post(client.as_httpx, "/v1/psp/aliases", {"vpa": peer.vpa_id}, headers=peer.headers)
    )
    params = {"username": "chai.point", "merchant_category_code": "5812", "display_name": "Chai"}
    merchant_vpa = _answer(
        await client.post("/v1/upi/merchant_vpas", json=params, headers=merchant.auth())
    )
    link = UpiLink(
        pa=merchant_vpa["vpa"], pn="Chai", mc="5812", tr="ORDER-7", am_minor=AMOUNT_MINOR
    )
    return Counterparties(peer, str(alias["alias"]), merchant, build_upi_link(link))


async def _merchant_collect(client: _Client, world: World, merchant: TestMerchant) -> str:
    """A merchant's UPI collect to the world's VPA (a payment intent through the merchant API),
    as it lands in the payer's app."""
    intent = {
        "amount": AMOUNT_MINOR,
        "currency": "inr",
        "confirm": True,
        "payment_method_types": ["upi"],
        "payment_method_data": {"type": "upi", "upi": {"vpa": world.ready.vpa}},
    }
    _answer(await client.post("/v1/payment_intents", json=intent, headers=merchant.auth()))
    listed = await client.get(
        "/v1/psp/collect_requests", params={"status": "pending"}, headers=world.headers
    )
    found = [row for row in _answer(listed)["data"] if row["requester"]["kind"] == "merchant"]
    assert len(found) == 1, found
    return str(found[0]["id"])


async def _device_link(client: _Client, world: World) -> str:
    """A link request waiting for the world's bound device: a new phone signed in by OTP."""
    payer = world.ready.payer
    session = await log_in(client.as_httpx, payer)
    device_id = new_device_id()
    token = await attest_sim(client.as_httpx, payer.mobile, device_id)
    data = {"device_id": device_id, "binding_token": token, "name": "New phone"}
    headers = {"Authorization": f"Bearer {session['access_token']}"}
    return await _made(client, "/v1/psp/device_links", data, headers)


async def _register_passkey(client: _Client, world: World) -> None:
    """A passkey for the world's payer, so that step-up and passkey login have one to ask for."""
    options = await post(
        client.as_httpx, "/v1/psp/passkeys/registration_options", headers=world.headers
    )
    challenge = _answer(options)
    credential = SoftwareAuthenticator().create(challenge["public_key"])
    data = {"challenge_id": challenge["id"], "credential": credential, "name": "Phone"}
    await _made(client, "/v1/psp/passkeys", data, world.headers)


async def _make_objects(
    client: _Client, world: World, others: Counterparties, collection: str
) -> list[str]:
    """Ids of objects of the world's payer in ``collection``, made for it."""
    ready, peer, headers = world.ready, others.peer, world.headers
    if collection == "/v1/psp/bank_accounts":
        data = {"bank": "sbx2", **card(ready.payer)}
        return [ready.bank_account, await _made(client, collection, data, headers)]
    if collection == "/v1/psp/vpas":
        data = {"username": "q" + secrets.token_hex(5), "bank_account": ready.bank_account}
        return [ready.vpa_id, await _made(client, collection, data, headers)]
    if collection == "/v1/psp/aliases":
        return [await _made(client, collection, {"vpa": ready.vpa_id}, headers) for _ in "12"]
    if collection == "/v1/psp/beneficiaries":
        data = {"nickname": "Ravi", "vpa": peer.vpa}
        return [await _made(client, collection, data, headers) for _ in "12"]
    if collection == "/v1/psp/transactions":
        sent = await pay(client.as_httpx, ready, AMOUNT_MINOR, vpa=peer.vpa)
        received = await pay(client.as_httpx, peer, AMOUNT_MINOR, vpa=ready.vpa)
        return [str(_answer(sent)["id"]), str(_answer(received)["id"])]
    if collection == "/v1/psp/collect_requests":
        asked = {"vpa": ready.vpa, "amount": AMOUNT_MINOR, "note": "Dinner"}
        asking = {"vpa": peer.vpa, "amount": AMOUNT_MINOR}
        return [
            await _made(client, collection, asked, peer.headers),
            await _merchant_collect(client, world, others.merchant),
            await _made(client, collection, asking, headers),
        ]
    if collection == "/v1/psp/devices":
        return [str(ready.payer.device_id)]
    if collection == "/v1/psp/device_links":
        return [await _device_link(client, world)]
    raise AssertionError(f"no objects are made for {collection}: add them here")


async def _world(client: _Client, others: Counterparties, collections: list[str]) -> World:
    world = World(await ready_payer(client.as_httpx))
    for collection in collections:
        world.ids[collection] = await _make_objects(client, world, others, collection)
    return world


def _path_collection(operation: Any) -> str | None:
    names = [parameter.name for parameter in operation.path_parameters]
    return collection_of(operation.path) if len(names) == 1 else None


class Target:
    """The app under test, its PSP operations, and the payer (world) each operation runs as."""

    def __init__(self, app: FastAPI, http: asgi.ASGIClient, others: Counterparties) -> None:
        self.schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        self.http = http
        self.others = others
        self.operations = [
            operation
            for operation in (result.ok() for result in self.schema.get_all_operations())
            if operation.path.startswith(PSP_PREFIX)
        ]
        self.worlds: dict[str, World] = {}  # operation label → its world

    def new_payer_headers(self) -> dict[str, str]:
        """A session of a payer signed up just now (from the test's thread, not a loop)."""
        return asyncio.run(sign_up(_Client(self.http).as_httpx)).headers

    async def make_worlds(self, client: _Client) -> None:
        """One world shared by the routes that leave what they touch usable, with objects in
        every collection a route names; one world of its own for each route in OWN_PAYER."""
        collections = {_path_collection(operation) for operation in self.operations}
        shared = await _world(client, self.others, sorted(c for c in collections if c))
        await _register_passkey(client, shared)
        for operation in self.operations:
            if operation.label not in OWN_PAYER:
                self.worlds[operation.label] = shared
                continue
            collection = _path_collection(operation)
            own = [collection] if collection else []
            self.worlds[operation.label] = await _world(client, self.others, own)


@pytest.fixture
async def target(
    database_url: str, api_settings: Settings, merchant: TestMerchant
) -> AsyncIterator[Target]:
    from beyondpay.app import create_app

    # The only app open in this test (jobs allow one per process), run by schemathesis in its
    # own event loop thread.
    app = create_app(api_settings, database_url)
    with asgi.get_client(app) as http:
        client = _Client(http)
        found = Target(app, http, await _counterparties(client, merchant))
        await found.make_worlds(client)
        try:
            yield found
        finally:
            asgi.shutdown_lifespans()


def _hints(operation: Any, world: World, others: Counterparties) -> dict[str, Any]:
    """Values that work, by field name, for the fields a generator cannot guess."""
    ready, peer = world.ready, others.peer
    hints: dict[str, Any] = {
        "pin": PIN,
        "old_pin": PIN,
        "new_pin": NEW_PIN,
        **card(ready.payer),
        "bank": "sbx2",
        "bank_account": ready.bank_account,
        "amount": AMOUNT_MINOR,
        "username": "h" + secrets.token_hex(5),
        "refresh_token": ready.payer.refresh_token,
        "client_request_id": uuid.uuid4().hex,
        "vpa": peer.vpa,
        "alias": others.peer_alias,
        "mobile": peer.payer.mobile,
        "counterparty": peer.vpa,
        "qr_payload": others.merchant_qr,
    }
    beneficiaries = world.ids.get("/v1/psp/beneficiaries")
    if beneficiaries:
        hints["beneficiary"] = beneficiaries[0]
    if operation.path == "/v1/psp/aliases":
        hints["vpa"] = ready.vpa_id  # here: the id of the payer's own VPA
    return hints


def _hinted(case: Any, operation: Any, world: World, others: Counterparties) -> Any:
    """``case`` as a careful app would send it: the fields a generator cannot guess set to
    values that work, and exactly one payee where the request takes one."""
    hints = _hints(operation, world, others)
    if isinstance(case.query, dict):
        case.query = {name: hints.get(name, value) for name, value in case.query.items()}
    if not isinstance(case.body, dict):
        return case
    body = {
        name: hints.get(name, value)
        for name, value in case.body.items()
        if name not in UNHINTABLE_FIELDS
    }
    if operation.path in PAYEE_PATHS:
        payees = [name for name in PAYEE_FIELDS if name in body]
        for name in payees[1:]:
            del body[name]
        if not payees:
            body["vpa"] = hints["vpa"]
    if operation.path in AMOUNT_PATHS:
        body.setdefault("amount", AMOUNT_MINOR)  # optional where a QR may carry it
    case.body = body
    return case


def _strategies(target: Target, operation: Any, world: World) -> list[Any]:
    """Generated cases, half of them hinted; on one object, most on the payer's own ones."""

    def hinted(strategy: Any) -> Any:
        return strategy.map(lambda case: _hinted(case, operation, world, target.others))

    positive = operation.as_strategy(GenerationMode.POSITIVE)
    negative = operation.as_strategy(GenerationMode.NEGATIVE)
    collection = _path_collection(operation)
    known = world.ids.get(collection, []) if collection else []
    if not known:
        return [positive, hinted(positive), hinted(positive), negative]
    name = operation.path_parameters[0].name

    def on_known(mode: GenerationMode) -> Any:
        return st.sampled_from(known).flatmap(
            lambda object_id: operation.as_strategy(mode, path_parameters={name: object_id})
        )

    return [
        positive,
        negative,
        on_known(GenerationMode.POSITIVE),
        hinted(on_known(GenerationMode.POSITIVE)),
        hinted(on_known(GenerationMode.POSITIVE)),
        on_known(GenerationMode.NEGATIVE),
    ]


def _run_operation(
    target: Target, operation: Any, examples: int, statuses: Counter[tuple[str, int]]
) -> None:
    world = target.worlds[operation.label]
    headers_of: Callable[[], dict[str, str]] = (
        target.new_payer_headers if operation.label in NEW_PAYER_PER_CASE else lambda: world.headers
    )

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=st.one_of(_strategies(target, operation, world)))
    def check(case: Any) -> None:
        response = case.call_and_validate(headers=headers_of(), checks=CHECKS)
        statuses[(operation.label, response.status_code)] += 1

    check()


def test_every_psp_operation_conforms(target: Target) -> None:
    operations = target.operations
    assert operations, "the OpenAPI document has no /v1/psp operations"
    if _in_ci_profile():
        examples = math.ceil(CASES_CI_MIN * CASES_HEADROOM / len(operations))
    else:
        examples = CASES_PER_OPERATION_LOCAL
    statuses: Counter[tuple[str, int]] = Counter()
    failures: list[str] = []
    for operation in operations:
        try:
            _run_operation(target, operation, examples, statuses)
        except Exception as exc:  # every operation runs; all failures are reported together
            failures.append(f"{operation.label}:\n{exc}")
    assert not failures, "\n\n".join(failures)
    total = sum(statuses.values())
    succeeded = sum(count for (_, status), count in statuses.items() if status == 200)
    assert succeeded >= SUCCESS_SHARE_MIN * total, f"{succeeded} of {total} answered 200"
    if _in_ci_profile():
        assert total >= CASES_CI_MIN, f"only {total} cases ran: {dict(statuses)}"
