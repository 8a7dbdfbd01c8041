"""Tokens (``tok_…``): Stripe's single-use card tokens, which legacy integrations and test
suites still make (``POST /v1/tokens``) and charge (``source=tok_…``, ``card[token]``).

A token's card is a payment method in the same vault (``service``: the number under its own
data key, the CVC checked and dropped), never attached and never listed; the token names it and
shows it as Stripe's legacy ``card`` object, whose ``card_…`` id is the token's. Using the token
(``PaymentMethodService.consume_token``) marks it used; a second use is refused. Tokens are made
in test mode only: live integrations send cards through payment methods.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.customers.schemas import AddressParams
from beyondpay.db.pagination import scoped
from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.merchants.domain import Caller
from beyondpay.payment_methods.domain import LEGACY_BRAND_NAMES, Brand, PaymentMethodType
from beyondpay.payment_methods.errors import TokensTestModeOnlyError
from beyondpay.payment_methods.models import PaymentMethodRow, TokenRow
from beyondpay.payment_methods.schemas import (
    BillingDetailsParams,
    CardParams,
    PaymentMethodDataParams,
    TokenCardParams,
    TokenCreateParams,
    legacy_card_object,
)
from beyondpay.payment_methods.service import payment_method_service

OBJECT_NAME: Final = "token"
_ADDRESS_PARAMS: Final = {
    "address_line1": "line1",
    "address_line2": "line2",
    "address_city": "city",
    "address_state": "state",
    "address_zip": "postal_code",
    "address_country": "country",
}


def _payment_method_data(card: TokenCardParams) -> PaymentMethodDataParams:
    """The token's card as a payment method's details: its name and address as the billing
    details, as Stripe's legacy card keeps them."""
    address = {
        field: getattr(card, param)
        for param, field in _ADDRESS_PARAMS.items()
        if getattr(card, param) is not None
    }
    billing = None
    if card.name is not None or address:
        billing = BillingDetailsParams(
            name=card.name, address=AddressParams(**address) if address else None
        )
    return PaymentMethodDataParams(
        type=PaymentMethodType.card,
        card=CardParams(
            number=card.number, exp_month=card.exp_month, exp_year=card.exp_year, cvc=card.cvc
        ),
        billing_details=billing,
    )


def token_object(token: TokenRow, method: PaymentMethodRow) -> dict[str, Any]:
    brand = LEGACY_BRAND_NAMES.get(Brand(method.card_brand or Brand.unknown), "Unknown")
    return {
        "id": token.id,
        "object": OBJECT_NAME,
        "card": legacy_card_object(token.card_id, method, brand),
        "client_ip": token.client_ip,
        "created": int(token.created_at.timestamp()),
        "livemode": token.livemode,
        "type": token.type,
        "used": token.used,
    }


class TokenService:
    async def create(
        self, session: AsyncSession, caller: Caller, ring: KeyRing, params: TokenCreateParams
    ) -> tuple[TokenRow, PaymentMethodRow]:
        if caller.livemode:
            raise TokensTestModeOnlyError()
        method = await payment_method_service.create_for_token(
            session, caller, ring, _payment_method_data(params.card)
        )
        token = TokenRow(
            id=new_id("tok"),
            merchant_id=caller.merchant,
            livemode=caller.livemode,
            type="card",
            payment_method_id=method.id,
            card_id=new_id("card"),
            client_ip=None,
            used=False,
            used_at=None,
            created_at=utcnow(),
        )
        session.add(token)
        await session.flush()
        return token, method

    async def get(
        self, session: AsyncSession, caller: Caller, token_id: str
    ) -> tuple[TokenRow, PaymentMethodRow]:
        statement = scoped(TokenRow, caller.merchant, caller.livemode, TokenRow.id == token_id)
        token: TokenRow | None = (await session.execute(statement)).scalar_one_or_none()
        if token is None:
            raise ResourceMissingError.for_object(OBJECT_NAME, token_id)
        method = await payment_method_service.get(session, caller, token.payment_method_id)
        return token, method


token_service = TokenService()
