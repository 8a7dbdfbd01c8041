"""Payees: who a payer pays, resolved from what they typed, scanned or saved, and saving one as
a beneficiary. Never commits.

``resolve`` turns a VPA, an alias, a mobile number or a saved beneficiary into a
:class:`~beyondpay.psp.addresses.domain.Payee` — who gets the money, the verified name to show
and the bank account it goes to — and is the only place an alias is mapped to the VPA behind
it. Looking names up is how an address book is scraped: ``count_resolve`` limits it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final, TypeVar, cast

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.session import driver_connection
from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import ResourceMissingError
from beyondpay.kit.invariants import invariant
from beyondpay.kit.upi import check_vpa
from beyondpay.psp.addresses.aliases import alias_by_text, alias_scope, alias_state
from beyondpay.psp.addresses.beneficiaries import beneficiary_service
from beyondpay.psp.addresses.common import ACTIVE, current_handle
from beyondpay.psp.addresses.domain import (
    RESOLVES_PER_MINUTE_MAX,
    Payee,
    alias_handle,
    check_alias_use,
    check_mobile,
    exactly_one,
    folded,
    split_vpa,
)
from beyondpay.psp.addresses.errors import (
    AliasRevokedError,
    AliasRotatedError,
    VpaInactiveError,
    VpaUnknownError,
)
from beyondpay.psp.addresses.models import AliasRow, BeneficiaryRow, VpaRow
from beyondpay.psp.addresses.schemas import BeneficiaryCreateParams, ResolveParams
from beyondpay.psp.addresses.vpas import vpa_by_text, vpa_service
from beyondpay.psp.banking.service import bank_account_service
from beyondpay.psp.identity.service import payer_service

# One row per payer: the count of the current minute, reset when a new minute starts.
_COUNT_RESOLVE_SQL: Final = (
    "INSERT INTO psp_resolve_windows AS w (payer_id, window_start, resolves) VALUES (%s, %s, 1)"
    " ON CONFLICT (payer_id) DO UPDATE SET"
    " resolves = CASE WHEN w.window_start = excluded.window_start THEN w.resolves + 1 ELSE 1 END,"
    " window_start = excluded.window_start"
    " RETURNING resolves"
)
RowT = TypeVar("RowT", VpaRow, AliasRow)


async def _existing(session: AsyncSession, model: type[RowT], row_id: str) -> RowT:
    """A row another row refers to (by a foreign key): its absence is a broken invariant."""
    row = await session.get(model, row_id)
    invariant(row is not None, f"{model.__tablename__} {row_id} exists")
    return cast("RowT", row)


class PayeeService:
    async def _payee(
        self,
        session: AsyncSession,
        row: VpaRow,
        *,
        masked: str,
        alias_id: str | None,
        param: str,
    ) -> Payee:
        # A live merchant VPA cannot be paid from the PSP, which runs on the sandbox banks.
        if row.status != ACTIVE or row.livemode:
            raise VpaInactiveError(param=param)
        if row.owner_kind == "merchant":
            invariant(row.account_ref is not None, "a merchant VPA has its bank account")
            return Payee(
                kind="merchant",
                payer_id=None,
                merchant_id=row.merchant_id,
                verified_name=row.display_name or "",
                masked=masked,
                account_ref=row.account_ref or "",
                vpa_id=row.id,
                alias_id=alias_id,
                merchant_category_code=row.merchant_category_code,
            )
        invariant(row.payer_id is not None and row.bank_account_id is not None, "payer VPA")
        try:
            account = await bank_account_service.get(
                session, row.payer_id or "", row.bank_account_id or ""
            )
        except ResourceMissingError:
            raise VpaInactiveError(param=param) from None
        if account.status != ACTIVE:
            raise VpaInactiveError(param=param)
        return Payee(
            kind="payer",
            payer_id=row.payer_id,
            merchant_id=None,
            verified_name=account.holder_name,
            masked=masked,
            account_ref=account.account_ref,
            vpa_id=row.id,
            alias_id=alias_id,
            merchant_category_code=None,
        )

    async def _payee_of_alias(
        self,
        session: AsyncSession,
        ring: KeyRing,
        alias: SecretStr,
        *,
        payer_id: str | None,
        merchant_id: str | None,
        param: str,
    ) -> Payee:
        found = await alias_by_text(session, ring, alias)
        if found is None:
            raise VpaUnknownError("No alias at this PSP answers to this address.", param=param)
        text_row, row = found
        if row.status == "revoked":  # the owner's "stop" wins over "ask for the new one"
            raise AliasRevokedError(param=param)
        if text_row.status != "current":
            raise AliasRotatedError(param=param)
        check_alias_use(
            alias_scope(row),
            alias_state(row),
            now=utcnow(),
            payer_id=payer_id,
            merchant_id=merchant_id,
            param=param,
        )
        vpa = await _existing(session, VpaRow, row.vpa_id)
        return await self._payee(
            session, vpa, masked=row.alias_masked, alias_id=row.id, param=param
        )

    async def _payee_of_address(
        self,
        session: AsyncSession,
        ring: KeyRing,
        address: SecretStr,
        *,
        payer_id: str | None,
        merchant_id: str | None = None,
        param: str,
    ) -> Payee:
        """A VPA or an alias typed as one (an alias looks like a VPA at the alias handle)."""
        address = check_vpa(folded(address), param=param)
        handle = split_vpa(address)[1]
        if handle == alias_handle(current_handle()):
            return await self._payee_of_alias(
                session, ring, address, payer_id=payer_id, merchant_id=merchant_id, param=param
            )
        row = await vpa_by_text(session, ring, address) if handle == current_handle() else None
        if row is None:
            raise VpaUnknownError("No VPA at this PSP answers to this address.", param=param)
        return await self._payee(session, row, masked=row.vpa_masked, alias_id=None, param=param)

    async def _payee_of_mobile(
        self, session: AsyncSession, ring: KeyRing, mobile: SecretStr, *, param: str
    ) -> Payee:
        payer = await payer_service.find_by_mobile(session, ring, check_mobile(mobile, param=param))
        if payer is None:
            raise VpaUnknownError("No payer at this PSP has this mobile number.", param=param)
        row = await vpa_service.primary(session, payer.id)
        if row is None:
            raise VpaUnknownError("This payer has no VPA to receive money at yet.", param=param)
        return await self._payee(session, row, masked=row.vpa_masked, alias_id=None, param=param)

    async def _payee_of_beneficiary(
        self, session: AsyncSession, payer_id: str, beneficiary_id: str
    ) -> Payee:
        param = "beneficiary"
        row = await beneficiary_service.get(session, payer_id, beneficiary_id)
        vpa_id = row.vpa_id
        if row.payee_payer_id is not None:  # saved by mobile: whatever VPA is primary now
            primary = await vpa_service.primary(session, row.payee_payer_id)
            if primary is None:
                raise VpaUnknownError("This payee has no VPA to receive money at.", param=param)
            vpa_id = primary.id
        if row.alias_id is not None:
            # The alias's id, not its text: a rotation leaves the target as it was, while the
            # owner's revocation, expiry and scope still hold.
            alias = await _existing(session, AliasRow, row.alias_id)
            check_alias_use(
                alias_scope(alias), alias_state(alias), now=utcnow(), payer_id=payer_id, param=param
            )
        vpa = await _existing(session, VpaRow, vpa_id)
        return await self._payee(
            session, vpa, masked=row.masked, alias_id=row.alias_id, param=param
        )

    async def resolve(
        self,
        session: AsyncSession,
        ring: KeyRing,
        payer_id: str,
        *,
        vpa: SecretStr | None = None,
        alias: SecretStr | None = None,
        mobile: SecretStr | None = None,
        beneficiary: str | None = None,
    ) -> Payee:
        """Who ``payer_id`` pays with exactly one of: a VPA (or an alias typed as one), an
        alias, a mobile number (that payer's primary VPA) or a saved beneficiary. Each refusal
        is a 4xx naming the parameter (``vpa_unknown``, ``vpa_inactive``, ``alias_revoked``,
        ``alias_rotated``, ``alias_expired``, ``alias_used``, ``alias_not_permitted``)."""
        given: dict[str, object | None] = {
            "vpa": vpa,
            "alias": alias,
            "mobile": mobile,
            "beneficiary": beneficiary,
        }
        kind = exactly_one(("vpa", "alias", "mobile", "beneficiary"), given)
        if kind == "vpa" and vpa is not None:
            return await self._payee_of_address(session, ring, vpa, payer_id=payer_id, param=kind)
        if kind == "alias" and alias is not None:
            checked = check_vpa(folded(alias), param=kind)
            return await self._payee_of_alias(
                session, ring, checked, payer_id=payer_id, merchant_id=None, param=kind
            )
        if kind == "mobile" and mobile is not None:
            return await self._payee_of_mobile(session, ring, mobile, param=kind)
        return await self._payee_of_beneficiary(session, payer_id, beneficiary or "")

    async def of_vpa(self, session: AsyncSession, vpa_id: str) -> Payee:
        """The payee of one VPA of this PSP by its id (a collect's requester, say): a 400
        ``vpa_inactive`` naming ``vpa`` when it can no longer receive money."""
        row = await session.get(VpaRow, vpa_id)
        if row is None:
            raise ResourceMissingError.for_object("psp_vpa", vpa_id, param="vpa")
        return await self._payee(session, row, masked=row.vpa_masked, alias_id=None, param="vpa")

    async def of_alias_for_merchant(
        self, session: AsyncSession, ring: KeyRing, merchant_id: str, alias: SecretStr
    ) -> Payee:
        """The payee behind ``alias`` when the merchant ``merchant_id`` uses it (a refund or a
        payout to a payer who gave the merchant an alias scoped to it)."""
        checked = check_vpa(folded(alias), param="alias")
        return await self._payee_of_alias(
            session, ring, checked, payer_id=None, merchant_id=merchant_id, param="alias"
        )

    async def count_resolve(self, session: AsyncSession, payer_id: str) -> int | None:
        """Counts one resolve by ``payer_id`` (run in a transaction of its own, so that refused
        lookups count too). The seconds until the payer may resolve again when this one is
        over ``RESOLVES_PER_MINUTE_MAX``, else None."""
        now = utcnow()
        window_start = now.replace(second=0, microsecond=0)
        driver = await driver_connection(session)
        found = await (
            await driver.execute(_COUNT_RESOLVE_SQL, (payer_id, window_start))
        ).fetchone()
        invariant(found is not None, "the count's upsert returns the count")
        resolves = int(found[0]) if found is not None else 0
        if resolves <= RESOLVES_PER_MINUTE_MAX:
            return None
        return max(1, int((window_start + timedelta(minutes=1) - now).total_seconds()) + 1)

    async def preview(
        self, session: AsyncSession, ring: KeyRing, payer_id: str, params: ResolveParams
    ) -> Payee:
        exactly_one(("vpa", "mobile", "alias"), params.model_dump())
        return await self.resolve(
            session, ring, payer_id, vpa=params.vpa, alias=params.alias, mobile=params.mobile
        )

    async def save_beneficiary(
        self, session: AsyncSession, ring: KeyRing, payer_id: str, params: BeneficiaryCreateParams
    ) -> BeneficiaryRow:
        """Saves the payee a VPA, alias or mobile number resolves to now."""
        given = {"vpa": params.vpa, "alias": params.alias, "mobile": params.mobile}
        saved_by = exactly_one(("vpa", "alias", "mobile"), given)
        payee = await self.resolve(
            session, ring, payer_id, vpa=params.vpa, alias=params.alias, mobile=params.mobile
        )
        return await beneficiary_service.create(session, payer_id, params.nickname, payee, saved_by)


payee_service = PayeeService()
