"""Passkeys end to end with a software authenticator: registration, login, step-up (unfreeze,
linking a device), single-use challenges and the signature counter."""

from __future__ import annotations

import json

import httpx

from tests.psp.authenticator import SoftwareAuthenticator
from tests.psp.support import (
    PspPayer,
    attest_sim,
    bind_device,
    log_in,
    new_device_id,
    post,
    sign_up,
)


def _bearer(session: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['access_token']}"}


async def register_passkey(
    client: httpx.AsyncClient, payer: PspPayer, authenticator: SoftwareAuthenticator
) -> dict[str, object]:
    options = await post(client, "/v1/psp/passkeys/registration_options", headers=payer.headers)
    assert options.status_code == 200, options.text
    challenge = options.json()
    credential = authenticator.create(challenge["public_key"])
    created = await post(
        client,
        "/v1/psp/passkeys",
        {"challenge_id": challenge["id"], "credential": credential, "name": "Phone"},
        headers=payer.headers,
    )
    assert created.status_code == 200, created.text
    passkey: dict[str, object] = created.json()
    return passkey


async def step_up(
    client: httpx.AsyncClient, payer: PspPayer, authenticator: SoftwareAuthenticator
) -> dict[str, str]:
    options = await post(client, "/v1/psp/passkeys/step_up/options", headers=payer.headers)
    assert options.status_code == 200, options.text
    challenge = options.json()
    return {
        "challenge_id": challenge["id"],
        "credential": authenticator.get(challenge["public_key"]),
    }


async def test_register_then_log_in_with_the_passkey(client: httpx.AsyncClient) -> None:
    authenticator = SoftwareAuthenticator()
    payer = await sign_up(client)
    device_id = await bind_device(client, payer)
    passkey = await register_passkey(client, payer, authenticator)
    assert str(passkey["id"]).startswith("ppk_")
    listed = await client.get("/v1/psp/passkeys", headers=payer.headers)
    assert [each["id"] for each in listed.json()["data"]] == [passkey["id"]]

    options = await post(client, "/v1/psp/passkeys/login/options", {"mobile": payer.mobile})
    assert options.status_code == 200, options.text
    challenge = options.json()
    assert challenge["purpose"] == "login"
    credential = authenticator.get(challenge["public_key"])
    login = await post(
        client,
        "/v1/psp/passkeys/login",
        {"challenge_id": challenge["id"], "credential": credential, "device_id": device_id},
    )
    assert login.status_code == 200, login.text
    session = login.json()
    assert session["payer"]["id"] == payer.payer_id
    assert session["device"] == device_id
    assert (await client.get("/v1/psp/me", headers=_bearer(session))).status_code == 200
    # The challenge was used up: the same assertion does not sign in twice.
    replay = await post(
        client,
        "/v1/psp/passkeys/login",
        {"challenge_id": challenge["id"], "credential": credential},
    )
    assert replay.status_code == 400
    assert replay.json()["error"]["code"] == "passkey_challenge_invalid"


async def test_registering_a_passkey_needs_a_bound_device(client: httpx.AsyncClient) -> None:
    payer = await sign_up(client)
    options = await post(client, "/v1/psp/passkeys/registration_options", headers=payer.headers)
    assert options.status_code == 403
    assert options.json()["error"]["code"] == "bound_device_required"


async def test_a_stale_sign_count_is_refused(client: httpx.AsyncClient) -> None:
    authenticator = SoftwareAuthenticator()
    payer = await sign_up(client)
    await bind_device(client, payer)
    await register_passkey(client, payer, authenticator)
    assert (await post(client, "/v1/psp/freeze", headers=payer.headers)).status_code == 200
    first = await step_up(client, payer, authenticator)
    assert (await post(client, "/v1/psp/unfreeze", first, headers=payer.headers)).status_code == 200
    # A clone of the authenticator replays an old counter.
    options = await post(client, "/v1/psp/passkeys/step_up/options", headers=payer.headers)
    challenge = options.json()
    cloned = authenticator.get(challenge["public_key"], sign_count=1)
    answer = await post(
        client,
        "/v1/psp/unfreeze",
        {"challenge_id": challenge["id"], "credential": cloned},
        headers=payer.headers,
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "passkey_sign_count_invalid"


async def test_freeze_then_unfreeze_needs_a_passkey(client: httpx.AsyncClient) -> None:
    authenticator = SoftwareAuthenticator()
    payer = await sign_up(client)
    await bind_device(client, payer)
    await register_passkey(client, payer, authenticator)
    frozen = await post(client, "/v1/psp/freeze", headers=payer.headers)
    assert frozen.json()["status"] == "frozen"
    # No passkey may be added while frozen.
    adding = await post(client, "/v1/psp/passkeys/registration_options", headers=payer.headers)
    assert adding.json()["error"]["code"] == "payer_frozen"
    # A wrong assertion (another authenticator's) does not unfreeze.
    stranger = SoftwareAuthenticator()
    options = await post(client, "/v1/psp/passkeys/step_up/options", headers=payer.headers)
    challenge = options.json()
    stranger.create(
        {"rp": {"id": challenge["public_key"]["rpId"]}, "user": {"id": "AA"}, "challenge": "AA"}
    )
    forged = json.loads(stranger.get({**challenge["public_key"], "allowCredentials": []}))
    wrong = await post(
        client,
        "/v1/psp/unfreeze",
        {"challenge_id": challenge["id"], "credential": json.dumps(forged)},
        headers=payer.headers,
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "passkey_invalid"
    me = await client.get("/v1/psp/me", headers=payer.headers)
    assert me.json()["status"] == "frozen"
    unfrozen = await post(
        client,
        "/v1/psp/unfreeze",
        await step_up(client, payer, authenticator),
        headers=payer.headers,
    )
    assert unfrozen.status_code == 200, unfrozen.text
    assert unfrozen.json()["status"] == "active"
    assert unfrozen.json()["frozen_at"] is None


async def test_a_passkey_links_a_further_device(client: httpx.AsyncClient) -> None:
    authenticator = SoftwareAuthenticator()
    payer = await sign_up(client)
    first = await bind_device(client, payer)
    await register_passkey(client, payer, authenticator)
    # The new phone signs in by OTP and proves the passkey instead of asking the first phone.
    new_session = await log_in(client, payer)
    newcomer = PspPayer(
        payer_id=payer.payer_id,
        mobile=payer.mobile,
        name=payer.name,
        access_token=new_session["access_token"],
        refresh_token=new_session["refresh_token"],
        session_id=new_session["id"],
    )
    second = new_device_id()
    answer = await post(
        client,
        "/v1/psp/devices",
        {
            "device_id": second,
            "binding_token": await attest_sim(client, payer.mobile, second),
            **await step_up(client, newcomer, authenticator),
        },
        headers=newcomer.headers,
    )
    assert answer.status_code == 200, answer.text
    listed = await client.get("/v1/psp/devices", headers=newcomer.headers)
    assert {each["id"] for each in listed.json()["data"]} == {first, second}
