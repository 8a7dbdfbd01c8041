"""A payment before its rail is described once; risk and limits each see the same payment."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

from beyondpay.screening.domain import Payment

MOMENT = datetime(2026, 11, 18, 5, 0, tzinfo=UTC)


def _payment() -> Payment:
    return Payment(
        payment_id="ptx_one",
        scope="pyr_asha",
        livemode=False,
        rail="upi",
        amount_minor=1_000,
        currency="inr",
        payer_key="pyr_asha",
        payee_key="pyr_ravi",
        occurred_at=MOMENT,
        merchant_id="acct_shop",
        instrument_fingerprint="ab12",
        device_id="dev_phone",
        device_bound_at=MOMENT,
        mcc="5411",
        payer_created_at=MOMENT,
        vpa_key="vpa_ravi",
    )


def test_risk_and_limits_see_the_same_payment() -> None:
    payment = _payment()
    risk, limits = payment.risk_context(), payment.limit_context()
    shared = {"payment_id", "scope", "livemode", "amount_minor", "currency", "occurred_at"}
    shared |= {"payer_key", "merchant_id", "device_id", "mcc"}
    for name in shared:
        assert getattr(risk, name) == getattr(payment, name) == getattr(limits, name), name
    assert (risk.rail, risk.payee_key, risk.instrument_fingerprint) == ("upi", "pyr_ravi", "ab12")
    assert (risk.device_bound_at, risk.payer_created_at) == (MOMENT, MOMENT)
    assert limits.vpa_key == "vpa_ravi"


def test_every_field_of_the_payment_reaches_risk_or_limits() -> None:
    payment = _payment()
    risk, limits = payment.risk_context(), payment.limit_context()
    for field in fields(Payment):
        value = getattr(payment, field.name)
        reached = (
            getattr(risk, field.name, None) == value or getattr(limits, field.name, None) == value
        )
        assert reached, field.name
