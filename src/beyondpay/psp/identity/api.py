"""PSP identity routes under ``/v1/psp``: OTP, sign-up, login, sessions, the payer, devices,
passkeys, handoffs and the sandbox's SMS sink.

Routes before a session are scoped by the credential they present (a ``Caller`` parameter built
by :func:`~beyondpay.psp.identity.auth.public_caller`); answers holding tokens are sealed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Request
from pydantic import SecretStr

from beyondpay.api.auth import SessionDep
from beyondpay.api.mutation import Outcome
from beyondpay.api.routing import Body, DatabaseDep, Listed, Query, RingDep, Router, listed
from beyondpay.db.session import Database
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import RouteNotFoundError
from beyondpay.kit.invariants import invariant
from beyondpay.kit.settings import Settings
from beyondpay.kit.upi import mask_mobile
from beyondpay.merchants.domain import Caller
from beyondpay.psp.identity.auth import ACCESS_PUBLIC, Payer, before_a_session
from beyondpay.psp.identity.domain import OtpPurpose, normalise_mobile
from beyondpay.psp.identity.errors import RefreshTokenReusedError, SmsSenderMissingError
from beyondpay.psp.identity.passkeys import Challenge
from beyondpay.psp.identity.schemas import (
    DeviceBindParams,
    DeviceLinkParams,
    HandoffRedeemParams,
    LoginParams,
    OtpSendParams,
    PasskeyCreateParams,
    PasskeyLoginOptionsParams,
    PasskeyLoginParams,
    PspDevice,
    PspDeviceLink,
    PspHandoff,
    PspLogout,
    PspOtp,
    PspPasskey,
    PspPasskeyChallenge,
    PspPayer,
    PspSandboxSms,
    PspSession,
    PspSimAttestation,
    RefreshParams,
    SandboxSmsParams,
    SignupParams,
    SimAttestationParams,
    StepUpParams,
    challenge_object,
    device_link_object,
    device_object,
    handoff_object,
    logout_object,
    otp_object,
    passkey_object,
    payer_object,
    sandbox_sms_object,
    session_object,
    sim_attestation_object,
)
from beyondpay.psp.identity.service import (
    IssuedSession,
    device_link_service,
    device_service,
    handoff_service,
    otp_service,
    passkey_enrolment_service,
    passkey_service,
    payer_service,
    sandbox_sms_service,
    session_service,
    signup_service,
)

router = Router(prefix="/v1/psp", tags=["psp"])


DeviceParam = Annotated[str, Path(max_length=64, description="The device's id (the client's).")]
LinkParam = Annotated[str, Path(max_length=64, description="The link request's id (`pdl_…`).")]


def _issued(issued: IssuedSession) -> Outcome:
    body = session_object(issued.row, issued.payer, issued.access_token, issued.refresh_token)
    return Outcome(body, sealed=True)


def _challenge(challenge: Challenge) -> Outcome:
    return Outcome(challenge_object(challenge.row, challenge.options))


def _sandbox_on(request: Request) -> bool:
    settings: Settings = request.app.state.settings
    return settings.psp_sandbox


async def _sandbox_only(request: Request) -> None:
    """The sandbox's routes answer 404 where the PSP is not a sandbox."""
    if not _sandbox_on(request):
        raise RouteNotFoundError.for_request(request.method, request.url.path)


async def _sms_sender(request: Request) -> None:
    if not _sandbox_on(request):
        raise SmsSenderMissingError()


SandboxOnly = Annotated[None, Depends(_sandbox_only)]
SmsSender = Annotated[None, Depends(_sms_sender)]


async def _checked_otp(
    database: Database, ring: KeyRing, mobile: SecretStr, purpose: OtpPurpose, code: SecretStr
) -> str:
    """The id of the OTP ``code`` matches, checked in a transaction of its own that commits a
    wrong try even though this request's answer is an error."""
    async with database.unit_of_work() as own:
        verdict = await otp_service.check(own, ring, mobile, purpose, code)
    if verdict.failure is not None:
        raise verdict.failure
    invariant(verdict.otp_id is not None, "a verdict holds an OTP id or a failure")
    return verdict.otp_id or ""


async def _counted_attempt(database: Database, payer_id: str, device_id: str) -> None:
    """Counts a binding attempt in a transaction of its own (it counts even when this request
    fails), and refuses a blocked device."""
    async with database.unit_of_work() as own:
        refusal = await device_service.count_attempt(own, payer_id, device_id)
    if refusal is not None:
        raise refusal


# ---- OTP, sign-up, login and sessions ---------------------------------------------------------


@router.post("/otp", returns=PspOtp)
async def send_otp(
    session: SessionDep,
    ring: RingDep,
    params: Body[OtpSendParams],
    caller: Annotated[Caller, before_a_session(OtpSendParams)],
    _: SmsSender,
) -> Outcome:
    """Send a one-time password by SMS for sign-up or login."""
    mobile = normalise_mobile(params.mobile)
    row = await otp_service.request(session, ring, mobile, params.purpose)
    return Outcome(otp_object(row, mask_mobile(mobile)))


@router.post("/signup", returns=PspSession)
async def sign_up(
    session: SessionDep,
    database: DatabaseDep,
    ring: RingDep,
    params: Body[SignupParams],
    caller: Annotated[Caller, before_a_session(SignupParams)],
) -> Outcome:
    """Sign up with the OTP sent to the mobile number: a new payer and a session."""
    mobile = normalise_mobile(params.mobile)
    otp_id = await _checked_otp(database, ring, mobile, OtpPurpose.signup, params.otp)
    return _issued(
        await signup_service.sign_up(session, ring, otp_id=otp_id, mobile=mobile, name=params.name)
    )


@router.post("/login", returns=PspSession)
async def log_in(
    session: SessionDep,
    database: DatabaseDep,
    ring: RingDep,
    params: Body[LoginParams],
    caller: Annotated[Caller, before_a_session(LoginParams)],
) -> Outcome:
    """Sign in with the OTP sent to the mobile number: a new session."""
    mobile = normalise_mobile(params.mobile)
    otp_id = await _checked_otp(database, ring, mobile, OtpPurpose.login, params.otp)
    issued = await signup_service.log_in(
        session, ring, otp_id=otp_id, mobile=mobile, device_id=params.device_id
    )
    return _issued(issued)


@router.post("/sessions/refresh", returns=PspSession)
async def refresh_session(
    session: SessionDep,
    database: DatabaseDep,
    ring: RingDep,
    params: Body[RefreshParams],
    caller: Annotated[Caller, before_a_session(RefreshParams)],
) -> Outcome:
    """Exchange a refresh token for new access and refresh tokens."""
    try:
        return _issued(await session_service.refresh(session, ring, params.refresh_token))
    except RefreshTokenReusedError as error:
        # This request's work rolls back with its error: the revocation commits on its own.
        async with database.unit_of_work() as own:
            await session_service.revoke(own, error.session_id, "refresh_token_reused")
        raise


@router.post("/logout", returns=PspLogout)
async def log_out(payer: Payer) -> Outcome:
    """End this session."""
    ended = await session_service.revoke(payer.session, payer.context.session_id, "logout")
    return Outcome(logout_object(int(ended)))


@router.post("/logout_everywhere", returns=PspLogout)
async def log_out_everywhere(payer: Payer) -> Outcome:
    """End every session of the payer, on every device."""
    ended = await session_service.revoke_everywhere(payer.session, payer.id)
    return Outcome(logout_object(ended))


@router.get("/me", returns=PspPayer)
async def retrieve_me(payer: Payer) -> dict[str, Any]:
    """The signed-in payer."""
    return payer_object(await payer_service.get(payer.session, payer.id))


@router.get("/sandbox/sms", returns=PspSandboxSms, access=ACCESS_PUBLIC)
async def list_sandbox_sms(
    session: SessionDep, ring: RingDep, params: Query[SandboxSmsParams], _: SandboxOnly
) -> Listed:
    """Sandbox: the SMS messages sent to a mobile number (newest first)."""
    mobile = normalise_mobile(params.mobile)
    messages, has_more = await sandbox_sms_service.list(session, ring, mobile, params.limit)
    masked = mask_mobile(mobile)
    data = [sandbox_sms_object(row, masked, text) for row, text in messages]
    return Listed(data, has_more=has_more)


# ---- devices ----------------------------------------------------------------------------------


@router.post("/sandbox/sim_attestations", returns=PspSimAttestation)
async def attest_sim(
    ring: RingDep,
    params: Body[SimAttestationParams],
    _: SandboxOnly,
    caller: Annotated[Caller, before_a_session(SimAttestationParams)],
) -> Outcome:
    """Sandbox: attest that the SIM with this number sent its SMS from this device."""
    mobile = normalise_mobile(params.mobile)
    token, expires_at = device_service.attest_sim(ring, mobile, params.device_id)
    answer = sim_attestation_object(mask_mobile(mobile), params.device_id, token, expires_at)
    return Outcome(answer, sealed=True)


@router.post("/devices", returns=PspDevice)
async def bind_device(
    database: DatabaseDep, payer: Payer, params: Body[DeviceBindParams]
) -> Outcome:
    """Bind this device to the payer (the first device, or a further one with a passkey)."""
    await _counted_attempt(database, payer.id, params.device_id)
    device = await device_service.bind_attested(
        payer.session, payer.ring, payer.id, payer.context.session_id, params
    )
    return Outcome(device_object(device, params.device_id))


@router.get("/devices", returns=PspDevice)
async def list_devices(payer: Payer) -> Listed:
    """The payer's devices, newest first."""
    rows = await device_service.list(payer.session, payer.id)
    return Listed([device_object(row, payer.device_id) for row in rows])


@router.post("/devices/{device}/revoke", returns=PspDevice)
async def revoke_device(device: DeviceParam, payer: Payer) -> Outcome:
    """Unbind a device: its sessions stop working at once."""
    row = await device_service.revoke(payer.session, payer.id, device)
    return Outcome(device_object(row, payer.device_id))


@router.post("/device_links", returns=PspDeviceLink)
async def request_device_link(
    database: DatabaseDep, payer: Payer, params: Body[DeviceLinkParams]
) -> Outcome:
    """Ask to link this device; one of the payer's bound devices approves."""
    await _counted_attempt(database, payer.id, params.device_id)
    row = await device_link_service.request(
        payer.session,
        payer.ring,
        payer.id,
        payer.context.session_id,
        device_id=params.device_id,
        binding_token=params.binding_token,
        name=params.name,
        platform=params.platform,
    )
    return Outcome(device_link_object(row))


@router.get("/device_links", returns=PspDeviceLink)
async def list_device_links(payer: Payer) -> Listed:
    """Link requests waiting for approval."""
    return listed(device_link_object, await device_link_service.pending(payer.session, payer.id))


@router.post("/device_links/{link}/approve", returns=PspDeviceLink)
async def approve_device_link(link: LinkParam, payer: Payer) -> Outcome:
    """Approve a link request from a session on a bound device: the device is bound."""
    row = await device_link_service.decide(
        payer.session, payer.id, payer.device_id, link, approve=True
    )
    return Outcome(device_link_object(row))


@router.post("/device_links/{link}/decline", returns=PspDeviceLink)
async def decline_device_link(link: LinkParam, payer: Payer) -> Outcome:
    """Decline a link request from a session on a bound device."""
    row = await device_link_service.decide(
        payer.session, payer.id, payer.device_id, link, approve=False
    )
    return Outcome(device_link_object(row))


# ---- freeze -----------------------------------------------------------------------------------


@router.post("/freeze", returns=PspPayer)
async def freeze(payer: Payer) -> Outcome:
    """Freeze the payer: no payment leaves until unfrozen with a passkey."""
    return Outcome(payer_object(await payer_service.freeze(payer.session, payer.id)))


@router.post("/unfreeze", returns=PspPayer)
async def unfreeze(payer: Payer, params: Body[StepUpParams]) -> Outcome:
    """Unfreeze the payer with a passkey step-up."""
    row = await payer_service.unfreeze_with_passkey(payer.session, payer.id, params)
    return Outcome(payer_object(row))


# ---- passkeys ---------------------------------------------------------------------------------


@router.post("/passkeys/registration_options", returns=PspPasskeyChallenge)
async def passkey_registration_options(payer: Payer) -> Outcome:
    """Start registering a passkey (from a session on a bound device)."""
    challenge = await passkey_enrolment_service.options(payer.session, payer.id, payer.device_id)
    return _challenge(challenge)


@router.post("/passkeys", returns=PspPasskey)
async def create_passkey(payer: Payer, params: Body[PasskeyCreateParams]) -> Outcome:
    """Finish registering a passkey with the authenticator's credential."""
    row = await passkey_enrolment_service.register(payer.session, payer.id, payer.device_id, params)
    return Outcome(passkey_object(row))


@router.get("/passkeys", returns=PspPasskey)
async def list_passkeys(payer: Payer) -> Listed:
    """The payer's passkeys."""
    return listed(passkey_object, await passkey_service.list(payer.session, payer.id))


@router.post("/passkeys/step_up/options", returns=PspPasskeyChallenge)
async def passkey_step_up_options(payer: Payer) -> Outcome:
    """A challenge for a passkey step-up (unfreeze, linking a device, …)."""
    challenge = await passkey_service.step_up_options(payer.session, payer.id)
    return _challenge(challenge)


@router.post("/passkeys/login/options", returns=PspPasskeyChallenge)
async def passkey_login_options(
    session: SessionDep,
    ring: RingDep,
    params: Body[PasskeyLoginOptionsParams],
    caller: Annotated[Caller, before_a_session(PasskeyLoginOptionsParams)],
) -> Outcome:
    """A challenge to sign in with a passkey."""
    payer = await payer_service.find_by_mobile(session, ring, normalise_mobile(params.mobile))
    challenge = await passkey_service.login_options(session, payer)
    return _challenge(challenge)


@router.post("/passkeys/login", returns=PspSession)
async def passkey_login(
    session: SessionDep,
    ring: RingDep,
    params: Body[PasskeyLoginParams],
    caller: Annotated[Caller, before_a_session(PasskeyLoginParams)],
) -> Outcome:
    """Sign in with a passkey: a new session."""
    return _issued(await signup_service.log_in_with_passkey(session, ring, params))


# ---- handoffs ---------------------------------------------------------------------------------


@router.post("/handoffs", returns=PspHandoff)
async def create_handoff(payer: Payer) -> Outcome:
    """A one-time code (for a QR) that hands a session to another client."""
    issued = await handoff_service.create(payer.session, payer.ring, payer.id, payer.device_id)
    return Outcome(handoff_object(issued.row, issued.qr_payload), sealed=True)


@router.post("/handoffs/redeem", returns=PspSession)
async def redeem_handoff(
    session: SessionDep,
    ring: RingDep,
    params: Body[HandoffRedeemParams],
    caller: Annotated[Caller, before_a_session(HandoffRedeemParams)],
) -> Outcome:
    """Redeem a handoff code once: a session for this client."""
    return _issued(await handoff_service.redeem(session, ring, params.qr_payload))
