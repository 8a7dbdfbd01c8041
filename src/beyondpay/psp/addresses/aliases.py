"""Private aliases: random addresses standing for one of the payer's VPAs, scoped to a
counterparty or a merchant, one-time or expiring, rotated and revoked by their owner. Never
commits.

An alias's text lives in ``AliasTextRow`` (every text it had, the current one marked), so a
rotated text is told apart from an unknown one (``alias_rotated``).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from pydantic import SecretStr
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.pagination import ListParams, owned_page
from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import InvalidRequestError, ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.kit.upi import check_vpa, mask_mobile
from beyondpay.merchants.service import merchant_service
from beyondpay.psp.addresses.common import ACTIVE, current_handle, lock
from beyondpay.psp.addresses.domain import (
    ALIAS_ALPHABET,
    ALIAS_LOCAL_CHARS,
    ALIAS_TTL_S_MAX,
    ALIASES_PER_PAYER_MAX,
    AliasScope,
    AliasState,
    alias_fingerprint_input,
    alias_handle,
    check_alias_use,
    check_mobile,
    folded,
    looks_like_mobile,
    mask_address,
)
from beyondpay.psp.addresses.errors import (
    AliasLimitReachedError,
    AliasUnexpectedStateError,
    VpaUnexpectedStateError,
    VpaUnknownError,
)
from beyondpay.psp.addresses.events import AddressEvent, record
from beyondpay.psp.addresses.models import AliasRow, AliasTextRow
from beyondpay.psp.addresses.schemas import AliasCreateParams, alias_object
from beyondpay.psp.addresses.vpas import vpa_service
from beyondpay.psp.identity.service import payer_service


def alias_context(alias_id: str) -> str:
    return f"psp_aliases.alias:{alias_id}"


def open_alias(ring: KeyRing, row: AliasRow) -> SecretStr:
    return SecretStr(ring.open(row.alias_sealed, context=alias_context(row.id)).decode())


def alias_scope(row: AliasRow) -> AliasScope:
    return AliasScope(
        counterparty_payer_id=row.counterparty_payer_id,
        merchant_id=row.merchant_id,
        one_time=row.one_time,
        expires_at=row.expires_at,
    )


def alias_state(row: AliasRow) -> AliasState:
    return AliasState(revoked=row.status == "revoked", used=row.uses > 0)


async def alias_by_text(
    session: AsyncSession, ring: KeyRing, alias: SecretStr, *, for_update: bool = False
) -> tuple[AliasTextRow, AliasRow] | None:
    """The text row ``alias`` is (current or rotated) and its alias, under any key of the ring."""
    fingerprints = ring.fingerprints(alias_fingerprint_input(alias))
    statement = (
        select(AliasTextRow, AliasRow)
        .join(AliasRow, AliasRow.id == AliasTextRow.alias_id)
        .where(AliasTextRow.fingerprint.in_(fingerprints))
    )
    if for_update:
        statement = statement.with_for_update(of=AliasRow)
    found = (await session.execute(statement)).first()
    return (found[0], found[1]) if found is not None else None


class AliasService:
    async def _counterparty(
        self, session: AsyncSession, ring: KeyRing, payer_id: str, counterparty: SecretStr
    ) -> tuple[str, str]:
        """The payer a counterparty scope names (by mobile number or VPA), and its mask."""
        param = "counterparty"
        if looks_like_mobile(counterparty.get_secret_value()):
            mobile = check_mobile(counterparty, param=param)
            payer = await payer_service.find_by_mobile(session, ring, mobile)
            if payer is None:
                raise VpaUnknownError("No payer at this PSP has this mobile number.", param=param)
            found_id, masked = payer.id, mask_mobile(mobile)
        else:
            vpa = check_vpa(folded(counterparty), param=param)
            row = await vpa_service.find_active(session, ring, vpa)
            if row is None or row.payer_id is None:
                raise VpaUnknownError("No payer at this PSP has this VPA.", param=param)
            found_id, masked = row.payer_id, row.vpa_masked
        if found_id == payer_id:
            raise InvalidRequestError("The counterparty must be someone else.", param=param)
        return found_id, masked

    async def _checked_scope(
        self, session: AsyncSession, ring: KeyRing, payer_id: str, params: AliasCreateParams
    ) -> tuple[AliasScope, str | None]:
        if params.counterparty is not None and params.merchant is not None:
            raise InvalidRequestError(
                "An alias is for one counterparty or one merchant, not both.", param="merchant"
            )
        counterparty_id = counterparty_masked = None
        if params.counterparty is not None:
            counterparty_id, counterparty_masked = await self._counterparty(
                session, ring, payer_id, params.counterparty
            )
        if (
            params.merchant is not None
            and await merchant_service.get(session, params.merchant) is None
        ):
            raise ResourceMissingError.for_object("merchant", params.merchant, param="merchant")
        expires_at = None
        if params.expires_at is not None:
            now = utcnow()
            expires_at = datetime.fromtimestamp(params.expires_at, tz=now.tzinfo)
            if not now < expires_at <= now + timedelta(seconds=ALIAS_TTL_S_MAX):
                raise InvalidRequestError(
                    f"expires_at must be in the future, at most {ALIAS_TTL_S_MAX // 86400} days"
                    " away.",
                    param="expires_at",
                )
        scope = AliasScope(counterparty_id, params.merchant, params.one_time, expires_at)
        return scope, counterparty_masked

    def _new_alias_text(self) -> SecretStr:
        local = "".join(secrets.choice(ALIAS_ALPHABET) for _ in range(ALIAS_LOCAL_CHARS))
        return SecretStr(f"{local}@{alias_handle(current_handle())}")

    async def _issue_text(
        self, session: AsyncSession, ring: KeyRing, row: AliasRow, now: datetime
    ) -> SecretStr:
        """A fresh random text for the alias: current from now, sealed for its owner."""
        alias = self._new_alias_text()
        row.alias_sealed = ring.seal(alias.get_secret_value().encode(), alias_context(row.id))
        row.alias_masked = mask_address(alias)
        session.add(
            AliasTextRow(
                fingerprint=ring.fingerprint(alias_fingerprint_input(alias)),
                alias_id=row.id,
                status="current",
                created_at=now,
                rotated_at=None,
            )
        )
        return alias

    async def create(
        self, session: AsyncSession, ring: KeyRing, payer_id: str, params: AliasCreateParams
    ) -> tuple[AliasRow, SecretStr]:
        vpa = await vpa_service.get(session, payer_id, params.vpa, param="vpa")
        if vpa.status != ACTIVE:
            raise VpaUnexpectedStateError("A deactivated VPA cannot have aliases.", param="vpa")
        scope, counterparty_masked = await self._checked_scope(session, ring, payer_id, params)
        await lock(session, f"psp_aliases:{payer_id}")
        active = await session.scalar(
            select(func.count())
            .select_from(AliasRow)
            .where(AliasRow.payer_id == payer_id, AliasRow.status == ACTIVE)
        )
        if (active or 0) >= ALIASES_PER_PAYER_MAX:
            raise AliasLimitReachedError(
                f"A payer may have at most {ALIASES_PER_PAYER_MAX} active aliases: revoke one"
                " first."
            )
        now = utcnow()
        row = AliasRow(
            id=new_id("als"),
            payer_id=payer_id,
            vpa_id=vpa.id,
            status=ACTIVE,
            counterparty_payer_id=scope.counterparty_payer_id,
            counterparty_masked=counterparty_masked,
            merchant_id=scope.merchant_id,
            one_time=scope.one_time,
            expires_at=scope.expires_at,
            uses=0,
            used_at=None,
            rotations=0,
            rotated_at=None,
            revoked_at=None,
            created_at=now,
            updated_at=now,
        )
        alias = await self._issue_text(session, ring, row, now)
        session.add(row)
        await session.flush()
        await record(session, payer_id, AddressEvent.alias_created, alias_object(row, None))
        return row, alias

    async def get(
        self, session: AsyncSession, payer_id: str, alias_id: str, *, for_update: bool = False
    ) -> AliasRow:
        statement = select(AliasRow).where(AliasRow.id == alias_id, AliasRow.payer_id == payer_id)
        if for_update:
            statement = statement.with_for_update()
        row: AliasRow | None = (await session.execute(statement)).scalars().first()
        if row is None:
            raise ResourceMissingError.for_object("psp_alias", alias_id)
        if for_update:
            await session.refresh(row)
        return row

    async def list(
        self, session: AsyncSession, payer_id: str, params: ListParams
    ) -> tuple[Sequence[AliasRow], bool]:
        return await owned_page(
            session,
            AliasRow,
            params,
            owner=[AliasRow.payer_id == payer_id],
            object_name="psp_alias",
        )

    async def rotate(
        self, session: AsyncSession, ring: KeyRing, payer_id: str, alias_id: str
    ) -> tuple[AliasRow, SecretStr]:
        """A new text for the same VPA and scope. The old text stops resolving for new use
        (``alias_rotated``); beneficiaries saved through it keep their target."""
        row = await self.get(session, payer_id, alias_id, for_update=True)
        if row.status != ACTIVE:
            raise AliasUnexpectedStateError("A revoked alias cannot be rotated.")
        now = utcnow()
        await session.execute(
            update(AliasTextRow)
            .where(AliasTextRow.alias_id == row.id, AliasTextRow.status == "current")
            .values(status="rotated", rotated_at=now)
        )
        alias = await self._issue_text(session, ring, row, now)
        row.rotations += 1
        row.rotated_at = now
        row.updated_at = now
        await session.flush()
        await record(session, payer_id, AddressEvent.alias_rotated, alias_object(row, None))
        return row, alias

    async def revoke(self, session: AsyncSession, payer_id: str, alias_id: str) -> AliasRow:
        """For good: nothing resolves through the alias any more, saved beneficiaries included
        (they fail with ``alias_revoked``)."""
        row = await self.get(session, payer_id, alias_id, for_update=True)
        if row.status != ACTIVE:
            raise AliasUnexpectedStateError("This alias is already revoked.")
        now = utcnow()
        row.status = "revoked"
        row.revoked_at = now
        row.updated_at = now
        await session.flush()
        await record(session, payer_id, AddressEvent.alias_revoked, alias_object(row, None))
        return row

    async def consume(
        self,
        session: AsyncSession,
        alias_id: str,
        payer_id: str | None,
        *,
        merchant_id: str | None = None,
    ) -> None:
        """Marks the alias used by a payment of ``payer_id`` (or of the merchant
        ``merchant_id``) that succeeded, in the payment's transaction. The row is locked, so of
        two payments through one one-time alias only the first passes: the second gets
        ``alias_used`` (and its transaction rolls back). A revocation committed meanwhile
        refuses too; an expiry passed meanwhile does not: the payment was resolved in time."""
        found = await session.execute(
            select(AliasRow).where(AliasRow.id == alias_id).with_for_update()
        )
        row = found.scalars().first()
        if row is None:
            raise ResourceMissingError.for_object("psp_alias", alias_id, param="alias")
        await session.refresh(row)
        now = utcnow()
        check_alias_use(
            replace(alias_scope(row), expires_at=None),
            alias_state(row),
            now=now,
            payer_id=payer_id,
            merchant_id=merchant_id,
        )
        row.uses += 1
        row.used_at = now
        row.updated_at = now
        await session.flush()
        await record(session, row.payer_id, AddressEvent.alias_used, alias_object(row, None))


alias_service = AliasService()
