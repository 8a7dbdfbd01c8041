"""PSP identity routes under ``/v1/psp``: OTP, sign-up, login, sessions, the payer, devices,
passkeys, handoffs and the sandbox's SMS sink.

Routes before a session are scoped by the credential they present (a ``Caller`` parameter built
by :func:`~beyondpay.psp.identity.auth.public_caller`); answers holding tokens are sealed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Request
from pydantic import SecretStr

from beyondpay.api.auth import SessionDep
from beyondpay.api.mutation import Outcome
from beyondpay.api.routing import Body, DatabaseDep, Listed, Query, RingDep, Router
from beyondpay.db.session import Database
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import RouteNotFoundError
from beyondpay.kit.invariants import invariant
from beyondpay.kit.params import NoParams
from beyondpay.kit.settings import Settings
from beyondpay.kit.upi import mask_mobile
from beyondpay.merchants.domain import Caller
from beyondpay.psp.identity.auth import Payer, public_caller
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
    PspDeviceLinkList,
    PspDeviceList,
    PspHandoff,
    PspLogout,
    PspOtp,
    PspPasskey,
    PspPasskeyChallenge,
    PspPasskeyList,
    PspPayer,
    PspSandboxSmsList,
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

ACCESS_PUBLIC = "payer: none (before a session)"

CallerOf = TypeVar("CallerOf", bound=Callable[..., Awaitable[Caller]])
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


def _digits(mobile: SecretStr) -> str:
    return normalise_mobile(mobile).get_secret_value()


# The callers of the routes before a session: each scoped by the credential its request presents
# (so an idempotent answer, which holds tokens, is replayed only to the same credential).


def _before_a_session(credential: CallerOf) -> CallerOf:
    """Marks a route's caller as one before any session: the router reads the route's access
    (public) from it, as it reads a payer's from their session."""
    credential.__beyondpay_access__ = {"label": ACCESS_PUBLIC}  # type: ignore[attr-defined]
    return credential


@_before_a_session
async def _otp_caller(ring: RingDep, params: Body[OtpSendParams]) -> Caller:
    return public_caller(ring, f"otp:{_digits(params.mobile)}")


@_before_a_session
async def _signup_caller(ring: RingDep, params: Body[SignupParams]) -> Caller:
    return public_caller(ring, f"signup:{_digits(params.mobile)}:{params.otp.get_secret_value()}")


@_before_a_session
async def _login_caller(ring: RingDep, params: Body[LoginParams]) -> Caller:
    return public_caller(ring, f"login:{_digits(params.mobile)}:{params.otp.get_secret_value()}")


@_before_a_session
async def _refresh_caller(ring: RingDep, params: Body[RefreshParams]) -> Caller:
    return public_caller(ring, f"refresh:{params.refresh_token.get_secret_value()}")


@_before_a_session
async def _sim_caller(ring: RingDep, params: Body[SimAttestationParams]) -> Caller:
    return public_caller(ring, f"sim:{_digits(params.mobile)}:{params.device_id}")


@_before_a_session
async def _passkey_options_caller(ring: RingDep, params: Body[PasskeyLoginOptionsParams]) -> Caller:
    return public_caller(ring, f"passkey-login:{_digits(params.mobile)}")


@_before_a_session
async def _passkey_caller(ring: RingDep, params: Body[PasskeyLoginParams]) -> Caller:
    return public_caller(ring, f"passkey:{params.challenge_id}:{params.credential}")


@_before_a_session
async def _handoff_caller(ring: RingDep, params: Body[HandoffRedeemParams]) -> Caller:
    return public_caller(ring, f"handoff:{params.qr_payload.get_secret_value()}")


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


@router.post("/otp", summary="Send a one-time password by SMS for sign-up or login", returns=PspOtp)
async def send_otp(
    session: SessionDep,
    ring: RingDep,
    params: Body[OtpSendParams],
    caller: Annotated[Caller, Depends(_otp_caller)],
    _: SmsSender,
) -> Outcome:
    mobile = normalise_mobile(params.mobile)
    row = await otp_service.request(session, ring, mobile, params.purpose)
    return Outcome(otp_object(row, mask_mobile(mobile)))


@router.post(
    "/signup",
    summary="Sign up with the OTP sent to the mobile number: a new payer and a session",
    returns=PspSession,
)
async def sign_up(
    session: SessionDep,
    database: DatabaseDep,
    ring: RingDep,
    params: Body[SignupParams],
    caller: Annotated[Caller, Depends(_signup_caller)],
) -> Outcome:
    mobile = normalise_mobile(params.mobile)
    otp_id = await _checked_otp(database, ring, mobile, OtpPurpose.signup, params.otp)
    return _issued(
        await signup_service.sign_up(session, ring, otp_id=otp_id, mobile=mobile, name=params.name)
    )


@router.post(
    "/login",
    summary="Sign in with the OTP sent to the mobile number: a new session",
    returns=PspSession,
)
async def log_in(
    session: SessionDep,
    database: DatabaseDep,
    ring: RingDep,
    params: Body[LoginParams],
    caller: Annotated[Caller, Depends(_login_caller)],
) -> Outcome:
    mobile = normalise_mobile(params.mobile)
    otp_id = await _checked_otp(database, ring, mobile, OtpPurpose.login, params.otp)
    issued = await signup_service.log_in(
        session, ring, otp_id=otp_id, mobile=mobile, device_id=params.device_id
    )
    return _issued(issued)


@router.post(
    "/sessions/refresh",
    summary="Exchange a refresh token for new access and refresh tokens",
    returns=PspSession,
)
async def refresh_session(
    session: SessionDep,
    database: DatabaseDep,
    ring: RingDep,
    params: Body[RefreshParams],
    caller: Annotated[Caller, Depends(_refresh_caller)],
) -> Outcome:
    try:
        return _issued(await session_service.refresh(session, ring, params.refresh_token))
    except RefreshTokenReusedError as error:
        # This request's work rolls back with its error: the revocation commits on its own.
        async with database.unit_of_work() as own:
            await session_service.revoke(own, error.session_id, "refresh_token_reused")
        raise


@router.post("/logout", summary="End this session", returns=PspLogout)
async def log_out(payer: Payer, _: Body[NoParams]) -> Outcome:
    ended = await session_service.revoke(payer.session, payer.context.session_id, "logout")
    return Outcome(logout_object(int(ended)))


@router.post(
    "/logout_everywhere",
    summary="End every session of the payer, on every device",
    returns=PspLogout,
)
async def log_out_everywhere(payer: Payer, _: Body[NoParams]) -> Outcome:
    ended = await session_service.revoke_everywhere(payer.session, payer.id)
    return Outcome(logout_object(ended))


@router.get("/me", summary="The signed-in payer", returns=PspPayer)
async def retrieve_me(payer: Payer) -> dict[str, Any]:
    return payer_object(await payer_service.get(payer.session, payer.id))


@router.get(
    "/sandbox/sms",
    summary="Sandbox: the SMS messages sent to a mobile number (newest first)",
    returns=PspSandboxSmsList,
    access=ACCESS_PUBLIC,
)
async def list_sandbox_sms(
    session: SessionDep, ring: RingDep, params: Query[SandboxSmsParams], _: SandboxOnly
) -> Listed:
    mobile = normalise_mobile(params.mobile)
    messages = await sandbox_sms_service.list(session, ring, mobile, params.limit)
    masked = mask_mobile(mobile)
    data = [sandbox_sms_object(row, masked, text) for row, text in messages]
    return Listed(data, has_more=len(messages) == params.limit)


# ---- devices ----------------------------------------------------------------------------------


@router.post(
    "/sandbox/sim_attestations",
    summary="Sandbox: attest that the SIM with this number sent its SMS from this device",
    returns=PspSimAttestation,
)
async def attest_sim(
    ring: RingDep,
    params: Body[SimAttestationParams],
    _: SandboxOnly,
    caller: Annotated[Caller, Depends(_sim_caller)],
) -> Outcome:
    mobile = normalise_mobile(params.mobile)
    token, expires_at = device_service.attest_sim(ring, mobile, params.device_id)
    answer = sim_attestation_object(mask_mobile(mobile), params.device_id, token, expires_at)
    return Outcome(answer, sealed=True)


@router.post(
    "/devices",
    summary="Bind this device to the payer (the first device, or a further one with a passkey)",
    returns=PspDevice,
)
async def bind_device(
    database: DatabaseDep, payer: Payer, params: Body[DeviceBindParams]
) -> Outcome:
    await _counted_attempt(database, payer.id, params.device_id)
    device = await device_service.bind_attested(
        payer.session, payer.ring, payer.id, payer.context.session_id, params
    )
    return Outcome(device_object(device, params.device_id))


@router.get("/devices", summary="The payer's devices, newest first", returns=PspDeviceList)
async def list_devices(payer: Payer) -> Listed:
    rows = await device_service.list(payer.session, payer.id)
    return Listed([device_object(row, payer.device_id) for row in rows])


@router.post(
    "/devices/{device}/revoke",
    summary="Unbind a device: its sessions stop working at once",
    returns=PspDevice,
)
async def revoke_device(device: DeviceParam, payer: Payer, _: Body[NoParams]) -> Outcome:
    row = await device_service.revoke(payer.session, payer.id, device)
    return Outcome(device_object(row, payer.device_id))


@router.post(
    "/device_links",
    summary="Ask to link this device; one of the payer's bound devices approves",
    returns=PspDeviceLink,
)
async def request_device_link(
    database: DatabaseDep, payer: Payer, params: Body[DeviceLinkParams]
) -> Outcome:
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


@router.get(
    "/device_links", summary="Link requests waiting for approval", returns=PspDeviceLinkList
)
async def list_device_links(payer: Payer) -> Listed:
    rows = await device_link_service.pending(payer.session, payer.id)
    return Listed([device_link_object(row) for row in rows])


@router.post(
    "/device_links/{link}/approve",
    summary="Approve a link request from a session on a bound device: the device is bound",
    returns=PspDeviceLink,
)
async def approve_device_link(link: LinkParam, payer: Payer, _: Body[NoParams]) -> Outcome:
    row = await device_link_service.decide(
        payer.session, payer.id, payer.device_id, link, approve=True
    )
    return Outcome(device_link_object(row))


@router.post(
    "/device_links/{link}/decline",
    summary="Decline a link request from a session on a bound device",
    returns=PspDeviceLink,
)
async def decline_device_link(link: LinkParam, payer: Payer, _: Body[NoParams]) -> Outcome:
    row = await device_link_service.decide(
        payer.session, payer.id, payer.device_id, link, approve=False
    )
    return Outcome(device_link_object(row))


# ---- freeze -----------------------------------------------------------------------------------


@router.post(
    "/freeze",
    summary="Freeze the payer: no payment leaves until unfrozen with a passkey",
    returns=PspPayer,
)
async def freeze(payer: Payer, _: Body[NoParams]) -> Outcome:
    return Outcome(payer_object(await payer_service.freeze(payer.session, payer.id)))


@router.post("/unfreeze", summary="Unfreeze the payer with a passkey step-up", returns=PspPayer)
async def unfreeze(payer: Payer, params: Body[StepUpParams]) -> Outcome:
    row = await payer_service.unfreeze_with_passkey(payer.session, payer.id, params)
    return Outcome(payer_object(row))


# ---- passkeys ---------------------------------------------------------------------------------


@router.post(
    "/passkeys/registration_options",
    summary="Start registering a passkey (from a session on a bound device)",
    returns=PspPasskeyChallenge,
)
async def passkey_registration_options(payer: Payer, _: Body[NoParams]) -> Outcome:
    challenge = await passkey_enrolment_service.options(payer.session, payer.id, payer.device_id)
    return _challenge(challenge)


@router.post(
    "/passkeys",
    summary="Finish registering a passkey with the authenticator's credential",
    returns=PspPasskey,
)
async def create_passkey(payer: Payer, params: Body[PasskeyCreateParams]) -> Outcome:
    row = await passkey_enrolment_service.register(payer.session, payer.id, payer.device_id, params)
    return Outcome(passkey_object(row))


@router.get("/passkeys", summary="The payer's passkeys", returns=PspPasskeyList)
async def list_passkeys(payer: Payer) -> Listed:
    rows = await passkey_service.list(payer.session, payer.id)
    return Listed([passkey_object(row) for row in rows])


@router.post(
    "/passkeys/step_up/options",
    summary="A challenge for a passkey step-up (unfreeze, linking a device, …)",
    returns=PspPasskeyChallenge,
)
async def passkey_step_up_options(payer: Payer, _: Body[NoParams]) -> Outcome:
    challenge = await passkey_service.step_up_options(payer.session, payer.id)
    return _challenge(challenge)


@router.post(
    "/passkeys/login/options",
    summary="A challenge to sign in with a passkey",
    returns=PspPasskeyChallenge,
)
async def passkey_login_options(
    session: SessionDep,
    ring: RingDep,
    params: Body[PasskeyLoginOptionsParams],
    caller: Annotated[Caller, Depends(_passkey_options_caller)],
) -> Outcome:
    payer = await payer_service.find_by_mobile(session, ring, normalise_mobile(params.mobile))
    challenge = await passkey_service.login_options(session, payer)
    return _challenge(challenge)


@router.post("/passkeys/login", summary="Sign in with a passkey: a new session", returns=PspSession)
async def passkey_login(
    session: SessionDep,
    ring: RingDep,
    params: Body[PasskeyLoginParams],
    caller: Annotated[Caller, Depends(_passkey_caller)],
) -> Outcome:
    return _issued(await signup_service.log_in_with_passkey(session, ring, params))


# ---- handoffs ---------------------------------------------------------------------------------


@router.post(
    "/handoffs",
    summary="A one-time code (for a QR) that hands a session to another client",
    returns=PspHandoff,
)
async def create_handoff(payer: Payer, _: Body[NoParams]) -> Outcome:
    issued = await handoff_service.create(payer.session, payer.ring, payer.id, payer.device_id)
    return Outcome(handoff_object(issued.row, issued.qr_payload), sealed=True)


@router.post(
    "/handoffs/redeem",
    summary="Redeem a handoff code once: a session for this client",
    returns=PspSession,
)
async def redeem_handoff(
    session: SessionDep,
    ring: RingDep,
    params: Body[HandoffRedeemParams],
    caller: Annotated[Caller, Depends(_handoff_caller)],
) -> Outcome:
    return _issued(await handoff_service.redeem(session, ring, params.qr_payload))
