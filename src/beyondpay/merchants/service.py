"""Merchant, KYC and API-key use cases. Runs in the caller's unit of work; never commits.

Use cases hand back views (``AccountView``, ``KycDocumentView``, ``ApiKeyView``), never rows: a
KYC document's sealed details and a key's fingerprint cannot reach a response by accident.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import orjson
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.pagination import ListParams, created_conditions, owned_page, scoped_page
from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import AuthenticationError, InvalidRequestError, ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.merchants.caller_cache import callers
from beyondpay.merchants.domain import (
    ALLOWED_IPS_MAX,
    ROLL_OVERLAP_S_MAX,
    SCOPES_SECRET_ONLY,
    Caller,
    KeyKind,
    MerchantStatus,
    Scope,
    new_key_text,
    parse_allowed_ips,
    parse_key_text,
    redact_key,
)
from beyondpay.merchants.errors import (
    AccountUnexpectedStateError,
    ApiKeyExpiredError,
    ApiKeyUnexpectedStateError,
    GstinPanMismatchError,
    KycDocumentUnexpectedStateError,
    LastApiKeyError,
    ScopeInvalidError,
    ScopeNotGrantableError,
)
from beyondpay.merchants.kyc import (
    REASON_CHARS_MAX,
    KycKind,
    KycStatus,
    checked_details,
    gstin_pan,
    kyc_complete,
    masked_details,
)
from beyondpay.merchants.models import ApiKeyRow, KycDocumentRow, MerchantRow

__all__ = [
    "AccountView",
    "ApiKeyExpiredError",
    "ApiKeyView",
    "IssuedKey",
    "KycDocumentView",
    "NewMerchant",
    "api_key_service",
    "kyc_service",
    "merchant_service",
]

# last_used_at is written at most this often per key: a write per request would make every
# read a write and serialize a busy key on its row.
LAST_USED_RESOLUTION_S: Final = 60
SCOPES_MAX: Final = len(Scope)
MERCHANT_NAME_CHARS_MAX: Final = 200
# Kinds a merchant must always keep one working key of: they are issued only at creation, so
# revoking the last one would lock the merchant out of a mode (rolling replaces it instead).
KINDS_KEPT: Final = frozenset({KeyKind.secret, KeyKind.publishable})


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A key as created: ``secret`` is the only time its text is ever available."""

    id: str
    kind: KeyKind
    livemode: bool
    secret: str
    redacted: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewMerchant:
    id: str
    name: str
    keys: list[IssuedKey]


@dataclass(frozen=True, slots=True)
class AccountView:
    id: str
    name: str
    status: MerchantStatus
    status_reason: str | None
    created_at: datetime
    kyc_approved: frozenset[KycKind]
    kyc_pending: frozenset[KycKind]


@dataclass(frozen=True, slots=True)
class KycDocumentView:
    """A document as it may be shown: the masked details only."""

    id: str
    merchant_id: str
    kind: KycKind
    status: KycStatus
    details: dict[str, Any]
    rejection_reason: str | None
    reviewed_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKeyView:
    id: str
    merchant_id: str | None
    kind: KeyKind
    livemode: bool
    redacted: str
    name: str | None
    scopes: tuple[str, ...]
    allowed_ips: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    rolled_to: str | None


@dataclass(frozen=True, slots=True)
class KeyWithSecret:
    """A key just created or rolled to: the response that carries ``secret`` is its only one."""

    key: ApiKeyView
    secret: str


def _kyc_view(row: KycDocumentRow) -> KycDocumentView:
    return KycDocumentView(
        id=row.id,
        merchant_id=row.merchant_id,
        kind=KycKind(row.kind),
        status=KycStatus(row.status),
        details=dict(row.details_masked),
        rejection_reason=row.rejection_reason,
        reviewed_at=row.reviewed_at,
        created_at=row.created_at,
    )


def _key_view(row: ApiKeyRow) -> ApiKeyView:
    return ApiKeyView(
        id=row.id,
        merchant_id=row.merchant_id,
        kind=KeyKind(row.kind),
        livemode=row.livemode,
        redacted=row.redacted,
        name=row.name,
        scopes=tuple(row.scopes),
        allowed_ips=tuple(str(network) for network in row.allowed_ips or ()),
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
        rolled_to=row.rolled_to,
    )


def use_is_stale(last_used_at: datetime | None, now: datetime) -> bool:
    """Whether a key's last_used_at is old enough to be written again."""
    resolution = timedelta(seconds=LAST_USED_RESOLUTION_S)
    return last_used_at is None or now - last_used_at >= resolution


async def record_use(session: AsyncSession, key_id: str, now: datetime) -> None:
    """Writes last_used_at unless a newer use is already recorded. The caller runs it in a
    transaction of its own, after (not inside) the request's: a key row locked for the length
    of a request would serialize every request made with that key."""
    await session.execute(
        update(ApiKeyRow)
        .where(ApiKeyRow.id == key_id)
        .where((ApiKeyRow.last_used_at.is_(None)) | (ApiKeyRow.last_used_at < now))
        .values(last_used_at=now)
    )


class MerchantService:
    async def create(self, session: AsyncSession, ring: KeyRing, *, name: str) -> NewMerchant:
        """A merchant pending KYC, with a secret and a publishable key for each mode."""
        name = " ".join(name.split())
        if not name or len(name) > MERCHANT_NAME_CHARS_MAX:
            raise InvalidRequestError(
                f"The name must be 1 to {MERCHANT_NAME_CHARS_MAX} characters.", param="name"
            )
        now = utcnow()
        merchant_id = new_id("acct")
        session.add(
            MerchantRow(
                id=merchant_id,
                name=name,
                status=MerchantStatus.pending_kyc.value,
                created_at=now,
                updated_at=now,
            )
        )
        await session.flush()
        keys = [
            await api_key_service.issue(
                session, ring, merchant_id=merchant_id, kind=kind, livemode=live
            )
            for live in (False, True)
            for kind in (KeyKind.secret, KeyKind.publishable)
        ]
        return NewMerchant(id=merchant_id, name=name, keys=keys)

    async def get(self, session: AsyncSession, merchant_id: str) -> MerchantRow | None:
        return await session.get(MerchantRow, merchant_id)

    async def business_name(self, session: AsyncSession, merchant_id: str) -> str:
        """The merchant's business name (statement descriptors are derived from it). Read
        without flushing the caller's session: a payment's pending rows are written with the
        statement that needs them, not earlier (``payments.intents``)."""
        statement = (
            select(MerchantRow.name)
            .where(MerchantRow.id == merchant_id)
            .execution_options(autoflush=False)
        )
        name = (await session.execute(statement)).scalar_one_or_none()
        return str(name or "")

    async def set_status(
        self,
        session: AsyncSession,
        merchant_id: str,
        status: MerchantStatus,
        *,
        reason: str | None = None,
    ) -> MerchantRow | None:
        row = await session.get(MerchantRow, merchant_id, with_for_update=True)
        if row is None:
            return None
        row.status = status.value
        row.status_reason = reason
        row.updated_at = utcnow()
        await session.flush()
        return row

    async def account(self, session: AsyncSession, merchant_id: str) -> AccountView:
        """The merchant as an account; 404 naming ``param`` for an unknown id."""
        row = await session.get(MerchantRow, merchant_id, populate_existing=True)
        if row is None:
            raise ResourceMissingError.for_object("account", merchant_id, param="account")
        return (await self.accounts(session, [row]))[0]

    async def accounts(self, session: AsyncSession, rows: Sequence[Any]) -> list[AccountView]:
        """Views of merchant rows (as listed), with their KYC state in one query."""
        ids = [row.id for row in rows]
        states = await session.execute(
            select(KycDocumentRow.merchant_id, KycDocumentRow.kind, KycDocumentRow.status).where(
                KycDocumentRow.merchant_id.in_(ids),
                KycDocumentRow.status.in_([KycStatus.approved, KycStatus.pending_review]),
            )
        )
        approved: dict[str, set[KycKind]] = {merchant_id: set() for merchant_id in ids}
        pending: dict[str, set[KycKind]] = {merchant_id: set() for merchant_id in ids}
        for merchant_id, kind, status in states:
            target = approved if status == KycStatus.approved else pending
            target[merchant_id].add(KycKind(kind))
        return [
            AccountView(
                id=row.id,
                name=row.name,
                status=MerchantStatus(row.status),
                status_reason=row.status_reason,
                created_at=row.created_at,
                kyc_approved=frozenset(approved[row.id]),
                kyc_pending=frozenset(pending[row.id]),
            )
            for row in rows
        ]

    async def list_accounts(
        self, session: AsyncSession, params: ListParams, status: MerchantStatus | None = None
    ) -> tuple[list[AccountView], bool]:
        """A page of every merchant (with ``status``, those in it), newest first."""
        filters = created_conditions(MerchantRow.created_at, params.created)
        if status is not None:
            filters.append(MerchantRow.status == status.value)
        rows: Sequence[MerchantRow]
        # The platform's list: no owner, any merchant is a cursor.
        rows, has_more = await owned_page(
            session, MerchantRow, params, owner=(), filters=filters, object_name="account"
        )
        return await self.accounts(session, rows), has_more

    async def _locked(self, session: AsyncSession, merchant_id: str) -> MerchantRow:
        row = await session.get(
            MerchantRow, merchant_id, with_for_update=True, populate_existing=True
        )
        if row is None:
            raise ResourceMissingError.for_object("account", merchant_id, param="account")
        return row

    async def suspend(self, session: AsyncSession, merchant_id: str, reason: str) -> AccountView:
        """Every key of a suspended merchant, test keys included, is refused with 403. Suspending
        a suspended merchant replaces the reason."""
        invariant(0 < len(reason) <= REASON_CHARS_MAX, "suspension reason checked at the edge")
        await self._locked(session, merchant_id)
        await self.set_status(session, merchant_id, MerchantStatus.suspended, reason=reason)
        return await self.account(session, merchant_id)

    async def reactivate(self, session: AsyncSession, merchant_id: str) -> AccountView:
        """Lifts a suspension: back to active if the KYC is approved, else to pending KYC. An
        account that is not suspended is left as it is."""
        row = await self._locked(session, merchant_id)
        if row.status == MerchantStatus.suspended:
            approved = await kyc_service.approved_kinds(session, merchant_id)
            complete = kyc_complete(approved)
            status = MerchantStatus.active if complete else MerchantStatus.pending_kyc
            await self.set_status(session, merchant_id, status)
        return await self.account(session, merchant_id)

    async def activate_without_review(self, session: AsyncSession, merchant_id: str) -> AccountView:
        """For development and test installs only (``beyondpay merchants activate``): live keys
        work without a KYC review. A suspension is not lifted this way."""
        row = await self._locked(session, merchant_id)
        if row.status == MerchantStatus.suspended:
            raise AccountUnexpectedStateError(
                "The account is suspended; a platform admin reactivates it."
            )
        await self.set_status(session, merchant_id, MerchantStatus.active)
        return await self.account(session, merchant_id)


class KycService:
    async def submit(
        self,
        session: AsyncSession,
        ring: KeyRing,
        merchant_id: str,
        kind: KycKind,
        sent: Mapping[str, str] | None,
    ) -> KycDocumentView:
        """A document pending review. It replaces a document of its kind still pending; an
        approved one stays in force until this one is approved."""
        details = checked_details(kind, sent)
        await merchant_service._locked(session, merchant_id)
        if kind is KycKind.gst:
            pan = await self._current_pan(session, ring, merchant_id)
            if pan is not None and gstin_pan(details["number"]) != pan:
                raise GstinPanMismatchError(
                    "The GSTIN does not embed the PAN on file for this account.",
                    param="gst[number]",
                )
        await session.execute(
            update(KycDocumentRow)
            .where(
                KycDocumentRow.merchant_id == merchant_id,
                KycDocumentRow.kind == kind.value,
                KycDocumentRow.status == KycStatus.pending_review.value,
            )
            .values(status=KycStatus.superseded.value)
        )
        document_id = new_id("kyc")
        row = KycDocumentRow(
            id=document_id,
            merchant_id=merchant_id,
            kind=kind.value,
            # Bound to the row id: a sealed value copied to another document does not open.
            details_sealed=ring.seal(orjson.dumps(details), context=document_id),
            details_masked=masked_details(kind, details),
            status=KycStatus.pending_review.value,
            created_at=utcnow(),
        )
        session.add(row)
        await session.flush()
        return _kyc_view(row)

    async def _current_pan(
        self, session: AsyncSession, ring: KeyRing, merchant_id: str
    ) -> str | None:
        row = (
            await session.execute(
                select(KycDocumentRow)
                .where(
                    KycDocumentRow.merchant_id == merchant_id,
                    KycDocumentRow.kind == KycKind.pan.value,
                    KycDocumentRow.status.in_([KycStatus.approved, KycStatus.pending_review]),
                )
                .order_by(KycDocumentRow.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        if row is None:
            return None
        details = orjson.loads(ring.open(row.details_sealed, context=row.id))
        return str(details["number"])

    async def reveal(
        self, session: AsyncSession, ring: KeyRing, document_id: str
    ) -> tuple[KycDocumentView, dict[str, str]]:
        """A document and its details in full, for a reviewer: the only way they leave the
        seal. The caller audits the read."""
        row = await session.get(KycDocumentRow, document_id)
        if row is None:
            raise ResourceMissingError.for_object("kyc_document", document_id, param="document")
        details = orjson.loads(ring.open(row.details_sealed, context=row.id))
        return _kyc_view(row), {str(key): str(value) for key, value in details.items()}

    async def list_documents(
        self,
        session: AsyncSession,
        params: ListParams,
        merchant_id: str | None,
        status: KycStatus | None = None,
    ) -> tuple[list[KycDocumentView], bool]:
        """A page of one merchant's documents, or of every merchant's (a review queue), newest
        first, optionally in one status."""
        # Every merchant's (the review queue) has no owner: any document is a cursor of it.
        owner = [] if merchant_id is None else [KycDocumentRow.merchant_id == merchant_id]
        filters = created_conditions(KycDocumentRow.created_at, params.created)
        if status is not None:
            filters.append(KycDocumentRow.status == status.value)
        rows: Sequence[KycDocumentRow]
        rows, has_more = await owned_page(
            session,
            KycDocumentRow,
            params,
            owner=owner,
            filters=filters,
            object_name="kyc_document",
        )
        return [_kyc_view(row) for row in rows], has_more

    async def approved_kinds(self, session: AsyncSession, merchant_id: str) -> set[KycKind]:
        kinds = await session.scalars(
            select(KycDocumentRow.kind).where(
                KycDocumentRow.merchant_id == merchant_id,
                KycDocumentRow.status == KycStatus.approved.value,
            )
        )
        return {KycKind(kind) for kind in kinds}

    async def approved_gstin(
        self, session: AsyncSession, ring: KeyRing, merchant_id: str
    ) -> str | None:
        """The merchant's GSTIN once approved (None for a business without GST registration).
        A GSTIN is printed on every tax document the business issues, so it leaves the seal
        for receipts; the PAN and bank account never do."""
        row = (
            await session.execute(
                select(KycDocumentRow)
                .where(
                    KycDocumentRow.merchant_id == merchant_id,
                    KycDocumentRow.kind == KycKind.gst.value,
                    KycDocumentRow.status == KycStatus.approved.value,
                )
                .order_by(KycDocumentRow.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        if row is None:
            return None
        details = orjson.loads(ring.open(row.details_sealed, context=row.id))
        return str(details["number"])

    async def _pending(self, session: AsyncSession, document_id: str) -> KycDocumentRow:
        """The document, locked after its merchant (the order every review takes)."""
        merchant_id = await session.scalar(
            select(KycDocumentRow.merchant_id).where(KycDocumentRow.id == document_id)
        )
        if merchant_id is None:
            raise ResourceMissingError.for_object("kyc_document", document_id, param="document")
        await merchant_service._locked(session, merchant_id)
        row = await session.get(
            KycDocumentRow, document_id, with_for_update=True, populate_existing=True
        )
        invariant(row is not None, "KYC documents are never deleted")
        if row is None or row.status != KycStatus.pending_review:
            status = row.status if row else "gone"
            raise KycDocumentUnexpectedStateError(
                f"This document is {status}; only a document pending review can be reviewed."
            )
        return row

    async def approve(self, session: AsyncSession, document_id: str) -> KycDocumentView:
        """Approves the document (retiring the approved one of its kind); a merchant pending
        KYC becomes active once its PAN and bank account are approved."""
        row = await self._pending(session, document_id)
        merchant_id = row.merchant_id
        await session.execute(
            update(KycDocumentRow)
            .where(
                KycDocumentRow.merchant_id == merchant_id,
                KycDocumentRow.kind == row.kind,
                KycDocumentRow.status == KycStatus.approved.value,
            )
            .values(status=KycStatus.superseded.value)
        )
        row.status = KycStatus.approved.value
        row.reviewed_at = utcnow()
        await session.flush()
        merchant = await merchant_service._locked(session, merchant_id)
        if merchant.status == MerchantStatus.pending_kyc and kyc_complete(
            await self.approved_kinds(session, merchant_id)
        ):
            await merchant_service.set_status(session, merchant_id, MerchantStatus.active)
        return _kyc_view(row)

    async def reject(self, session: AsyncSession, document_id: str, reason: str) -> KycDocumentView:
        """Rejects the document with a reason the merchant sees; it may send a new one."""
        invariant(0 < len(reason) <= REASON_CHARS_MAX, "rejection reason checked at the edge")
        row = await self._pending(session, document_id)
        row.status = KycStatus.rejected.value
        row.rejection_reason = reason
        row.reviewed_at = utcnow()
        await session.flush()
        return _kyc_view(row)


def checked_scopes(values: Sequence[str]) -> list[str]:
    """The scopes of a restricted key; a 400 naming ``scopes[i]`` for an unknown scope or one
    only a secret key may hold."""
    if not values:
        raise InvalidRequestError("A restricted key needs at least one scope.", param="scopes")
    scopes: list[str] = []
    for index, value in enumerate(values):
        try:
            scope = Scope(value)
        except ValueError:
            raise ScopeInvalidError(
                f"scopes[{index}] is not a known scope: scopes are <resource>:read or"
                " <resource>:write, such as customers:read.",
                param=f"scopes[{index}]",
            ) from None
        if scope in SCOPES_SECRET_ONLY:
            raise ScopeNotGrantableError(
                f"scopes[{index}] can be held only by a secret key.", param=f"scopes[{index}]"
            )
        scopes.append(scope.value)
    return scopes


def checked_allowed_ips(values: Sequence[str] | None) -> list[str] | None:
    if not values:
        return None
    if len(values) > ALLOWED_IPS_MAX:
        raise InvalidRequestError(
            f"At most {ALLOWED_IPS_MAX} networks may be allowed.", param="allowed_ips"
        )
    try:
        return parse_allowed_ips(values)
    except ValueError as exc:
        param = f"allowed_ips[{exc}]"
        raise InvalidRequestError(
            f"{param} is not an IP address or a network in CIDR form.", param=param
        ) from None


class ApiKeyService:
    async def issue(
        self,
        session: AsyncSession,
        ring: KeyRing,
        *,
        merchant_id: str | None,
        kind: KeyKind,
        livemode: bool,
        name: str | None = None,
        scopes: Sequence[str] = (),
        allowed_ips: Sequence[str] | None = None,
        expires_at: datetime | None = None,
    ) -> IssuedKey:
        row, secret = await self._issue(
            session,
            ring,
            merchant_id=merchant_id,
            kind=kind,
            livemode=livemode,
            name=name,
            scopes=scopes,
            allowed_ips=allowed_ips,
            expires_at=expires_at,
        )
        return IssuedKey(row.id, kind, livemode, secret, row.redacted, row.created_at)

    async def _issue(
        self,
        session: AsyncSession,
        ring: KeyRing,
        *,
        merchant_id: str | None,
        kind: KeyKind,
        livemode: bool,
        name: str | None = None,
        scopes: Sequence[str] = (),
        allowed_ips: Sequence[str] | None = None,
        expires_at: datetime | None = None,
    ) -> tuple[ApiKeyRow, str]:
        """The key's row and its text: stored is only its keyed fingerprint."""
        secret = new_key_text(kind, livemode)
        row = ApiKeyRow(
            id=new_id("key"),
            merchant_id=merchant_id,
            kind=kind.value,
            livemode=livemode,
            fingerprint=ring.fingerprint(secret),
            ring_key_id=ring.current_id,
            redacted=redact_key(secret),
            name=name,
            scopes=sorted(set(scopes)),
            allowed_ips=list(allowed_ips) if allowed_ips else None,
            created_at=utcnow(),
            expires_at=expires_at,
        )
        session.add(row)
        await session.flush()
        return row, secret

    async def authenticate(self, session: AsyncSession, ring: KeyRing, text: str) -> Caller:
        """The caller a key names; ``AuthenticationError`` for a malformed, unknown, revoked or
        expired key. The message shows the key redacted, never whole. A key that authenticated
        is remembered for up to a second (``merchants.caller_cache``), its expiry checked on
        every use."""
        parsed = parse_key_text(text)
        if parsed is None:
            raise AuthenticationError("Invalid API key provided.")
        shown = redact_key(text)
        cached = callers.get(ring, text)
        if cached is not None:
            if cached.expires_at is not None and cached.expires_at <= utcnow():
                raise ApiKeyExpiredError(f"Expired API key provided: {shown}")
            return cached.caller
        generation = callers.generation
        statement = (
            select(ApiKeyRow, MerchantRow.status)
            .outerjoin(MerchantRow, MerchantRow.id == ApiKeyRow.merchant_id)
            .where(ApiKeyRow.fingerprint.in_(ring.fingerprints(text)))
        )
        found = (await session.execute(statement)).first()
        if found is None:
            raise AuthenticationError(f"Invalid API key provided: {shown}")
        row, merchant_status = found
        now = utcnow()
        if row.revoked_at is not None or (row.kind, row.livemode) != (parsed[0].value, parsed[1]):
            raise AuthenticationError(f"Invalid API key provided: {shown}")
        if row.expires_at is not None and row.expires_at <= now:
            raise ApiKeyExpiredError(f"Expired API key provided: {shown}")
        caller = Caller(
            key_id=row.id,
            kind=KeyKind(row.kind),
            livemode=row.livemode,
            merchant_id=row.merchant_id,
            merchant_status=MerchantStatus(merchant_status) if merchant_status else None,
            scopes=frozenset(row.scopes),
            allowed_ips=tuple(str(network) for network in row.allowed_ips or ()),
            last_used_at=row.last_used_at,
        )
        callers.put(ring, text, caller, row.expires_at, generation)
        return caller

    async def list_keys(
        self, session: AsyncSession, caller: Caller, params: ListParams
    ) -> tuple[list[ApiKeyView], bool]:
        """A page of the caller's keys in its mode that are not revoked, newest first."""
        rows: Sequence[ApiKeyRow]
        rows, has_more = await scoped_page(
            session,
            ApiKeyRow,
            caller.merchant,
            caller.livemode,
            params,
            ApiKeyRow.revoked_at.is_(None),
            *created_conditions(ApiKeyRow.created_at, params.created),
            object_name="api_key",
        )
        return [_key_view(row) for row in rows], has_more

    async def _owned(self, session: AsyncSession, caller: Caller, key_id: str) -> ApiKeyRow:
        """The caller's key in the caller's mode, locked; 404 otherwise (another merchant's key
        or a key of the other mode is indistinguishable from an unknown id)."""
        row = await session.get(ApiKeyRow, key_id, with_for_update=True, populate_existing=True)
        if row is None or (row.merchant_id, row.livemode) != (caller.merchant, caller.livemode):
            raise ResourceMissingError.for_object("api_key", key_id, param="key")
        return row

    async def create_restricted(
        self,
        session: AsyncSession,
        ring: KeyRing,
        caller: Caller,
        *,
        scopes: Sequence[str],
        name: str | None = None,
        allowed_ips: Sequence[str] | None = None,
    ) -> KeyWithSecret:
        """A restricted key of the caller's merchant and mode holding only ``scopes``."""
        granted = checked_scopes(scopes)
        networks = checked_allowed_ips(allowed_ips)
        row, secret = await self._issue(
            session,
            ring,
            merchant_id=caller.merchant,
            kind=KeyKind.restricted,
            livemode=caller.livemode,
            name=name or None,
            scopes=granted,
            allowed_ips=networks,
        )
        return KeyWithSecret(_key_view(row), secret)

    async def roll(
        self, session: AsyncSession, ring: KeyRing, caller: Caller, key_id: str, overlap_s: int
    ) -> tuple[KeyWithSecret, ApiKeyView]:
        """A new key like the old one (kind, mode, name, scopes, networks); the old one keeps
        working for ``overlap_s`` seconds, so deployments can switch without downtime."""
        invariant(0 <= overlap_s <= ROLL_OVERLAP_S_MAX, "roll overlap checked at the edge")
        old = await self._owned(session, caller, key_id)
        now = utcnow()
        if old.revoked_at is not None:
            raise ApiKeyUnexpectedStateError("A revoked key cannot be rolled.")
        if old.rolled_to is not None:
            raise ApiKeyUnexpectedStateError(
                f"This key was already rolled to {old.rolled_to}; roll that key instead."
            )
        if old.expires_at is not None and old.expires_at <= now:
            raise ApiKeyUnexpectedStateError("An expired key cannot be rolled.")
        new, secret = await self._issue(
            session,
            ring,
            merchant_id=old.merchant_id,
            kind=KeyKind(old.kind),
            livemode=old.livemode,
            name=old.name,
            scopes=old.scopes,
            allowed_ips=[str(network) for network in old.allowed_ips or ()],
        )
        overlap_end = now + timedelta(seconds=overlap_s)
        if old.expires_at is None or overlap_end < old.expires_at:
            old.expires_at = overlap_end
        old.rolled_to = new.id
        await session.flush()
        return KeyWithSecret(_key_view(new), secret), _key_view(old)

    async def revoke(self, session: AsyncSession, caller: Caller, key_id: str) -> ApiKeyView:
        """Stops the key at once. The last working secret or publishable key of a mode is
        rolled, not revoked."""
        row = await self._owned(session, caller, key_id)
        if row.revoked_at is not None:
            raise ApiKeyUnexpectedStateError("This key is already revoked.")
        now = utcnow()
        if row.kind in KINDS_KEPT:
            others = await session.scalar(
                select(func.count())
                .select_from(ApiKeyRow)
                .where(
                    ApiKeyRow.merchant_id == row.merchant_id,
                    ApiKeyRow.livemode == row.livemode,
                    ApiKeyRow.kind == row.kind,
                    ApiKeyRow.id != row.id,
                    ApiKeyRow.revoked_at.is_(None),
                    (ApiKeyRow.expires_at.is_(None)) | (ApiKeyRow.expires_at > now),
                )
            )
            if not others:
                raise LastApiKeyError()
        row.revoked_at = now
        await session.flush()
        return _key_view(row)


merchant_service = MerchantService()
kyc_service = KycService()
api_key_service = ApiKeyService()
