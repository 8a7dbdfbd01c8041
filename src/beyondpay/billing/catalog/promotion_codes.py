"""Promotion code use cases, always within the caller's (merchant, mode). Never commits.

A promotion code is a customer-facing code (letters, digits and dashes; 8 random characters if
none is given) for a coupon (``promotion[coupon]``, or the older ``coupon``), optionally for one
customer, until ``expires_at``, at most ``max_redemptions`` times, with Stripe's restrictions
(a first transaction only; a minimum amount, in more currencies with ``currency_options``).
Among a merchant's active codes a code names one, whatever its case (a partial unique index),
so :meth:`PromotionCodeService.resolve` finds a typed code without ambiguity. Only ``active``,
``metadata`` and ``restrictions[currency_options]`` change after creation; a code is
reactivated only while its coupon exists and no other active code has its text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.catalog.coupons import (
    check_code_redeemable,
    check_redeemable,
    coupon_service,
    random_text,
)
from beyondpay.billing.catalog.domain import CouponTerms, Purchase
from beyondpay.billing.catalog.errors import PromotionCodeInUseError, PromotionCodeInvalidError
from beyondpay.billing.catalog.events import PromotionCodeEvent, record
from beyondpay.billing.catalog.models import CouponRow, PromotionCodeRow
from beyondpay.billing.catalog.records import Lock, locked
from beyondpay.billing.catalog.schemas import (
    MinimumAmountOptionParams,
    PromotionCodeCreateParams,
    PromotionCodeListParams,
    PromotionCodeRestrictionsParams,
    PromotionCodeUpdateParams,
    promotion_code_object,
    unix_to_datetime,
)
from beyondpay.customers.service import customer_service
from beyondpay.db.pagination import created_conditions, merchant_owner, scoped, scoped_page
from beyondpay.events.service import previous_attributes
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import InvalidRequestError, ParameterMissingError, ResourceMissingError
from beyondpay.kit.ids import is_valid_id, new_id
from beyondpay.kit.params import merge_metadata
from beyondpay.merchants.domain import Caller

GENERATED_CODE_CHARS: Final = 8
ACTIVE_CODE_INDEX: Final = "uq_promotion_codes_active_code"


@dataclass(frozen=True, slots=True)
class ResolvedPromotion:
    """A promotion code a purchase may redeem, and its coupon's terms."""

    promotion_code: PromotionCodeRow
    coupon: CouponTerms


def _minimum_amounts(
    options: dict[str, MinimumAmountOptionParams] | None, minimum_currency: str | None, param: str
) -> dict[str, int]:
    if not options:
        return {}
    if minimum_currency in options:
        raise InvalidRequestError(
            "restrictions[currency_options] name other currencies than"
            f" restrictions[minimum_amount_currency] ({minimum_currency}).",
            param=param,
        )
    return {currency: option.minimum_amount for currency, option in options.items()}


def _restrictions(params: PromotionCodeRestrictionsParams | None) -> dict[str, Any]:
    if params is None:
        return {
            "first_time_transaction": False,
            "minimum_amount": None,
            "minimum_amount_currency": None,
            "minimum_amounts": {},
        }
    if params.minimum_amount is not None and params.minimum_amount_currency is None:
        raise ParameterMissingError.for_param("restrictions[minimum_amount_currency]")
    if params.minimum_amount is None and params.minimum_amount_currency is not None:
        raise ParameterMissingError.for_param("restrictions[minimum_amount]")
    return {
        "first_time_transaction": params.first_time_transaction,
        "minimum_amount": params.minimum_amount,
        "minimum_amount_currency": params.minimum_amount_currency,
        "minimum_amounts": _minimum_amounts(
            params.currency_options,
            params.minimum_amount_currency,
            "restrictions[currency_options]",
        ),
    }


def _coupon_param(params: PromotionCodeCreateParams) -> tuple[str, str]:
    """The coupon named (``promotion[coupon]``, or Stripe's older ``coupon``) and the
    parameter that named it."""
    promotion = params.promotion
    if promotion is not None and params.coupon is not None:
        raise InvalidRequestError(
            "You may only specify one of these parameters: coupon, promotion.", param="coupon"
        )
    if promotion is not None:
        if promotion.coupon is None:
            raise ParameterMissingError.for_param("promotion[coupon]")
        return promotion.coupon, "promotion[coupon]"
    if params.coupon is None:
        raise ParameterMissingError.for_param("promotion[coupon]")
    return params.coupon, "coupon"


async def _code_free(
    session: AsyncSession, caller: Caller, code: str, *, param: str, other_than: str | None = None
) -> None:
    """No other active code of the caller's has this text, in any case."""
    taken = (
        await session.execute(
            select(PromotionCodeRow.id).where(
                *merchant_owner(PromotionCodeRow, caller.merchant, caller.livemode),
                PromotionCodeRow.active.is_(True),
                func.lower(PromotionCodeRow.code) == code.lower(),
            )
        )
    ).scalar_one_or_none()
    if taken is not None and taken != other_than:
        raise _in_use(code, param)


def _in_use(code: str, param: str) -> PromotionCodeInUseError:
    return PromotionCodeInUseError(
        f"An active promotion code already has the code '{code[:100]}' (in any case).",
        param=param,
    )


async def _flush(session: AsyncSession, code: str, param: str) -> None:
    """Flushes; a code taken meanwhile by another active code (the unique index decides the
    races the check before missed) is refused, naming ``param``."""
    try:
        await session.flush()
    except IntegrityError as error:
        constraint = getattr(getattr(error.orig, "diag", None), "constraint_name", None)
        if constraint == ACTIVE_CODE_INDEX:
            raise _in_use(code, param) from None
        raise


class PromotionCodeService:
    async def create(
        self, session: AsyncSession, caller: Caller, params: PromotionCodeCreateParams
    ) -> PromotionCodeRow:
        now = utcnow()
        coupon_id, coupon_param = _coupon_param(params)
        # Shared: the coupon is not deleted (its codes deactivated) while a code is made.
        coupon = await coupon_service.get(
            session, caller, coupon_id, param=coupon_param, lock="share"
        )
        check_redeemable(coupon, now, param=coupon_param)
        if params.customer is not None:
            await self._customer(session, caller, params.customer)
        self._check_limits(params, coupon, now)
        code = params.code or random_text(GENERATED_CODE_CHARS)
        if params.active:
            await _code_free(session, caller, code, param="code")
        row = PromotionCodeRow(
            id=new_id("promo"),
            merchant_id=caller.merchant,
            livemode=caller.livemode,
            code=code,
            coupon_id=coupon.id,
            customer_id=params.customer,
            active=params.active,
            expires_at=unix_to_datetime(params.expires_at),
            max_redemptions=params.max_redemptions,
            times_redeemed=0,
            metadata_=merge_metadata(
                {}, params.metadata if isinstance(params.metadata, dict) else None
            ),
            created_at=now,
            updated_at=now,
            **_restrictions(params.restrictions),
        )
        session.add(row)
        await _flush(session, code, "code")
        await record(session, row, PromotionCodeEvent.created, promotion_code_object(row))
        return row

    async def _customer(self, session: AsyncSession, caller: Caller, customer_id: str) -> None:
        try:
            found = await customer_service.get(session, caller, customer_id)
        except ResourceMissingError:
            found = None
        if found is None or found.deleted_at is not None:
            raise ResourceMissingError.for_object("customer", customer_id, param="customer")

    def _check_limits(
        self, params: PromotionCodeCreateParams, coupon: CouponRow, now: datetime
    ) -> None:
        """Stripe's rules: a code expires in the future and no later than its coupon's
        ``redeem_by``, and is redeemed no more often than its coupon may be."""
        expires_at = unix_to_datetime(params.expires_at)
        if expires_at is not None and expires_at <= now:
            raise InvalidRequestError("expires_at must be in the future.", param="expires_at")
        if (
            expires_at is not None
            and coupon.redeem_by is not None
            and expires_at > coupon.redeem_by
        ):
            raise InvalidRequestError(
                "expires_at cannot be after the coupon's redeem_by.", param="expires_at"
            )
        if (
            params.max_redemptions is not None
            and coupon.max_redemptions is not None
            and params.max_redemptions > coupon.max_redemptions
        ):
            raise InvalidRequestError(
                "max_redemptions cannot be more than the coupon's max_redemptions"
                f" ({coupon.max_redemptions}).",
                param="max_redemptions",
            )

    async def get(
        self,
        session: AsyncSession,
        caller: Caller,
        promotion_code_id: str,
        *,
        param: str | None = "id",
        lock: Lock | None = None,
    ) -> PromotionCodeRow:
        """The caller's promotion code; 404 naming ``param``."""
        statement = scoped(
            PromotionCodeRow,
            caller.merchant,
            caller.livemode,
            PromotionCodeRow.id == promotion_code_id,
        )
        row: PromotionCodeRow | None = (
            await session.execute(locked(statement, lock))
        ).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object("promotion code", promotion_code_id, param=param)
        return row

    async def update(
        self,
        session: AsyncSession,
        caller: Caller,
        promotion_code_id: str,
        params: PromotionCodeUpdateParams,
    ) -> PromotionCodeRow:
        found = await self.get(session, caller, promotion_code_id)
        reactivating = params.active is True and not found.active
        if reactivating:
            # Coupon first, then the code: the order coupon deletion locks them in.
            try:
                await coupon_service.get(session, caller, found.coupon_id, lock="share")
            except ResourceMissingError:
                raise InvalidRequestError(
                    "This promotion code's coupon has been deleted: it cannot be reactivated.",
                    param="active",
                ) from None
        row = await self.get(session, caller, promotion_code_id, lock="no key update")
        before = promotion_code_object(row)
        sent = params.model_fields_set
        if "active" in sent and params.active is not None and params.active != row.active:
            if params.active:
                await _code_free(session, caller, row.code, param="active", other_than=row.id)
            row.active = params.active
        if "metadata" in sent:
            metadata = params.metadata if isinstance(params.metadata, dict) else {}
            row.metadata_ = merge_metadata(row.metadata_, metadata)
        restrictions = params.restrictions
        if restrictions is not None and restrictions.currency_options:
            added = _minimum_amounts(
                restrictions.currency_options,
                row.minimum_amount_currency,
                "restrictions[currency_options]",
            )
            row.minimum_amounts = {**row.minimum_amounts, **added}
        after = promotion_code_object(row)
        previous = previous_attributes(before, after)
        if not previous:
            return row
        row.updated_at = utcnow()
        await _flush(session, row.code, "active")
        await record(session, row, PromotionCodeEvent.updated, after, previous_attributes=previous)
        return row

    async def list(
        self, session: AsyncSession, caller: Caller, params: PromotionCodeListParams
    ) -> tuple[Sequence[PromotionCodeRow], bool]:
        conditions: list[Any] = list(
            created_conditions(PromotionCodeRow.created_at, params.created)
        )
        if params.active is not None:
            conditions.append(PromotionCodeRow.active.is_(params.active))
        if params.code is not None:
            # Stripe's filter is case-insensitive, as codes are.
            conditions.append(func.lower(PromotionCodeRow.code) == params.code.lower())
        if params.coupon is not None:
            conditions.append(PromotionCodeRow.coupon_id == params.coupon)
        if params.customer is not None:
            conditions.append(PromotionCodeRow.customer_id == params.customer)
        return await scoped_page(
            session,
            PromotionCodeRow,
            caller.merchant,
            caller.livemode,
            params,
            *conditions,
            object_name="promotion code",
        )

    async def resolve(
        self,
        session: AsyncSession,
        caller: Caller,
        code_or_id: str,
        *,
        purchase: Purchase,
        at: datetime | None = None,
        param: str = "promotion_code",
    ) -> ResolvedPromotion:
        """The promotion code a customer typed (its text, any case) or named (``promo_…``),
        and its coupon's terms, if ``purchase`` may redeem it at ``at`` (now by default; a
        test clock's time for its customers). Otherwise a 400 naming ``param``: no such
        active code, the code inactive, expired, fully redeemed, another customer's, its
        restrictions unmet (``promotion_code_invalid``), or its coupon no longer valid
        (``coupon_expired``, ``coupon_not_applicable``). Counting the redemption is
        ``coupon_service.redeem`` with the code's id."""
        when = at or utcnow()
        row = await self._find(session, caller, code_or_id, param=param)
        check_code_redeemable(row, purchase, when, param=param)
        terms = await coupon_service.redeemable(
            session, caller, row.coupon_id, currency=purchase.currency, at=when, param=param
        )
        return ResolvedPromotion(row, terms)

    async def _find(
        self, session: AsyncSession, caller: Caller, code_or_id: str, *, param: str
    ) -> PromotionCodeRow:
        if is_valid_id(code_or_id, "promo"):
            return await self.get(session, caller, code_or_id, param=param)
        # A code has no "_": it is never mistaken for an id.
        found: PromotionCodeRow | None = (
            await session.execute(
                select(PromotionCodeRow).where(
                    *merchant_owner(PromotionCodeRow, caller.merchant, caller.livemode),
                    PromotionCodeRow.active.is_(True),
                    func.lower(PromotionCodeRow.code) == code_or_id.lower(),
                )
            )
        ).scalar_one_or_none()
        if found is None:
            raise PromotionCodeInvalidError(
                f"No active promotion code is '{code_or_id[:100]}'.", param=param
            )
        return found


promotion_code_service = PromotionCodeService()
