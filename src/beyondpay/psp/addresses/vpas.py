"""A payer's VPAs (``username@handle``, paid into one of the payer's linked bank accounts), and
finding a VPA of this PSP by its text. Never commits.

No VPA is stored in clear (see ``models``): its keyed fingerprint finds it, its sealed copy is
opened for its owner only (:func:`open_vpa`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.pagination import ListParams, owned_page
from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import InvalidRequestError, ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.kit.upi import check_vpa
from beyondpay.psp.addresses.common import ACTIVE, current_handle, lock
from beyondpay.psp.addresses.domain import (
    VPAS_PER_PAYER_MAX,
    check_username,
    folded,
    mask_address,
    split_vpa,
    vpa_fingerprint_input,
)
from beyondpay.psp.addresses.errors import (
    VpaLimitReachedError,
    VpaUnexpectedStateError,
    VpaUsernameTakenError,
)
from beyondpay.psp.addresses.events import AddressEvent, record
from beyondpay.psp.addresses.models import VpaRow
from beyondpay.psp.addresses.schemas import VpaCreateParams, vpa_object
from beyondpay.psp.banking.service import bank_account_service
from beyondpay.psp.identity.service import PSP_LIVEMODE


def vpa_context(vpa_id: str) -> str:
    return f"psp_vpas.vpa:{vpa_id}"


def open_vpa(ring: KeyRing, row: VpaRow) -> SecretStr:
    return SecretStr(ring.open(row.vpa_sealed, context=vpa_context(row.id)).decode())


def sealed_vpa_values(ring: KeyRing, vpa_id: str, vpa: SecretStr) -> dict[str, Any]:
    """A new VPA row's fingerprint, sealed copy and mask."""
    return {
        "vpa_fingerprint": ring.fingerprint(vpa_fingerprint_input(vpa)),
        "vpa_sealed": ring.seal(vpa.get_secret_value().encode(), vpa_context(vpa_id)),
        "vpa_masked": mask_address(vpa),
    }


async def vpa_by_text(session: AsyncSession, ring: KeyRing, vpa: SecretStr) -> VpaRow | None:
    """The VPA row answering to ``vpa`` (under any key of the ring), whatever its state."""
    fingerprints = ring.fingerprints(vpa_fingerprint_input(vpa))
    found = await session.execute(select(VpaRow).where(VpaRow.vpa_fingerprint.in_(fingerprints)))
    row: VpaRow | None = found.scalars().first()
    return row


async def insert_vpa(session: AsyncSession, values: dict[str, Any]) -> VpaRow:
    """Inserts the VPA unless its name was taken meanwhile (the fingerprint is unique)."""
    statement = (
        insert(VpaRow)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[VpaRow.vpa_fingerprint])
        .returning(VpaRow)
    )
    row = (await session.scalars(statement)).first()
    if row is None:
        raise VpaUsernameTakenError()
    return row


class VpaService:
    # ---- lookups other parts use --------------------------------------------------------------

    async def find_active(
        self, session: AsyncSession, ring: KeyRing, vpa: SecretStr
    ) -> VpaRow | None:
        """The active VPA at this PSP's handle answering to ``vpa`` (a payer's or a test-mode
        merchant's), or None — for an unknown, deactivated, malformed or other PSP's VPA."""
        address = folded(vpa)
        try:
            check_vpa(address)
        except InvalidRequestError:
            return None
        if split_vpa(address)[1] != current_handle():
            return None
        row = await vpa_by_text(session, ring, address)
        if row is None or row.status != ACTIVE or row.livemode:
            return None
        return row

    async def primary(self, session: AsyncSession, payer_id: str) -> VpaRow | None:
        found = await session.execute(
            select(VpaRow).where(VpaRow.payer_id == payer_id, VpaRow.is_primary)
        )
        row: VpaRow | None = found.scalars().first()
        return row

    # ---- a payer's VPAs -----------------------------------------------------------------------

    async def create(
        self, session: AsyncSession, ring: KeyRing, payer_id: str, params: VpaCreateParams
    ) -> tuple[VpaRow, SecretStr]:
        handle = current_handle()
        username = check_username(params.username, handle=handle)
        vpa = SecretStr(f"{username}@{handle}")
        account = await bank_account_service.get(session, payer_id, params.bank_account)
        await lock(session, f"psp_vpas:{payer_id}")
        active = await self._active_vpas(session, payer_id)
        if len(active) >= VPAS_PER_PAYER_MAX:
            raise VpaLimitReachedError(
                f"A payer may have at most {VPAS_PER_PAYER_MAX} active VPAs: deactivate one first."
            )
        if await vpa_by_text(session, ring, vpa) is not None:
            raise VpaUsernameTakenError()
        vpa_id = new_id("vpa")
        now = utcnow()
        row = await insert_vpa(
            session,
            {
                "id": vpa_id,
                "owner_kind": "payer",
                "payer_id": payer_id,
                "livemode": PSP_LIVEMODE,
                **sealed_vpa_values(ring, vpa_id, vpa),
                "bank_account_id": account.id,
                "is_primary": not active,  # the first VPA is the primary
                "status": ACTIVE,
                "created_at": now,
                "updated_at": now,
            },
        )
        await record(session, payer_id, AddressEvent.vpa_created, vpa_object(row, None))
        return row, vpa

    async def _active_vpas(self, session: AsyncSession, payer_id: str) -> Sequence[VpaRow]:
        found = await session.execute(
            select(VpaRow)
            .where(VpaRow.payer_id == payer_id, VpaRow.status == ACTIVE)
            .order_by(VpaRow.id)
        )
        return list(found.scalars())

    async def get(
        self,
        session: AsyncSession,
        payer_id: str,
        vpa_id: str,
        *,
        for_update: bool = False,
        param: str = "id",
    ) -> VpaRow:
        """One of the payer's VPAs; 404 otherwise (another payer's looks like none)."""
        statement = select(VpaRow).where(VpaRow.id == vpa_id, VpaRow.payer_id == payer_id)
        if for_update:
            statement = statement.with_for_update()
        row: VpaRow | None = (await session.execute(statement)).scalars().first()
        if row is None:
            raise ResourceMissingError.for_object("psp_vpa", vpa_id, param=param)
        if for_update:
            await session.refresh(row)
        return row

    async def list(
        self, session: AsyncSession, payer_id: str, params: ListParams
    ) -> tuple[Sequence[VpaRow], bool]:
        return await owned_page(
            session, VpaRow, params, owner=[VpaRow.payer_id == payer_id], object_name="psp_vpa"
        )

    async def _set_primary_flag(self, session: AsyncSession, row: VpaRow, is_primary: bool) -> None:
        row.is_primary = is_primary
        row.updated_at = utcnow()
        # One at a time: the unique index on a payer's primary allows no moment with two.
        await session.flush()
        await record(
            session,
            row.payer_id or "",
            AddressEvent.vpa_updated,
            vpa_object(row, None),
            previous_attributes={"is_primary": not is_primary},
        )

    async def make_primary(self, session: AsyncSession, payer_id: str, vpa_id: str) -> VpaRow:
        await lock(session, f"psp_vpas:{payer_id}")
        row = await self.get(session, payer_id, vpa_id, for_update=True)
        if row.status != ACTIVE:
            raise VpaUnexpectedStateError("A deactivated VPA cannot be made primary.")
        if row.is_primary:
            return row
        current = await self.primary(session, payer_id)
        if current is not None:
            await self._set_primary_flag(session, current, False)
        await self._set_primary_flag(session, row, True)
        return row

    async def deactivate(self, session: AsyncSession, payer_id: str, vpa_id: str) -> VpaRow:
        """The VPA stops receiving money and resolving; its name stays reserved for good. If it
        was the primary, the oldest other active VPA becomes the primary."""
        await lock(session, f"psp_vpas:{payer_id}")
        row = await self.get(session, payer_id, vpa_id, for_update=True)
        if row.status != ACTIVE:
            raise VpaUnexpectedStateError("This VPA is already deactivated.")
        was_primary = row.is_primary
        now = utcnow()
        row.status = "inactive"
        row.is_primary = False
        row.deactivated_at = now
        row.updated_at = now
        await session.flush()
        await record(session, payer_id, AddressEvent.vpa_deactivated, vpa_object(row, None))
        if was_primary:
            others = await self._active_vpas(session, payer_id)
            if others:
                await self._set_primary_flag(session, others[0], True)
        return row

    async def relink(
        self, session: AsyncSession, payer_id: str, vpa_id: str, bank_account_id: str
    ) -> VpaRow:
        """Money to the VPA goes to another of the payer's linked bank accounts from now on."""
        account = await bank_account_service.get(session, payer_id, bank_account_id)
        row = await self.get(session, payer_id, vpa_id, for_update=True)
        if row.status != ACTIVE:
            raise VpaUnexpectedStateError("A deactivated VPA cannot be changed.")
        if row.bank_account_id == account.id:
            return row
        previous = row.bank_account_id
        row.bank_account_id = account.id
        row.updated_at = utcnow()
        await session.flush()
        await record(
            session,
            payer_id,
            AddressEvent.vpa_updated,
            vpa_object(row, None),
            previous_attributes={"bank_account": previous},
        )
        return row


vpa_service = VpaService()
