"""Merchants' VPAs (the merchant API, ``upi:read`` / ``upi:write``) and their UPI QR codes' links.
Never commits.

A merchant VPA is a VPA at this PSP's handle like a payer's (same table, same sealing), paid
into a sandbox bank account of the merchant's, shown to payers under the merchant's verified
``display_name``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from pydantic import SecretStr
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.pagination import ListParams, merchant_owner, owned_page
from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import InvalidRequestError, ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.merchants.domain import Caller
from beyondpay.psp.addresses.common import ACTIVE, current_handle
from beyondpay.psp.addresses.domain import check_username
from beyondpay.psp.addresses.errors import UpiLinkInvalidError, VpaUsernameTakenError
from beyondpay.psp.addresses.events import MerchantVpaEvent, record
from beyondpay.psp.addresses.models import VpaRow
from beyondpay.psp.addresses.qr import UpiLink, build_upi_link, check_link
from beyondpay.psp.addresses.schemas import (
    MerchantQrParams,
    MerchantVpaCreateParams,
    merchant_vpa_object,
)
from beyondpay.psp.addresses.vpas import insert_vpa, open_vpa, sealed_vpa_values, vpa_by_text
from beyondpay.rails.protocol import Rail
from beyondpay.rails.service import connector_for, open_payer_account

# The sandbox bank merchants' VPAs are paid into.
MERCHANT_BANK: Final = "sbx1"
# What a merchant's sandbox account opens with: the sandbox banks open every account funded.
MERCHANT_OPENING_BALANCE_MINOR: Final = 1


def _checked_link_fields(vpa: SecretStr, display_name: str, category_code: str | None) -> None:
    """The VPA, name and category code fit a UPI link (a 400 naming the parameter if not)."""
    try:
        check_link(UpiLink(pa=vpa.get_secret_value(), pn=display_name, mc=category_code))
    except UpiLinkInvalidError as error:
        field = {"pn": "display_name", "mc": "merchant_category_code"}.get(error.param or "")
        raise InvalidRequestError(
            f"Invalid {field or 'username'}: {error.message}", param=field or "username"
        ) from None


class MerchantVpaService:
    async def create(
        self, session: AsyncSession, ring: KeyRing, caller: Caller, params: MerchantVpaCreateParams
    ) -> tuple[VpaRow, SecretStr]:
        """A VPA payers can pay the merchant at, in test mode (live mode has no UPI connector
        and answers ``rail_unavailable``); the money lands in a sandbox bank account of the
        merchant's, and payers see ``display_name`` as the verified name."""
        connector_for(Rail.upi, caller.livemode)
        handle = current_handle()
        username = check_username(params.username, handle=handle)
        vpa = SecretStr(f"{username}@{handle}")
        display_name = " ".join(params.display_name.split())
        _checked_link_fields(vpa, display_name, params.merchant_category_code)
        if await vpa_by_text(session, ring, vpa) is not None:
            raise VpaUsernameTakenError()
        vpa_id = new_id("mvpa")
        account_ref = await open_payer_account(
            session,
            ring,
            MERCHANT_BANK,
            SecretStr(f"merchant:{caller.merchant}:{vpa_id}"),
            opening_balance_minor=MERCHANT_OPENING_BALANCE_MINOR,
        )
        now = utcnow()
        row = await insert_vpa(
            session,
            {
                "id": vpa_id,
                "owner_kind": "merchant",
                "merchant_id": caller.merchant,
                "livemode": caller.livemode,
                **sealed_vpa_values(ring, vpa_id, vpa),
                "account_ref": account_ref,
                "display_name": display_name,
                "merchant_category_code": params.merchant_category_code,
                "is_primary": False,
                "status": ACTIVE,
                "created_at": now,
                "updated_at": now,
            },
        )
        await record(
            session,
            caller.merchant,
            MerchantVpaEvent.created,
            merchant_vpa_object(row, None),
            livemode=caller.livemode,
        )
        return row, vpa

    @staticmethod
    def _owner(caller: Caller) -> list[ColumnElement[bool]]:
        """The caller's merchant VPAs (a payer's VPAs have their own service)."""
        return [
            *merchant_owner(VpaRow, caller.merchant, caller.livemode),
            VpaRow.owner_kind == "merchant",
        ]

    async def get(self, session: AsyncSession, caller: Caller, vpa_id: str) -> VpaRow:
        statement = select(VpaRow).where(*self._owner(caller), VpaRow.id == vpa_id)
        row: VpaRow | None = (await session.execute(statement)).scalars().first()
        if row is None:
            raise ResourceMissingError.for_object("upi_merchant_vpa", vpa_id)
        return row

    async def list(
        self, session: AsyncSession, caller: Caller, params: ListParams
    ) -> tuple[Sequence[VpaRow], bool]:
        return await owned_page(
            session, VpaRow, params, owner=self._owner(caller), object_name="upi_merchant_vpa"
        )

    async def of_account(self, session: AsyncSession, account_ref: str) -> VpaRow | None:
        """The merchant VPA paid into the sandbox account ``account_ref`` (each has its own:
        ``create``), whatever its status: a credit the switch made to it is the merchant's."""
        statement = select(VpaRow).where(
            VpaRow.owner_kind == "merchant", VpaRow.account_ref == account_ref
        )
        row: VpaRow | None = (await session.execute(statement)).scalars().first()
        return row

    def qr_link(self, ring: KeyRing, row: VpaRow, params: MerchantQrParams) -> str:
        """The merchant's ``upi://pay`` link: static without an amount (the payer types it),
        dynamic with one, which needs the merchant's reference ``tr`` to reconcile it."""
        if params.amount is not None and params.tr is None:
            raise InvalidRequestError(
                "A QR code with an amount is for one payment: give its reference in tr.",
                param="tr",
            )
        link = UpiLink(
            pa=open_vpa(ring, row).get_secret_value(),
            pn=row.display_name or "",
            mc=row.merchant_category_code,
            tr=params.tr,
            am_minor=params.amount,
            tn=params.tn,
        )
        try:
            return build_upi_link(link)
        except UpiLinkInvalidError as error:
            field = {"am": "amount"}.get(error.param or "", error.param)
            raise InvalidRequestError(error.message, param=field) from None


merchant_vpa_service = MerchantVpaService()
