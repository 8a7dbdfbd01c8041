"""Device binding by SIM attestation, linking, revoking, freezing and session handoff, over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock
from beyondpay.psp.identity.domain import BINDING_TOKEN_TTL_S, DEVICE_BLOCK_S, HANDOFF_TTL_S
from beyondpay.psp.identity.service import device_service
from tests.psp.support import (
    attest_sim,
    bind_device,
    log_in,
    new_device_id,
    post,
    random_mobile,
    sign_up,
)


def _bearer(session: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['access_token']}"}


async def test_first_device_binds_with_the_signup_session(
    client: httpx.AsyncClient, database: Database
) -> None:
    payer = await sign_up(client)
    device_id = await bind_device(client, payer)
    listed = await client.get("/v1/psp/devices", headers=payer.headers)
    assert listed.status_code == 200, listed.text
    [device] = listed.json()["data"]
    assert device["id"] == device_id
    assert device["status"] == "active"
    assert device["current"] is True
    async with database.unit_of_work() as session:
        assert await device_service.bound_at(session, device_id) is not None
        assert await device_service.bound_at(session, "device-unknown") is None


async def test_a_token_for_another_number_or_device_is_refused(client: httpx.AsyncClient) -> None:
    payer = await sign_up(client)
    device_id = new_device_id()
    other_number = await attest_sim(client, random_mobile(), device_id)
    other_device = await attest_sim(client, payer.mobile, new_device_id())
    for token in (other_number, other_device, "sat_1_abc", "garbage"):
        answer = await post(
            client,
            "/v1/psp/devices",
            {"device_id": device_id, "binding_token": token},
            headers=payer.headers,
        )
        assert answer.status_code in (400, 429), answer.text
    # (the fourth try on one device is already blocked: see the blocking test)


async def test_an_expired_binding_token_is_refused(client: httpx.AsyncClient) -> None:
    clock = FrozenClock(datetime(2026, 11, 22, 10, 0, tzinfo=UTC))
    with use_clock(clock):
        payer = await sign_up(client)
        device_id = new_device_id()
        token = await attest_sim(client, payer.mobile, device_id)
        clock.advance(BINDING_TOKEN_TTL_S + 1)
        answer = await post(
            client,
            "/v1/psp/devices",
            {"device_id": device_id, "binding_token": token},
            headers=payer.headers,
        )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "binding_token_invalid"


async def test_the_fourth_binding_attempt_in_a_day_is_blocked(client: httpx.AsyncClient) -> None:
    clock = FrozenClock(datetime(2026, 11, 22, 10, 0, tzinfo=UTC))
    with use_clock(clock):
        payer = await sign_up(client)
        device_id = new_device_id()
        wrong = await attest_sim(client, random_mobile(), device_id)
        for _ in range(3):
            answer = await post(
                client,
                "/v1/psp/devices",
                {"device_id": device_id, "binding_token": wrong},
                headers=payer.headers,
            )
            assert answer.json()["error"]["code"] == "binding_token_invalid"
        right = await attest_sim(client, payer.mobile, device_id)
        blocked = await post(
            client,
            "/v1/psp/devices",
            {"device_id": device_id, "binding_token": right},
            headers=payer.headers,
        )
        assert blocked.status_code == 429
        assert blocked.json()["error"]["code"] == "device_binding_blocked"
        assert int(blocked.headers["retry-after"]) > 0
        # A day later the device may try again; the access token is refreshed meanwhile.
        clock.advance(DEVICE_BLOCK_S + 1)
        payer.take_session(await log_in(client, payer))
        right = await attest_sim(client, payer.mobile, device_id)
        bound = await post(
            client,
            "/v1/psp/devices",
            {"device_id": device_id, "binding_token": right},
            headers=payer.headers,
        )
        assert bound.status_code == 200, bound.text


async def test_a_further_device_needs_a_linked_devices_approval(client: httpx.AsyncClient) -> None:
    payer = await sign_up(client)
    first = await bind_device(client, payer)
    first_headers = payer.headers
    # The new phone signs in by OTP and attests its SIM: not enough on its own.
    new_session = await log_in(client, payer)
    second = new_device_id()
    data = {"device_id": second, "binding_token": await attest_sim(client, payer.mobile, second)}
    refused = await post(client, "/v1/psp/devices", data, headers=_bearer(new_session))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "device_link_required"
    data["binding_token"] = await attest_sim(client, payer.mobile, second)
    link = await post(client, "/v1/psp/device_links", data, headers=_bearer(new_session))
    assert link.status_code == 200, link.text
    assert link.json()["status"] == "pending"
    # Only a session on a bound device approves; the requesting session cannot.
    self_approval = await post(
        client, f"/v1/psp/device_links/{link.json()['id']}/approve", headers=_bearer(new_session)
    )
    assert self_approval.status_code == 403
    assert self_approval.json()["error"]["code"] == "bound_device_required"
    pending = await client.get("/v1/psp/device_links", headers=first_headers)
    assert [each["id"] for each in pending.json()["data"]] == [link.json()["id"]]
    approved = await post(
        client, f"/v1/psp/device_links/{link.json()['id']}/approve", headers=first_headers
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    listed = await client.get("/v1/psp/devices", headers=_bearer(new_session))
    devices = {each["id"]: each for each in listed.json()["data"]}
    assert set(devices) == {first, second}
    assert devices[second]["current"] is True
    again = await post(
        client, f"/v1/psp/device_links/{link.json()['id']}/approve", headers=first_headers
    )
    assert again.json()["error"]["code"] == "device_link_invalid"


async def test_bind_device_helper_links_a_second_device(client: httpx.AsyncClient) -> None:
    payer = await sign_up(client)
    first = await bind_device(client, payer)
    second = await bind_device(client, payer)
    assert payer.device_id == second
    listed = await client.get("/v1/psp/devices", headers=payer.headers)
    assert {each["id"] for each in listed.json()["data"]} == {first, second}


async def test_a_revoked_devices_sessions_stop_at_once(client: httpx.AsyncClient) -> None:
    payer = await sign_up(client)
    first = await bind_device(client, payer)
    first_headers = payer.headers
    await bind_device(client, payer)
    revoked = await post(client, f"/v1/psp/devices/{first}/revoke", headers=payer.headers)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    me = await client.get("/v1/psp/me", headers=first_headers)
    assert me.status_code == 401
    assert (await client.get("/v1/psp/me", headers=payer.headers)).status_code == 200
    again = await post(client, f"/v1/psp/devices/{first}/revoke", headers=payer.headers)
    assert again.status_code == 404


async def test_login_on_a_bound_device(client: httpx.AsyncClient) -> None:
    payer = await sign_up(client)
    device_id = await bind_device(client, payer)
    session = await log_in(client, payer, device_id=device_id)
    assert session["device"] == device_id
    unknown = await post(
        client,
        "/v1/psp/login",
        {"mobile": payer.mobile, "otp": "000000", "device_id": new_device_id()},
    )
    assert unknown.status_code == 400


async def test_handoff_is_redeemed_once(client: httpx.AsyncClient) -> None:
    payer = await sign_up(client)
    refused = await post(client, "/v1/psp/handoffs", headers=payer.headers)
    assert refused.status_code == 403  # only a bound device shows a handoff code
    await bind_device(client, payer)
    handoff = await post(client, "/v1/psp/handoffs", headers=payer.headers)
    assert handoff.status_code == 200, handoff.text
    payload = handoff.json()["qr_payload"]
    assert handoff.json()["id"].startswith("phd_")
    redeemed = await post(client, "/v1/psp/handoffs/redeem", {"qr_payload": payload})
    assert redeemed.status_code == 200, redeemed.text
    web = redeemed.json()
    assert web["payer"]["id"] == payer.payer_id
    assert web["device"] is None
    assert (await client.get("/v1/psp/me", headers=_bearer(web))).status_code == 200
    second = await post(client, "/v1/psp/handoffs/redeem", {"qr_payload": payload})
    assert second.status_code == 400
    assert second.json()["error"]["code"] == "handoff_invalid"


async def test_an_expired_handoff_is_refused(client: httpx.AsyncClient) -> None:
    clock = FrozenClock(datetime(2026, 11, 22, 10, 0, tzinfo=UTC))
    with use_clock(clock):
        payer = await sign_up(client)
        await bind_device(client, payer)
        handoff = await post(client, "/v1/psp/handoffs", headers=payer.headers)
        clock.advance(HANDOFF_TTL_S + 1)
        late = await post(
            client, "/v1/psp/handoffs/redeem", {"qr_payload": handoff.json()["qr_payload"]}
        )
    assert late.status_code == 400
    assert late.json()["error"]["code"] == "handoff_invalid"


async def test_freeze_marks_the_payer_frozen(client: httpx.AsyncClient, database: Database) -> None:
    payer = await sign_up(client)
    frozen = await post(client, "/v1/psp/freeze", headers=payer.headers)
    assert frozen.status_code == 200, frozen.text
    assert frozen.json()["status"] == "frozen"
    assert frozen.json()["frozen_at"] is not None
    from beyondpay.psp.identity.service import payer_service

    async with database.unit_of_work() as session:
        assert isinstance(session, AsyncSession)
        row = await payer_service.get(session, payer.payer_id)
        assert payer_service.is_frozen(row)
    # Without a passkey there is no step-up, so no unfreeze.
    options = await post(client, "/v1/psp/passkeys/step_up/options", headers=payer.headers)
    assert options.status_code == 403
    assert options.json()["error"]["code"] == "passkey_required"
