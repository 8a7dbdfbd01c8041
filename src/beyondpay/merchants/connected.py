"""Connect's connected accounts: merchants a platform created and may act as. Never commits.

A connected account is a merchant row with the ``platform_id`` of the platform that created it
and the mode it was created in: a test key makes a test-mode account, seen only by test keys.
Its KYC is a merchant's KYC (``merchants.kyc``): once approved, the account is active and
``charges_enabled``/``payouts_enabled`` are true; what is missing is its ``requirements``.

A platform's key acts as one of its connected accounts with ``Stripe-Account: acct_…``
(:meth:`ConnectedAccountService.acting_as`): the caller becomes the connected account, with the
platform kept in ``Caller.platform_id``. Any other account id is refused as Stripe refuses it
(403), without saying whether the account exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.pagination import ListParams, created_conditions, owned_page
from beyondpay.events.service import event_service, previous_attributes
from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import InvalidRequestError, PermissionDeniedError, ResourceMissingError
from beyondpay.kit.params import merge_metadata
from beyondpay.merchants.domain import Caller, KeyKind, MerchantStatus
from beyondpay.merchants.events import AccountEvent
from beyondpay.merchants.kyc import KINDS_REQUIRED
from beyondpay.merchants.models import MerchantRow
from beyondpay.merchants.service import AccountView, merchant_service

ACCOUNT_TYPES: Final = ("custom", "express", "standard")
COUNTRY: Final = "IN"
DEFAULT_CURRENCY: Final = "inr"
CAPABILITIES: Final = ("card_payments", "transfers")
UNNAMED_ACCOUNT: Final = "Connected account"
DELETED_REASON: Final = "deleted"
# Keys that act as another account: a platform-admin key belongs to no merchant, and a payer's
# session is no merchant's at all.
_ACTING_KINDS: Final = frozenset({KeyKind.secret, KeyKind.restricted, KeyKind.publishable})


class AccountInvalidError(PermissionDeniedError):
    """Stripe's answer to a ``Stripe-Account`` the key may not act as (403)."""

    code = "account_invalid"


class AccountDeleteLiveError(InvalidRequestError):
    code = "account_delete_live_unsupported"


@dataclass(frozen=True, slots=True)
class AccountFields:
    """What a create or update sets; None (or an absent key) leaves a field as it is."""

    account_type: str | None = None
    country: str | None = None
    email: str | None = None
    business_type: str | None = None
    business_profile: dict[str, Any] | None = None
    capabilities_requested: dict[str, bool] = field(default_factory=dict)
    metadata: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class ConnectedAccount:
    row: MerchantRow
    kyc: AccountView


def _name(fields: AccountFields, current: str | None = None) -> str:
    profile_name = (fields.business_profile or {}).get("name")
    return str(profile_name or current or fields.email or UNNAMED_ACCOUNT)


def _capability_status(kyc: AccountView) -> str:
    if kyc.status is MerchantStatus.active:
        return "active"
    return "pending" if kyc.kyc_pending else "inactive"


def _requirements(kyc: AccountView) -> dict[str, Any]:
    due = sorted(kind.value for kind in KINDS_REQUIRED - kyc.kyc_approved - kyc.kyc_pending)
    pending = sorted(kind.value for kind in kyc.kyc_pending)
    disabled_reason: str | None = None
    if kyc.status is MerchantStatus.suspended:
        disabled_reason = "rejected.other"
    elif kyc.status is not MerchantStatus.active:
        disabled_reason = "requirements.past_due" if due else "requirements.pending_verification"
    return {
        "currently_due": due,
        "eventually_due": due,
        "past_due": due if kyc.status is not MerchantStatus.active else [],
        "pending_verification": pending,
        "disabled_reason": disabled_reason,
        "current_deadline": None,
        "errors": [],
    }


def account_object(
    account: ConnectedAccount, payout_schedule: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Stripe's ``account``. ``payout_schedule`` is ``settings.payouts.schedule`` as the payouts
    part keeps it (settlement's schedule); None renders none (a merchant without one)."""
    row, kyc = account.row, account.kyc
    active = kyc.status is MerchantStatus.active
    capability = _capability_status(kyc)
    return {
        "id": row.id,
        "object": "account",
        "type": row.account_type or "standard",
        "business_profile": {"name": row.name, **(row.business_profile or {})},
        "business_type": row.business_type,
        "capabilities": {name: capability for name in sorted(row.capabilities or {})},
        "charges_enabled": active,
        "payouts_enabled": active,
        "details_submitted": not (KINDS_REQUIRED - kyc.kyc_approved - kyc.kyc_pending),
        "country": row.country or COUNTRY,
        "default_currency": DEFAULT_CURRENCY,
        "email": row.email,
        "created": int(row.created_at.timestamp()),
        "metadata": dict(row.metadata_ or {}),
        "requirements": _requirements(kyc),
        "settings": {"payouts": {"schedule": payout_schedule}},
    }


def deleted_account_object(account_id: str) -> dict[str, Any]:
    return {"id": account_id, "object": "account", "deleted": True}


def _check_fields(fields: AccountFields) -> None:
    if fields.account_type is not None and fields.account_type not in ACCOUNT_TYPES:
        raise InvalidRequestError(
            f"Invalid type: must be one of {', '.join(ACCOUNT_TYPES)}.", param="type"
        )
    if fields.country is not None and fields.country.upper() != COUNTRY:
        # The rails, KYC and payouts are India's: an account elsewhere could never be paid.
        raise InvalidRequestError(
            "Connected accounts can be created in India (country IN) only.", param="country"
        )
    for name in fields.capabilities_requested:
        if name not in CAPABILITIES:
            raise InvalidRequestError(
                f"Unknown capability: {name}. Supported: {', '.join(CAPABILITIES)}.",
                param=f"capabilities[{name}]",
            )


def _apply(row: MerchantRow, fields: AccountFields) -> None:
    if fields.email is not None:
        row.email = fields.email
    if fields.business_type is not None:
        row.business_type = fields.business_type
    if fields.business_profile is not None:
        profile = {**(row.business_profile or {}), **fields.business_profile}
        row.name = _name(fields, row.name)
        profile.pop("name", None)  # the merchant's name is the profile's name
        row.business_profile = profile
    if fields.capabilities_requested:
        capabilities = dict(row.capabilities or {})
        for name, requested in fields.capabilities_requested.items():
            if requested:
                capabilities[name] = {"requested": True}
            else:
                capabilities.pop(name, None)
        row.capabilities = capabilities
    row.metadata_ = merge_metadata(dict(row.metadata_ or {}), fields.metadata)


class ConnectedAccountService:
    async def create(
        self, session: AsyncSession, ring: KeyRing, caller: Caller, fields: AccountFields
    ) -> ConnectedAccount:
        """A connected account of the caller (the platform), pending KYC, in the caller's
        mode. It has keys of its own, as any merchant (Standard accounts use them)."""
        _check_fields(fields)
        if caller.platform_id is not None:
            # Stripe has no platforms of platforms: a connected account creates none.
            raise PermissionDeniedError(
                "A platform cannot create accounts while acting as a connected account."
            )
        created = await merchant_service.create(session, ring, name=_name(fields))
        row = await session.get(MerchantRow, created.id, with_for_update=True)
        assert row is not None
        row.platform_id = caller.merchant
        row.livemode = caller.livemode
        row.account_type = fields.account_type or "custom"
        row.country = COUNTRY
        _apply(row, replace(fields, business_profile=None))
        if fields.business_profile:
            row.business_profile = {
                key: value for key, value in fields.business_profile.items() if key != "name"
            }
        await session.flush()
        return await self._view(session, row)

    async def _view(self, session: AsyncSession, row: MerchantRow) -> ConnectedAccount:
        return ConnectedAccount(row, (await merchant_service.accounts(session, [row]))[0])

    async def _owned(
        self, session: AsyncSession, caller: Caller, account_id: str, *, lock: bool = False
    ) -> MerchantRow:
        """A connected account of the caller (a platform), in its mode; 404 otherwise."""
        statement = select(MerchantRow).where(
            MerchantRow.id == account_id,
            MerchantRow.platform_id == caller.merchant,
            MerchantRow.livemode == caller.livemode,
            MerchantRow.deleted_at.is_(None),
        )
        if lock:
            statement = statement.with_for_update()
        row: MerchantRow | None = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object("account", account_id, param="account")
        return row

    async def get(self, session: AsyncSession, caller: Caller, account_id: str) -> ConnectedAccount:
        """A connected account of the caller, or the caller's own account."""
        if account_id == caller.merchant:
            row = await session.get(MerchantRow, account_id, populate_existing=True)
            if row is not None and row.deleted_at is None:
                return await self._view(session, row)
            raise ResourceMissingError.for_object("account", account_id, param="account")
        return await self._view(session, await self._owned(session, caller, account_id))

    async def destination(
        self, session: AsyncSession, caller: Caller, account_id: str, *, param: str
    ) -> MerchantRow:
        """A connected account money may be sent to (``param`` named when it is not one)."""
        try:
            return await self._owned(session, caller, account_id)
        except ResourceMissingError:
            raise ResourceMissingError.for_object("account", account_id, param=param) from None

    async def update(
        self, session: AsyncSession, caller: Caller, account_id: str, fields: AccountFields
    ) -> ConnectedAccount:
        """Sets ``fields``; records ``account.updated`` on the platform's stream when
        something changed (a connected account updating itself records it on its own)."""
        _check_fields(fields)
        if fields.account_type is not None or fields.country is not None:
            param = "type" if fields.account_type is not None else "country"
            raise InvalidRequestError(f"{param} cannot be changed once set.", param=param)
        if account_id == caller.merchant:
            row = await session.get(MerchantRow, account_id, with_for_update=True)
            if row is None or row.deleted_at is not None:
                raise ResourceMissingError.for_object("account", account_id, param="account")
        else:
            row = await self._owned(session, caller, account_id, lock=True)
        before = account_object(await self._view(session, row))
        _apply(row, fields)
        row.updated_at = utcnow()
        await session.flush()
        account = await self._view(session, row)
        after = account_object(account)
        changed = previous_attributes(before, after)
        if changed:
            await event_service.record(
                session,
                merchant_id=row.platform_id or row.id,
                livemode=caller.livemode,
                type=AccountEvent.updated,
                object=after,
                previous_attributes=changed,
            )
        return account

    async def list(
        self, session: AsyncSession, caller: Caller, params: ListParams
    ) -> tuple[list[ConnectedAccount], bool]:
        """A page of the caller's connected accounts in its mode, newest first."""
        rows: Sequence[MerchantRow]
        rows, has_more = await owned_page(
            session,
            MerchantRow,
            params,
            owner=(
                MerchantRow.platform_id == caller.merchant,
                MerchantRow.livemode == caller.livemode,
                MerchantRow.deleted_at.is_(None),
            ),
            filters=created_conditions(MerchantRow.created_at, params.created),
            object_name="account",
        )
        views = await merchant_service.accounts(session, rows)
        return [ConnectedAccount(row, view) for row, view in zip(rows, views, strict=True)], (
            has_more
        )

    async def delete(self, session: AsyncSession, caller: Caller, account_id: str) -> str:
        """Deletes a test-mode connected account: it is suspended (its keys and the platform's
        ``Stripe-Account`` stop working) and gone from lists and retrievals. Its rows stay,
        for the ledger and the audit trail."""
        row = await self._owned(session, caller, account_id, lock=True)
        if row.livemode:
            raise AccountDeleteLiveError(
                "Live-mode connected accounts cannot be deleted here; reject or suspend them"
                " instead.",
                param="account",
            )
        row.deleted_at = utcnow()
        row.status = MerchantStatus.suspended.value
        row.status_reason = DELETED_REASON
        row.updated_at = row.deleted_at
        await session.flush()
        return row.id

    async def acting_as(self, session: AsyncSession, caller: Caller, account_id: str) -> Caller:
        """The caller a ``Stripe-Account: account_id`` header makes of ``caller``: the
        connected account, the platform kept in ``platform_id``. The caller's own id is
        itself. Anything else is Stripe's 403, alike for an unknown account and another's."""
        if account_id == caller.merchant_id:
            return caller
        found = None
        if caller.kind in _ACTING_KINDS and caller.merchant_id is not None:
            statement = select(MerchantRow.status).where(
                MerchantRow.id == account_id,
                MerchantRow.platform_id == caller.merchant_id,
                MerchantRow.livemode == caller.livemode,
                MerchantRow.deleted_at.is_(None),
            )
            found = (await session.execute(statement)).scalar_one_or_none()
        if found is None:
            shown = account_id[:64]
            raise AccountInvalidError(
                f"The provided key does not have access to account '{shown}' (or that account"
                " does not exist). Application access may have been revoked."
            )
        return replace(
            caller,
            merchant_id=account_id,
            merchant_status=MerchantStatus(found),
            platform_id=caller.merchant_id,
        )

    async def for_account(self, session: AsyncSession, caller: Caller, account_id: str) -> Caller:
        """The caller acting on ``account_id`` named in a path (``/v1/accounts/{account}/…``):
        itself, or the platform acting as one of its connected accounts; 404 naming
        ``account`` otherwise, as for an unknown id."""
        if account_id == caller.merchant:
            return caller
        row = await self._owned(session, caller, account_id)
        return replace(
            caller,
            merchant_id=row.id,
            merchant_status=MerchantStatus(row.status),
            platform_id=caller.merchant,
        )

    async def lock_balance(self, session: AsyncSession, merchant_id: str, livemode: bool) -> None:
        """Serialises the use cases that check a merchant's available balance before moving it
        (Connect's transfers), until the transaction ends. An advisory lock, not the merchant
        row: KYC reviews and key changes that update the row must not wait for a payment."""
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"),
            {"name": f"connect.balance:{merchant_id}:{livemode}"},
        )


connected_account_service = ConnectedAccountService()
