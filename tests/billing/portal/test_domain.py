"""The portal's pure rules: features merged as Stripe merges them (create names ``enabled``,
update changes what it sends), the combinations refused naming the parameter, a link's states,
and the secrets of links, visits and forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from beyondpay.billing.portal.domain import (
    FORM_ID_PATTERN,
    LINK_OPEN_S,
    VISIT_S,
    LinkState,
    blank_features,
    csrf_matches,
    csrf_token,
    default_features,
    expiry_label,
    features_with,
    link_expires_at,
    link_state,
    method_label,
    new_form_id,
    new_link_token,
    new_visit_secret,
    visit_expires_at,
    well_formed_link_token,
    well_formed_visit_secret,
)
from beyondpay.kit.errors import BeyondpayError

NOW = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)


def _refused(current: dict, sent: dict, *, creating: bool = False) -> BeyondpayError:
    with pytest.raises(BeyondpayError) as raised:
        features_with(current, sent, creating=creating)
    return raised.value


def test_the_default_offers_history_payment_methods_and_cancellation_at_period_end() -> None:
    features = default_features()
    assert features["invoice_history"]["enabled"] is True
    assert features["payment_method_update"]["enabled"] is True
    assert features["subscription_cancel"]["enabled"] is True
    assert features["subscription_cancel"]["mode"] == "at_period_end"
    assert not features["subscription_update"]["enabled"]
    assert not any(blank_features()[name]["enabled"] for name in blank_features())


def test_create_needs_enabled_and_update_changes_only_what_it_sends() -> None:
    assert _refused(blank_features(), {"invoice_history": {}}, creating=True).param == (
        "features[invoice_history][enabled]"
    )
    made = features_with(
        blank_features(),
        {"subscription_cancel": {"enabled": True, "mode": "immediately"}},
        creating=True,
    )
    changed = features_with(
        made, {"subscription_cancel": {"proration_behavior": "create_prorations"}}, creating=False
    )
    assert changed["subscription_cancel"] == {
        "cancellation_reason": {"enabled": False, "options": []},
        "enabled": True,
        "mode": "immediately",
        "proration_behavior": "create_prorations",
    }
    assert made["subscription_cancel"]["proration_behavior"] == "none"  # not changed in place


def test_an_empty_string_empties_a_list_and_unsets_a_value() -> None:
    made = features_with(
        blank_features(),
        {
            "subscription_update": {
                "enabled": True,
                "default_allowed_updates": ["price", "price", "quantity"],
                "products": [{"product": "prod_a", "prices": ["price_1", "price_1"]}],
            }
        },
        creating=True,
    )
    update = made["subscription_update"]
    assert update["default_allowed_updates"] == ["price", "quantity"]
    assert update["products"][0]["prices"] == ["price_1"]
    emptied = features_with(
        made,
        {"subscription_update": {"enabled": False, "default_allowed_updates": ""}},
        creating=False,
    )
    assert emptied["subscription_update"]["default_allowed_updates"] == []
    unset = features_with(
        blank_features(),
        {"payment_method_update": {"enabled": True, "payment_method_configuration": ""}},
        creating=True,
    )
    assert unset["payment_method_update"]["payment_method_configuration"] is None


@pytest.mark.parametrize(
    ("sent", "param"),
    [
        ({"customer_update": {"enabled": True}}, "features[customer_update][enabled]"),
        ({"subscription_pause": {"enabled": True}}, "features[subscription_pause][enabled]"),
        ({"subscription_update": {"enabled": True}}, "features[subscription_update][products]"),
        (
            {"subscription_cancel": {"enabled": True, "proration_behavior": "create_prorations"}},
            "features[subscription_cancel][proration_behavior]",
        ),
        (
            {
                "subscription_cancel": {
                    "enabled": True,
                    "cancellation_reason": {"enabled": True, "options": []},
                }
            },
            "features[subscription_cancel][cancellation_reason][options]",
        ),
        (
            {
                "subscription_update": {
                    "enabled": True,
                    "products": [
                        {"product": "prod_a", "prices": ["price_1"]},
                        {"product": "prod_a", "prices": ["price_2"]},
                    ],
                }
            },
            "features[subscription_update][products][1][product]",
        ),
        (
            {
                "subscription_update": {
                    "enabled": True,
                    "products": [
                        {
                            "product": "prod_a",
                            "prices": ["price_1"],
                            "adjustable_quantity": {"enabled": True, "minimum": 5, "maximum": 2},
                        }
                    ],
                }
            },
            "features[subscription_update][products][0][adjustable_quantity][maximum]",
        ),
    ],
)
def test_what_no_configuration_may_say_is_refused_naming_the_parameter(
    sent: dict, param: str
) -> None:
    assert _refused(blank_features(), sent, creating=True).param == param


def test_a_link_opens_once_within_its_window_and_a_visit_lasts_an_hour() -> None:
    expires = link_expires_at(NOW)
    assert expires == NOW + timedelta(seconds=LINK_OPEN_S)
    assert link_state(None, expires, NOW) is LinkState.openable
    assert link_state(None, expires, expires - timedelta(microseconds=1)) is LinkState.openable
    assert link_state(None, expires, expires) is LinkState.expired
    assert link_state(NOW, expires, NOW) is LinkState.used
    assert link_state(NOW, expires, expires + timedelta(days=1)) is LinkState.used
    assert visit_expires_at(NOW) == NOW + timedelta(seconds=VISIT_S)


def test_secrets_are_well_formed_and_unguessable() -> None:
    tokens = {new_link_token(False) for _ in range(100)}
    assert len(tokens) == 100
    assert all(token.startswith("test_") and well_formed_link_token(token) for token in tokens)
    assert new_link_token(True).startswith("live_")
    for bad in ("", "test_", "test_" + "A" * 42, "prod_" + "A" * 43, "test_" + "A" * 43 + "!"):
        assert not well_formed_link_token(bad)
    secret = new_visit_secret()
    assert well_formed_visit_secret(secret) and not well_formed_visit_secret(secret + "x")
    assert FORM_ID_PATTERN.match(new_form_id())


def test_a_forms_token_is_the_visits_own() -> None:
    secret, other = new_visit_secret(), new_visit_secret()
    token = csrf_token(secret)
    assert csrf_matches(secret, token)
    assert not csrf_matches(other, token)
    assert not csrf_matches(secret, None) and not csrf_matches(secret, "")
    assert token != secret and secret not in token


def test_payment_methods_are_named_as_their_customer_knows_them() -> None:
    card = {"brand": "visa", "last4": "4242", "exp_month": 3, "exp_year": 2031}
    assert method_label("card", card) == "Visa •••• 4242"
    assert method_label("card", {"brand": "rupay", "last4": "0002"}) == "RuPay •••• 0002"
    assert method_label("upi", {"vpa": "as****@okaxis"}) == "UPI · as****@okaxis"
    assert method_label("upi", {"vpa": None}) == "UPI · app payments"
    assert method_label("netbanking", {"bank": "HDFC", "bank_name": "HDFC Bank"}) == (
        "Net banking · HDFC Bank"
    )
    assert expiry_label(card) == "Expires 03/2031"
    assert expiry_label({}) is None
