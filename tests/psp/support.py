"""Helpers for tests that call the PSP's routes as payers, over HTTP like a payer app.

``sign_up`` does the whole OTP round trip: it asks for an OTP, reads the "SMS" from the sandbox
sink (``GET /v1/psp/sandbox/sms``) and signs up with the code in it.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

_OTP_IN_SMS = re.compile(r"\b(\d{6})\b")
_USED_MOBILES: set[str] = set()


@dataclass
class PspPayer:
    __test__ = False

    payer_id: str
    mobile: str
    name: str
    access_token: str
    refresh_token: str
    session_id: str
    device_id: str | None = None
    devices: list[str] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    def take_session(self, answer: dict[str, Any]) -> None:
        """Switches to the session in ``answer`` (a ``psp_session`` object)."""
        self.access_token = answer["access_token"]
        self.refresh_token = answer["refresh_token"]
        self.session_id = answer["id"]
        self.device_id = answer.get("device")


def random_mobile() -> str:
    """An unused test number: starts with 9 (a valid Indian mobile) and ends in 2, which the
    sandbox banks read as "has an account at both banks"."""
    while True:
        mobile = "9" + "".join(secrets.choice("0123456789") for _ in range(8)) + "2"
        if mobile not in _USED_MOBILES:
            _USED_MOBILES.add(mobile)
            return mobile


async def post(
    client: httpx.AsyncClient,
    path: str,
    data: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
    idempotency_key: str | None = None,
) -> httpx.Response:
    """A JSON POST with a fresh idempotency key, as a payer app sends them."""
    sent = {"Idempotency-Key": idempotency_key or uuid.uuid4().hex, **(headers or {})}
    return await client.post(path, json=data or {}, headers=sent)


async def read_otp(client: httpx.AsyncClient, mobile: str) -> str:
    """The code in the newest SMS the sandbox sent to ``mobile``."""
    answer = await client.get("/v1/psp/sandbox/sms", params={"mobile": mobile, "limit": 1})
    assert answer.status_code == 200, answer.text
    messages = answer.json()["data"]
    assert messages, "no SMS was sent to this number"
    found = _OTP_IN_SMS.search(messages[0]["body"])
    assert found is not None, "the SMS holds no OTP"
    return found.group(1)


async def request_otp(client: httpx.AsyncClient, mobile: str, purpose: str) -> str:
    answer = await post(client, "/v1/psp/otp", {"mobile": mobile, "purpose": purpose})
    assert answer.status_code == 200, answer.text
    return await read_otp(client, mobile)


async def sign_up(
    client: httpx.AsyncClient, mobile: str | None = None, name: str = "Asha Rao"
) -> PspPayer:
    """A new payer signed up over HTTP (OTP by the sandbox SMS sink), with a session."""
    mobile = mobile or random_mobile()
    code = await request_otp(client, mobile, "signup")
    answer = await post(client, "/v1/psp/signup", {"mobile": mobile, "otp": code, "name": name})
    assert answer.status_code == 200, answer.text
    session = answer.json()
    payer = PspPayer(
        payer_id=session["payer"]["id"],
        mobile=mobile,
        name=name,
        access_token=session["access_token"],
        refresh_token=session["refresh_token"],
        session_id=session["id"],
    )
    return payer


async def log_in(
    client: httpx.AsyncClient, payer: PspPayer, device_id: str | None = None
) -> dict[str, Any]:
    """A new session for ``payer`` by OTP login (on ``device_id`` when given); the answer."""
    code = await request_otp(client, payer.mobile, "login")
    data: dict[str, Any] = {"mobile": payer.mobile, "otp": code}
    if device_id is not None:
        data["device_id"] = device_id
    answer = await post(client, "/v1/psp/login", data)
    assert answer.status_code == 200, answer.text
    session: dict[str, Any] = answer.json()
    return session


def new_device_id() -> str:
    return f"device-{uuid.uuid4().hex[:16]}"


async def attest_sim(client: httpx.AsyncClient, mobile: str, device_id: str) -> str:
    """Sandbox: the binding token for ``mobile``'s SIM in ``device_id``."""
    answer = await post(
        client, "/v1/psp/sandbox/sim_attestations", {"mobile": mobile, "device_id": device_id}
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["binding_token"]
    return token


async def bind_device(client: httpx.AsyncClient, payer: PspPayer) -> str:
    """Binds a new device to ``payer`` and switches ``payer`` to a session on it; its id.

    The first device binds with the payer's current session. A further one is linked the way
    a new phone is: it signs in by OTP, asks to be linked, and the payer's current session (on
    a bound device) approves.
    """
    device_id = new_device_id()
    token = await attest_sim(client, payer.mobile, device_id)
    data = {"device_id": device_id, "binding_token": token, "name": "Test phone"}
    answer = await post(client, "/v1/psp/devices", data, headers=payer.headers)
    if answer.status_code == 403 and answer.json()["error"]["code"] == "device_link_required":
        session = await log_in(client, payer)
        new_headers = {"Authorization": f"Bearer {session['access_token']}"}
        link = await post(client, "/v1/psp/device_links", data, headers=new_headers)
        assert link.status_code == 200, link.text
        approved = await post(
            client, f"/v1/psp/device_links/{link.json()['id']}/approve", headers=payer.headers
        )
        assert approved.status_code == 200, approved.text
        payer.take_session(session)
    else:
        assert answer.status_code == 200, answer.text
    payer.device_id = device_id
    payer.devices.append(device_id)
    return device_id
