"""Sign-up, login and sessions by OTP, end to end over HTTP."""

from __future__ import annotations

import httpx

from tests.psp.support import post, request_otp, sign_up


async def test_sign_up_then_me(client: httpx.AsyncClient) -> None:
    payer = await sign_up(client, mobile="+91 98765 43212", name="Asha Rao")
    assert payer.payer_id.startswith("pyr_")
    assert payer.access_token.startswith("pst_")
    assert payer.refresh_token.startswith("psr_")
    me = await client.get("/v1/psp/me", headers=payer.headers)
    assert me.status_code == 200, me.text
    assert me.json() == {
        "id": payer.payer_id,
        "object": "psp_payer",
        "name": "Asha Rao",
        "mobile": "******3212",
        "status": "active",
        "frozen_at": None,
        "created": me.json()["created"],
    }


async def test_login_by_otp_gives_a_new_session(client: httpx.AsyncClient) -> None:
    payer = await sign_up(client)
    code = await request_otp(client, payer.mobile, "login")
    answer = await post(client, "/v1/psp/login", {"mobile": payer.mobile, "otp": code})
    assert answer.status_code == 200, answer.text
    session = answer.json()
    assert session["object"] == "psp_session"
    assert session["payer"]["id"] == payer.payer_id
    assert session["expires_in"] == 900
    assert session["id"] != payer.session_id
    me = await client.get(
        "/v1/psp/me", headers={"Authorization": f"Bearer {session['access_token']}"}
    )
    assert me.status_code == 200


async def test_sign_up_of_a_registered_mobile_is_refused(client: httpx.AsyncClient) -> None:
    payer = await sign_up(client)
    answer = await post(client, "/v1/psp/otp", {"mobile": payer.mobile, "purpose": "signup"})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "mobile_already_registered"
    assert answer.json()["error"]["param"] == "mobile"


async def test_login_of_an_unknown_mobile_reveals_nothing(client: httpx.AsyncClient) -> None:
    answer = await post(client, "/v1/psp/otp", {"mobile": "9000000012", "purpose": "login"})
    assert answer.status_code == 200, answer.text
    login = await post(client, "/v1/psp/login", {"mobile": "9000000012", "otp": "123456"})
    assert login.status_code == 400
    assert login.json()["error"]["code"] == "otp_invalid"
    sms = await client.get("/v1/psp/sandbox/sms", params={"mobile": "9000000012"})
    assert sms.json()["data"] == []
