"""No VPA or alias is kept or shown in clear but to its owner: after creating, resolving,
rotating, revoking and saving them, no text, JSON or byte column of any table (events, stored
idempotent answers and the audit trail included) holds one — the owner's copy is sealed — and
neither do the logs or the answers other payers get."""

from __future__ import annotations

import logging

import httpx
import pytest

from beyondpay.db.session import Database
from tests.payments.test_secrets import _tables_holding
from tests.psp.support import post, sign_up
from tests.psp.test_addresses_merchant import create_merchant_vpa
from tests.psp.test_aliases import ALIASES, BENEFICIARIES, create_alias
from tests.psp.test_vpas import create_vpa, payer_with_account, resolve
from tests.support import TestMerchant


async def test_no_vpa_or_alias_is_kept_or_shown_in_clear(
    client: httpx.AsyncClient,
    database: Database,
    merchant: TestMerchant,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    owner, account = await payer_with_account(client, name="Hema Pillai")
    vpa = await create_vpa(client, owner, "hema.pillai", account)
    second = await create_vpa(client, owner, "hema.second", account)
    await post(client, f"/v1/psp/vpas/{second['id']}/primary", headers=owner.headers)
    await post(client, f"/v1/psp/vpas/{second['id']}/deactivate", headers=owner.headers)
    friend = await sign_up(client)
    scoped = await create_alias(client, owner, vpa["id"], counterparty=friend.mobile)
    alias = await create_alias(client, owner, vpa["id"], one_time=True)
    rotated = await post(client, f"{ALIASES}/{alias['id']}/rotate", headers=owner.headers)
    assert rotated.status_code == 200
    revoked = await create_alias(client, owner, vpa["id"])
    await post(client, f"{ALIASES}/{revoked['id']}/revoke", headers=owner.headers)
    shop = await create_merchant_vpa(client, merchant, username="hema.stores")
    await client.get(
        f"/v1/upi/merchant_vpas/{shop['id']}/qr.png",
        params={"amount": 500, "tr": "R1"},
        headers=merchant.auth("sk_test"),
    )

    texts = [
        vpa["vpa"],
        second["vpa"],
        scoped["alias"],
        alias["alias"],
        rotated.json()["alias"],
        revoked["alias"],
        shop["vpa"],
    ]
    answers: list[str] = []
    for given in (
        {"vpa": vpa["vpa"]},
        {"vpa": second["vpa"]},
        {"mobile": owner.mobile},
        {"alias": scoped["alias"]},
        {"alias": alias["alias"]},
        {"alias": rotated.json()["alias"]},
        {"alias": revoked["alias"]},
        {"vpa": shop["vpa"]},
        {"vpa": "typo.hema@beyondpay"},
    ):
        answers.append((await resolve(client, friend, **given)).text)
    saved = await post(
        client,
        BENEFICIARIES,
        {"alias": rotated.json()["alias"], "nickname": "Hema"},
        headers=friend.headers,
    )
    answers += [saved.text, (await client.get(BENEFICIARIES, headers=friend.headers)).text]
    unknown = await post(
        client,
        BENEFICIARIES,
        {"vpa": "typo.hema@beyondpay", "nickname": "x"},
        headers=friend.headers,
    )
    answers.append(unknown.text)
    texts.append("typo.hema@beyondpay")

    for secret in [*texts, friend.mobile, owner.mobile]:
        assert await _tables_holding(database, secret) == [], secret
        assert not any(secret in answer for answer in answers), secret
    logs = caplog.text + "".join(capsys.readouterr())
    for secret in texts:
        assert secret not in logs, secret
