"""Coupon use cases and redemptions, always within the caller's (merchant, mode). Never commits.

A coupon takes a percentage (stored in basis points) or an amount (in a currency, with more
currencies in ``currency_options``) off, ``once``, for ``duration_in_months`` (``repeating``)
or ``forever``; its id is the merchant's choice or 8 random characters, as Stripe's. Only its
``name``, ``metadata`` and ``currency_options`` change after creation. A deleted coupon reads as
missing (a 404, as Stripe's), but its row stays, so discounts already given keep its terms; its
active promotion codes are deactivated with it (each with its ``promotion_code.updated``).

Later parts of billing call :meth:`CouponService.redeemable` (may this coupon be used now, in
this currency?) and :meth:`CouponService.redeem` (count one redemption, once per id the caller
chose). A redemption is counted by one conditional ``UPDATE … WHERE times_redeemed <
max_redemptions``: two redemptions of a coupon's last use lock its row one after the other, and
the second, re-checking the condition on the row the first committed, counts nothing and is
refused (``coupon_expired``). A ``CHECK`` constraint holds the same line in the table.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.catalog.domain import (
    CouponProblem,
    CouponTerms,
    Duration,
    PromotionCodeProblem,
    Purchase,
    Redeemable,
    Restrictions,
    applies_in,
    coupon_problem,
    percent_off_basis_points,
    promotion_code_problem,
)
from beyondpay.billing.catalog.errors import (
    CouponExpiredError,
    CouponNotApplicableError,
    PromotionCodeInvalidError,
    RedemptionIdReusedError,
    ResourceAlreadyExistsError,
)
from beyondpay.billing.catalog.events import CouponEvent, PromotionCodeEvent, record
from beyondpay.billing.catalog.listing import keyed_page
from beyondpay.billing.catalog.models import CouponRow, PromotionCodeRow, RedemptionRow
from beyondpay.billing.catalog.products import product_service
from beyondpay.billing.catalog.records import Lock, locked
from beyondpay.billing.catalog.schemas import (
    CouponCreateParams,
    CouponCurrencyOptionParams,
    CouponListParams,
    CouponUpdateParams,
    coupon_object,
    promotion_code_object,
    unix_to_datetime,
)
from beyondpay.db.pagination import created_conditions, merchant_owner
from beyondpay.events.service import previous_attributes
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import InvalidRequestError, ParameterMissingError, ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.kit.params import merge_metadata
from beyondpay.merchants.domain import Caller

GENERATED_ID_CHARS: Final = 8  # as Stripe's coupon ids
GENERATED_ID_ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
COUPON_PROBLEMS: Final = {
    CouponProblem.deleted: "The coupon {id} has been deleted.",
    CouponProblem.past_redeem_by: "The coupon {id} has expired: its redeem_by has passed.",
    CouponProblem.fully_redeemed: "The coupon {id} has been redeemed its max_redemptions times.",
}


def random_text(length: int) -> str:
    return "".join(secrets.choice(GENERATED_ID_ALPHABET) for _ in range(length))


def coupon_terms(row: CouponRow) -> CouponTerms:
    """What the coupon takes off, for the discount arithmetic (``domain.discount_amount``)."""
    products = row.applies_to_products
    return CouponTerms(
        coupon_id=row.id,
        duration=Duration(row.duration),
        duration_in_months=row.duration_in_months,
        percent_off_basis_points=row.percent_off_basis_points,
        amount_off=row.amount_off,
        currency=row.currency,
        currency_options=dict(row.currency_options),
        applies_to_products=None if products is None else frozenset(products),
    )


def problem_of(row: CouponRow, at: datetime) -> CouponProblem | None:
    state = Redeemable(row.times_redeemed, row.max_redemptions, row.redeem_by)
    return coupon_problem(state, deleted=row.deleted_at is not None, at=at)


def rendered(row: CouponRow) -> dict[str, Any]:
    """The coupon, ``valid`` as of now."""
    return coupon_object(row, valid=problem_of(row, utcnow()) is None)


def _options(
    amount_off: int | None,
    currency: str | None,
    options: dict[str, CouponCurrencyOptionParams] | None,
) -> dict[str, int]:
    if not options:
        return {}
    if amount_off is None:
        raise InvalidRequestError(
            "currency_options give amount_off in more currencies: a percent_off coupon takes"
            " the same percentage in every currency.",
            param="currency_options",
        )
    if currency in options:
        raise InvalidRequestError(
            f"currency_options name other currencies than the coupon's own ({currency}).",
            param="currency_options",
        )
    return {key: option.amount_off for key, option in options.items()}


def _check_terms(params: CouponCreateParams, now: datetime) -> None:
    if params.percent_off is None and params.amount_off is None:
        raise ParameterMissingError(
            "You must specify either percent_off or amount_off.", param="percent_off"
        )
    if params.percent_off is not None and params.amount_off is not None:
        raise InvalidRequestError(
            "You may only specify one of these parameters: amount_off, percent_off.",
            param="amount_off",
        )
    if params.amount_off is not None and params.currency is None:
        raise ParameterMissingError.for_param("currency")
    if params.amount_off is None and params.currency is not None:
        raise InvalidRequestError(
            "currency is the currency of amount_off: send it only with amount_off.",
            param="currency",
        )
    if params.duration is Duration.repeating and params.duration_in_months is None:
        raise ParameterMissingError.for_param("duration_in_months")
    if params.duration is not Duration.repeating and params.duration_in_months is not None:
        raise InvalidRequestError(
            "duration_in_months is for duration=repeating only.", param="duration_in_months"
        )
    redeem_by = unix_to_datetime(params.redeem_by)
    if redeem_by is not None and redeem_by <= now:
        raise InvalidRequestError("redeem_by must be in the future.", param="redeem_by")


class CouponService:
    async def create(
        self, session: AsyncSession, caller: Caller, params: CouponCreateParams
    ) -> CouponRow:
        now = utcnow()
        _check_terms(params, now)
        applies_to = None
        if params.applies_to is not None:
            applies_to = await self._products(session, caller, params.applies_to.products)
        values: dict[str, Any] = {
            "merchant_id": caller.merchant,
            "livemode": caller.livemode,
            "id": params.id or random_text(GENERATED_ID_CHARS),
            "list_key": new_id("coupon"),
            "name": params.name or None,
            "percent_off_basis_points": (
                None if params.percent_off is None else percent_off_basis_points(params.percent_off)
            ),
            "amount_off": params.amount_off,
            "currency": params.currency,
            "currency_options": _options(
                params.amount_off, params.currency, params.currency_options
            ),
            "duration": params.duration,
            "duration_in_months": params.duration_in_months,
            "max_redemptions": params.max_redemptions,
            "redeem_by": unix_to_datetime(params.redeem_by),
            "times_redeemed": 0,
            "applies_to_products": applies_to,
            "metadata_": merge_metadata(
                {}, params.metadata if isinstance(params.metadata, dict) else None
            ),
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
        }
        statement = (
            insert(CouponRow)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["merchant_id", "livemode", "id"])
            .returning(CouponRow)
        )
        row: CouponRow | None = (await session.scalars(statement)).one_or_none()
        if row is None:
            # A deleted coupon keeps its id: discounts given with it still name it.
            raise ResourceAlreadyExistsError(
                f"A coupon with the id '{values['id']}' already exists (or existed).", param="id"
            )
        await record(session, row, CouponEvent.created, rendered(row))
        return row

    async def _products(
        self, session: AsyncSession, caller: Caller, product_ids: Sequence[str]
    ) -> list[str]:
        """``applies_to[products]``: each a product of the caller's (400 naming the one that
        is not)."""
        found = await product_service.get_many(session, caller, product_ids)
        for index, product_id in enumerate(product_ids):
            if product_id not in found:
                raise ResourceMissingError(
                    f"No such product: '{product_id[:100]}'",
                    param=f"applies_to[products][{index}]",
                )
        return list(dict.fromkeys(product_ids))

    async def get(
        self,
        session: AsyncSession,
        caller: Caller,
        coupon_id: str,
        *,
        param: str | None = "id",
        include_deleted: bool = False,
        lock: Lock | None = None,
    ) -> CouponRow:
        """The caller's coupon; 404 naming ``param`` (a deleted one too, unless
        ``include_deleted``: what a discount already given reads)."""
        statement = select(CouponRow).where(
            *merchant_owner(CouponRow, caller.merchant, caller.livemode), CouponRow.id == coupon_id
        )
        if not include_deleted:
            statement = statement.where(CouponRow.deleted_at.is_(None))
        row: CouponRow | None = (
            await session.execute(locked(statement, lock))
        ).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object("coupon", coupon_id, param=param)
        return row

    async def update(
        self, session: AsyncSession, caller: Caller, coupon_id: str, params: CouponUpdateParams
    ) -> CouponRow:
        row = await self.get(session, caller, coupon_id, lock="no key update")
        before = rendered(row)
        sent = params.model_fields_set
        if "name" in sent:
            row.name = params.name or None
        if "metadata" in sent:
            metadata = params.metadata if isinstance(params.metadata, dict) else {}
            row.metadata_ = merge_metadata(row.metadata_, metadata)
        if "currency_options" in sent and params.currency_options:
            added = _options(row.amount_off, row.currency, params.currency_options)
            row.currency_options = {**row.currency_options, **added}
        after = rendered(row)
        previous = previous_attributes(before, after)
        if not previous:
            return row
        row.updated_at = utcnow()
        await session.flush()
        await record(session, row, CouponEvent.updated, after, previous_attributes=previous)
        return row

    async def delete(self, session: AsyncSession, caller: Caller, coupon_id: str) -> CouponRow:
        """The coupon reads as missing from now on; its active promotion codes are
        deactivated. Its row stays for the discounts already given."""
        row = await self.get(session, caller, coupon_id, lock="no key update")
        await record(session, row, CouponEvent.deleted, rendered(row))
        now = utcnow()
        row.deleted_at = now
        row.updated_at = now
        await session.flush()
        # Coupon, then its codes: the order every use case that locks both keeps.
        codes = await session.scalars(
            update(PromotionCodeRow)
            .where(
                *merchant_owner(PromotionCodeRow, caller.merchant, caller.livemode),
                PromotionCodeRow.coupon_id == row.id,
                PromotionCodeRow.active.is_(True),
            )
            .values(active=False, updated_at=now)
            .returning(PromotionCodeRow)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
        for code in codes.all():
            await record(
                session,
                code,
                PromotionCodeEvent.updated,
                promotion_code_object(code),
                previous_attributes={"active": True},
            )
        return row

    async def list(
        self, session: AsyncSession, caller: Caller, params: CouponListParams
    ) -> tuple[Sequence[CouponRow], bool]:
        conditions: list[Any] = [CouponRow.deleted_at.is_(None)]
        conditions += created_conditions(CouponRow.created_at, params.created)
        return await keyed_page(
            session, CouponRow, caller, params, *conditions, object_name="coupon"
        )

    async def redeemable(
        self,
        session: AsyncSession,
        caller: Caller,
        coupon_id: str,
        *,
        currency: str | None,
        at: datetime | None = None,
        param: str = "coupon",
    ) -> CouponTerms:
        """The coupon's terms if it may be redeemed at ``at`` (now by default; a test clock's
        time for its customers) in ``currency``; otherwise a 400 naming ``param``: deleted,
        past ``redeem_by`` or fully redeemed (``coupon_expired``), or an amount off in another
        currency (``coupon_not_applicable``). Counting the redemption is :meth:`redeem`."""
        row = await self.get(session, caller, coupon_id, param=param, include_deleted=True)
        check_redeemable(row, at or utcnow(), param=param)
        terms = coupon_terms(row)
        if currency is not None and not applies_in(terms, currency):
            raise CouponNotApplicableError(
                f"The coupon {row.id} takes {row.currency} off, and nothing in {currency}.",
                param=param,
            )
        return terms

    async def redeem(
        self,
        session: AsyncSession,
        caller: Caller,
        redemption_id: str,
        *,
        coupon_id: str,
        promotion_code_id: str | None = None,
        customer_id: str | None = None,
        at: datetime | None = None,
        param: str = "coupon",
    ) -> RedemptionRow:
        """Counts one redemption of the coupon (and of ``promotion_code_id``, the code it was
        redeemed through), recorded under ``redemption_id``, the caller's idempotency key
        (``<subscription>:discount``): the same id again counts nothing and returns the
        redemption recorded first. A coupon (or code) past its limits is refused with a 400
        naming ``param``, and the caller's transaction must roll back with it."""
        when = at or utcnow()
        # Both exist before the redemption names them (neither is ever removed: a deleted
        # coupon keeps its row), so the insert below cannot break a foreign key.
        await self.get(session, caller, coupon_id, param=param, include_deleted=True)
        if promotion_code_id is not None:
            await _code_of(session, caller, promotion_code_id, coupon_id, param=param)
        inserted = (
            await session.execute(
                insert(RedemptionRow)
                .values(
                    merchant_id=caller.merchant,
                    livemode=caller.livemode,
                    id=redemption_id,
                    coupon_id=coupon_id,
                    promotion_code_id=promotion_code_id,
                    customer_id=customer_id,
                    created_at=when,
                )
                .on_conflict_do_nothing(index_elements=["merchant_id", "livemode", "id"])
                .returning(RedemptionRow.id)
            )
        ).scalar_one_or_none()
        if inserted is None:
            return await self._recorded(
                session, caller, redemption_id, coupon_id, promotion_code_id
            )
        await self._count_coupon(session, caller, coupon_id, when, param=param)
        if promotion_code_id is not None:
            await _count_promotion_code(
                session, caller, promotion_code_id, coupon_id, when, param=param
            )
        found: RedemptionRow = (
            await session.execute(
                select(RedemptionRow).where(
                    *merchant_owner(RedemptionRow, caller.merchant, caller.livemode),
                    RedemptionRow.id == redemption_id,
                )
            )
        ).scalar_one()
        return found

    async def _recorded(
        self,
        session: AsyncSession,
        caller: Caller,
        redemption_id: str,
        coupon_id: str,
        promotion_code_id: str | None,
    ) -> RedemptionRow:
        found: RedemptionRow = (
            await session.execute(
                select(RedemptionRow).where(
                    *merchant_owner(RedemptionRow, caller.merchant, caller.livemode),
                    RedemptionRow.id == redemption_id,
                )
            )
        ).scalar_one()
        if (found.coupon_id, found.promotion_code_id) != (coupon_id, promotion_code_id):
            raise RedemptionIdReusedError(
                f"The redemption {redemption_id[:100]} was recorded for another coupon or"
                " promotion code.",
            )
        return found

    async def _count_coupon(
        self, session: AsyncSession, caller: Caller, coupon_id: str, at: datetime, *, param: str
    ) -> None:
        counted = (
            await session.execute(
                update(CouponRow)
                .where(
                    *merchant_owner(CouponRow, caller.merchant, caller.livemode),
                    CouponRow.id == coupon_id,
                    CouponRow.deleted_at.is_(None),
                    or_(CouponRow.redeem_by.is_(None), CouponRow.redeem_by > at),
                    or_(
                        CouponRow.max_redemptions.is_(None),
                        CouponRow.times_redeemed < CouponRow.max_redemptions,
                    ),
                )
                .values(times_redeemed=CouponRow.times_redeemed + 1)
                .returning(CouponRow.times_redeemed)
                .execution_options(synchronize_session=False)
            )
        ).scalar_one_or_none()
        if counted is not None:
            return
        # Not counted: say why (or that there is no such coupon).
        row = await self.get(session, caller, coupon_id, param=param, include_deleted=True)
        check_redeemable(row, at, param=param)
        invariant(False, "a coupon not counted has a reason not to be")


def check_redeemable(row: CouponRow, at: datetime, *, param: str) -> None:
    problem = problem_of(row, at)
    if problem is not None:
        raise CouponExpiredError(COUPON_PROBLEMS[problem].format(id=row.id), param=param)


async def _count_promotion_code(
    session: AsyncSession,
    caller: Caller,
    promotion_code_id: str,
    coupon_id: str,
    at: datetime,
    *,
    param: str,
) -> None:
    """One more redemption of the code, if it is active, unexpired and below its limit (its
    other restrictions were checked by ``promotion_code_service.resolve``)."""
    counted = (
        await session.execute(
            update(PromotionCodeRow)
            .where(
                *merchant_owner(PromotionCodeRow, caller.merchant, caller.livemode),
                PromotionCodeRow.id == promotion_code_id,
                PromotionCodeRow.coupon_id == coupon_id,
                PromotionCodeRow.active.is_(True),
                or_(PromotionCodeRow.expires_at.is_(None), PromotionCodeRow.expires_at > at),
                or_(
                    PromotionCodeRow.max_redemptions.is_(None),
                    PromotionCodeRow.times_redeemed < PromotionCodeRow.max_redemptions,
                ),
            )
            .values(times_redeemed=PromotionCodeRow.times_redeemed + 1)
            .returning(PromotionCodeRow.id)
            .execution_options(synchronize_session=False)
        )
    ).scalar_one_or_none()
    if counted is not None:
        return
    # Not counted: say why.
    row = await _code_of(session, caller, promotion_code_id, coupon_id, param=param)
    check_code_redeemable(row, None, at, param=param)
    invariant(False, "a promotion code not counted has a reason not to be")


async def _code_of(
    session: AsyncSession, caller: Caller, promotion_code_id: str, coupon_id: str, *, param: str
) -> PromotionCodeRow:
    """The caller's promotion code of ``coupon_id``; 404 naming ``param``."""
    row: PromotionCodeRow | None = (
        await session.execute(
            select(PromotionCodeRow).where(
                *merchant_owner(PromotionCodeRow, caller.merchant, caller.livemode),
                PromotionCodeRow.id == promotion_code_id,
            )
        )
    ).scalar_one_or_none()
    if row is None or row.coupon_id != coupon_id:
        raise ResourceMissingError.for_object("promotion code", promotion_code_id, param=param)
    return row


PROMOTION_CODE_PROBLEMS: Final = {
    PromotionCodeProblem.inactive: "The promotion code {code} is not active.",
    PromotionCodeProblem.expired: "The promotion code {code} has expired.",
    PromotionCodeProblem.fully_redeemed: (
        "The promotion code {code} has been redeemed its max_redemptions times."
    ),
    PromotionCodeProblem.other_customer: "The promotion code {code} is for another customer.",
    PromotionCodeProblem.not_first_transaction: (
        "The promotion code {code} is for a customer's first transaction only."
    ),
    PromotionCodeProblem.below_minimum_amount: (
        "The promotion code {code} needs a purchase of at least its minimum amount."
    ),
}


def check_code_redeemable(
    row: PromotionCodeRow, purchase: Purchase | None, at: datetime, *, param: str
) -> None:
    """Refuses (400 naming ``param``) a promotion code that ``purchase`` cannot redeem at
    ``at``; without a purchase, only the code's own state is checked (active, unexpired,
    below its limit)."""
    restrictions = Restrictions(
        first_time_transaction=row.first_time_transaction,
        minimum_amount=row.minimum_amount,
        minimum_amount_currency=row.minimum_amount_currency,
        currency_options=dict(row.minimum_amounts),
    )
    problem = promotion_code_problem(
        Redeemable(row.times_redeemed, row.max_redemptions, row.expires_at),
        active=row.active,
        customer_id=None if purchase is None else row.customer_id,
        restrictions=restrictions if purchase is not None else Restrictions(),
        purchase=purchase or Purchase(None, None, None, first_transaction=True),
        at=at,
    )
    if problem is not None:
        raise PromotionCodeInvalidError(
            PROMOTION_CODE_PROBLEMS[problem].format(code=row.code), param=param
        )


coupon_service = CouponService()
