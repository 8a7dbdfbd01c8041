"""The customer portal's API over HTTP: portal sessions and configurations in Stripe's shape,
the default configuration made on first use (once, even when raced), who may call what (the
owner, another merchant, restricted keys), 400s naming the parameter, idempotent creation that
replays the same link, and the events."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from beyondpay.billing.portal.domain import LINK_OPEN_S
from beyondpay.db.session import Database
from tests.billing.portal.support import customer, event_types, execute, portal_session
from tests.support import TestMerchant, make_merchant

CONFIGURATIONS = "/v1/billing_portal/configurations"
SESSIONS = "/v1/billing_portal/sessions"
FEATURES = {
    "features[invoice_history][enabled]": "true",
    "features[payment_method_update][enabled]": "true",
    "features[subscription_cancel][enabled]": "true",
    "features[subscription_cancel][mode]": "immediately",
    "features[subscription_cancel][proration_behavior]": "create_prorations",
    "features[subscription_cancel][cancellation_reason][enabled]": "true",
    "features[subscription_cancel][cancellation_reason][options][0]": "too_expensive",
    "features[subscription_cancel][cancellation_reason][options][1]": "unused",
    "features[subscription_update][enabled]": "true",
    "features[subscription_update][default_allowed_updates][0]": "price",
    "features[subscription_update][products][0][product]": "prod_basic",
    "features[subscription_update][products][0][prices][0]": "price_monthly",
    "features[subscription_update][products][0][prices][1]": "price_yearly",
    "features[subscription_update][proration_behavior]": "always_invoice",
}


async def _post(
    client: httpx.AsyncClient,
    merchant: TestMerchant,
    path: str,
    data: dict[str, Any],
    *,
    key: str = "sk_test",
    status: int = 200,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    headers = merchant.auth(key)
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    answer = await client.post(path, data=data, headers=headers)
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def _get(
    client: httpx.AsyncClient,
    merchant: TestMerchant,
    path: str,
    *,
    key: str = "sk_test",
    status: int = 200,
    **query: Any,
) -> dict[str, Any]:
    answer = await client.get(path, params=query, headers=merchant.auth(key))
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _refused(body: dict[str, Any], param: str, code: str | None = None) -> None:
    assert body["error"]["param"] == param, body
    if code is not None:
        assert body["error"]["code"] == code, body


async def test_a_session_opens_with_the_default_configuration_made_on_first_use(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    customer_id = await customer(client, merchant)
    made = await portal_session(client, merchant, customer_id, locale="en-IN")
    assert made["object"] == "billing_portal.session" and made["id"].startswith("bps_")
    assert made["customer"] == customer_id and made["livemode"] is False
    assert made["locale"] == "en-IN" and made["return_url"] == "https://shop.example/account"
    assert made["flow"] is None and made["on_behalf_of"] is None
    assert made["expires_at"] == made["created"] + LINK_OPEN_S
    link = httpx.URL(made["url"])
    assert link.path.startswith("/billing_portal/session/test_")
    assert len(link.path.rsplit("/", 1)[1]) == len("test_") + 43  # 256 random bits
    configuration = await _get(client, merchant, f"{CONFIGURATIONS}/{made['configuration']}")
    assert configuration["object"] == "billing_portal.configuration"
    assert configuration["is_default"] is True and configuration["active"] is True
    features = configuration["features"]
    assert features["invoice_history"] == {"enabled": True}
    assert features["payment_method_update"]["enabled"] is True
    assert features["subscription_cancel"]["enabled"] is True
    assert features["subscription_cancel"]["mode"] == "at_period_end"
    assert features["subscription_update"]["enabled"] is False
    assert features["customer_update"] == {"allowed_updates": [], "enabled": False}
    assert configuration["login_page"] == {"enabled": False, "url": None}
    # A second session uses the same default; no second one is made.
    again = await portal_session(client, merchant, customer_id)
    assert again["configuration"] == made["configuration"] and again["url"] != made["url"]
    listed = await _get(client, merchant, CONFIGURATIONS, is_default="true")
    assert [item["id"] for item in listed["data"]] == [made["configuration"]]
    assert await event_types(database, made["configuration"]) == [
        "billing_portal.configuration.created"
    ]
    assert await event_types(database, made["id"]) == ["billing_portal.session.created"]
    # The link is a credential: the event carries none, and the database keeps only an HMAC.
    (row,) = await execute(database, "SELECT data FROM events WHERE object_id = :id", id=made["id"])
    assert row[0]["object"]["url"] is None and row[0]["object"]["customer"] == customer_id
    token = link.path.rsplit("/", 1)[1]
    (stored,) = await execute(
        database,
        "SELECT link_fingerprint, visit_fingerprint FROM billing_portal_sessions WHERE id = :id",
        id=made["id"],
    )
    assert token.encode() not in bytes(stored[0]) and stored[1] is None
    listed_events = await _get(
        client, merchant, "/v1/events", type="billing_portal.session.created"
    )
    assert token not in str(listed_events)


async def test_the_configuration_can_be_expanded_and_the_return_url_defaults_to_its(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    configuration = await _post(
        client,
        merchant,
        CONFIGURATIONS,
        {
            **FEATURES,
            "default_return_url": "https://shop.example/billing",
            "business_profile[headline]": "Acme partners with beyondpay",
            "business_profile[privacy_policy_url]": "https://shop.example/privacy",
            "name": "Plans",
            "metadata[team]": "growth",
        },
    )
    customer_id = await customer(client, merchant)
    made = await _post(
        client,
        merchant,
        SESSIONS,
        {
            "customer": customer_id,
            "configuration": configuration["id"],
            "expand[0]": "configuration",
        },
    )
    assert made["return_url"] == "https://shop.example/billing"
    assert made["configuration"]["id"] == configuration["id"]
    assert made["configuration"]["business_profile"] == {
        "headline": "Acme partners with beyondpay",
        "privacy_policy_url": "https://shop.example/privacy",
        "terms_of_service_url": None,
    }


async def test_configurations_are_created_updated_listed_with_their_events(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    made = await _post(client, merchant, CONFIGURATIONS, FEATURES)
    assert made["id"].startswith("bpc_") and made["is_default"] is False
    features = made["features"]
    assert features["subscription_cancel"] == {
        "cancellation_reason": {"enabled": True, "options": ["too_expensive", "unused"]},
        "enabled": True,
        "mode": "immediately",
        "proration_behavior": "create_prorations",
    }
    assert features["subscription_update"]["products"] == [
        {
            "adjustable_quantity": {"enabled": False, "maximum": None, "minimum": 1},
            "prices": ["price_monthly", "price_yearly"],
            "product": "prod_basic",
        }
    ]
    assert features["subscription_update"]["default_allowed_updates"] == ["price"]
    assert features["subscription_update"]["proration_behavior"] == "always_invoice"
    # Features not named on create are off.
    assert features["subscription_pause"] == {"enabled": False}
    updated = await _post(
        client,
        merchant,
        f"{CONFIGURATIONS}/{made['id']}",
        {
            "features[invoice_history][enabled]": "false",
            "business_profile[terms_of_service_url]": "https://shop.example/terms",
            "metadata[team]": "billing",
        },
    )
    assert updated["features"]["invoice_history"] == {"enabled": False}
    # What was not sent stays.
    assert updated["features"]["subscription_cancel"] == features["subscription_cancel"]
    assert updated["business_profile"]["terms_of_service_url"] == "https://shop.example/terms"
    assert updated["updated"] >= made["updated"]
    same = await _post(
        client, merchant, f"{CONFIGURATIONS}/{made['id']}", {"metadata[team]": "billing"}
    )
    assert same == updated
    inactive = await _post(client, merchant, f"{CONFIGURATIONS}/{made['id']}", {"active": "false"})
    assert inactive["active"] is False
    assert await event_types(database, made["id"]) == [
        "billing_portal.configuration.created",
        "billing_portal.configuration.updated",
        "billing_portal.configuration.updated",
    ]
    (row,) = await execute(
        database,
        "SELECT data FROM events WHERE object_id = :id AND type LIKE '%updated'"
        " ORDER BY inserted LIMIT 1",
        id=made["id"],
    )
    previous = row[0]["previous_attributes"]
    assert previous["features"]["invoice_history"] == {"enabled": True}
    assert previous["metadata"] == {}  # made without metadata
    listed = await _get(client, merchant, CONFIGURATIONS)
    # The list makes the default too: two configurations, newest first.
    assert [item["is_default"] for item in listed["data"]] == [True, False]
    assert listed["url"] == CONFIGURATIONS and listed["has_more"] is False
    only_active = await _get(client, merchant, CONFIGURATIONS, active="false")
    assert [item["id"] for item in only_active["data"]] == [made["id"]]
    paged = await _get(client, merchant, CONFIGURATIONS, limit=1)
    assert paged["has_more"] is True
    # An inactive configuration opens no session.
    customer_id = await customer(client, merchant)
    refused = await _post(
        client,
        merchant,
        SESSIONS,
        {"customer": customer_id, "configuration": made["id"]},
        status=400,
    )
    _refused(refused, "configuration", "configuration_inactive")


async def test_the_default_configuration_cannot_be_deactivated(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    listed = await _get(client, merchant, CONFIGURATIONS)
    (default,) = listed["data"]
    refused = await _post(
        client, merchant, f"{CONFIGURATIONS}/{default['id']}", {"active": "false"}, status=400
    )
    _refused(refused, "active", "default_configuration_required")
    changed = await _post(
        client,
        merchant,
        f"{CONFIGURATIONS}/{default['id']}",
        {"features[subscription_cancel][mode]": "immediately"},
    )
    assert changed["features"]["subscription_cancel"]["mode"] == "immediately"
    assert changed["is_default"] is True


async def test_bad_parameters_are_refused_naming_them(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    customer_id = await customer(client, merchant)
    cases: list[tuple[str, dict[str, Any], str, int]] = [
        (SESSIONS, {}, "customer", 400),
        (SESSIONS, {"customer": "cus_missing"}, "customer", 404),
        (SESSIONS, {"customer": customer_id, "configuration": "bpc_missing"}, "configuration", 404),
        (SESSIONS, {"customer": customer_id, "locale": "klingon"}, "locale", 400),
        (
            SESSIONS,
            {"customer": customer_id, "return_url": "javascript:alert(1)"},
            "return_url",
            400,
        ),
        (SESSIONS, {"customer": customer_id, "on_behalf_of": "acct_1"}, "on_behalf_of", 400),
        (
            SESSIONS,
            {"customer": customer_id, "flow_data[type]": "payment_method_update"},
            "flow_data",
            400,
        ),
        (CONFIGURATIONS, {}, "features", 400),
        (
            CONFIGURATIONS,
            {"features[subscription_cancel][mode]": "immediately"},
            "features[subscription_cancel][enabled]",
            400,
        ),
        (
            CONFIGURATIONS,
            {
                "features[payment_method_update][enabled]": "true",
                "features[payment_method_update][payment_method_configuration]": "pmc_1",
            },
            "features[payment_method_update][payment_method_configuration]",
            400,
        ),
        (
            CONFIGURATIONS,
            {"features[customer_update][enabled]": "true"},
            "features[customer_update][enabled]",
            400,
        ),
        (
            CONFIGURATIONS,
            {"features[subscription_pause][enabled]": "true"},
            "features[subscription_pause][enabled]",
            400,
        ),
        (
            CONFIGURATIONS,
            {"features[subscription_update][enabled]": "true"},
            "features[subscription_update][products]",
            400,
        ),
        (
            CONFIGURATIONS,
            {
                "features[subscription_cancel][enabled]": "true",
                "features[subscription_cancel][proration_behavior]": "create_prorations",
            },
            "features[subscription_cancel][proration_behavior]",
            400,
        ),
        (
            CONFIGURATIONS,
            {
                "features[subscription_cancel][enabled]": "true",
                "features[subscription_cancel][proration_behavior]": "always_invoice",
            },
            "features[subscription_cancel][proration_behavior]",
            400,
        ),
        (
            CONFIGURATIONS,
            {
                "features[subscription_cancel][enabled]": "true",
                "features[subscription_cancel][cancellation_reason][enabled]": "true",
                "features[subscription_cancel][cancellation_reason][options]": "",
            },
            "features[subscription_cancel][cancellation_reason][options]",
            400,
        ),
        (
            CONFIGURATIONS,
            {"features[invoice_history][enabled]": "true", "business_profile[headline]": "x" * 61},
            "business_profile[headline]",
            400,
        ),
        (
            CONFIGURATIONS,
            {"features[invoice_history][enabled]": "true", "login_page[enabled]": "true"},
            "login_page[enabled]",
            400,
        ),
        (
            CONFIGURATIONS,
            {"features[invoice_history][enabled]": "true", "default_return_url": "ftp://x"},
            "default_return_url",
            400,
        ),
    ]
    for path, data, param, status in cases:
        refused = await _post(client, merchant, path, data, status=status)
        assert refused["error"]["param"] == param, (data, refused)
    # Nothing was half-written: no configuration but the default (made by the sessions' checks
    # that got that far), no session.
    rows = await execute(database, "SELECT count(*) FROM billing_portal_sessions")
    assert rows[0][0] == 0


async def test_other_merchants_and_restricted_keys(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    other = await make_merchant(database, name="Other", restricted_scopes=("customers:read",))
    portal_key = await make_merchant(
        database, name="Portal", restricted_scopes=("billing_portal:write",)
    )
    customer_id = await customer(client, merchant)
    configuration = await _post(client, merchant, CONFIGURATIONS, FEATURES)
    # Another merchant reaches neither the customer nor the configuration.
    refused = await _post(client, other, SESSIONS, {"customer": customer_id}, status=404)
    _refused(refused, "customer", "resource_missing")
    await _get(client, other, f"{CONFIGURATIONS}/{configuration['id']}", status=404)
    await _post(client, other, f"{CONFIGURATIONS}/{configuration['id']}", {"name": "x"}, status=404)
    listed = await _get(client, other, CONFIGURATIONS)
    assert configuration["id"] not in [item["id"] for item in listed["data"]]
    # A live key sees only live objects.
    await _get(
        client, merchant, f"{CONFIGURATIONS}/{configuration['id']}", key="sk_live", status=404
    )
    # A restricted key without the scope: 403 naming the scope it needs.
    forbidden = await _post(
        client, other, SESSIONS, {"customer": customer_id}, key="rk_test", status=403
    )
    assert forbidden["error"]["code"] == "scope_missing"
    await _get(client, other, CONFIGURATIONS, key="rk_test", status=403)
    # With the scope (write implies read).
    own_customer = await customer(client, portal_key)
    made = await _post(client, portal_key, SESSIONS, {"customer": own_customer}, key="rk_test")
    assert made["customer"] == own_customer
    await _get(client, portal_key, CONFIGURATIONS, key="rk_test")
    # A publishable key never creates one.
    await _post(client, merchant, SESSIONS, {"customer": customer_id}, key="pk_test", status=403)


async def test_a_deleted_customer_gets_no_session(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    customer_id = await customer(client, merchant)
    deleted = await client.delete(f"/v1/customers/{customer_id}", headers=merchant.auth())
    assert deleted.status_code == 200
    refused = await _post(client, merchant, SESSIONS, {"customer": customer_id}, status=404)
    _refused(refused, "customer", "resource_missing")


async def test_creating_a_session_again_with_its_key_replays_the_same_link(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    customer_id = await customer(client, merchant)
    key = f"portal-{uuid.uuid4().hex}"
    first = await _post(client, merchant, SESSIONS, {"customer": customer_id}, idempotency_key=key)
    again = await _post(client, merchant, SESSIONS, {"customer": customer_id}, idempotency_key=key)
    assert again == first
    rows = await execute(database, "SELECT count(*) FROM billing_portal_sessions")
    assert rows[0][0] == 1
    # The stored answer holds the link sealed, not in clear.
    token = httpx.URL(first["url"]).path.rsplit("/", 1)[1]
    stored = await execute(
        database, "SELECT response_body FROM idempotency_keys WHERE key = :key", key=key
    )
    assert token.encode() not in bytes(stored[0][0])
    other = await customer(client, merchant, name="Ravi")
    mismatch = await _post(
        client, merchant, SESSIONS, {"customer": other}, idempotency_key=key, status=400
    )
    assert mismatch["error"]["type"] == "idempotency_error"
    configuration_key = f"configuration-{uuid.uuid4().hex}"
    made = await _post(
        client, merchant, CONFIGURATIONS, FEATURES, idempotency_key=configuration_key
    )
    replayed = await _post(
        client, merchant, CONFIGURATIONS, FEATURES, idempotency_key=configuration_key
    )
    assert replayed == made


async def test_two_first_sessions_at_once_make_one_default_configuration(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    customers = [await customer(client, merchant) for _ in range(4)]
    answers = await asyncio.gather(
        *(
            client.post(SESSIONS, data={"customer": each}, headers=merchant.auth())
            for each in customers
        ),
        client.get(CONFIGURATIONS, headers=merchant.auth()),
    )
    assert [answer.status_code for answer in answers] == [200] * 5, [a.text for a in answers]
    configurations = {answer.json()["configuration"] for answer in answers[:4]}
    assert len(configurations) == 1
    rows = await execute(
        database,
        "SELECT count(*) FROM billing_portal_configurations WHERE merchant_id = :id",
        id=merchant.id,
    )
    assert rows[0][0] == 1
    created = await execute(
        database,
        "SELECT count(*) FROM events WHERE type = 'billing_portal.configuration.created'"
        " AND merchant_id = :id",
        id=merchant.id,
    )
    assert created[0][0] == 1


async def test_json_nulls_in_features_change_nothing_and_an_empty_feature_names_enabled(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    """Found by schemathesis: a JSON null where a feature or a feature's setting goes was a
    500. A null names nothing to change; a feature sent without ``enabled`` on create is a 400
    naming it."""
    auth = merchant.auth()
    sent = {
        "features": {
            "payment_method_update": None,
            "subscription_pause": {},
            "invoice_history": None,
        }
    }
    refused = await client.post(CONFIGURATIONS, json=sent, headers=auth)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["param"] == "features[subscription_pause][enabled]"
    sent = {
        "features": {
            "payment_method_update": None,
            "invoice_history": {"enabled": True},
            "subscription_cancel": {"enabled": True, "cancellation_reason": None, "mode": None},
        }
    }
    made = await client.post(CONFIGURATIONS, json=sent, headers=auth)
    assert made.status_code == 200, made.text
    features = made.json()["features"]
    assert features["invoice_history"]["enabled"] is True
    assert features["payment_method_update"]["enabled"] is False
    assert features["subscription_cancel"]["mode"] == "at_period_end"
    assert features["subscription_cancel"]["cancellation_reason"]["enabled"] is False
