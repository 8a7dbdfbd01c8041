"""PSP identity routes under ``/v1/psp``: OTP, sign-up, login, sessions, the payer, the SMS sink.

Every POST goes through ``api.mutation.run_mutation`` (idempotent with ``Idempotency-Key``,
audited). Routes before a session are scoped by the credential they present
(:func:`~beyondpay.psp.identity.auth.public_caller`); answers holding tokens are sealed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from pydantic import SecretStr
from starlette.responses import Response

from beyondpay.api.auth import SessionDep
from beyondpay.api.mutation import Mutation, Outcome, run_mutation
from beyondpay.api.openapi import operation
from beyondpay.api.params import body, query
from beyondpay.api.responses import json_response
from beyondpay.db.session import Database
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import RouteNotFoundError
from beyondpay.kit.invariants import invariant
from beyondpay.kit.settings import Settings
from beyondpay.psp.identity.auth import PayerContext, PayerDep, public_caller
from beyondpay.psp.identity.domain import OtpPurpose, mask_mobile, normalise_mobile
from beyondpay.psp.identity.errors import (
    BoundDeviceRequiredError,
    DeviceLinkRequiredError,
    MobileAlreadyRegisteredError,
    PayerFrozenError,
    RefreshTokenReusedError,
    SmsSenderMissingError,
)
from beyondpay.psp.identity.models import PayerRow
from beyondpay.psp.identity.schemas import (
    DeviceBindParams,
    DeviceLinkParams,
    HandoffRedeemParams,
    LoginParams,
    NoParams,
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
    otp_object,
    passkey_object,
    payer_object,
    sandbox_sms_object,
    session_object,
)
from beyondpay.psp.identity.service import (
    IssuedSession,
    device_link_service,
    device_service,
    handoff_service,
    otp_service,
    passkey_service,
    payer_service,
    sandbox_sms_service,
    session_service,
    signup_service,
)

router = APIRouter(prefix="/v1/psp", tags=["psp"])

ACCESS_PUBLIC = "payer: none (before a session)"
ACCESS_PAYER = "payer"


def _ring(request: Request) -> KeyRing:
    ring: KeyRing = request.app.state.key_ring
    return ring


def _sandbox_on(request: Request) -> bool:
    settings: Settings = request.app.state.settings
    return settings.psp_sandbox


def _issued(issued: IssuedSession) -> Outcome:
    body_ = session_object(issued.row, issued.payer, issued.access_token, issued.refresh_token)
    return Outcome(body_, sealed=True)


async def _checked_otp(
    request: Request, mobile: SecretStr, purpose: OtpPurpose, code: SecretStr
) -> str:
    """The id of the OTP ``code`` matches, checked in a transaction of its own that commits a
    wrong try even though this request's answer is an error."""
    database: Database = request.app.state.database
    async with database.unit_of_work() as own:
        verdict = await otp_service.check(own, _ring(request), mobile, purpose, code)
    if verdict.failure is not None:
        raise verdict.failure
    invariant(verdict.otp_id is not None, "a verdict holds an OTP id or a failure")
    return verdict.otp_id or ""


@router.post(
    "/otp",
    summary="Send a one-time password by SMS for sign-up or login",
    **operation(body=OtpSendParams, returns=PspOtp, access=ACCESS_PUBLIC),
)
async def send_otp(
    request: Request,
    session: SessionDep,
    params: Annotated[OtpSendParams, Depends(body(OtpSendParams))],
) -> Response:
    ring = _ring(request)
    mobile = normalise_mobile(params.mobile)
    caller = public_caller(ring, f"otp:{mobile.get_secret_value()}")
    if not _sandbox_on(request):
        raise SmsSenderMissingError()

    async def execute(_mutation: Mutation) -> Outcome:
        payer = await payer_service.find_by_mobile(session, ring, mobile)
        if params.purpose is OtpPurpose.signup and payer is not None:
            raise MobileAlreadyRegisteredError(param="mobile")
        row = await otp_service.send(
            session,
            ring,
            mobile,
            params.purpose,
            deliver=params.purpose is OtpPurpose.signup or payer is not None,
        )
        return Outcome(otp_object(row, mask_mobile(mobile)))

    return await run_mutation(request, session, caller, params, execute)


@router.post(
    "/signup",
    summary="Sign up with the OTP sent to the mobile number: a new payer and a session",
    **operation(body=SignupParams, returns=PspSession, access=ACCESS_PUBLIC),
)
async def sign_up(
    request: Request,
    session: SessionDep,
    params: Annotated[SignupParams, Depends(body(SignupParams))],
) -> Response:
    ring = _ring(request)
    mobile = normalise_mobile(params.mobile)
    code = params.otp.get_secret_value()
    caller = public_caller(ring, f"signup:{mobile.get_secret_value()}:{code}")

    async def execute(_mutation: Mutation) -> Outcome:
        otp_id = await _checked_otp(request, mobile, OtpPurpose.signup, params.otp)
        issued = await signup_service.sign_up(
            session, ring, otp_id=otp_id, mobile=mobile, name=params.name
        )
        return _issued(issued)

    return await run_mutation(request, session, caller, params, execute)


@router.post(
    "/login",
    summary="Sign in with the OTP sent to the mobile number: a new session",
    **operation(body=LoginParams, returns=PspSession, access=ACCESS_PUBLIC),
)
async def log_in(
    request: Request,
    session: SessionDep,
    params: Annotated[LoginParams, Depends(body(LoginParams))],
) -> Response:
    ring = _ring(request)
    mobile = normalise_mobile(params.mobile)
    code = params.otp.get_secret_value()
    caller = public_caller(ring, f"login:{mobile.get_secret_value()}:{code}")

    async def execute(_mutation: Mutation) -> Outcome:
        otp_id = await _checked_otp(request, mobile, OtpPurpose.login, params.otp)
        issued = await signup_service.log_in(
            session, ring, otp_id=otp_id, mobile=mobile, device_id=params.device_id
        )
        return _issued(issued)

    return await run_mutation(request, session, caller, params, execute)


@router.post(
    "/sessions/refresh",
    summary="Exchange a refresh token for new access and refresh tokens",
    **operation(body=RefreshParams, returns=PspSession, access=ACCESS_PUBLIC),
)
async def refresh_session(
    request: Request,
    session: SessionDep,
    params: Annotated[RefreshParams, Depends(body(RefreshParams))],
) -> Response:
    ring = _ring(request)
    caller = public_caller(ring, f"refresh:{params.refresh_token.get_secret_value()}")
    database: Database = request.app.state.database

    async def execute(_mutation: Mutation) -> Outcome:
        try:
            issued = await session_service.refresh(session, ring, params.refresh_token)
        except RefreshTokenReusedError as error:
            # This request's work rolls back with its error: the revocation commits on its own.
            async with database.unit_of_work() as own:
                await session_service.revoke(own, error.session_id, "refresh_token_reused")
            raise
        return _issued(issued)

    return await run_mutation(request, session, caller, params, execute)


@router.post(
    "/logout",
    summary="End this session",
    **operation(body=NoParams, returns=PspLogout, access=ACCESS_PAYER),
)
async def log_out(
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[NoParams, Depends(body(NoParams))],
) -> Response:
    async def execute(_mutation: Mutation) -> Outcome:
        ended = await session_service.revoke(session, payer.session_id, "logout")
        return Outcome({"object": "psp_logout", "sessions_revoked": int(ended)})

    return await run_mutation(request, session, payer.caller, params, execute)


@router.post(
    "/logout_everywhere",
    summary="End every session of the payer, on every device",
    **operation(body=NoParams, returns=PspLogout, access=ACCESS_PAYER),
)
async def log_out_everywhere(
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[NoParams, Depends(body(NoParams))],
) -> Response:
    async def execute(_mutation: Mutation) -> Outcome:
        ended = await session_service.revoke_everywhere(session, payer.payer_id)
        return Outcome({"object": "psp_logout", "sessions_revoked": ended})

    return await run_mutation(request, session, payer.caller, params, execute)


@router.get(
    "/me",
    summary="The signed-in payer",
    **operation(returns=PspPayer, access=ACCESS_PAYER),
)
async def retrieve_me(session: SessionDep, payer: PayerDep) -> Response:
    row = await payer_service.get(session, payer.payer_id)
    return json_response(payer_object(row))


@router.get(
    "/sandbox/sms",
    summary="Sandbox: the SMS messages sent to a mobile number (newest first)",
    **operation(query=SandboxSmsParams, returns=PspSandboxSmsList, access=ACCESS_PUBLIC),
)
async def list_sandbox_sms(
    request: Request,
    session: SessionDep,
    params: Annotated[SandboxSmsParams, Depends(query(SandboxSmsParams))],
) -> Response:
    if not _sandbox_on(request):
        raise RouteNotFoundError.for_request(request.method, request.url.path)
    ring = _ring(request)
    mobile = normalise_mobile(params.mobile)
    messages = await sandbox_sms_service.list(session, ring, mobile, params.limit)
    masked = mask_mobile(mobile)
    return json_response(
        {
            "object": "list",
            "url": request.url.path,
            "has_more": len(messages) == params.limit,
            "data": [sandbox_sms_object(row, masked, text) for row, text in messages],
        }
    )


# ---- devices ----------------------------------------------------------------------------------

DeviceParam = Annotated[str, Path(max_length=64, description="The device's id (the client's).")]
LinkParam = Annotated[str, Path(max_length=64, description="The link request's id (`pdl_…`).")]


@router.post(
    "/sandbox/sim_attestations",
    summary="Sandbox: attest that the SIM with this number sent its SMS from this device",
    **operation(body=SimAttestationParams, returns=PspSimAttestation, access=ACCESS_PUBLIC),
)
async def attest_sim(
    request: Request,
    session: SessionDep,
    params: Annotated[SimAttestationParams, Depends(body(SimAttestationParams))],
) -> Response:
    if not _sandbox_on(request):
        raise RouteNotFoundError.for_request(request.method, request.url.path)
    ring = _ring(request)
    mobile = normalise_mobile(params.mobile)
    caller = public_caller(ring, f"sim:{mobile.get_secret_value()}:{params.device_id}")

    async def execute(_mutation: Mutation) -> Outcome:
        token, expires_at = device_service.attest_sim(ring, mobile, params.device_id)
        answer = {
            "object": "psp_sim_attestation",
            "mobile": mask_mobile(mobile),
            "device": params.device_id,
            "binding_token": token,
            "expires_at": int(expires_at.timestamp()),
        }
        return Outcome(answer, sealed=True)

    return await run_mutation(request, session, caller, params, execute)


async def _counted_attempt(request: Request, payer_id: str, device_id: str) -> None:
    """Counts a binding attempt in a transaction of its own (it counts even when this request
    fails), and refuses a blocked device."""
    database: Database = request.app.state.database
    async with database.unit_of_work() as own:
        refusal = await device_service.count_attempt(own, payer_id, device_id)
    if refusal is not None:
        raise refusal


@router.post(
    "/devices",
    summary="Bind this device to the payer (the first device, or a further one with a passkey)",
    **operation(body=DeviceBindParams, returns=PspDevice, access=ACCESS_PAYER),
)
async def bind_device(
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[DeviceBindParams, Depends(body(DeviceBindParams))],
) -> Response:
    ring = _ring(request)

    async def execute(_mutation: Mutation) -> Outcome:
        await _counted_attempt(request, payer.payer_id, params.device_id)
        row = await payer_service.get(session, payer.payer_id)
        device_service.check_binding_token(ring, row, params.device_id, params.binding_token)
        already = await device_service.active(session, payer.payer_id, params.device_id)
        if already is None and await device_service.has_active(session, payer.payer_id):
            if params.challenge_id is None or params.credential is None:
                raise DeviceLinkRequiredError()
            await passkey_service.verify_step_up(
                session, payer.payer_id, params.credential, params.challenge_id
            )
        device = await device_service.bind(
            session,
            payer.payer_id,
            params.device_id,
            name=params.name,
            platform=params.platform,
            session_id=payer.session_id,
        )
        return Outcome(device_object(device, params.device_id))

    return await run_mutation(request, session, payer.caller, params, execute)


@router.get(
    "/devices",
    summary="The payer's devices, newest first",
    **operation(returns=PspDeviceList, access=ACCESS_PAYER),
)
async def list_devices(request: Request, session: SessionDep, payer: PayerDep) -> Response:
    rows = await device_service.list(session, payer.payer_id)
    data = [device_object(row, payer.device_id) for row in rows]
    return json_response(
        {"object": "list", "url": request.url.path, "has_more": False, "data": data}
    )


@router.post(
    "/devices/{device}/revoke",
    summary="Unbind a device: its sessions stop working at once",
    **operation(body=NoParams, returns=PspDevice, access=ACCESS_PAYER),
)
async def revoke_device(
    device: DeviceParam,
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[NoParams, Depends(body(NoParams))],
) -> Response:
    async def execute(_mutation: Mutation) -> Outcome:
        row = await device_service.revoke(session, payer.payer_id, device)
        return Outcome(device_object(row, payer.device_id))

    return await run_mutation(request, session, payer.caller, params, execute)


@router.post(
    "/device_links",
    summary="Ask to link this device; one of the payer's bound devices approves",
    **operation(body=DeviceLinkParams, returns=PspDeviceLink, access=ACCESS_PAYER),
)
async def request_device_link(
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[DeviceLinkParams, Depends(body(DeviceLinkParams))],
) -> Response:
    ring = _ring(request)

    async def execute(_mutation: Mutation) -> Outcome:
        await _counted_attempt(request, payer.payer_id, params.device_id)
        row = await device_link_service.request(
            session,
            ring,
            payer.payer_id,
            payer.session_id,
            device_id=params.device_id,
            binding_token=params.binding_token,
            name=params.name,
            platform=params.platform,
        )
        return Outcome(device_link_object(row))

    return await run_mutation(request, session, payer.caller, params, execute)


@router.get(
    "/device_links",
    summary="Link requests waiting for approval",
    **operation(returns=PspDeviceLinkList, access=ACCESS_PAYER),
)
async def list_device_links(request: Request, session: SessionDep, payer: PayerDep) -> Response:
    rows = await device_link_service.pending(session, payer.payer_id)
    data = [device_link_object(row) for row in rows]
    return json_response(
        {"object": "list", "url": request.url.path, "has_more": False, "data": data}
    )


async def _decide_link(
    request: Request,
    session: SessionDep,
    payer: PayerContext,
    link: str,
    params: NoParams,
    *,
    approve: bool,
) -> Response:
    async def execute(_mutation: Mutation) -> Outcome:
        row = await device_link_service.decide(
            session, payer.payer_id, payer.device_id, link, approve=approve
        )
        return Outcome(device_link_object(row))

    return await run_mutation(request, session, payer.caller, params, execute)


@router.post(
    "/device_links/{link}/approve",
    summary="Approve a link request from a session on a bound device: the device is bound",
    **operation(body=NoParams, returns=PspDeviceLink, access=ACCESS_PAYER),
)
async def approve_device_link(
    link: LinkParam,
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[NoParams, Depends(body(NoParams))],
) -> Response:
    return await _decide_link(request, session, payer, link, params, approve=True)


@router.post(
    "/device_links/{link}/decline",
    summary="Decline a link request from a session on a bound device",
    **operation(body=NoParams, returns=PspDeviceLink, access=ACCESS_PAYER),
)
async def decline_device_link(
    link: LinkParam,
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[NoParams, Depends(body(NoParams))],
) -> Response:
    return await _decide_link(request, session, payer, link, params, approve=False)


# ---- freeze -----------------------------------------------------------------------------------


@router.post(
    "/freeze",
    summary="Freeze the payer: no payment leaves until unfrozen with a passkey",
    **operation(body=NoParams, returns=PspPayer, access=ACCESS_PAYER),
)
async def freeze(
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[NoParams, Depends(body(NoParams))],
) -> Response:
    async def execute(_mutation: Mutation) -> Outcome:
        return Outcome(payer_object(await payer_service.freeze(session, payer.payer_id)))

    return await run_mutation(request, session, payer.caller, params, execute)


@router.post(
    "/unfreeze",
    summary="Unfreeze the payer with a passkey step-up",
    **operation(body=StepUpParams, returns=PspPayer, access=ACCESS_PAYER),
)
async def unfreeze(
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[StepUpParams, Depends(body(StepUpParams))],
) -> Response:
    async def execute(_mutation: Mutation) -> Outcome:
        await passkey_service.verify_step_up(
            session, payer.payer_id, params.credential, params.challenge_id
        )
        return Outcome(payer_object(await payer_service.unfreeze(session, payer.payer_id)))

    return await run_mutation(request, session, payer.caller, params, execute)


# ---- passkeys ---------------------------------------------------------------------------------


@router.post(
    "/passkeys/registration_options",
    summary="Start registering a passkey (from a session on a bound device)",
    **operation(body=NoParams, returns=PspPasskeyChallenge, access=ACCESS_PAYER),
)
async def passkey_registration_options(
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[NoParams, Depends(body(NoParams))],
) -> Response:
    async def execute(_mutation: Mutation) -> Outcome:
        row = await _passkey_registrant(session, payer)
        challenge = await passkey_service.registration_options(session, row)
        return Outcome(challenge_object(challenge.row, challenge.options))

    return await run_mutation(request, session, payer.caller, params, execute)


async def _passkey_registrant(session: SessionDep, payer: PayerContext) -> PayerRow:
    """Only a session on a bound device adds a passkey, and never while frozen: a passkey links
    devices and lifts a freeze, so an OTP (a SIM swap) alone must not be enough to add one."""
    if payer.device_id is None or (
        await device_service.active(session, payer.payer_id, payer.device_id) is None
    ):
        raise BoundDeviceRequiredError()
    row = await payer_service.get(session, payer.payer_id)
    if payer_service.is_frozen(row):
        raise PayerFrozenError()
    return row


@router.post(
    "/passkeys",
    summary="Finish registering a passkey with the authenticator's credential",
    **operation(body=PasskeyCreateParams, returns=PspPasskey, access=ACCESS_PAYER),
)
async def create_passkey(
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[PasskeyCreateParams, Depends(body(PasskeyCreateParams))],
) -> Response:
    async def execute(_mutation: Mutation) -> Outcome:
        await _passkey_registrant(session, payer)
        row = await passkey_service.register(
            session, payer.payer_id, params.challenge_id, params.credential, params.name
        )
        return Outcome(passkey_object(row))

    return await run_mutation(request, session, payer.caller, params, execute)


@router.get(
    "/passkeys",
    summary="The payer's passkeys",
    **operation(returns=PspPasskeyList, access=ACCESS_PAYER),
)
async def list_passkeys(request: Request, session: SessionDep, payer: PayerDep) -> Response:
    rows = await passkey_service.list(session, payer.payer_id)
    data = [passkey_object(row) for row in rows]
    return json_response(
        {"object": "list", "url": request.url.path, "has_more": False, "data": data}
    )


@router.post(
    "/passkeys/step_up/options",
    summary="A challenge for a passkey step-up (unfreeze, linking a device, …)",
    **operation(body=NoParams, returns=PspPasskeyChallenge, access=ACCESS_PAYER),
)
async def passkey_step_up_options(
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[NoParams, Depends(body(NoParams))],
) -> Response:
    async def execute(_mutation: Mutation) -> Outcome:
        challenge = await passkey_service.step_up_options(session, payer.payer_id)
        return Outcome(challenge_object(challenge.row, challenge.options))

    return await run_mutation(request, session, payer.caller, params, execute)


@router.post(
    "/passkeys/login/options",
    summary="A challenge to sign in with a passkey",
    **operation(body=PasskeyLoginOptionsParams, returns=PspPasskeyChallenge, access=ACCESS_PUBLIC),
)
async def passkey_login_options(
    request: Request,
    session: SessionDep,
    params: Annotated[PasskeyLoginOptionsParams, Depends(body(PasskeyLoginOptionsParams))],
) -> Response:
    ring = _ring(request)
    mobile = normalise_mobile(params.mobile)
    caller = public_caller(ring, f"passkey-login:{mobile.get_secret_value()}")

    async def execute(_mutation: Mutation) -> Outcome:
        row = await payer_service.find_by_mobile(session, ring, mobile)
        challenge = await passkey_service.login_options(session, row)
        return Outcome(challenge_object(challenge.row, challenge.options))

    return await run_mutation(request, session, caller, params, execute)


@router.post(
    "/passkeys/login",
    summary="Sign in with a passkey: a new session",
    **operation(body=PasskeyLoginParams, returns=PspSession, access=ACCESS_PUBLIC),
)
async def passkey_login(
    request: Request,
    session: SessionDep,
    params: Annotated[PasskeyLoginParams, Depends(body(PasskeyLoginParams))],
) -> Response:
    ring = _ring(request)
    caller = public_caller(ring, f"passkey:{params.challenge_id}:{params.credential}")

    async def execute(_mutation: Mutation) -> Outcome:
        payer_id = await passkey_service.verify_login(
            session, params.challenge_id, params.credential
        )
        row = await payer_service.get(session, payer_id)
        device_id = await device_service.checked(session, payer_id, params.device_id)
        return _issued(await session_service.start(session, ring, row, device_id))

    return await run_mutation(request, session, caller, params, execute)


# ---- handoffs ---------------------------------------------------------------------------------


@router.post(
    "/handoffs",
    summary="A one-time code (for a QR) that hands a session to another client",
    **operation(body=NoParams, returns=PspHandoff, access=ACCESS_PAYER),
)
async def create_handoff(
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[NoParams, Depends(body(NoParams))],
) -> Response:
    ring = _ring(request)

    async def execute(_mutation: Mutation) -> Outcome:
        issued = await handoff_service.create(session, ring, payer.payer_id, payer.device_id)
        answer = {
            "id": issued.row.id,
            "object": "psp_handoff",
            "qr_payload": issued.qr_payload.get_secret_value(),
            "expires_at": int(issued.row.expires_at.timestamp()),
        }
        return Outcome(answer, sealed=True)

    return await run_mutation(request, session, payer.caller, params, execute)


@router.post(
    "/handoffs/redeem",
    summary="Redeem a handoff code once: a session for this client",
    **operation(body=HandoffRedeemParams, returns=PspSession, access=ACCESS_PUBLIC),
)
async def redeem_handoff(
    request: Request,
    session: SessionDep,
    params: Annotated[HandoffRedeemParams, Depends(body(HandoffRedeemParams))],
) -> Response:
    ring = _ring(request)
    caller = public_caller(ring, f"handoff:{params.qr_payload.get_secret_value()}")

    async def execute(_mutation: Mutation) -> Outcome:
        return _issued(await handoff_service.redeem(session, ring, params.qr_payload))

    return await run_mutation(request, session, caller, params, execute)
