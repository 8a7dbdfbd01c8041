"""PSP identity use cases: payers, OTPs, the sandbox SMS sink and sessions. Never commits.

Other parts of the PSP reach identity only through the services here (``payer_service``,
``session_service``, and in phase 2 ``device_service`` and ``passkey_service``).

Events (``events.py``): a payer is its own scope, with its own gap-free sequence of events.

OTPs record no events: an OTP is a credential that exists before any payer does (sign-up), and
each send is in the audit trail of the request that made it.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from pydantic import SecretStr
from sqlalchemy import exists, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import BeyondpayError, ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.kit.upi import mask_mobile
from beyondpay.psp.identity.domain import (
    ACCESS_TOKEN_PREFIX,
    ACCESS_TOKEN_TTL_S,
    BINDING_ATTEMPTS_MAX,
    BINDING_TOKEN_TTL_S,
    BINDING_WINDOW_S,
    DEVICE_BLOCK_S,
    DEVICE_LINK_TTL_S,
    DEVICES_PER_PAYER_MAX,
    HANDOFF_TTL_S,
    OTP_ATTEMPTS_MAX,
    OTP_SEND_WINDOW_S,
    OTP_SENDS_MAX,
    OTP_TTL_S,
    PSP_LIVEMODE,
    REFRESH_TOKEN_PREFIX,
    REFRESH_TOKEN_TTL_S,
    DeviceLinkStatus,
    DeviceStatus,
    OtpPurpose,
    PayerStatus,
    binding_label,
    binding_token,
    binding_token_parts,
    binding_token_valid,
    handoff_payload,
    handoff_secret,
    is_otp_shaped,
    mobile_label,
    new_otp_code,
    new_token,
    normalise_mobile,
    otp_label,
    otp_sms_text,
    token_label,
)
from beyondpay.psp.identity.errors import (
    BindingTokenInvalidError,
    BoundDeviceRequiredError,
    DeviceBindingBlockedError,
    DeviceLinkInvalidError,
    DeviceLinkRequiredError,
    DeviceNotBoundError,
    DevicesMaxError,
    HandoffInvalidError,
    MobileAlreadyRegisteredError,
    OtpAttemptsExceededError,
    OtpExpiredError,
    OtpInvalidError,
    OtpSendLimitError,
    PayerFrozenError,
    RefreshTokenInvalidError,
    RefreshTokenReusedError,
    SessionInvalidError,
)
from beyondpay.psp.identity.events import IdentityEvent, record
from beyondpay.psp.identity.models import (
    BindingAttemptRow,
    DeviceBlockRow,
    DeviceLinkRow,
    DeviceRow,
    HandoffRow,
    OtpRow,
    PasskeyRow,
    PayerRow,
    RetiredRefreshTokenRow,
    SandboxSmsRow,
    SessionRow,
)
from beyondpay.psp.identity.passkeys import Challenge, passkey_service
from beyondpay.psp.identity.schemas import (
    DeviceBindParams,
    PasskeyCreateParams,
    PasskeyLoginParams,
    StepUpParams,
    device_link_object,
    device_object,
    handoff_event_object,
    payer_object,
    session_event_object,
)

__all__ = [
    "PSP_LIVEMODE",
    "DeviceRow",
    "IssuedHandoff",
    "IssuedSession",
    "OtpCheck",
    "PayerRow",
    "SessionRow",
    "device_link_service",
    "device_service",
    "handoff_service",
    "otp_service",
    "passkey_enrolment_service",
    "passkey_service",
    "payer_service",
    "sandbox_sms_service",
    "session_service",
    "signup_service",
]

# A payer's sessions alive at once; signing in again beyond this ends the oldest.
SESSIONS_PER_PAYER_MAX: Final = 20
DEVICES_LISTED_MAX: Final = 100
HANDOFF_SECRET_PREFIX: Final = "psh_"  # noqa: S105 (a prefix, not a secret)
_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))")


async def _lock(session: AsyncSession, name: str) -> None:
    """A transaction-scoped lock on a name: serialises sends and sign-ups of one number."""
    await session.execute(_LOCK, {"name": name})


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

    async def freeze(self, session: AsyncSession, payer_id: str) -> PayerRow:
        """Remote freeze: the payer can pay no one until unfrozen (with a passkey). Freezing a
        frozen payer changes nothing."""
        row = await self.get_for_update(session, payer_id)
        if self.is_frozen(row):
            return row
        now = utcnow()
        row.status, row.frozen_at, row.updated_at = PayerStatus.frozen.value, now, now
        await session.flush()
        await record(session, row.id, IdentityEvent.payer_frozen, payer_object(row))
        return row

    async def unfreeze_with_passkey(
        self, session: AsyncSession, payer_id: str, params: StepUpParams
    ) -> PayerRow:
        """Lifts a freeze once one of the payer's passkeys signed a step-up challenge."""
        await passkey_service.verify_step_up(
            session, payer_id, params.credential, params.challenge_id
        )
        return await self.unfreeze(session, payer_id)

    async def unfreeze(self, session: AsyncSession, payer_id: str) -> PayerRow:
        """Lifts a freeze; the caller has checked a passkey step-up."""
        row = await self.get_for_update(session, payer_id)
        if not self.is_frozen(row):
            return row
        row.status, row.frozen_at, row.updated_at = PayerStatus.active.value, None, utcnow()
        await session.flush()
        await record(session, row.id, IdentityEvent.payer_unfrozen, payer_object(row))
        return row

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
        await record(session, row.id, IdentityEvent.payer_created, payer_object(row))
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

    async def request(
        self, session: AsyncSession, ring: KeyRing, mobile: SecretStr, purpose: OtpPurpose
    ) -> OtpRow:
        """The OTP an app asks for: a sign-up's only for a number no payer has; a login's for
        any number, sent by SMS only where a payer has it (see ``send``)."""
        payer = await payer_service.find_by_mobile(session, ring, mobile)
        if purpose is OtpPurpose.signup and payer is not None:
            raise MobileAlreadyRegisteredError(param="mobile")
        deliver = purpose is OtpPurpose.signup or payer is not None
        return await self.send(session, ring, mobile, purpose, deliver=deliver)

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
    ) -> tuple[list[tuple[SandboxSmsRow, str]], bool]:
        """The newest ``limit`` messages to ``mobile`` (normalised), opened, and whether older
        ones remain. One row more than asked is read to tell: a page that happens to be full
        is not evidence of more."""
        found = await session.execute(
            select(SandboxSmsRow)
            .where(SandboxSmsRow.mobile_fingerprint.in_(ring.fingerprints(mobile_label(mobile))))
            .order_by(SandboxSmsRow.id.desc())
            .limit(limit + 1)
        )
        rows = list(found.scalars())
        opened = [
            (row, ring.open(row.body_sealed, context=_sms_seal_context(row.id)).decode())
            for row in rows[:limit]
        ]
        return opened, len(rows) > limit


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
        await record(session, payer.id, IdentityEvent.session_created, session_event_object(row))
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
                # A session on a device lives only while the device is bound (belt and braces:
                # revoking a device revokes its sessions too).
                SessionRow.device_id.is_(None)
                | exists().where(
                    DeviceRow.device_id == SessionRow.device_id,
                    DeviceRow.payer_id == SessionRow.payer_id,
                    DeviceRow.status == DeviceStatus.active.value,
                ),
            )
        )
        row = found.scalars().first()
        if row is None:
            raise SessionInvalidError()
        return row

    async def move_to_device(
        self, session: AsyncSession, session_id: str, device_id: str
    ) -> SessionRow | None:
        """Puts a live session on a device just bound; None if the session has ended."""
        row = await session.get(
            SessionRow, session_id, with_for_update=True, populate_existing=True
        )
        if row is None or row.revoked_at is not None:
            return None
        row.device_id = device_id
        row.updated_at = utcnow()
        await session.flush()
        await record(
            session, row.payer_id, IdentityEvent.session_updated, session_event_object(row)
        )
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
        await record(
            session, row.payer_id, IdentityEvent.session_refreshed, session_event_object(row)
        )
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
        await record(
            session, row.payer_id, IdentityEvent.session_revoked, session_event_object(row)
        )

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
        await record(session, payer_id, IdentityEvent.payer_sessions_revoked, payer_object(payer))
        return count


session_service = SessionService()


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
        return await session_service.start(
            session, ring, payer, await device_service.checked(session, payer.id, device_id)
        )

    async def log_in_with_passkey(
        self, session: AsyncSession, ring: KeyRing, params: PasskeyLoginParams
    ) -> IssuedSession:
        payer_id = await passkey_service.verify_login(
            session, params.challenge_id, params.credential
        )
        payer = await payer_service.get(session, payer_id)
        device_id = await device_service.checked(session, payer_id, params.device_id)
        return await session_service.start(session, ring, payer, device_id)


signup_service = SignupService()


class DeviceService:
    """Devices bound to payers by SIM attestation (see docs/psp.md, "Devices")."""

    async def bound_at(self, session: AsyncSession, device_id: str) -> datetime | None:
        """When ``device_id`` was bound to its payer; None if it is not bound (or revoked)."""
        bound: datetime | None = await session.scalar(
            select(DeviceRow.bound_at).where(
                DeviceRow.device_id == device_id, DeviceRow.status == DeviceStatus.active.value
            )
        )
        return bound

    async def active(
        self, session: AsyncSession, payer_id: str, device_id: str
    ) -> DeviceRow | None:
        found = await session.execute(
            select(DeviceRow).where(
                DeviceRow.payer_id == payer_id,
                DeviceRow.device_id == device_id,
                DeviceRow.status == DeviceStatus.active.value,
            )
        )
        return found.scalars().first()

    async def checked(
        self, session: AsyncSession, payer_id: str, device_id: str | None
    ) -> str | None:
        """``device_id`` if it is one of the payer's bound devices (None stays None), else a
        400 naming ``device_id``."""
        if device_id is None:
            return None
        if await self.active(session, payer_id, device_id) is None:
            raise DeviceNotBoundError(param="device_id")
        return device_id

    async def has_active(self, session: AsyncSession, payer_id: str) -> bool:
        count = await self._active_count(session, payer_id)
        return count > 0

    async def _active_count(self, session: AsyncSession, payer_id: str) -> int:
        count = await session.scalar(
            select(func.count())
            .select_from(DeviceRow)
            .where(DeviceRow.payer_id == payer_id, DeviceRow.status == DeviceStatus.active.value)
        )
        return int(count or 0)

    async def list(self, session: AsyncSession, payer_id: str) -> list[DeviceRow]:
        """The payer's devices, newest first: the active ones and the last revoked ones."""
        found = await session.execute(
            select(DeviceRow)
            .where(DeviceRow.payer_id == payer_id)
            .order_by(DeviceRow.created_at.desc(), DeviceRow.id.desc())
            .limit(DEVICES_LISTED_MAX)
        )
        return list(found.scalars())

    def attest_sim(self, ring: KeyRing, mobile: SecretStr, device_id: str) -> tuple[str, datetime]:
        """Sandbox: the binding token a SIM with ``mobile`` (normalised) in ``device_id`` would
        earn by sending its SMS, and when it expires."""
        now = utcnow()
        issued_at_s = int(now.timestamp())
        mac = ring.fingerprint(binding_label(mobile, device_id, issued_at_s))
        expires_at = now + timedelta(seconds=BINDING_TOKEN_TTL_S)
        return binding_token(mac, issued_at_s), expires_at

    def check_binding_token(
        self, ring: KeyRing, payer: PayerRow, device_id: str, token: SecretStr
    ) -> None:
        """The token attests the payer's own number in this very device, and is fresh."""
        parts = binding_token_parts(token.get_secret_value())
        mobile = payer_service.mobile_of(ring, payer)
        if parts is not None:
            macs = ring.fingerprints(binding_label(mobile, device_id, parts[0]))
            now_s = int(utcnow().timestamp())
            if binding_token_valid(token.get_secret_value(), macs, parts[0], now_s):
                return
        raise BindingTokenInvalidError(param="binding_token")

    async def count_attempt(
        self, session: AsyncSession, payer_id: str, device_id: str
    ) -> BeyondpayError | None:
        """Counts a binding attempt on ``device_id``; the error to answer with when the device
        is blocked. Meant for a transaction of its own that commits whatever the outcome (the
        attempt counts even if the binding then fails)."""
        await _lock(session, f"psp-device:{device_id}")
        now = utcnow()
        block = await session.get(DeviceBlockRow, device_id, with_for_update=True)
        if block is not None and block.blocked_until > now:
            return _blocked(block.blocked_until, now)
        since = now - timedelta(seconds=BINDING_WINDOW_S)
        if block is not None and block.blocked_until > since:
            since = block.blocked_until  # attempts before a block ended do not count again
        attempts = await session.scalar(
            select(func.count())
            .select_from(BindingAttemptRow)
            .where(BindingAttemptRow.device_id == device_id, BindingAttemptRow.created_at > since)
        )
        if int(attempts or 0) >= BINDING_ATTEMPTS_MAX:
            blocked_until = now + timedelta(seconds=DEVICE_BLOCK_S)
            if block is None:
                session.add(
                    DeviceBlockRow(
                        device_id=device_id,
                        blocked_until=blocked_until,
                        created_at=now,
                        updated_at=now,
                    )
                )
            else:
                block.blocked_until, block.updated_at = blocked_until, now
            await session.flush()
            await record(
                session,
                payer_id,
                IdentityEvent.device_binding_blocked,
                {
                    "object": "psp_device_block",
                    "device": device_id,
                    "blocked_until": int(blocked_until.timestamp()),
                },
            )
            return _blocked(blocked_until, now)
        session.add(
            BindingAttemptRow(
                id=new_id("pba"), device_id=device_id, payer_id=payer_id, created_at=now
            )
        )
        await session.flush()
        return None

    async def bind_attested(
        self,
        session: AsyncSession,
        ring: KeyRing,
        payer_id: str,
        session_id: str,
        params: DeviceBindParams,
    ) -> DeviceRow:
        """Binds the device the SIM attestation names: the payer's first device on that alone,
        a further one with a passkey step-up too (or approved from a bound device instead:
        ``device_link_service``)."""
        payer = await payer_service.get(session, payer_id)
        self.check_binding_token(ring, payer, params.device_id, params.binding_token)
        already = await self.active(session, payer_id, params.device_id)
        if already is None and await self.has_active(session, payer_id):
            if params.challenge_id is None or params.credential is None:
                raise DeviceLinkRequiredError()
            await passkey_service.verify_step_up(
                session, payer_id, params.credential, params.challenge_id
            )
        return await self.bind(
            session,
            payer_id,
            params.device_id,
            name=params.name,
            platform=params.platform,
            session_id=session_id,
        )

    async def bind(
        self,
        session: AsyncSession,
        payer_id: str,
        device_id: str,
        *,
        name: str | None,
        platform: str | None,
        session_id: str,
    ) -> DeviceRow:
        """Binds ``device_id`` to the payer (the caller checked the SIM attestation and, for a
        further device, the approval) and puts ``session_id`` on it. A device bound to another
        payer changed hands: that binding ends, with its sessions."""
        await _lock(session, f"psp-device-bind:{device_id}")
        current = (
            await session.execute(
                select(DeviceRow)
                .where(
                    DeviceRow.device_id == device_id,
                    DeviceRow.status == DeviceStatus.active.value,
                )
                .with_for_update()
            )
        ).scalar_one_or_none()
        if current is not None and current.payer_id == payer_id:
            await session_service.move_to_device(session, session_id, device_id)
            return current
        if current is not None:
            await self._revoke_row(session, current, "bound_to_another_payer")
        if await self._active_count(session, payer_id) >= DEVICES_PER_PAYER_MAX:
            raise DevicesMaxError(
                f"A payer can have at most {DEVICES_PER_PAYER_MAX} bound devices: revoke one"
                " first.",
                param="device_id",
            )
        now = utcnow()
        row = DeviceRow(
            id=new_id("pdv"),
            payer_id=payer_id,
            device_id=device_id,
            name=name,
            platform=platform,
            status=DeviceStatus.active.value,
            bound_at=now,
            revoked_at=None,
            revoked_reason=None,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        await session.flush()
        await record(session, payer_id, IdentityEvent.device_bound, device_object(row))
        await session_service.move_to_device(session, session_id, device_id)
        return row

    async def revoke(self, session: AsyncSession, payer_id: str, device_id: str) -> DeviceRow:
        """Unbinds one of the payer's devices; its sessions stop working at once."""
        row = (
            await session.execute(
                select(DeviceRow)
                .where(
                    DeviceRow.payer_id == payer_id,
                    DeviceRow.device_id == device_id,
                    DeviceRow.status == DeviceStatus.active.value,
                )
                .with_for_update()
            )
        ).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object("psp_device", device_id, param="device")
        await self._revoke_row(session, row, "revoked_by_payer")
        return row

    async def _revoke_row(self, session: AsyncSession, row: DeviceRow, reason: str) -> None:
        now = utcnow()
        row.status, row.revoked_at, row.revoked_reason, row.updated_at = (
            DeviceStatus.revoked.value,
            now,
            reason,
            now,
        )
        await session.flush()
        await record(session, row.payer_id, IdentityEvent.device_revoked, device_object(row))
        await session_service.revoke_where(
            session, row.payer_id, "device_revoked", device_id=row.device_id
        )


def _blocked(blocked_until: datetime, now: datetime) -> DeviceBindingBlockedError:
    retry_after_s = max(1, int((blocked_until - now).total_seconds()))
    return DeviceBindingBlockedError(param="device_id", headers={"Retry-After": str(retry_after_s)})


device_service = DeviceService()


class DeviceLinkService:
    """Linking a further device: the new device (signed in by OTP, SIM attested) asks, and a
    session on one of the payer's bound devices approves — possession of a linked device."""

    async def request(
        self,
        session: AsyncSession,
        ring: KeyRing,
        payer_id: str,
        session_id: str,
        *,
        device_id: str,
        binding_token: SecretStr,
        name: str | None,
        platform: str | None,
    ) -> DeviceLinkRow:
        payer = await payer_service.get(session, payer_id)
        device_service.check_binding_token(ring, payer, device_id, binding_token)
        now = utcnow()
        row = DeviceLinkRow(
            id=new_id("pdl"),
            payer_id=payer_id,
            device_id=device_id,
            name=name,
            platform=platform,
            session_id=session_id,
            status=DeviceLinkStatus.pending.value,
            expires_at=now + timedelta(seconds=DEVICE_LINK_TTL_S),
            decided_by_device_id=None,
            decided_at=None,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        await session.flush()
        await record(session, payer_id, IdentityEvent.device_link_created, device_link_object(row))
        return row

    async def pending(self, session: AsyncSession, payer_id: str) -> list[DeviceLinkRow]:
        found = await session.execute(
            select(DeviceLinkRow)
            .where(
                DeviceLinkRow.payer_id == payer_id,
                DeviceLinkRow.status == DeviceLinkStatus.pending.value,
                DeviceLinkRow.expires_at > utcnow(),
            )
            .order_by(DeviceLinkRow.created_at.desc())
            .limit(DEVICES_LISTED_MAX)
        )
        return list(found.scalars())

    async def decide(
        self,
        session: AsyncSession,
        payer_id: str,
        approver_device_id: str | None,
        link_id: str,
        *,
        approve: bool,
    ) -> DeviceLinkRow:
        """Approves (binding the device) or declines a pending link, from a session on another
        of the payer's bound devices."""
        if approver_device_id is None or (
            await device_service.active(session, payer_id, approver_device_id) is None
        ):
            raise BoundDeviceRequiredError()
        row = await session.get(
            DeviceLinkRow, link_id, with_for_update=True, populate_existing=True
        )
        if row is None or row.payer_id != payer_id:
            raise ResourceMissingError.for_object("psp_device_link", link_id, param="link")
        if (
            row.status != DeviceLinkStatus.pending.value
            or row.expires_at <= utcnow()
            or row.device_id == approver_device_id
        ):
            raise DeviceLinkInvalidError(param="link")
        now = utcnow()
        row.status = (DeviceLinkStatus.approved if approve else DeviceLinkStatus.declined).value
        row.decided_by_device_id, row.decided_at, row.updated_at = approver_device_id, now, now
        await session.flush()
        if approve:
            await device_service.bind(
                session,
                payer_id,
                row.device_id,
                name=row.name,
                platform=row.platform,
                session_id=row.session_id,
            )
            await record(
                session, payer_id, IdentityEvent.device_link_approved, device_link_object(row)
            )
        else:
            await record(
                session, payer_id, IdentityEvent.device_link_declined, device_link_object(row)
            )
        return row


device_link_service = DeviceLinkService()


class PasskeyEnrolmentService:
    """Adding a passkey: only from a session on a bound device, and never while frozen. A
    passkey links devices and lifts a freeze, so an OTP (a SIM swap) alone must not be enough
    to add one."""

    async def _enrolling(
        self, session: AsyncSession, payer_id: str, device_id: str | None
    ) -> PayerRow:
        if device_id is None or await device_service.active(session, payer_id, device_id) is None:
            raise BoundDeviceRequiredError()
        row = await payer_service.get(session, payer_id)
        if payer_service.is_frozen(row):
            raise PayerFrozenError()
        return row

    async def options(
        self, session: AsyncSession, payer_id: str, device_id: str | None
    ) -> Challenge:
        payer = await self._enrolling(session, payer_id, device_id)
        return await passkey_service.registration_options(session, payer)

    async def register(
        self,
        session: AsyncSession,
        payer_id: str,
        device_id: str | None,
        params: PasskeyCreateParams,
    ) -> PasskeyRow:
        await self._enrolling(session, payer_id, device_id)
        return await passkey_service.register(
            session, payer_id, params.challenge_id, params.credential, params.name
        )


passkey_enrolment_service = PasskeyEnrolmentService()


@dataclass(frozen=True, slots=True)
class IssuedHandoff:
    row: HandoffRow
    qr_payload: SecretStr


class HandoffService:
    """Session handoff: a bound device shows a one-time QR code; another client (the web)
    redeems it once, within ``HANDOFF_TTL_S``, for a session of its own."""

    async def create(
        self, session: AsyncSession, ring: KeyRing, payer_id: str, device_id: str | None
    ) -> IssuedHandoff:
        if device_id is None or await device_service.active(session, payer_id, device_id) is None:
            raise BoundDeviceRequiredError()
        secret = new_token(HANDOFF_SECRET_PREFIX)
        now = utcnow()
        row = HandoffRow(
            id=new_id("phd"),
            payer_id=payer_id,
            device_id=device_id,
            secret_fingerprint=ring.fingerprint(token_label(secret)),
            expires_at=now + timedelta(seconds=HANDOFF_TTL_S),
            redeemed_at=None,
            session_id=None,
            created_at=now,
        )
        session.add(row)
        await session.flush()
        await record(session, payer_id, IdentityEvent.handoff_created, handoff_event_object(row))
        return IssuedHandoff(row, SecretStr(handoff_payload(secret)))

    async def redeem(
        self, session: AsyncSession, ring: KeyRing, qr_payload: SecretStr
    ) -> IssuedSession:
        secret = handoff_secret(qr_payload)
        if secret is None:
            raise HandoffInvalidError(param="qr_payload")
        found = await session.execute(
            select(HandoffRow)
            .where(HandoffRow.secret_fingerprint.in_(_fingerprints(ring, secret)))
            .with_for_update()
        )
        row = found.scalars().first()
        now = utcnow()
        if row is None or row.redeemed_at is not None or row.expires_at <= now:
            raise HandoffInvalidError(param="qr_payload")
        # The device that showed the code must still be bound: a revoked phone hands off nothing.
        if await device_service.active(session, row.payer_id, row.device_id) is None:
            raise HandoffInvalidError(param="qr_payload")
        payer = await payer_service.get(session, row.payer_id)
        issued = await session_service.start(session, ring, payer, None)
        row.redeemed_at, row.session_id = now, issued.row.id
        await session.flush()
        await record(
            session, row.payer_id, IdentityEvent.handoff_redeemed, handoff_event_object(row)
        )
        return issued


handoff_service = HandoffService()
