"""Passkeys (WebAuthn, with py_webauthn): registration, login and step-up. Never commits.

Challenges are made and kept server-side (``psp_passkey_challenges``), each for one purpose and
one payer (a login challenge for a number without a payer has none), used once and within
``PASSKEY_CHALLENGE_TTL_S``. User verification is required in every ceremony. Each assertion must
move the credential's signature counter forward (unless the authenticator keeps none: both zero),
which is how a cloned authenticator shows.

The relying party (id, origin) comes from the settings (``BEYONDPAY_PSP_RP_ID``,
``BEYONDPAY_PSP_ORIGIN``) through :func:`configure`, called when the app starts.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

import orjson
import webauthn
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from webauthn.helpers import (
    parse_authentication_credential_json,
    parse_authenticator_data,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from beyondpay.kit.clock import utcnow
from beyondpay.kit.ids import new_id
from beyondpay.kit.module_settings import ModuleSettings
from beyondpay.kit.settings import Settings
from beyondpay.psp.identity.domain import (
    PASSKEY_CHALLENGE_TTL_S,
    PASSKEYS_PER_PAYER_MAX,
)
from beyondpay.psp.identity.errors import (
    PasskeyAlreadyRegisteredError,
    PasskeyChallengeInvalidError,
    PasskeyInvalidError,
    PasskeyRequiredError,
    PasskeySignCountError,
    PasskeysMaxError,
)
from beyondpay.psp.identity.events import IdentityEvent, record
from beyondpay.psp.identity.models import PasskeyChallengeRow, PasskeyRow, PayerRow
from beyondpay.psp.identity.schemas import passkey_object

RP_NAME: Final = "beyondpay"
CHALLENGE_BYTES: Final = 32
CREDENTIAL_CHARS_MAX: Final = 16_384
PASSKEY_NAME_CHARS_MAX: Final = 100


@dataclass(frozen=True, slots=True)
class RelyingParty:
    """The one relying party of this process (its settings ``psp_rp_id`` and origin)."""

    id: str
    origin: str

    @classmethod
    def from_settings(cls, settings: Settings) -> RelyingParty:
        return cls(id=settings.psp_rp_id, origin=settings.psp_origin_value())


CONFIG: ModuleSettings[RelyingParty] = ModuleSettings(RelyingParty.from_settings)


def configure(settings: Settings) -> RelyingParty:
    """The composition root (``app.configure_modules``) calls it when the API or worker starts."""
    return CONFIG.set(RelyingParty.from_settings(settings))


def relying_party() -> RelyingParty:
    return CONFIG.current()


@dataclass(frozen=True, slots=True)
class Challenge:
    """A challenge just made, and the options (WebAuthn's JSON) the client passes to
    ``navigator.credentials.create`` or ``.get``."""

    row: PasskeyChallengeRow
    options: dict[str, Any]


class PasskeyService:
    async def list(self, session: AsyncSession, payer_id: str) -> list[PasskeyRow]:
        found = await session.execute(
            select(PasskeyRow)
            .where(PasskeyRow.payer_id == payer_id)
            .order_by(PasskeyRow.created_at)
            .limit(PASSKEYS_PER_PAYER_MAX)
        )
        return list(found.scalars())

    async def has_any(self, session: AsyncSession, payer_id: str) -> bool:
        count = await session.scalar(
            select(func.count()).select_from(PasskeyRow).where(PasskeyRow.payer_id == payer_id)
        )
        return bool(count)

    async def registration_options(self, session: AsyncSession, payer: PayerRow) -> Challenge:
        existing = await self.list(session, payer.id)
        if len(existing) >= PASSKEYS_PER_PAYER_MAX:
            raise PasskeysMaxError(f"A payer can have at most {PASSKEYS_PER_PAYER_MAX} passkeys.")
        row = await self._new_challenge(session, payer.id, "registration")
        options = webauthn.generate_registration_options(
            rp_id=relying_party().id,
            rp_name=RP_NAME,
            user_id=payer.id.encode(),
            user_name=payer.mobile_masked,
            user_display_name=payer.name,
            challenge=row.challenge,
            timeout=PASSKEY_CHALLENGE_TTL_S * 1000,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.PREFERRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[
                PublicKeyCredentialDescriptor(id=passkey.credential_id) for passkey in existing
            ],
        )
        return Challenge(row, orjson.loads(webauthn.options_to_json(options)))

    async def register(
        self,
        session: AsyncSession,
        payer_id: str,
        challenge_id: str,
        credential_json: str,
        name: str | None,
    ) -> PasskeyRow:
        challenge = await self._take_challenge(session, challenge_id, "registration", payer_id)
        try:
            verified = webauthn.verify_registration_response(
                credential=credential_json,
                expected_challenge=challenge.challenge,
                expected_rp_id=relying_party().id,
                expected_origin=relying_party().origin,
                require_user_verification=True,
            )
        except (WebAuthnException, ValueError, KeyError, TypeError):
            raise PasskeyInvalidError(param="credential") from None
        taken = await session.scalar(
            select(PasskeyRow.id).where(PasskeyRow.credential_id == verified.credential_id)
        )
        if taken is not None:
            raise PasskeyAlreadyRegisteredError(param="credential")
        now = utcnow()
        row = PasskeyRow(
            id=new_id("ppk"),
            payer_id=payer_id,
            credential_id=verified.credential_id,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            aaguid=verified.aaguid,
            name=name,
            last_used_at=None,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        await session.flush()
        await record(session, payer_id, IdentityEvent.passkey_created, passkey_object(row))
        return row

    async def login_options(self, session: AsyncSession, payer: PayerRow | None) -> Challenge:
        """A login challenge for the payer's passkeys. For a number without a payer the
        challenge names no credential, so the answer does not tell who has an account."""
        passkeys = await self.list(session, payer.id) if payer is not None else []
        row = await self._new_challenge(session, payer.id if payer else None, "login")
        return Challenge(row, self._request_options(row, passkeys))

    async def step_up_options(self, session: AsyncSession, payer_id: str) -> Challenge:
        passkeys = await self.list(session, payer_id)
        if not passkeys:
            raise PasskeyRequiredError()
        row = await self._new_challenge(session, payer_id, "step_up")
        return Challenge(row, self._request_options(row, passkeys))

    async def verify_login(
        self, session: AsyncSession, challenge_id: str, credential_json: str
    ) -> str:
        """The payer whose passkey signed the login challenge."""
        challenge = await self._take_challenge(session, challenge_id, "login", None)
        passkey = await self._assert(session, challenge, credential_json)
        if challenge.payer_id is not None and passkey.payer_id != challenge.payer_id:
            raise PasskeyInvalidError(param="credential")
        return passkey.payer_id

    async def verify_step_up(
        self, session: AsyncSession, payer_id: str, credential_json: str, challenge_id: str
    ) -> None:
        """Checks a step-up assertion of one of ``payer_id``'s passkeys over the challenge
        ``challenge_id`` (from ``step_up_options``), using the challenge up. Raises a 4xx
        (``passkey_challenge_invalid``, ``passkey_invalid``, ``passkey_sign_count_invalid``)
        when it does not hold."""
        challenge = await self._take_challenge(session, challenge_id, "step_up", payer_id)
        passkey = await self._assert(session, challenge, credential_json)
        if passkey.payer_id != payer_id:
            raise PasskeyInvalidError(param="credential")

    def _request_options(
        self, row: PasskeyChallengeRow, passkeys: Sequence[PasskeyRow]
    ) -> dict[str, Any]:
        options = webauthn.generate_authentication_options(
            rp_id=relying_party().id,
            challenge=row.challenge,
            timeout=PASSKEY_CHALLENGE_TTL_S * 1000,
            allow_credentials=[
                PublicKeyCredentialDescriptor(id=passkey.credential_id) for passkey in passkeys
            ],
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        loaded: dict[str, Any] = orjson.loads(webauthn.options_to_json(options))
        return loaded

    async def _new_challenge(
        self, session: AsyncSession, payer_id: str | None, purpose: str
    ) -> PasskeyChallengeRow:
        now = utcnow()
        row = PasskeyChallengeRow(
            id=new_id("pkc"),
            payer_id=payer_id,
            purpose=purpose,
            challenge=secrets.token_bytes(CHALLENGE_BYTES),
            expires_at=now + timedelta(seconds=PASSKEY_CHALLENGE_TTL_S),
            consumed_at=None,
            created_at=now,
        )
        session.add(row)
        await session.flush()
        return row

    async def _take_challenge(
        self, session: AsyncSession, challenge_id: str, purpose: str, payer_id: str | None
    ) -> PasskeyChallengeRow:
        """Uses up the challenge: it must be live, for ``purpose`` and (unless None) the
        payer's. Used up in the caller's transaction: a failed ceremony rolls back with it,
        and a replayed assertion of a successful one finds the challenge gone."""
        row = await session.get(
            PasskeyChallengeRow, challenge_id, with_for_update=True, populate_existing=True
        )
        now = utcnow()
        if (
            row is None
            or row.purpose != purpose
            or row.consumed_at is not None
            or row.expires_at <= now
            or (payer_id is not None and row.payer_id != payer_id)
        ):
            raise PasskeyChallengeInvalidError(param="challenge_id")
        row.consumed_at = now
        await session.flush()
        return row

    async def _assert(
        self, session: AsyncSession, challenge: PasskeyChallengeRow, credential_json: str
    ) -> PasskeyRow:
        try:
            credential = parse_authentication_credential_json(credential_json)
            counter = parse_authenticator_data(credential.response.authenticator_data).sign_count
        except (WebAuthnException, ValueError, KeyError, TypeError):
            raise PasskeyInvalidError(param="credential") from None
        passkey = (
            await session.execute(
                select(PasskeyRow)
                .where(PasskeyRow.credential_id == credential.raw_id)
                .with_for_update()
            )
        ).scalar_one_or_none()
        if passkey is None:
            raise PasskeyInvalidError(param="credential")
        if (counter > 0 or passkey.sign_count > 0) and counter <= passkey.sign_count:
            raise PasskeySignCountError(param="credential")
        try:
            verified = webauthn.verify_authentication_response(
                credential=credential,
                expected_challenge=challenge.challenge,
                expected_rp_id=relying_party().id,
                expected_origin=relying_party().origin,
                credential_public_key=passkey.public_key,
                credential_current_sign_count=passkey.sign_count,
                require_user_verification=True,
            )
        except (WebAuthnException, ValueError, KeyError, TypeError):
            raise PasskeyInvalidError(param="credential") from None
        now = utcnow()
        # Bookkeeping of the counter, no event: the use is recorded by what it allowed.
        passkey.sign_count = verified.new_sign_count
        passkey.last_used_at = now
        passkey.updated_at = now
        await session.flush()
        return passkey


passkey_service = PasskeyService()
