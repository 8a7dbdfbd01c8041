"""PSP identity use cases: payers, OTPs, the sandbox SMS sink and sessions. Never commits.

Other parts of the PSP reach identity only through the services here (``payer_service``,
``session_service``, and in phase 2 ``device_service`` and ``passkey_service``).

Events: a payer is its own scope. Events are kept per ``(merchant_id, livemode)``; PSP events use
the payer's id as ``merchant_id`` and ``livemode`` false, exactly as the payer's
:class:`~beyondpay.merchants.domain.Caller` does for idempotency keys and the audit trail, so
each payer's events are numbered gap-free in their own sequence. No event holds a mobile number
(only its masked form), an OTP or a token.

OTPs record no events: an OTP is a credential that exists before any payer does (sign-up), and
each send is in the audit trail of the request that made it.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from pydantic import SecretStr
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.events.service import event_service
from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import BeyondpayError, ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.psp.identity.domain import (
    ACCESS_TOKEN_PREFIX,
    ACCESS_TOKEN_TTL_S,
    OTP_ATTEMPTS_MAX,
    OTP_SEND_WINDOW_S,
    OTP_SENDS_MAX,
    OTP_TTL_S,
    REFRESH_TOKEN_PREFIX,
    REFRESH_TOKEN_TTL_S,
    OtpPurpose,
    PayerStatus,
    is_otp_shaped,
    mask_mobile,
    mobile_label,
    new_otp_code,
    new_token,
    normalise_mobile,
    otp_label,
    otp_sms_text,
    token_label,
)
from beyondpay.psp.identity.errors import (
    MobileAlreadyRegisteredError,
    OtpAttemptsExceededError,
    OtpExpiredError,
    OtpInvalidError,
    OtpSendLimitError,
    RefreshTokenInvalidError,
    RefreshTokenReusedError,
    SessionInvalidError,
)
from beyondpay.psp.identity.models import (
    OtpRow,
    PayerRow,
    RetiredRefreshTokenRow,
    SandboxSmsRow,
    SessionRow,
)
from beyondpay.psp.identity.schemas import payer_object, session_event_object

__all__ = [
    "OtpCheck",
    "PayerRow",
    "SessionRow",
    "device_service",
    "otp_service",
    "payer_service",
    "sandbox_sms_service",
    "session_service",
    "signup_service",
]

# Every PSP event is test mode: the PSP runs on the sandbox banks (see module docstring).
PSP_LIVEMODE: Final = False
# A payer's sessions alive at once; signing in again beyond this ends the oldest.
SESSIONS_PER_PAYER_MAX: Final = 20
_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))")


async def _lock(session: AsyncSession, name: str) -> None:
    """A transaction-scoped lock on a name: serialises sends and sign-ups of one number."""
    await session.execute(_LOCK, {"name": name})


async def _record(session: AsyncSession, payer_id: str, type: str, object: dict[str, Any]) -> None:
    await event_service.record(
        session, merchant_id=payer_id, livemode=PSP_LIVEMODE, type=type, object=object
    )


def _mobile_seal_context(payer_id: str) -> str:
    return f"psp_payers.mobile:{payer_id}"


class PayerService:
    async def get(self, session: AsyncSession, payer_id: str) -> PayerRow:
        row = await session.get(PayerRow, payer_id)
        if row is None:
            raise ResourceMissingError.for_object("psp_payer", payer_id, param="payer")
        return row

    async def get_for_update(self, session: AsyncSession, payer_id: str) -> PayerRow:
        row = await session.get(PayerRow, payer_id, with_for_update=True, populate_existing=True)
        if row is None:
            raise ResourceMissingError.for_object("psp_payer", payer_id, param="payer")
        return row

    def mobile_of(self, ring: KeyRing, row: PayerRow) -> SecretStr:
        """The payer's ten-digit mobile number, opened from its sealed column."""
        opened = ring.open(row.mobile_sealed, context=_mobile_seal_context(row.id))
        return SecretStr(opened.decode())

    async def find_by_mobile(
        self, session: AsyncSession, ring: KeyRing, mobile: SecretStr
    ) -> PayerRow | None:
        """The payer with this mobile number (any accepted spelling), or None. A malformed
        number is a 400 naming ``mobile``."""
        digits = normalise_mobile(mobile)
        found = await session.execute(
            select(PayerRow).where(
                PayerRow.mobile_fingerprint.in_(ring.fingerprints(mobile_label(digits)))
            )
        )
        return found.scalars().first()

    def is_frozen(self, row: PayerRow) -> bool:
        return row.status == PayerStatus.frozen.value

    async def create(
        self, session: AsyncSession, ring: KeyRing, mobile: SecretStr, name: str
    ) -> PayerRow:
        """A new payer; ``mobile`` is normalised already and known to be free (the caller holds
        the number's lock)."""
        now = utcnow()
        payer_id = new_id("pyr")
        row = PayerRow(
            id=payer_id,
            name=name,
            mobile_fingerprint=ring.fingerprint(mobile_label(mobile)),
            mobile_sealed=ring.seal(
                mobile.get_secret_value().encode(), context=_mobile_seal_context(payer_id)
            ),
            mobile_masked=mask_mobile(mobile),
            status=PayerStatus.active.value,
            frozen_at=None,
            sessions_valid_after=None,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        await session.flush()
        await _record(session, row.id, "psp.payer.created", payer_object(row))
        return row


payer_service = PayerService()


@dataclass(frozen=True, slots=True)
class OtpCheck:
    """The verdict on a presented OTP: its id when right, else the error to answer with. A
    verdict rather than a raise, so that a wrong try is committed before the error is sent."""

    otp_id: str | None
    failure: BeyondpayError | None


class OtpService:
    async def send(
        self,
        session: AsyncSession,
        ring: KeyRing,
        mobile: SecretStr,
        purpose: OtpPurpose,
        *,
        deliver: bool,
    ) -> OtpRow:
        """A new OTP for ``mobile`` (normalised), superseding any earlier one of that purpose.
        ``deliver`` false stores it without an SMS: a login OTP for a number without a payer is
        made all the same, so that the answer and the send limit do not reveal who has one."""
        fingerprint = ring.fingerprint(mobile_label(mobile))
        await _lock(session, f"psp-otp:{fingerprint.hex()}")
        now = utcnow()
        window_start = now - timedelta(seconds=OTP_SEND_WINDOW_S)
        fingerprints = ring.fingerprints(mobile_label(mobile))
        sends = await session.scalar(
            select(func.count())
            .select_from(OtpRow)
            .where(OtpRow.mobile_fingerprint.in_(fingerprints), OtpRow.created_at > window_start)
        )
        if (sends or 0) >= OTP_SENDS_MAX:
            oldest = await session.scalar(
                select(func.min(OtpRow.created_at)).where(
                    OtpRow.mobile_fingerprint.in_(fingerprints), OtpRow.created_at > window_start
                )
            )
            retry_after_s = OTP_SEND_WINDOW_S
            if oldest is not None:
                retry_after_s = max(1, int((oldest - window_start).total_seconds()) + 1)
            raise OtpSendLimitError(headers={"Retry-After": str(retry_after_s)})
        await session.execute(
            update(OtpRow)
            .where(
                OtpRow.mobile_fingerprint.in_(fingerprints),
                OtpRow.purpose == purpose.value,
                OtpRow.consumed_at.is_(None),
                OtpRow.superseded_at.is_(None),
            )
            .values(superseded_at=now)
        )
        otp_id = new_id("otp")
        code = new_otp_code()
        row = OtpRow(
            id=otp_id,
            mobile_fingerprint=fingerprint,
            purpose=purpose.value,
            code_fingerprint=ring.fingerprint(otp_label(otp_id, purpose, mobile, code)),
            attempts=0,
            expires_at=now + timedelta(seconds=OTP_TTL_S),
            consumed_at=None,
            superseded_at=None,
            created_at=now,
        )
        session.add(row)
        if deliver:
            await sandbox_sms_service.deliver(session, ring, mobile, otp_sms_text(code, purpose))
        await session.flush()
        return row

    async def check(
        self,
        session: AsyncSession,
        ring: KeyRing,
        mobile: SecretStr,
        purpose: OtpPurpose,
        code: SecretStr,
    ) -> OtpCheck:
        """Checks ``code`` against the newest OTP of this number and purpose, under its row
        lock, so that concurrent guesses are counted one by one: a wrong try counts, and the
        ``OTP_ATTEMPTS_MAX``-th kills the OTP. Meant for a transaction of its own that commits
        whatever the verdict; the OTP is consumed later, in the use case's transaction."""
        found = await session.execute(
            select(OtpRow)
            .where(
                OtpRow.mobile_fingerprint.in_(ring.fingerprints(mobile_label(mobile))),
                OtpRow.purpose == purpose.value,
                OtpRow.superseded_at.is_(None),
            )
            .order_by(OtpRow.created_at.desc())
            .limit(1)
            .with_for_update()
        )
        row = found.scalars().first()
        if row is None or row.consumed_at is not None:
            return OtpCheck(None, OtpInvalidError(param="otp"))
        if row.attempts >= OTP_ATTEMPTS_MAX:
            return OtpCheck(None, OtpAttemptsExceededError(param="otp"))
        if row.expires_at <= utcnow():
            return OtpCheck(None, OtpExpiredError(param="otp"))
        if is_otp_shaped(code) and _code_matches(ring, row, purpose, mobile, code):
            return OtpCheck(row.id, None)
        row.attempts += 1
        await session.flush()
        if row.attempts >= OTP_ATTEMPTS_MAX:
            return OtpCheck(None, OtpAttemptsExceededError(param="otp"))
        return OtpCheck(None, OtpInvalidError(param="otp"))

    async def consume(self, session: AsyncSession, otp_id: str) -> None:
        """Uses up a checked OTP in the use case's transaction; an OTP consumed meanwhile (the
        same code sent twice at once), expired or killed is refused."""
        now = utcnow()
        consumed = await session.execute(
            update(OtpRow)
            .where(
                OtpRow.id == otp_id,
                OtpRow.consumed_at.is_(None),
                OtpRow.superseded_at.is_(None),
                OtpRow.attempts < OTP_ATTEMPTS_MAX,
                OtpRow.expires_at > now,
            )
            .values(consumed_at=now)
            .returning(OtpRow.id)
        )
        if consumed.first() is None:
            raise OtpInvalidError(param="otp")


def _code_matches(
    ring: KeyRing, row: OtpRow, purpose: OtpPurpose, mobile: SecretStr, code: SecretStr
) -> bool:
    label = otp_label(row.id, purpose, mobile, code.get_secret_value())
    return any(hmac.compare_digest(row.code_fingerprint, each) for each in ring.fingerprints(label))


otp_service = OtpService()


def _sms_seal_context(sms_id: str) -> str:
    return f"psp_sandbox_sms.body:{sms_id}"


class SandboxSmsService:
    """The sandbox's SMS sink: what a real SMS sender would send is kept here, sealed, and read
    back through ``GET /v1/psp/sandbox/sms``. A live sender plugs in where ``deliver`` is
    called (``OtpService.send``)."""

    async def deliver(
        self, session: AsyncSession, ring: KeyRing, mobile: SecretStr, body: str
    ) -> None:
        sms_id = new_id("sms")
        session.add(
            SandboxSmsRow(
                id=sms_id,
                mobile_fingerprint=ring.fingerprint(mobile_label(mobile)),
                body_sealed=ring.seal(body.encode(), context=_sms_seal_context(sms_id)),
                created_at=utcnow(),
            )
        )

    async def list(
        self, session: AsyncSession, ring: KeyRing, mobile: SecretStr, limit: int
    ) -> list[tuple[SandboxSmsRow, str]]:
        """The newest ``limit`` messages to ``mobile`` (normalised), opened."""
        found = await session.execute(
            select(SandboxSmsRow)
            .where(SandboxSmsRow.mobile_fingerprint.in_(ring.fingerprints(mobile_label(mobile))))
            .order_by(SandboxSmsRow.id.desc())
            .limit(limit)
        )
        return [
            (row, ring.open(row.body_sealed, context=_sms_seal_context(row.id)).decode())
            for row in found.scalars()
        ]


sandbox_sms_service = SandboxSmsService()


@dataclass(frozen=True, slots=True)
class IssuedSession:
    """A session with the tokens just issued for it (shown once, never stored)."""

    row: SessionRow
    payer: PayerRow
    access_token: SecretStr
    refresh_token: SecretStr


def _fingerprints(ring: KeyRing, token: SecretStr) -> Sequence[bytes]:
    return ring.fingerprints(token_label(token))


class SessionService:
    async def start(
        self, session: AsyncSession, ring: KeyRing, payer: PayerRow, device_id: str | None
    ) -> IssuedSession:
        """A new session for ``payer`` (on ``device_id``, a device the caller has checked is
        the payer's and bound, or None)."""
        now = utcnow()
        access, refresh = new_token(ACCESS_TOKEN_PREFIX), new_token(REFRESH_TOKEN_PREFIX)
        row = SessionRow(
            id=new_id("pss"),
            payer_id=payer.id,
            device_id=device_id,
            access_fingerprint=ring.fingerprint(token_label(access)),
            access_expires_at=now + timedelta(seconds=ACCESS_TOKEN_TTL_S),
            refresh_fingerprint=ring.fingerprint(token_label(refresh)),
            refresh_expires_at=now + timedelta(seconds=REFRESH_TOKEN_TTL_S),
            revoked_at=None,
            revoked_reason=None,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        await session.flush()
        await _record(session, payer.id, "psp.session.created", session_event_object(row))
        await self._end_oldest_beyond_limit(session, payer.id)
        return IssuedSession(row, payer, access, refresh)

    async def _end_oldest_beyond_limit(self, session: AsyncSession, payer_id: str) -> None:
        alive = await session.execute(
            select(SessionRow)
            .where(SessionRow.payer_id == payer_id, SessionRow.revoked_at.is_(None))
            .order_by(SessionRow.created_at.desc(), SessionRow.id.desc())
            .offset(SESSIONS_PER_PAYER_MAX)
            .with_for_update()
        )
        for row in alive.scalars():
            await self._revoke_row(session, row, "sessions_max")

    async def authenticate(self, session: AsyncSession, ring: KeyRing, token: str) -> SessionRow:
        """The live session of an access token: not expired, not revoked, created after the
        payer's last "log out everywhere". Anything else is a 401."""
        if not token.startswith(ACCESS_TOKEN_PREFIX) or len(token) > 100:
            raise SessionInvalidError()
        now = utcnow()
        found = await session.execute(
            select(SessionRow)
            .join(PayerRow, PayerRow.id == SessionRow.payer_id)
            .where(
                SessionRow.access_fingerprint.in_(_fingerprints(ring, SecretStr(token))),
                SessionRow.revoked_at.is_(None),
                SessionRow.access_expires_at > now,
                (PayerRow.sessions_valid_after.is_(None))
                | (SessionRow.created_at > PayerRow.sessions_valid_after),
            )
        )
        row = found.scalars().first()
        if row is None:
            raise SessionInvalidError()
        return row

    async def refresh(
        self, session: AsyncSession, ring: KeyRing, refresh_token: SecretStr
    ) -> IssuedSession:
        """Rotates both tokens of the refresh token's session. A refresh token presented after
        it was rotated away raises :class:`RefreshTokenReusedError` (the route then revokes the
        session: whoever holds the other copy must sign in again)."""
        fingerprints = _fingerprints(ring, refresh_token)
        now = utcnow()
        found = await session.execute(
            select(SessionRow)
            .where(SessionRow.refresh_fingerprint.in_(fingerprints))
            .with_for_update()
        )
        row = found.scalars().first()
        if row is None:
            retired = await session.execute(
                select(RetiredRefreshTokenRow.session_id).where(
                    RetiredRefreshTokenRow.fingerprint.in_(fingerprints)
                )
            )
            session_id = retired.scalars().first()
            if session_id is not None:
                raise RefreshTokenReusedError(session_id)
            raise RefreshTokenInvalidError(param="refresh_token")
        payer = await payer_service.get(session, row.payer_id)
        if (
            row.revoked_at is not None
            or row.refresh_expires_at <= now
            or (
                payer.sessions_valid_after is not None
                and row.created_at <= payer.sessions_valid_after
            )
        ):
            raise RefreshTokenInvalidError(param="refresh_token")
        session.add(
            RetiredRefreshTokenRow(
                fingerprint=row.refresh_fingerprint, session_id=row.id, retired_at=now
            )
        )
        access, refresh = new_token(ACCESS_TOKEN_PREFIX), new_token(REFRESH_TOKEN_PREFIX)
        row.access_fingerprint = ring.fingerprint(token_label(access))
        row.access_expires_at = now + timedelta(seconds=ACCESS_TOKEN_TTL_S)
        row.refresh_fingerprint = ring.fingerprint(token_label(refresh))
        row.refresh_expires_at = now + timedelta(seconds=REFRESH_TOKEN_TTL_S)
        row.updated_at = now
        await session.flush()
        await _record(session, row.payer_id, "psp.session.refreshed", session_event_object(row))
        return IssuedSession(row, payer, access, refresh)

    async def revoke(self, session: AsyncSession, session_id: str, reason: str) -> bool:
        """Ends one session (idempotently: an ended one stays as it was). True if it was live."""
        row = await session.get(
            SessionRow, session_id, with_for_update=True, populate_existing=True
        )
        if row is None or row.revoked_at is not None:
            return False
        await self._revoke_row(session, row, reason)
        return True

    async def _revoke_row(self, session: AsyncSession, row: SessionRow, reason: str) -> None:
        invariant(row.revoked_at is None, "a session is revoked once")
        now = utcnow()
        row.revoked_at = now
        row.revoked_reason = reason
        row.updated_at = now
        await session.flush()
        await _record(session, row.payer_id, "psp.session.revoked", session_event_object(row))

    async def revoke_where(
        self, session: AsyncSession, payer_id: str, reason: str, *, device_id: str | None = None
    ) -> int:
        """Ends every live session of the payer (only those on ``device_id`` when given)."""
        statement = select(SessionRow).where(
            SessionRow.payer_id == payer_id, SessionRow.revoked_at.is_(None)
        )
        if device_id is not None:
            statement = statement.where(SessionRow.device_id == device_id)
        alive = await session.execute(statement.order_by(SessionRow.id).with_for_update())
        rows = list(alive.scalars())
        for row in rows:
            await self._revoke_row(session, row, reason)
        return len(rows)

    async def revoke_everywhere(self, session: AsyncSession, payer_id: str) -> int:
        """ "Log out everywhere": every session of the payer ends, and any token issued before
        now stops working even if a session row were missed (``sessions_valid_after``)."""
        payer = await payer_service.get_for_update(session, payer_id)
        now = utcnow()
        payer.sessions_valid_after = now
        payer.updated_at = now
        count = await self.revoke_where(session, payer_id, "logout_everywhere")
        await _record(session, payer_id, "psp.payer.sessions_revoked", payer_object(payer))
        return count


session_service = SessionService()


class DeviceService:
    async def bound_at(self, session: AsyncSession, device_id: str) -> datetime | None:
        """When ``device_id`` was bound to its payer; None if it is not bound (or revoked).
        Devices arrive with migration 0013: until then no device is bound."""
        return None


device_service = DeviceService()


class SignupService:
    """Sign-up and login by OTP: the OTP was checked (``otp_service.check``) in its own
    transaction; here it is consumed with the rest of the use case."""

    async def sign_up(
        self,
        session: AsyncSession,
        ring: KeyRing,
        *,
        otp_id: str,
        mobile: SecretStr,
        name: str,
    ) -> IssuedSession:
        await _lock(session, f"psp-payer:{ring.fingerprint(mobile_label(mobile)).hex()}")
        await otp_service.consume(session, otp_id)
        if await payer_service.find_by_mobile(session, ring, mobile) is not None:
            raise MobileAlreadyRegisteredError(param="mobile")
        payer = await payer_service.create(session, ring, mobile, name)
        return await session_service.start(session, ring, payer, None)

    async def log_in(
        self,
        session: AsyncSession,
        ring: KeyRing,
        *,
        otp_id: str,
        mobile: SecretStr,
        device_id: str | None,
    ) -> IssuedSession:
        await otp_service.consume(session, otp_id)
        payer = await payer_service.find_by_mobile(session, ring, mobile)
        if payer is None:
            raise OtpInvalidError(param="otp")
        return await session_service.start(session, ring, payer, device_id)


signup_service = SignupService()
