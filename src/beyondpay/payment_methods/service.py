"""Payment method use cases, always within the caller's (merchant, mode). Never commits.

Secrets at rest (PCI DSS 4.0.1 requirement 3): a card number or a VPA is encrypted with
AES-256-GCM under a random data key made for that payment method, with its id as associated
data; the data key is sealed by the key ring (the key-encrypting key), bound to the id. Rotating
the ring puts a new key first; :func:`rewrap_data_keys` re-seals data keys under it, after which
the old ring key can be removed. The CVC is checked and dropped: no column holds it.

Fingerprints are HMAC-SHA256 under a per-merchant fingerprint key: 32 random bytes stored sealed
by the ring (``payment_method_fingerprint_keys``). The ring's keys themselves cannot be the HMAC
key: the newest changes at every rotation, and the same card must keep its fingerprint forever
or deduplication breaks. Re-wrapping re-seals the fingerprint key but never changes it, so
fingerprints survive any number of rotations; being per merchant, they do not let two merchants
tell that they share a customer's card (as Stripe's fingerprints are per account).

Events (``payment_method.attached``, ``.detached``, ``.updated``) carry the redacted rendering.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from typing import Any, Final

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.customers.service import customer_service
from beyondpay.db.pagination import created_conditions, scoped, scoped_page
from beyondpay.db.session import driver_connection
from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KEY_BYTES, NONCE_BYTES, KeyRing
from beyondpay.kit.errors import (
    InvalidRequestError,
    ParameterMissingError,
    PublishableKeyParameterError,
    ResourceMissingError,
)
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.kit.params import merge_metadata
from beyondpay.kit.upi import mask_vpa
from beyondpay.merchants.domain import Caller, KeyKind
from beyondpay.payment_methods import events
from beyondpay.payment_methods.domain import (
    TEST_CARD_EXPIRY_MONTH,
    TEST_CARD_EXPIRY_YEARS,
    TEST_CARD_NUMBERS,
    TEST_CARD_TOKENS,
    TEST_SOURCE_TOKENS,
    UPI_SAVE_IS_A_MANDATE,
    UPI_TEST_TOKENS,
    CardNumber,
    PaymentMethodType,
    TestCard,
    check_bank,
    check_card_number,
    check_cvc,
    check_expiry,
    check_upi_vpa,
)
from beyondpay.payment_methods.errors import (
    CardDeclinedError,
    PaymentMethodUnexpectedStateError,
    TokenAlreadyUsedError,
)
from beyondpay.payment_methods.events import PaymentMethodEvent
from beyondpay.payment_methods.models import FingerprintKeyRow, PaymentMethodRow, TokenRow
from beyondpay.payment_methods.schemas import (
    BillingDetailsParams,
    CardParams,
    CustomerPaymentMethodListParams,
    PaymentMethodCreateParams,
    PaymentMethodDataParams,
    PaymentMethodListParams,
    PaymentMethodUpdateParams,
    UpiParams,
    payment_method_details,
    payment_method_object,
)

OBJECT_NAME: Final = "payment_method"
REWRAP_BATCH_MAX: Final = 1_000
FINGERPRINT_BYTES: Final = 11  # 88 bits, 16 base62 characters, like Stripe's fingerprints
# Merchants whose test cards' fingerprints are kept (one dict of a few dozen each).
TEST_CARD_KEYS_CACHED_MAX: Final = 1_024
_FINGERPRINT_CHARS: Final = 16
_ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_TYPES_WITH_DETAILS: Final = ("card", "upi", "netbanking")


def _data_key_context(payment_method_id: str) -> str:
    return f"payment_method.data_key:{payment_method_id}"


def _fingerprint_key_context(merchant_id: str) -> str:
    return f"payment_method.fingerprint_key:{merchant_id}"


def _named(prefix: str | None, path: str) -> str:
    """``card[number]`` as a top-level parameter, or ``payment_method_data[card][number]``."""
    if prefix is None:
        return path
    head, bracket, rest = path.partition("[")
    return f"{prefix}[{head}]{bracket}{rest}"


# ---- secrets at rest -------------------------------------------------------------------------


def _seal(ring: KeyRing, payment_method_id: str, plaintext: bytes) -> tuple[str, str, bytes]:
    """``(sealed data key, ring key id, nonce + ciphertext)`` for a fresh random data key."""
    data_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
    nonce = secrets.token_bytes(NONCE_BYTES)
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, payment_method_id.encode())
    sealed_key = ring.seal(data_key, context=_data_key_context(payment_method_id))
    return sealed_key, ring.current_id, nonce + ciphertext


def _open(ring: KeyRing, row: PaymentMethodRow) -> bytes:
    invariant(
        row.data_key_sealed is not None and row.secret_ciphertext is not None,
        "opening a payment method that holds no secret",
    )
    data_key = ring.open(row.data_key_sealed or "", context=_data_key_context(row.id))
    blob = bytes(row.secret_ciphertext or b"")
    return AESGCM(data_key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], row.id.encode())


def open_card_number(ring: KeyRing, row: PaymentMethodRow) -> SecretStr:
    """The card number, for handing to a rail; one of the two places it is decrypted."""
    invariant(row.type == PaymentMethodType.card, "open_card_number on a payment method not a card")
    return SecretStr(_open(ring, row).decode())


def open_vpa(ring: KeyRing, row: PaymentMethodRow) -> SecretStr | None:
    """The VPA of a UPI payment method for a collect request; None in the intent flow."""
    invariant(row.type == PaymentMethodType.upi, "open_vpa on a payment method not UPI")
    if row.secret_ciphertext is None:
        return None
    return SecretStr(_open(ring, row).decode())


def _base62(raw: bytes) -> str:
    value = int.from_bytes(raw, "big")
    characters = []
    for _ in range(_FINGERPRINT_CHARS):
        value, digit = divmod(value, 62)
        characters.append(_ALPHABET[digit])
    return "".join(reversed(characters))


# Merchants' fingerprint keys this process has read as committed, by database: a key never
# changes once made (rewrapping re-seals the same key), and every payment by card needs one.
_fingerprint_keys: dict[tuple[str, str], bytes] = {}


async def _fingerprint_key(session: AsyncSession, ring: KeyRing, merchant_id: str) -> bytes:
    """The merchant's fingerprint key, made on first use. Two first uses at once: the second
    insert waits for the first and does nothing, and the select after it sees the winner.
    Only a key found made by an earlier transaction is remembered: one made in this one could
    still roll back."""
    database = str((await driver_connection(session)).info.dbname)
    known = _fingerprint_keys.get((database, merchant_id))
    if known is not None:
        return known
    context = _fingerprint_key_context(merchant_id)
    statement = select(FingerprintKeyRow.key_sealed).where(
        FingerprintKeyRow.merchant_id == merchant_id
    )
    sealed = (await session.execute(statement)).scalar_one_or_none()
    if sealed is not None and merchant_id not in session.info.get(_MADE_HERE, ()):
        key = ring.open(sealed, context=context)
        _fingerprint_keys[(database, merchant_id)] = key
        return key
    if sealed is None:
        session.info.setdefault(_MADE_HERE, set()).add(merchant_id)
        fresh = secrets.token_bytes(KEY_BYTES)
        await session.execute(
            insert(FingerprintKeyRow)
            .values(
                merchant_id=merchant_id,
                key_sealed=ring.seal(fresh, context=context),
                ring_key_id=ring.current_id,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["merchant_id"])
        )
        sealed = (await session.execute(statement)).scalar_one()
    return ring.open(sealed, context=context)


_MADE_HERE: Final = "beyondpay.fingerprint_keys_made"


def _fingerprint(key: bytes, kind: str, value: str) -> str:
    digest = hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).digest()
    return _base62(digest[:FINGERPRINT_BYTES])


@functools.lru_cache(maxsize=TEST_CARD_KEYS_CACHED_MAX)
def _test_cards_by_fingerprint(key: bytes) -> dict[str, TestCard]:
    """The documented test cards by their fingerprint under one merchant's key: a few dozen
    HMACs once, not on every test-mode payment (they cost ~0.5 ms of CPU each time)."""
    return {_fingerprint(key, "card", number): card for number, card in TEST_CARD_NUMBERS.items()}


async def rewrap_data_keys(session: AsyncSession, ring: KeyRing, limit: int) -> int:
    """Re-seals up to ``limit`` data keys (and merchants' fingerprint keys) still sealed under an
    older ring key with the newest one; returns how many. Run until it returns 0, then the old
    ring key can be removed. Rows another transaction holds are skipped, not waited for."""
    invariant(0 < limit <= REWRAP_BATCH_MAX, "rewrap limit out of range")
    current = ring.current_id
    rows = (
        await session.execute(
            select(PaymentMethodRow.id, PaymentMethodRow.data_key_sealed)
            .where(
                PaymentMethodRow.data_key_ring_id.is_not(None),
                PaymentMethodRow.data_key_ring_id != current,
            )
            .order_by(PaymentMethodRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for payment_method_id, sealed in rows:
        context = _data_key_context(payment_method_id)
        data_key = ring.open(str(sealed), context=context)
        await session.execute(
            update(PaymentMethodRow)
            .where(PaymentMethodRow.id == payment_method_id)
            .values(data_key_sealed=ring.seal(data_key, context=context), data_key_ring_id=current)
        )
    keys = (
        await session.execute(
            select(FingerprintKeyRow.merchant_id, FingerprintKeyRow.key_sealed)
            .where(FingerprintKeyRow.ring_key_id != current)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for merchant_id, sealed in keys:
        context = _fingerprint_key_context(merchant_id)
        key = ring.open(sealed, context=context)
        await session.execute(
            update(FingerprintKeyRow)
            .where(FingerprintKeyRow.merchant_id == merchant_id)
            .values(key_sealed=ring.seal(key, context=context), ring_key_id=current)
        )
    return len(rows) + len(keys)


# ---- building a payment method ---------------------------------------------------------------


def _blank_to_none(value: str | None) -> str | None:
    return value if value else None


def _billing_details(params: BillingDetailsParams | None) -> dict[str, Any]:
    if params is None:
        return {}
    stored: dict[str, Any] = {
        field: _blank_to_none(getattr(params, field)) for field in ("email", "name", "phone")
    }
    if params.address is not None:
        stored["address"] = {
            key: _blank_to_none(item) for key, item in params.address.model_dump().items()
        }
    return stored


def _check_type_details(data: PaymentMethodDataParams, prefix: str | None) -> None:
    """The sub-object of the type is given (upi may be empty) and no other type's is."""
    for kind in _TYPES_WITH_DETAILS:
        given = getattr(data, kind) is not None
        if kind != data.type.value and given:
            raise InvalidRequestError(
                f"You passed {kind} but the payment method's type is {data.type.value}.",
                param=_named(prefix, kind),
            )
    required = data.type in (PaymentMethodType.card, PaymentMethodType.netbanking)
    if required and getattr(data, data.type.value) is None:
        raise ParameterMissingError.for_param(_named(prefix, data.type.value))


def _check_card(
    card: CardParams, caller: Caller, prefix: str | None
) -> tuple[CardNumber, int, int]:
    for field in ("number", "exp_month", "exp_year"):
        if getattr(card, field) is None:
            raise ParameterMissingError.for_param(_named(prefix, f"card[{field}]"))
    assert card.number is not None and card.exp_month is not None and card.exp_year is not None
    number = check_card_number(card.number, _named(prefix, "card[number]"))
    now = utcnow()
    month, year = check_expiry(
        card.exp_month,
        card.exp_year,
        now_year=now.year,
        now_month=now.month,
        prefix=_named(prefix, "card"),
    )
    if card.cvc is not None:
        check_cvc(card.cvc, number.brand, _named(prefix, "card[cvc]"))
    if caller.livemode and number.digits.get_secret_value() in TEST_CARD_NUMBERS:
        raise CardDeclinedError(
            "Your card was declined. Your request was in live mode, but used a known test card.",
            param=_named(prefix, "card[number]"),
            decline_code="test_mode_live_card",
        )
    return number, month, year


class PaymentMethodService:
    async def create(
        self,
        session: AsyncSession,
        caller: Caller,
        ring: KeyRing,
        params: PaymentMethodCreateParams,
    ) -> PaymentMethodRow:
        # A browser's key makes a payment method for no one: the merchant's server attaches
        # it (or a confirmation saves it) knowing whose it is.
        if caller.kind is KeyKind.publishable and params.customer is not None:
            raise PublishableKeyParameterError.for_param("customer")
        return await self._create(session, caller, ring, params, params.customer, None)

    async def create_from_data(
        self,
        session: AsyncSession,
        caller: Caller,
        ring: KeyRing,
        data: PaymentMethodDataParams,
        *,
        param: str = "payment_method_data",
    ) -> PaymentMethodRow:
        """A payment method from a payment intent's ``payment_method_data``; errors name
        ``param[…]``."""
        return await self._create(session, caller, ring, data, None, param)

    async def _create(
        self,
        session: AsyncSession,
        caller: Caller,
        ring: KeyRing,
        data: PaymentMethodDataParams,
        customer_id: str | None,
        prefix: str | None,
    ) -> PaymentMethodRow:
        _check_type_details(data, prefix)
        if data.card is not None and data.card.token is not None:
            return await self._from_card_token(session, caller, ring, data, customer_id, prefix)
        payment_method_id = new_id("pm")
        row = PaymentMethodRow(
            id=payment_method_id,
            merchant_id=caller.merchant,
            livemode=caller.livemode,
            type=data.type.value,
            customer_id=None,
            billing_details=_billing_details(data.billing_details),
            metadata_=merge_metadata(
                {}, data.metadata if isinstance(data.metadata, dict) else None
            ),
            created_at=utcnow(),
            detached_at=None,
            allow_redisplay=data.allow_redisplay or "unspecified",
            off_session_network_transaction_id=None,
        )
        if data.card is not None:
            number, month, year = _check_card(data.card, caller, prefix)
            await self._fill_card(session, ring, row, number, month, year, data.card.cvc)
        elif data.type == PaymentMethodType.upi:
            await self._fill_upi(session, ring, row, data.upi or UpiParams(), prefix)
        elif data.netbanking is not None:
            row.netbanking_bank = check_bank(
                data.netbanking.bank, _named(prefix, "netbanking[bank]")
            )
        if customer_id is not None:
            customer = await self._customer(session, caller, customer_id)
            row.customer_id = customer
        session.add(row)
        await session.flush()
        if row.customer_id is not None:
            await events.record(session, row, PaymentMethodEvent.attached)
        return row

    async def _fill_card(
        self,
        session: AsyncSession,
        ring: KeyRing,
        row: PaymentMethodRow,
        number: CardNumber,
        exp_month: int,
        exp_year: int,
        cvc: SecretStr | None,
    ) -> None:
        digits = number.digits.get_secret_value()
        known = TEST_CARD_NUMBERS.get(digits)
        key = await _fingerprint_key(session, ring, row.merchant_id)
        row.card_brand = number.brand.value
        row.card_last4 = number.last4
        row.card_exp_month = exp_month
        row.card_exp_year = exp_year
        # Without a BIN table only the test cards' funding and country are known, as Stripe
        # says "unknown" for a funding it cannot tell.
        row.card_funding = known.funding if known else "unknown"
        row.card_country = known.country if known else None
        row.card_cvc_given = cvc is not None
        row.fingerprint = _fingerprint(key, "card", digits)
        sealed_key, ring_id, ciphertext = _seal(ring, row.id, digits.encode())
        row.data_key_sealed, row.data_key_ring_id, row.secret_ciphertext = (
            sealed_key,
            ring_id,
            ciphertext,
        )

    async def _fill_upi(
        self,
        session: AsyncSession,
        ring: KeyRing,
        row: PaymentMethodRow,
        upi: UpiParams,
        prefix: str | None,
    ) -> None:
        if upi.vpa is None:
            return  # the intent flow: nothing to keep
        vpa = check_upi_vpa(upi.vpa, _named(prefix, "upi[vpa]"))
        key = await _fingerprint_key(session, ring, row.merchant_id)
        row.upi_vpa_masked = mask_vpa(vpa)
        row.fingerprint = _fingerprint(key, "vpa", vpa.get_secret_value())
        sealed_key, ring_id, ciphertext = _seal(ring, row.id, vpa.get_secret_value().encode())
        row.data_key_sealed, row.data_key_ring_id, row.secret_ciphertext = (
            sealed_key,
            ring_id,
            ciphertext,
        )

    async def record_upi_payer(
        self,
        session: AsyncSession,
        merchant_id: str,
        livemode: bool,
        *,
        payer_name: str | None,
        vpa_masked: str | None,
    ) -> PaymentMethodRow:
        """The payment method of a UPI payment a payer pushed to the merchant's VPA (a QR
        paid): the payer's name and their VPA as their PSP lets a payee see it, masked. No VPA
        is sealed or fingerprinted (none reached us in clear), so no collect can be asked of it,
        as of the intent flow's; attached to no customer, so no event."""
        row = PaymentMethodRow(
            id=new_id("pm"),
            merchant_id=merchant_id,
            livemode=livemode,
            type=PaymentMethodType.upi.value,
            customer_id=None,
            billing_details={"name": payer_name} if payer_name else {},
            metadata_={},
            created_at=utcnow(),
            detached_at=None,
            allow_redisplay="unspecified",
            off_session_network_transaction_id=None,
            upi_vpa_masked=vpa_masked,
        )
        session.add(row)
        await session.flush()
        return row

    async def _from_test_token(
        self, session: AsyncSession, caller: Caller, ring: KeyRing, token: str, param: str
    ) -> PaymentMethodRow:
        """A fresh payment method from Stripe's ``pm_card_*`` (or our ``pm_upi_*``) token."""
        if token in TEST_CARD_TOKENS:
            card = CardParams(
                number=SecretStr(TEST_CARD_TOKENS[token].number),
                exp_month=TEST_CARD_EXPIRY_MONTH,
                exp_year=utcnow().year + TEST_CARD_EXPIRY_YEARS,
            )
            data = PaymentMethodDataParams(type=PaymentMethodType.card, card=card)
        else:
            vpa = UPI_TEST_TOKENS[token]
            upi = UpiParams(vpa=None if vpa is None else SecretStr(vpa))
            data = PaymentMethodDataParams(type=PaymentMethodType.upi, upi=upi)
        return await self._create(session, caller, ring, data, None, param)

    async def _from_card_token(
        self,
        session: AsyncSession,
        caller: Caller,
        ring: KeyRing,
        data: PaymentMethodDataParams,
        customer_id: str | None,
        prefix: str | None,
    ) -> PaymentMethodRow:
        """``card[token]``: the token's card becomes the payment method (the token is used up),
        with the billing details and metadata sent beside it."""
        card = data.card
        assert card is not None and card.token is not None
        for field in ("number", "exp_month", "exp_year", "cvc"):
            if getattr(card, field) is not None:
                raise InvalidRequestError(
                    f"You cannot pass card[{field}] with card[token]: the token holds the card.",
                    param=_named(prefix, f"card[{field}]"),
                )
        row = await self.consume_token(
            session, caller, ring, card.token, param=_named(prefix, "card[token]")
        )
        if data.billing_details is not None:
            row.billing_details = _billing_details(data.billing_details)
        if isinstance(data.metadata, dict):
            row.metadata_ = merge_metadata(row.metadata_, data.metadata)
        if customer_id is not None:
            row.customer_id = await self._customer(session, caller, customer_id)
        await session.flush()
        if row.customer_id is not None:
            await events.record(session, row, PaymentMethodEvent.attached)
        return row

    # ---- tokens (``tok_…``): their cards are payment methods kept in the same vault ----------

    async def create_for_token(
        self, session: AsyncSession, caller: Caller, ring: KeyRing, data: PaymentMethodDataParams
    ) -> PaymentMethodRow:
        """The payment method that holds a new token's card (checked as any card; errors name
        ``card[…]``), never attached until the token is used."""
        return await self._create(session, caller, ring, data, None, None)

    async def consume_token(
        self, session: AsyncSession, caller: Caller, ring: KeyRing, token_id: str, *, param: str
    ) -> PaymentMethodRow:
        """The payment method of a token, which is used up (a second use is refused, as
        Stripe's), or a fresh one from a test token (``tok_visa``: usable any number of times)."""
        if token_id in TEST_SOURCE_TOKENS:
            if caller.livemode:
                raise ResourceMissingError(
                    f"No such token: '{token_id}'; a similar object exists in test mode, but a"
                    " live mode key was used to make this request.",
                    param=param,
                )
            return await self.resolve(
                session, caller, ring, "pm_card_" + token_id.removeprefix("tok_"), param=param
            )
        statement = scoped(
            TokenRow, caller.merchant, caller.livemode, TokenRow.id == token_id
        ).with_for_update()
        token: TokenRow | None = (await session.execute(statement)).scalar_one_or_none()
        if token is None:
            raise ResourceMissingError.for_object("token", token_id, param=param)
        if token.used:
            raise TokenAlreadyUsedError(
                f"You cannot use a Stripe token more than once: {token.id}.", param=param
            )
        token.used, token.used_at = True, utcnow()
        return await self.get(session, caller, token.payment_method_id, for_update=True)

    async def from_card_id(
        self, session: AsyncSession, caller: Caller, card_id: str, customer_id: str | None
    ) -> PaymentMethodRow:
        """The payment method behind a token's card id (``card_…``). As Stripe's, a card id
        is charged only with the customer it is saved to (``card[token]`` with ``customer``)."""
        statement = scoped(TokenRow, caller.merchant, caller.livemode, TokenRow.card_id == card_id)
        token: TokenRow | None = (await session.execute(statement)).scalar_one_or_none()
        if token is None:
            raise ResourceMissingError.for_object("source", card_id, param="source")
        row = await self.get(session, caller, token.payment_method_id, param="source")
        if customer_id is None or row.customer_id != customer_id:
            raise InvalidRequestError(
                f"Customer {customer_id or '(none)'} does not have a linked source with ID"
                f" {card_id}: a card id is charged with the customer it is saved to.",
                param="customer" if customer_id is None else "source",
            )
        return row

    async def _customer(self, session: AsyncSession, caller: Caller, customer_id: str) -> str:
        """The id of a live (not deleted) customer of the caller; 404 naming ``customer``."""
        try:
            customer = await customer_service.get(session, caller, customer_id)
        except ResourceMissingError:
            customer = None
        if customer is None or customer.deleted_at is not None:
            raise ResourceMissingError.for_object("customer", customer_id, param="customer")
        return customer.id

    # ---- reading ------------------------------------------------------------------------------

    async def test_card_of(
        self, session: AsyncSession, ring: KeyRing, method: PaymentMethodRow
    ) -> TestCard | None:
        """The documented test card ``method`` holds, in test mode, or None. Found by the
        fingerprint, as the number itself is sealed: the test cards' fingerprints under the
        merchant's key are computed once per key (live mode refuses the test cards when they
        are made)."""
        if method.livemode or method.type != PaymentMethodType.card or not method.fingerprint:
            return None
        key = await _fingerprint_key(session, ring, method.merchant_id)
        return _test_cards_by_fingerprint(key).get(method.fingerprint)

    async def attached_to(
        self,
        session: AsyncSession,
        caller: Caller,
        payment_method_id: str,
        customer_id: str,
        *,
        param: str,
        owner: str,
    ) -> PaymentMethodRow:
        """The payment method, attached to ``customer_id``: a default payment method of an
        object billed to a customer (``owner``: "invoice", "subscription") must be the
        customer's, as Stripe's rule is; a 404 or 400 naming ``param`` otherwise."""
        method = await self.get(session, caller, payment_method_id, param=param)
        if method.customer_id != customer_id:
            raise InvalidRequestError(
                f"The payment method {payment_method_id} is not attached to the {owner}'s"
                " customer: attach it to the customer first.",
                param=param,
            )
        return method

    async def get(
        self,
        session: AsyncSession,
        caller: Caller,
        payment_method_id: str,
        *,
        for_update: bool = False,
        param: str = "id",
    ) -> PaymentMethodRow:
        statement = scoped(
            PaymentMethodRow,
            caller.merchant,
            caller.livemode,
            PaymentMethodRow.id == payment_method_id,
        )
        if for_update:
            statement = statement.with_for_update()
        row: PaymentMethodRow | None = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object(OBJECT_NAME, payment_method_id, param=param)
        return row

    async def resolve(
        self,
        session: AsyncSession,
        caller: Caller,
        ring: KeyRing,
        id_or_token: str,
        *,
        param: str = "payment_method",
        for_update: bool = False,
    ) -> PaymentMethodRow:
        """A payment method of the caller's, or a new one from a test token (test mode only:
        live mode answers as Stripe does for a test-mode object)."""
        if id_or_token in TEST_CARD_TOKENS or id_or_token in UPI_TEST_TOKENS:
            if caller.livemode:
                raise ResourceMissingError(
                    f"No such {OBJECT_NAME}: '{id_or_token}'; a similar object exists in test"
                    " mode, but a live mode key was used to make this request.",
                    param=param,
                )
            return await self._from_test_token(session, caller, ring, id_or_token, param)
        return await self.get(session, caller, id_or_token, for_update=for_update, param=param)

    async def list(
        self,
        session: AsyncSession,
        caller: Caller,
        params: PaymentMethodListParams | CustomerPaymentMethodListParams,
        customer_id: str,
        *,
        customer_param: str = "customer",
    ) -> tuple[Sequence[PaymentMethodRow], bool]:
        """A customer's payment methods, newest first; 404 for an unknown or deleted customer."""
        try:
            customer = await customer_service.get(session, caller, customer_id)
        except ResourceMissingError:
            customer = None
        if customer is None or customer.deleted_at is not None:
            raise ResourceMissingError.for_object("customer", customer_id, param=customer_param)
        conditions: list[Any] = [PaymentMethodRow.customer_id == customer.id]
        conditions += created_conditions(PaymentMethodRow.created_at, params.created)
        if params.type is not None:
            conditions.append(PaymentMethodRow.type == params.type.value)
        allow_redisplay = getattr(params, "allow_redisplay", None)
        if allow_redisplay is not None:
            conditions.append(PaymentMethodRow.allow_redisplay == allow_redisplay)
        return await scoped_page(
            session,
            PaymentMethodRow,
            caller.merchant,
            caller.livemode,
            params,
            *conditions,
            object_name=OBJECT_NAME,
        )

    # ---- changing -----------------------------------------------------------------------------

    async def update(
        self,
        session: AsyncSession,
        caller: Caller,
        payment_method_id: str,
        params: PaymentMethodUpdateParams,
    ) -> PaymentMethodRow:
        row = await self.get(session, caller, payment_method_id, for_update=True)
        before = payment_method_object(row)
        sent = params.model_fields_set
        if params.billing_details is not None:
            # The fields sent replace the stored ones (an address whole); others stay.
            fresh = _billing_details(params.billing_details)
            merged = dict(row.billing_details)
            for field in params.billing_details.model_fields_set:
                merged[field] = fresh.get(field)
            row.billing_details = merged
        if "metadata" in sent:
            metadata = params.metadata if isinstance(params.metadata, dict) else {}
            row.metadata_ = merge_metadata(row.metadata_, metadata)
        if params.card is not None:
            self._update_expiry(row, params)
        if params.allow_redisplay is not None:
            row.allow_redisplay = params.allow_redisplay
        await session.flush()
        after = payment_method_object(row)
        previous = {key: value for key, value in before.items() if after.get(key) != value}
        if previous:  # an update that changes nothing announces nothing, as Stripe does
            await events.record(
                session, row, PaymentMethodEvent.updated, previous_attributes=previous
            )
        return row

    def _update_expiry(self, row: PaymentMethodRow, params: PaymentMethodUpdateParams) -> None:
        card = params.card
        invariant(card is not None, "expiry update without card")
        if row.type != PaymentMethodType.card or card is None:
            raise InvalidRequestError(
                f"You passed card but the payment method's type is {row.type}.", param="card"
            )
        month = card.exp_month if card.exp_month is not None else row.card_exp_month
        year = card.exp_year if card.exp_year is not None else row.card_exp_year
        now = utcnow()
        row.card_exp_month, row.card_exp_year = check_expiry(
            month or 0, year or 0, now_year=now.year, now_month=now.month
        )

    async def attach(
        self,
        session: AsyncSession,
        caller: Caller,
        ring: KeyRing,
        id_or_token: str,
        customer_id: str,
        *,
        param: str = "id",
    ) -> PaymentMethodRow:
        row = await self.resolve(session, caller, ring, id_or_token, param=param, for_update=True)
        customer = await self._customer(session, caller, customer_id)
        if row.customer_id == customer:
            return row  # attaching again to the same customer changes nothing
        if row.customer_id is not None:
            raise PaymentMethodUnexpectedStateError(
                "The payment method you provided is already attached to a customer; detach"
                " it first.",
                param="customer",
            )
        if row.detached_at is not None:
            raise PaymentMethodUnexpectedStateError(
                "This payment method was detached from a customer and may not be used again.",
                param=param,
            )
        row.customer_id = customer
        await session.flush()
        await events.record(session, row, PaymentMethodEvent.attached)
        return row

    async def detach(
        self, session: AsyncSession, caller: Caller, payment_method_id: str
    ) -> PaymentMethodRow:
        row = await self.get(session, caller, payment_method_id, for_update=True)
        if row.customer_id is None:
            raise PaymentMethodUnexpectedStateError(
                "The payment method you provided is not attached to a customer so detachment"
                " is impossible.",
                param="id",
            )
        previous = {"customer": row.customer_id}
        # A customer's default payment method that leaves them is their default no more.
        await customer_service.forget_default_payment_method(session, row.customer_id, row.id)
        row.customer_id = None
        row.detached_at = utcnow()
        await session.flush()
        await events.record(session, row, PaymentMethodEvent.detached, previous_attributes=previous)
        return row

    async def get_of_customer(
        self, session: AsyncSession, caller: Caller, customer_id: str, payment_method_id: str
    ) -> PaymentMethodRow:
        """A payment method attached to this customer; 404 naming the customer when the
        customer is unknown, the payment method otherwise (as Stripe)."""
        customer = await self._customer(session, caller, customer_id)
        row = await self.get(session, caller, payment_method_id, param="payment_method")
        if row.customer_id != customer:
            raise ResourceMissingError.for_object(
                OBJECT_NAME, payment_method_id, param="payment_method"
            )
        return row

    async def attach_to_customer(
        self,
        session: AsyncSession,
        caller: Caller,
        ring: KeyRing,
        payment_method: str,
        customer_id: str,
    ) -> str:
        """``customers.create(payment_method=…)``: attached, errors naming payment_method."""
        row = await self.attach(
            session, caller, ring, payment_method, customer_id, param="payment_method"
        )
        return row.id

    async def customer_of(
        self, session: AsyncSession, caller: Caller, payment_method_id: str, *, param: str
    ) -> str | None:
        """The customer a payment method of the caller's is attached to (None: none); 404
        naming ``param`` for an unknown one."""
        return (await self.get(session, caller, payment_method_id, param=param)).customer_id

    async def save_for_later(
        self,
        session: AsyncSession,
        payment_method_id: str,
        customer_id: str | None,
        *,
        off_session: bool,
        network_transaction_id: str | None,
    ) -> PaymentMethodRow:
        """What a succeeded setup (a SetupIntent, or a payment with ``setup_future_usage``)
        leaves on its payment method: attached to the customer (``payment_method.attached``),
        and, set up for off-session use, the stored credential later merchant-initiated
        payments name. Run by whoever applies the rail's answer: no caller, the row's own
        merchant and mode."""
        row = (
            await session.execute(
                select(PaymentMethodRow)
                .where(PaymentMethodRow.id == payment_method_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).scalar_one()
        if off_session and network_transaction_id is not None:
            row.off_session_network_transaction_id = network_transaction_id
        # A payment method another customer holds, or one detached, is not taken from them:
        # the setup's checks refused both before the rail was asked.
        attach = customer_id is not None and row.customer_id is None and row.detached_at is None
        if attach:
            row.customer_id = customer_id
        await session.flush()
        if attach:
            await events.record(session, row, PaymentMethodEvent.attached)
        return row


payment_method_service = PaymentMethodService()

__all__ = [
    "UPI_SAVE_IS_A_MANDATE",
    "PaymentMethodDataParams",
    "PaymentMethodRow",
    "open_card_number",
    "open_vpa",
    "payment_method_details",
    "payment_method_object",
    "payment_method_service",
    "rewrap_data_keys",
]
