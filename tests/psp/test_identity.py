"""Sign-up, login and sessions by OTP, end to end over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock
from beyondpay.psp.identity.domain import (
    ACCESS_TOKEN_TTL_S,
    OTP_ATTEMPTS_MAX,
    OTP_SEND_WINDOW_S,
    OTP_SENDS_MAX,
    OTP_TTL_S,
)
from tests.psp.support import log_in, post, random_mobile, request_otp, sign_up


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


async def test_the_sms_sink_says_has_more_only_when_more_remain(
    client: httpx.AsyncClient,
) -> None:
    mobile = random_mobile()

    await request_otp(client, mobile, "signup")
    one = await client.get("/v1/psp/sandbox/sms", params={"mobile": mobile, "limit": 1})
    assert one.status_code == 200, one.text
    assert (len(one.json()["data"]), one.json()["has_more"]) == (1, False)

    await request_otp(client, mobile, "signup")
    first = await client.get("/v1/psp/sandbox/sms", params={"mobile": mobile, "limit": 1})
    both = await client.get("/v1/psp/sandbox/sms", params={"mobile": mobile, "limit": 2})
    assert (len(first.json()["data"]), first.json()["has_more"]) == (1, True)
    assert (len(both.json()["data"]), both.json()["has_more"]) == (2, False)
    # Newest first: the page of one is the newer of the two.
    assert first.json()["data"][0]["id"] == both.json()["data"][0]["id"]


async def test_three_wrong_otps_kill_it(client: httpx.AsyncClient) -> None:
    mobile = random_mobile()
    code = await request_otp(client, mobile, "signup")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    codes = []
    for _ in range(OTP_ATTEMPTS_MAX):
        answer = await post(client, "/v1/psp/signup", {"mobile": mobile, "otp": wrong, "name": "A"})
        assert answer.status_code == 400
        assert answer.json()["error"]["param"] == "otp"
        codes.append(answer.json()["error"]["code"])
    assert codes == ["otp_invalid", "otp_invalid", "otp_attempts_exceeded"]
    # The right code no longer works either: the OTP is dead.
    right = await post(client, "/v1/psp/signup", {"mobile": mobile, "otp": code, "name": "A"})
    assert right.status_code == 400
    assert right.json()["error"]["code"] == "otp_attempts_exceeded"
    # A new OTP works.
    await sign_up(client, mobile=mobile)


async def test_a_wrong_try_counts_even_with_a_retried_idempotency_key(
    client: httpx.AsyncClient,
) -> None:
    mobile = random_mobile()
    code = await request_otp(client, mobile, "signup")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    data = {"mobile": mobile, "otp": wrong, "name": "A"}
    first = await post(client, "/v1/psp/signup", data, idempotency_key="k1")
    replayed = await post(client, "/v1/psp/signup", data, idempotency_key="k1")
    assert first.status_code == replayed.status_code == 400
    assert replayed.headers.get("idempotent-replayed") == "true"
    # The replay did not count a second try: two more wrong ones are allowed.
    second = await post(client, "/v1/psp/signup", data)
    assert second.json()["error"]["code"] == "otp_invalid"


async def test_an_expired_otp_is_refused(client: httpx.AsyncClient) -> None:
    mobile = random_mobile()
    clock = FrozenClock(datetime(2026, 11, 22, 10, 0, tzinfo=UTC))
    with use_clock(clock):
        code = await request_otp(client, mobile, "signup")
        clock.advance(OTP_TTL_S + 1)
        answer = await post(client, "/v1/psp/signup", {"mobile": mobile, "otp": code, "name": "A"})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "otp_expired"


async def test_an_otp_works_once(client: httpx.AsyncClient) -> None:
    mobile = random_mobile()
    code = await request_otp(client, mobile, "signup")
    data = {"mobile": mobile, "otp": code, "name": "A"}
    assert (await post(client, "/v1/psp/signup", data)).status_code == 200
    again = await post(client, "/v1/psp/signup", data)
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "otp_invalid"


async def test_a_new_otp_replaces_the_previous_one(client: httpx.AsyncClient) -> None:
    mobile = random_mobile()
    first = await request_otp(client, mobile, "signup")
    second = await request_otp(client, mobile, "signup")
    if first != second:
        stale = await post(client, "/v1/psp/signup", {"mobile": mobile, "otp": first, "name": "A"})
        assert stale.json()["error"]["code"] == "otp_invalid"
    fresh = await post(client, "/v1/psp/signup", {"mobile": mobile, "otp": second, "name": "A"})
    assert fresh.status_code == 200


async def test_otp_sends_are_limited_per_mobile(client: httpx.AsyncClient) -> None:
    mobile = random_mobile()
    clock = FrozenClock(datetime(2026, 11, 22, 10, 0, tzinfo=UTC))
    with use_clock(clock):
        for _ in range(OTP_SENDS_MAX):
            answer = await post(client, "/v1/psp/otp", {"mobile": mobile, "purpose": "signup"})
            assert answer.status_code == 200
            clock.advance(10)
        refused = await post(client, "/v1/psp/otp", {"mobile": mobile, "purpose": "login"})
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "otp_send_limit_exceeded"
        assert int(refused.headers["retry-after"]) > 0
        clock.advance(OTP_SEND_WINDOW_S)
        again = await post(client, "/v1/psp/otp", {"mobile": mobile, "purpose": "signup"})
        assert again.status_code == 200


@pytest.mark.parametrize("mobile", ["12345", "5876543210", "98765432100", "abcdefghij"])
async def test_a_malformed_mobile_is_refused_naming_it(
    client: httpx.AsyncClient, mobile: str
) -> None:
    answer = await post(client, "/v1/psp/otp", {"mobile": mobile, "purpose": "signup"})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["code"], error["param"]) == ("mobile_invalid", "mobile")
    assert mobile not in answer.text


async def test_refresh_rotates_both_tokens(client: httpx.AsyncClient) -> None:
    payer = await sign_up(client)
    old_headers = payer.headers
    answer = await post(client, "/v1/psp/sessions/refresh", {"refresh_token": payer.refresh_token})
    assert answer.status_code == 200, answer.text
    session = answer.json()
    assert session["id"] == payer.session_id
    assert session["access_token"] != payer.access_token
    assert session["refresh_token"] != payer.refresh_token
    assert (await client.get("/v1/psp/me", headers=old_headers)).status_code == 401
    payer.take_session(session)
    assert (await client.get("/v1/psp/me", headers=payer.headers)).status_code == 200


async def test_a_reused_refresh_token_revokes_the_session(client: httpx.AsyncClient) -> None:
    payer = await sign_up(client)
    stolen = payer.refresh_token
    first = await post(client, "/v1/psp/sessions/refresh", {"refresh_token": stolen})
    assert first.status_code == 200
    payer.take_session(first.json())
    reused = await post(client, "/v1/psp/sessions/refresh", {"refresh_token": stolen})
    assert reused.status_code == 401
    assert reused.json()["error"]["code"] == "refresh_token_reused"
    # Both copies are dead: the legitimate holder's tokens too.
    assert (await client.get("/v1/psp/me", headers=payer.headers)).status_code == 401
    latest = await post(client, "/v1/psp/sessions/refresh", {"refresh_token": payer.refresh_token})
    assert latest.status_code == 401


async def test_an_expired_access_token_is_refused_and_refresh_revives(
    client: httpx.AsyncClient,
) -> None:
    clock = FrozenClock(datetime(2026, 11, 22, 10, 0, tzinfo=UTC))
    with use_clock(clock):
        payer = await sign_up(client)
        clock.advance(ACCESS_TOKEN_TTL_S + 1)
        expired = await client.get("/v1/psp/me", headers=payer.headers)
        assert expired.status_code == 401
        assert expired.json()["error"]["code"] == "session_invalid"
        answer = await post(
            client, "/v1/psp/sessions/refresh", {"refresh_token": payer.refresh_token}
        )
        assert answer.status_code == 200
        payer.take_session(answer.json())
        assert (await client.get("/v1/psp/me", headers=payer.headers)).status_code == 200


async def test_logout_ends_this_session_only(client: httpx.AsyncClient) -> None:
    payer = await sign_up(client)
    other = await log_in(client, payer)
    other_headers = {"Authorization": f"Bearer {other['access_token']}"}
    answer = await post(client, "/v1/psp/logout", headers=payer.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"object": "psp_logout", "sessions_revoked": 1}
    assert (await client.get("/v1/psp/me", headers=payer.headers)).status_code == 401
    refresh = await post(client, "/v1/psp/sessions/refresh", {"refresh_token": payer.refresh_token})
    assert refresh.status_code == 401
    assert (await client.get("/v1/psp/me", headers=other_headers)).status_code == 200


async def test_logout_everywhere_ends_every_session(client: httpx.AsyncClient) -> None:
    payer = await sign_up(client)
    other = await log_in(client, payer)
    answer = await post(client, "/v1/psp/logout_everywhere", headers=payer.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["sessions_revoked"] == 2
    for token in (payer.access_token, other["access_token"]):
        me = await client.get("/v1/psp/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 401
    for token in (payer.refresh_token, other["refresh_token"]):
        refresh = await post(client, "/v1/psp/sessions/refresh", {"refresh_token": token})
        assert refresh.status_code == 401
    # A new login works.
    again = await log_in(client, payer)
    me = await client.get(
        "/v1/psp/me", headers={"Authorization": f"Bearer {again['access_token']}"}
    )
    assert me.status_code == 200


async def test_events_are_recorded_in_the_payers_scope(
    client: httpx.AsyncClient, database: Database
) -> None:
    payer = await sign_up(client)
    await post(client, "/v1/psp/sessions/refresh", {"refresh_token": payer.refresh_token})
    async with database.unit_of_work() as session:
        rows = await session.execute(
            text("SELECT type, livemode FROM events WHERE merchant_id = :payer ORDER BY id"),
            {"payer": payer.payer_id},
        )
        recorded = [(str(kind), bool(livemode)) for kind, livemode in rows.all()]
    assert recorded == [
        ("psp.payer.created", False),
        ("psp.session.created", False),
        ("psp.session.refreshed", False),
    ]


async def test_signup_is_idempotent_and_its_stored_answer_is_sealed(
    client: httpx.AsyncClient, database: Database
) -> None:
    mobile = random_mobile()
    code = await request_otp(client, mobile, "signup")
    data = {"mobile": mobile, "otp": code, "name": "A"}
    first = await post(client, "/v1/psp/signup", data, idempotency_key="signup-1")
    again = await post(client, "/v1/psp/signup", data, idempotency_key="signup-1")
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers.get("idempotent-replayed") == "true"
    async with database.unit_of_work() as session:
        stored = await session.execute(text("SELECT response_body FROM idempotency_keys"))
        bodies = b"".join(bytes(body) for (body,) in stored.all() if body is not None)
    assert first.json()["access_token"].encode() not in bodies


async def test_a_blank_name_is_refused_naming_it(client: httpx.AsyncClient) -> None:
    mobile = random_mobile()
    code = await request_otp(client, mobile, "signup")
    answer = await post(client, "/v1/psp/signup", {"mobile": mobile, "otp": code, "name": "   "})
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "name"
    # Nothing was used up: the OTP still signs up.
    signed = await post(client, "/v1/psp/signup", {"mobile": mobile, "otp": code, "name": " Asha "})
    assert signed.status_code == 200
    assert signed.json()["payer"]["name"] == "Asha"
