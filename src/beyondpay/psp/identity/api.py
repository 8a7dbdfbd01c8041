"""PSP identity routes under ``/v1/psp``: OTP, sign-up, login, sessions, the payer, the SMS sink.

Every POST goes through ``api.mutation.run_mutation`` (idempotent with ``Idempotency-Key``,
audited). Routes before a session are scoped by the credential they present
(:func:`~beyondpay.psp.identity.auth.public_caller`); answers holding tokens are sealed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
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
from beyondpay.psp.identity.auth import PayerDep, public_caller
from beyondpay.psp.identity.domain import OtpPurpose, mask_mobile, normalise_mobile
from beyondpay.psp.identity.errors import (
    MobileAlreadyRegisteredError,
    RefreshTokenReusedError,
    SmsSenderMissingError,
)
from beyondpay.psp.identity.schemas import (
    LoginParams,
    NoParams,
    OtpSendParams,
    PspLogout,
    PspOtp,
    PspPayer,
    PspSandboxSmsList,
    PspSession,
    RefreshParams,
    SandboxSmsParams,
    SignupParams,
    otp_object,
    payer_object,
    sandbox_sms_object,
    session_object,
)
from beyondpay.psp.identity.service import (
    IssuedSession,
    otp_service,
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
            session, ring, otp_id=otp_id, mobile=mobile, name=params.name.strip() or params.name
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
