"""PSP addresses use cases: VPAs, private aliases, beneficiaries and merchant VPAs. Never
commits: the request or job owns the transaction, and every change records its event in it.

Other parts of the PSP (transfers) reach addresses only through ``address_service``:
``resolve_payee`` turns what a payer typed or saved into a :class:`Payee` — who gets the money,
the verified name to show and the bank account it goes to — and is the only place an alias is
mapped to the VPA behind it. ``consume_alias`` marks an alias used when a payment through it
succeeds, in the payment's transaction.

Events: a payer's (``psp.vpa.*``, ``psp.alias.*``, ``psp.beneficiary.*``) are recorded in the
payer's own scope (the payer's id as ``merchant_id``, test mode); a merchant VPA's
(``upi.merchant_vpa.created``) in the merchant's. No event holds a VPA or an alias in clear:
objects in events carry the masked forms only.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final, Literal, TypeVar, cast

from pydantic import SecretStr
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.pagination import ListParams, page, scoped
from beyondpay.db.session import driver_connection
from beyondpay.events.service import event_service
from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import InvalidRequestError, ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.kit.module_settings import ModuleSettings
from beyondpay.kit.settings import Settings
from beyondpay.merchants.domain import Caller
from beyondpay.merchants.service import merchant_service
from beyondpay.psp.addresses.domain import (
    ALIAS_ALPHABET,
    ALIAS_LOCAL_CHARS,
    ALIAS_TTL_S_MAX,
    ALIASES_PER_PAYER_MAX,
    RESOLVES_PER_MINUTE_MAX,
    VPAS_PER_PAYER_MAX,
    AliasScope,
    AliasState,
    alias_fingerprint_input,
    alias_handle,
    check_alias_use,
    check_handle,
    check_mobile,
    check_username,
    check_vpa,
    looks_like_mobile,
    mask_address,
    mask_mobile,
    split_vpa,
    vpa_fingerprint_input,
)
from beyondpay.psp.addresses.errors import (
    AliasLimitReachedError,
    AliasRevokedError,
    AliasRotatedError,
    AliasUnexpectedStateError,
    UpiLinkInvalidError,
    VpaInactiveError,
    VpaLimitReachedError,
    VpaUnexpectedStateError,
    VpaUnknownError,
    VpaUsernameTakenError,
)
from beyondpay.psp.addresses.models import AliasRow, AliasTextRow, BeneficiaryRow, VpaRow
from beyondpay.psp.addresses.qr import UpiLink, build_upi_link, check_link
from beyondpay.psp.addresses.schemas import (
    AliasCreateParams,
    BeneficiaryCreateParams,
    MerchantQrParams,
    MerchantVpaCreateParams,
    ResolveParams,
    VpaCreateParams,
    alias_object,
    beneficiary_object,
    merchant_vpa_object,
    vpa_object,
)
from beyondpay.psp.banking.service import bank_account_service
from beyondpay.psp.identity.service import PSP_LIVEMODE, payer_service
from beyondpay.rails.protocol import Rail
from beyondpay.rails.service import connector_for, open_payer_account

__all__ = [
    "CONFIG",
    "AddressesConfig",
    "AliasRow",
    "BeneficiaryRow",
    "Payee",
    "VpaRow",
    "address_service",
    "configure",
    "current_handle",
]

BENEFICIARIES_PER_PAYER_MAX: Final = 200
# The sandbox bank merchants' VPAs are paid into.
MERCHANT_BANK: Final = "sbx1"
# What a merchant's sandbox account opens with: the sandbox banks open every account funded.
MERCHANT_OPENING_BALANCE_MINOR: Final = 1
ACTIVE: Final = "active"
_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))")
# One row per payer: the count of the current minute, reset when a new minute starts.
_COUNT_RESOLVE_SQL: Final = (
    "INSERT INTO psp_resolve_windows AS w (payer_id, window_start, resolves) VALUES (%s, %s, 1)"
    " ON CONFLICT (payer_id) DO UPDATE SET"
    " resolves = CASE WHEN w.window_start = excluded.window_start THEN w.resolves + 1 ELSE 1 END,"
    " window_start = excluded.window_start"
    " RETURNING resolves"
)

RowT = TypeVar("RowT", VpaRow, AliasRow)


@dataclass(frozen=True, slots=True)
class AddressesConfig:
    handle: str  # this process's PSP handle: payers' VPAs are username@handle

    @classmethod
    def from_settings(cls, settings: Settings) -> AddressesConfig:
        return cls(handle=check_handle(settings.psp_handle))


CONFIG: ModuleSettings[AddressesConfig] = ModuleSettings(AddressesConfig.from_settings)


def configure(settings: Settings) -> AddressesConfig:
    """The composition root (``app.configure_modules``) calls it when the API or worker starts."""
    return CONFIG.set(AddressesConfig.from_settings(settings))


def current_handle() -> str:
    return CONFIG.current().handle


@dataclass(frozen=True, slots=True)
class Payee:
    """Who a payment goes to, as resolved at the moment of paying. ``masked`` is what the payer
    may be shown (an alias's mask when paid by alias: never the VPA behind it)."""

    kind: Literal["payer", "merchant"]
    payer_id: str | None
    merchant_id: str | None
    verified_name: str
    masked: str
    account_ref: str
    # None only for a payee no VPA of this PSP stands for (a merchant collecting through the
    # switch, which transfers builds itself).
    vpa_id: str | None
    alias_id: str | None
    merchant_category_code: str | None


def _vpa_context(vpa_id: str) -> str:
    return f"psp_vpas.vpa:{vpa_id}"


def _alias_context(alias_id: str) -> str:
    return f"psp_aliases.alias:{alias_id}"


def open_vpa(ring: KeyRing, row: VpaRow) -> SecretStr:
    return SecretStr(ring.open(row.vpa_sealed, context=_vpa_context(row.id)).decode())


def open_alias(ring: KeyRing, row: AliasRow) -> SecretStr:
    return SecretStr(ring.open(row.alias_sealed, context=_alias_context(row.id)).decode())


def _folded(address: SecretStr) -> SecretStr:
    """UPI addresses are not case sensitive: apps fold what the payer typed to lower case."""
    return SecretStr(address.get_secret_value().strip().lower())


def _scope(row: AliasRow) -> AliasScope:
    return AliasScope(
        counterparty_payer_id=row.counterparty_payer_id,
        merchant_id=row.merchant_id,
        one_time=row.one_time,
        expires_at=row.expires_at,
    )


def _state(row: AliasRow) -> AliasState:
    return AliasState(revoked=row.status == "revoked", used=row.uses > 0)


async def _lock(session: AsyncSession, name: str) -> None:
    """A transaction-scoped lock on a name: serialises one payer's changes to a kind of row, so
    counts (VPAs, aliases) and the one primary hold under concurrent requests."""
    await session.execute(_LOCK, {"name": name})


async def _record(
    session: AsyncSession,
    owner_id: str,
    type: str,
    object: dict[str, Any],
    *,
    livemode: bool = PSP_LIVEMODE,
    previous_attributes: dict[str, Any] | None = None,
) -> None:
    await event_service.record(
        session,
        merchant_id=owner_id,
        livemode=livemode,
        type=type,
        object=object,
        previous_attributes=previous_attributes,
    )


async def _existing(session: AsyncSession, model: type[RowT], row_id: str) -> RowT:
    """A row another row refers to (by a foreign key): its absence is a broken invariant."""
    row = await session.get(model, row_id)
    invariant(row is not None, f"{model.__tablename__} {row_id} exists")
    return cast("RowT", row)


def _exactly_one(names: Sequence[str], given: Mapping[str, object | None]) -> str:
    sent = [name for name in names if given.get(name) is not None]
    if len(sent) != 1:
        listed = ", ".join(names[:-1]) + f" or {names[-1]}"
        raise InvalidRequestError(
            f"Give exactly one of {listed}.", param=sent[1] if len(sent) > 1 else names[0]
        )
    return sent[0]


class AddressService:
    # ---- lookups other parts use --------------------------------------------------------------

    async def _vpa_by_text(
        self, session: AsyncSession, ring: KeyRing, vpa: SecretStr
    ) -> VpaRow | None:
        fingerprints = ring.fingerprints(vpa_fingerprint_input(vpa))
        found = await session.execute(
            select(VpaRow).where(VpaRow.vpa_fingerprint.in_(fingerprints))
        )
        row: VpaRow | None = found.scalars().first()
        return row

    async def owner_of_vpa(
        self, session: AsyncSession, ring: KeyRing, vpa: SecretStr
    ) -> VpaRow | None:
        """The active VPA at this PSP's handle answering to ``vpa`` (a payer's or a test-mode
        merchant's), or None — for an unknown, deactivated, malformed or other PSP's VPA."""
        folded = _folded(vpa)
        try:
            check_vpa(folded)
        except InvalidRequestError:
            return None
        if split_vpa(folded)[1] != current_handle():
            return None
        row = await self._vpa_by_text(session, ring, folded)
        if row is None or row.status != ACTIVE or row.livemode:
            return None
        return row

    async def payer_vpa(
        self, session: AsyncSession, ring: KeyRing, payer_id: str, vpa: SecretStr
    ) -> VpaRow | None:
        """``vpa`` if it is one of ``payer_id``'s active VPAs, else None."""
        row = await self.owner_of_vpa(session, ring, vpa)
        return row if row is not None and row.payer_id == payer_id else None

    async def primary_vpa(self, session: AsyncSession, payer_id: str) -> VpaRow | None:
        found = await session.execute(
            select(VpaRow).where(VpaRow.payer_id == payer_id, VpaRow.is_primary)
        )
        row: VpaRow | None = found.scalars().first()
        return row

    # ---- resolving a payee --------------------------------------------------------------------

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

    async def _alias_by_text(
        self, session: AsyncSession, ring: KeyRing, alias: SecretStr, *, for_update: bool = False
    ) -> tuple[AliasTextRow, AliasRow] | None:
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
        found = await self._alias_by_text(session, ring, alias)
        if found is None:
            raise VpaUnknownError("No alias at this PSP answers to this address.", param=param)
        text_row, row = found
        if row.status == "revoked":  # the owner's "stop" wins over "ask for the new one"
            raise AliasRevokedError(param=param)
        if text_row.status != "current":
            raise AliasRotatedError(param=param)
        check_alias_use(
            _scope(row),
            _state(row),
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
        address = check_vpa(_folded(address), param=param)
        handle = split_vpa(address)[1]
        if handle == alias_handle(current_handle()):
            return await self._payee_of_alias(
                session, ring, address, payer_id=payer_id, merchant_id=merchant_id, param=param
            )
        row = (
            await self._vpa_by_text(session, ring, address) if handle == current_handle() else None
        )
        if row is None:
            raise VpaUnknownError("No VPA at this PSP answers to this address.", param=param)
        return await self._payee(session, row, masked=row.vpa_masked, alias_id=None, param=param)

    async def _payee_of_mobile(
        self, session: AsyncSession, ring: KeyRing, mobile: SecretStr, *, param: str
    ) -> Payee:
        payer = await payer_service.find_by_mobile(session, ring, check_mobile(mobile, param=param))
        if payer is None:
            raise VpaUnknownError("No payer at this PSP has this mobile number.", param=param)
        row = await self.primary_vpa(session, payer.id)
        if row is None:
            raise VpaUnknownError("This payer has no VPA to receive money at yet.", param=param)
        return await self._payee(session, row, masked=row.vpa_masked, alias_id=None, param=param)

    async def _payee_of_beneficiary(
        self, session: AsyncSession, payer_id: str, beneficiary_id: str
    ) -> Payee:
        param = "beneficiary"
        row = await self.get_beneficiary(session, payer_id, beneficiary_id)
        vpa_id = row.vpa_id
        if row.payee_payer_id is not None:  # saved by mobile: whatever VPA is primary now
            primary = await self.primary_vpa(session, row.payee_payer_id)
            if primary is None:
                raise VpaUnknownError("This payee has no VPA to receive money at.", param=param)
            vpa_id = primary.id
        if row.alias_id is not None:
            # The alias's id, not its text: a rotation leaves the target as it was, while the
            # owner's revocation, expiry and scope still hold.
            alias = await _existing(session, AliasRow, row.alias_id)
            check_alias_use(
                _scope(alias), _state(alias), now=utcnow(), payer_id=payer_id, param=param
            )
        vpa = await _existing(session, VpaRow, vpa_id)
        return await self._payee(
            session, vpa, masked=row.masked, alias_id=row.alias_id, param=param
        )

    async def resolve_payee(
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
        kind = _exactly_one(("vpa", "alias", "mobile", "beneficiary"), given)
        if kind == "vpa" and vpa is not None:
            return await self._payee_of_address(session, ring, vpa, payer_id=payer_id, param=kind)
        if kind == "alias" and alias is not None:
            checked = check_vpa(_folded(alias), param=kind)
            return await self._payee_of_alias(
                session, ring, checked, payer_id=payer_id, merchant_id=None, param=kind
            )
        if kind == "mobile" and mobile is not None:
            return await self._payee_of_mobile(session, ring, mobile, param=kind)
        return await self._payee_of_beneficiary(session, payer_id, beneficiary or "")

    async def payee_of_vpa(self, session: AsyncSession, vpa_id: str) -> Payee:
        """The payee of one VPA of this PSP by its id (a collect's requester, say): a 400
        ``vpa_inactive`` naming ``vpa`` when it can no longer receive money."""
        row = await session.get(VpaRow, vpa_id)
        if row is None:
            raise ResourceMissingError.for_object("psp_vpa", vpa_id, param="vpa")
        return await self._payee(session, row, masked=row.vpa_masked, alias_id=None, param="vpa")

    async def resolve_alias_for_merchant(
        self, session: AsyncSession, ring: KeyRing, merchant_id: str, alias: SecretStr
    ) -> Payee:
        """The payee behind ``alias`` when the merchant ``merchant_id`` uses it (a refund or a
        payout to a payer who gave the merchant an alias scoped to it)."""
        checked = check_vpa(_folded(alias), param="alias")
        return await self._payee_of_alias(
            session, ring, checked, payer_id=None, merchant_id=merchant_id, param="alias"
        )

    async def consume_alias(
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
            replace(_scope(row), expires_at=None),
            _state(row),
            now=now,
            payer_id=payer_id,
            merchant_id=merchant_id,
        )
        row.uses += 1
        row.used_at = now
        row.updated_at = now
        await session.flush()
        await _record(session, row.payer_id, "psp.alias.used", alias_object(row, None))

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
        _exactly_one(("vpa", "mobile", "alias"), params.model_dump())
        return await self.resolve_payee(
            session, ring, payer_id, vpa=params.vpa, alias=params.alias, mobile=params.mobile
        )

    # ---- a payer's VPAs -----------------------------------------------------------------------

    async def _taken(self, session: AsyncSession, ring: KeyRing, vpa: SecretStr) -> bool:
        return await self._vpa_by_text(session, ring, vpa) is not None

    async def _insert_vpa(self, session: AsyncSession, values: dict[str, Any]) -> VpaRow:
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

    async def create_vpa(
        self, session: AsyncSession, ring: KeyRing, payer_id: str, params: VpaCreateParams
    ) -> tuple[VpaRow, SecretStr]:
        handle = current_handle()
        username = check_username(params.username, handle=handle)
        vpa = SecretStr(f"{username}@{handle}")
        account = await bank_account_service.get(session, payer_id, params.bank_account)
        await _lock(session, f"psp_vpas:{payer_id}")
        active = await self._active_vpas(session, payer_id)
        if len(active) >= VPAS_PER_PAYER_MAX:
            raise VpaLimitReachedError(
                f"A payer may have at most {VPAS_PER_PAYER_MAX} active VPAs: deactivate one first."
            )
        if await self._taken(session, ring, vpa):
            raise VpaUsernameTakenError()
        vpa_id = new_id("vpa")
        now = utcnow()
        row = await self._insert_vpa(
            session,
            {
                "id": vpa_id,
                "owner_kind": "payer",
                "payer_id": payer_id,
                "livemode": PSP_LIVEMODE,
                "vpa_fingerprint": ring.fingerprint(vpa_fingerprint_input(vpa)),
                "vpa_sealed": ring.seal(vpa.get_secret_value().encode(), _vpa_context(vpa_id)),
                "vpa_masked": mask_address(vpa),
                "bank_account_id": account.id,
                "is_primary": not active,  # the first VPA is the primary
                "status": ACTIVE,
                "created_at": now,
                "updated_at": now,
            },
        )
        await _record(session, payer_id, "psp.vpa.created", vpa_object(row, None))
        return row, vpa

    async def _active_vpas(self, session: AsyncSession, payer_id: str) -> list[VpaRow]:
        found = await session.execute(
            select(VpaRow)
            .where(VpaRow.payer_id == payer_id, VpaRow.status == ACTIVE)
            .order_by(VpaRow.id)
        )
        return list(found.scalars())

    async def get_vpa(
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

    async def list_vpas(
        self, session: AsyncSession, payer_id: str, params: ListParams
    ) -> tuple[Sequence[VpaRow], bool]:
        statement = select(VpaRow).where(VpaRow.payer_id == payer_id)

        def cursor_exists(cursor: str) -> Any:
            return select(VpaRow.id).where(VpaRow.id == cursor, VpaRow.payer_id == payer_id)

        return await page(
            session,
            statement,
            VpaRow.id,
            params,
            cursor_exists=cursor_exists,
            object_name="psp_vpa",
        )

    async def _set_primary_flag(self, session: AsyncSession, row: VpaRow, is_primary: bool) -> None:
        row.is_primary = is_primary
        row.updated_at = utcnow()
        # One at a time: the unique index on a payer's primary allows no moment with two.
        await session.flush()
        await _record(
            session,
            row.payer_id or "",
            "psp.vpa.updated",
            vpa_object(row, None),
            previous_attributes={"is_primary": not is_primary},
        )

    async def make_primary(self, session: AsyncSession, payer_id: str, vpa_id: str) -> VpaRow:
        await _lock(session, f"psp_vpas:{payer_id}")
        row = await self.get_vpa(session, payer_id, vpa_id, for_update=True)
        if row.status != ACTIVE:
            raise VpaUnexpectedStateError("A deactivated VPA cannot be made primary.")
        if row.is_primary:
            return row
        current = await self.primary_vpa(session, payer_id)
        if current is not None:
            await self._set_primary_flag(session, current, False)
        await self._set_primary_flag(session, row, True)
        return row

    async def deactivate_vpa(self, session: AsyncSession, payer_id: str, vpa_id: str) -> VpaRow:
        """The VPA stops receiving money and resolving; its name stays reserved for good. If it
        was the primary, the oldest other active VPA becomes the primary."""
        await _lock(session, f"psp_vpas:{payer_id}")
        row = await self.get_vpa(session, payer_id, vpa_id, for_update=True)
        if row.status != ACTIVE:
            raise VpaUnexpectedStateError("This VPA is already deactivated.")
        was_primary = row.is_primary
        now = utcnow()
        row.status = "inactive"
        row.is_primary = False
        row.deactivated_at = now
        row.updated_at = now
        await session.flush()
        await _record(session, payer_id, "psp.vpa.deactivated", vpa_object(row, None))
        if was_primary:
            others = await self._active_vpas(session, payer_id)
            if others:
                await self._set_primary_flag(session, others[0], True)
        return row

    async def relink_vpa(
        self, session: AsyncSession, payer_id: str, vpa_id: str, bank_account_id: str
    ) -> VpaRow:
        """Money to the VPA goes to another of the payer's linked bank accounts from now on."""
        account = await bank_account_service.get(session, payer_id, bank_account_id)
        row = await self.get_vpa(session, payer_id, vpa_id, for_update=True)
        if row.status != ACTIVE:
            raise VpaUnexpectedStateError("A deactivated VPA cannot be changed.")
        if row.bank_account_id == account.id:
            return row
        previous = row.bank_account_id
        row.bank_account_id = account.id
        row.updated_at = utcnow()
        await session.flush()
        await _record(
            session,
            payer_id,
            "psp.vpa.updated",
            vpa_object(row, None),
            previous_attributes={"bank_account": previous},
        )
        return row

    # ---- private aliases ----------------------------------------------------------------------

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
            vpa = check_vpa(_folded(counterparty), param=param)
            row = await self.owner_of_vpa(session, ring, vpa)
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
        row.alias_sealed = ring.seal(alias.get_secret_value().encode(), _alias_context(row.id))
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

    async def create_alias(
        self, session: AsyncSession, ring: KeyRing, payer_id: str, params: AliasCreateParams
    ) -> tuple[AliasRow, SecretStr]:
        vpa = await self.get_vpa(session, payer_id, params.vpa, param="vpa")
        if vpa.status != ACTIVE:
            raise VpaUnexpectedStateError("A deactivated VPA cannot have aliases.", param="vpa")
        scope, counterparty_masked = await self._checked_scope(session, ring, payer_id, params)
        await _lock(session, f"psp_aliases:{payer_id}")
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
        await _record(session, payer_id, "psp.alias.created", alias_object(row, None))
        return row, alias

    async def get_alias(
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

    async def list_aliases(
        self, session: AsyncSession, payer_id: str, params: ListParams
    ) -> tuple[Sequence[AliasRow], bool]:
        statement = select(AliasRow).where(AliasRow.payer_id == payer_id)

        def cursor_exists(cursor: str) -> Any:
            return select(AliasRow.id).where(AliasRow.id == cursor, AliasRow.payer_id == payer_id)

        return await page(
            session,
            statement,
            AliasRow.id,
            params,
            cursor_exists=cursor_exists,
            object_name="psp_alias",
        )

    async def rotate_alias(
        self, session: AsyncSession, ring: KeyRing, payer_id: str, alias_id: str
    ) -> tuple[AliasRow, SecretStr]:
        """A new text for the same VPA and scope. The old text stops resolving for new use
        (``alias_rotated``); beneficiaries saved through it keep their target."""
        row = await self.get_alias(session, payer_id, alias_id, for_update=True)
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
        await _record(session, payer_id, "psp.alias.rotated", alias_object(row, None))
        return row, alias

    async def revoke_alias(self, session: AsyncSession, payer_id: str, alias_id: str) -> AliasRow:
        """For good: nothing resolves through the alias any more, saved beneficiaries included
        (they fail with ``alias_revoked``)."""
        row = await self.get_alias(session, payer_id, alias_id, for_update=True)
        if row.status != ACTIVE:
            raise AliasUnexpectedStateError("This alias is already revoked.")
        now = utcnow()
        row.status = "revoked"
        row.revoked_at = now
        row.updated_at = now
        await session.flush()
        await _record(session, payer_id, "psp.alias.revoked", alias_object(row, None))
        return row

    # ---- beneficiaries ------------------------------------------------------------------------

    async def create_beneficiary(
        self, session: AsyncSession, ring: KeyRing, payer_id: str, params: BeneficiaryCreateParams
    ) -> BeneficiaryRow:
        given = {"vpa": params.vpa, "alias": params.alias, "mobile": params.mobile}
        kind = _exactly_one(("vpa", "alias", "mobile"), given)
        payee = await self.resolve_payee(
            session, ring, payer_id, vpa=params.vpa, alias=params.alias, mobile=params.mobile
        )
        invariant(payee.vpa_id is not None, "a resolved address names its VPA")
        await _lock(session, f"psp_beneficiaries:{payer_id}")
        saved = await session.scalar(
            select(func.count())
            .select_from(BeneficiaryRow)
            .where(BeneficiaryRow.payer_id == payer_id, BeneficiaryRow.deleted_at.is_(None))
        )
        if (saved or 0) >= BENEFICIARIES_PER_PAYER_MAX:
            raise InvalidRequestError(
                f"A payer may save at most {BENEFICIARIES_PER_PAYER_MAX} beneficiaries.",
                param=kind,
            )
        row = BeneficiaryRow(
            id=new_id("ben"),
            payer_id=payer_id,
            nickname=params.nickname.strip() or params.nickname,
            saved_by="alias" if payee.alias_id is not None else kind,
            vpa_id=payee.vpa_id or "",
            alias_id=payee.alias_id,
            payee_payer_id=payee.payer_id if kind == "mobile" else None,
            payee_kind=payee.kind,
            masked=payee.masked,
            verified_name=payee.verified_name,
            created_at=utcnow(),
            deleted_at=None,
        )
        session.add(row)
        await session.flush()
        await _record(session, payer_id, "psp.beneficiary.created", beneficiary_object(row))
        return row

    async def get_beneficiary(
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

    async def delete_beneficiary(
        self, session: AsyncSession, payer_id: str, beneficiary_id: str
    ) -> BeneficiaryRow:
        row = await self.get_beneficiary(session, payer_id, beneficiary_id, param="id")
        await _record(session, payer_id, "psp.beneficiary.deleted", beneficiary_object(row))
        row.deleted_at = utcnow()
        await session.flush()
        return row

    async def list_beneficiaries(
        self, session: AsyncSession, payer_id: str, params: ListParams
    ) -> tuple[Sequence[BeneficiaryRow], bool]:
        live = (BeneficiaryRow.payer_id == payer_id, BeneficiaryRow.deleted_at.is_(None))
        statement = select(BeneficiaryRow).where(*live)

        def cursor_exists(cursor: str) -> Any:
            return select(BeneficiaryRow.id).where(BeneficiaryRow.id == cursor, *live)

        return await page(
            session,
            statement,
            BeneficiaryRow.id,
            params,
            cursor_exists=cursor_exists,
            object_name="psp_beneficiary",
        )

    # ---- merchant VPAs (the merchant API) -----------------------------------------------------

    async def create_merchant_vpa(
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
        try:
            check_link(
                UpiLink(
                    pa=vpa.get_secret_value(), pn=display_name, mc=params.merchant_category_code
                )
            )
        except UpiLinkInvalidError as error:
            field = {"pn": "display_name", "mc": "merchant_category_code"}.get(error.param or "")
            raise InvalidRequestError(
                f"Invalid {field or 'username'}: {error.message}", param=field or "username"
            ) from None
        if await self._taken(session, ring, vpa):
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
        row = await self._insert_vpa(
            session,
            {
                "id": vpa_id,
                "owner_kind": "merchant",
                "merchant_id": caller.merchant,
                "livemode": caller.livemode,
                "vpa_fingerprint": ring.fingerprint(vpa_fingerprint_input(vpa)),
                "vpa_sealed": ring.seal(vpa.get_secret_value().encode(), _vpa_context(vpa_id)),
                "vpa_masked": mask_address(vpa),
                "account_ref": account_ref,
                "display_name": display_name,
                "merchant_category_code": params.merchant_category_code,
                "is_primary": False,
                "status": ACTIVE,
                "created_at": now,
                "updated_at": now,
            },
        )
        await _record(
            session,
            caller.merchant,
            "upi.merchant_vpa.created",
            merchant_vpa_object(row, None),
            livemode=caller.livemode,
        )
        return row, vpa

    def _merchant_scoped(self, caller: Caller, *extra: Any) -> Any:
        return scoped(
            VpaRow, caller.merchant, caller.livemode, VpaRow.owner_kind == "merchant", *extra
        )

    async def get_merchant_vpa(self, session: AsyncSession, caller: Caller, vpa_id: str) -> VpaRow:
        row: VpaRow | None = (
            (await session.execute(self._merchant_scoped(caller, VpaRow.id == vpa_id)))
            .scalars()
            .first()
        )
        if row is None:
            raise ResourceMissingError.for_object("upi_merchant_vpa", vpa_id)
        return row

    async def list_merchant_vpas(
        self, session: AsyncSession, caller: Caller, params: ListParams
    ) -> tuple[Sequence[VpaRow], bool]:
        statement = self._merchant_scoped(caller)

        def cursor_exists(cursor: str) -> Any:
            return self._merchant_scoped(caller, VpaRow.id == cursor)

        return await page(
            session,
            statement,
            VpaRow.id,
            params,
            cursor_exists=cursor_exists,
            object_name="upi_merchant_vpa",
        )

    def merchant_qr_link(self, ring: KeyRing, row: VpaRow, params: MerchantQrParams) -> str:
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


address_service = AddressService()
