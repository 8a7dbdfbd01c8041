"""Beneficiaries: the payees a payer saved, by VPA, alias or mobile number. Never commits.

A beneficiary keeps what it was saved through (the VPA's id, the alias's id, the payee's payer
for a mobile number), not the text: a rotated alias or a new primary VPA still reaches the
payee, and a revoked alias refuses (see ``payees``, which resolves a saved payee and resolves
what a payer saves).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.pagination import ListParams, owned_page
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import InvalidRequestError, ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.psp.addresses.common import lock
from beyondpay.psp.addresses.domain import Payee
from beyondpay.psp.addresses.events import AddressEvent, record
from beyondpay.psp.addresses.models import BeneficiaryRow
from beyondpay.psp.addresses.schemas import beneficiary_object

BENEFICIARIES_PER_PAYER_MAX: Final = 200


class BeneficiaryService:
    async def create(
        self, session: AsyncSession, payer_id: str, nickname: str, payee: Payee, saved_by: str
    ) -> BeneficiaryRow:
        """Saves ``payee`` (resolved from the address given as ``saved_by``: ``vpa``, ``alias``
        or ``mobile``) under ``nickname``."""
        invariant(payee.vpa_id is not None, "a resolved address names its VPA")
        await lock(session, f"psp_beneficiaries:{payer_id}")
        saved = await session.scalar(
            select(func.count())
            .select_from(BeneficiaryRow)
            .where(BeneficiaryRow.payer_id == payer_id, BeneficiaryRow.deleted_at.is_(None))
        )
        if (saved or 0) >= BENEFICIARIES_PER_PAYER_MAX:
            raise InvalidRequestError(
                f"A payer may save at most {BENEFICIARIES_PER_PAYER_MAX} beneficiaries.",
                param=saved_by,
            )
        row = BeneficiaryRow(
            id=new_id("ben"),
            payer_id=payer_id,
            nickname=nickname.strip() or nickname,
            saved_by="alias" if payee.alias_id is not None else saved_by,
            vpa_id=payee.vpa_id or "",
            alias_id=payee.alias_id,
            payee_payer_id=payee.payer_id if saved_by == "mobile" else None,
            payee_kind=payee.kind,
            masked=payee.masked,
            verified_name=payee.verified_name,
            created_at=utcnow(),
            deleted_at=None,
        )
        session.add(row)
        await session.flush()
        await record(session, payer_id, AddressEvent.beneficiary_created, beneficiary_object(row))
        return row

    async def get(
        self,
        session: AsyncSession,
        payer_id: str,
        beneficiary_id: str,
        *,
        param: str = "beneficiary",
    ) -> BeneficiaryRow:
        found = await session.execute(
            select(BeneficiaryRow).where(
                BeneficiaryRow.id == beneficiary_id,
                BeneficiaryRow.payer_id == payer_id,
                BeneficiaryRow.deleted_at.is_(None),
            )
        )
        row: BeneficiaryRow | None = found.scalars().first()
        if row is None:
            raise ResourceMissingError.for_object("psp_beneficiary", beneficiary_id, param=param)
        return row

    async def delete(
        self, session: AsyncSession, payer_id: str, beneficiary_id: str
    ) -> BeneficiaryRow:
        row = await self.get(session, payer_id, beneficiary_id, param="id")
        await record(session, payer_id, AddressEvent.beneficiary_deleted, beneficiary_object(row))
        row.deleted_at = utcnow()
        await session.flush()
        return row

    async def list(
        self, session: AsyncSession, payer_id: str, params: ListParams
    ) -> tuple[Sequence[BeneficiaryRow], bool]:
        # A deleted beneficiary is gone for the payer, as a cursor too.
        live = [BeneficiaryRow.payer_id == payer_id, BeneficiaryRow.deleted_at.is_(None)]
        return await owned_page(
            session, BeneficiaryRow, params, owner=live, object_name="psp_beneficiary"
        )


beneficiary_service = BeneficiaryService()
