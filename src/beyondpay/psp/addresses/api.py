"""PSP addresses routes: a payer's VPAs, the payee preview, private aliases and beneficiaries
under ``/v1/psp`` (payer sessions), and merchants' VPAs and QR codes under ``/v1/upi`` (merchant
keys, ``upi:read`` / ``upi:write``).

Every POST goes through ``api.mutation.run_mutation``. Answers that show a VPA or an alias in
clear (to its owner) are sealed before they are kept for idempotent replay, so the
``idempotency_keys`` table never holds one.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Path, Request
from starlette.responses import Response

from beyondpay.api.auth import SessionDep, authorize
from beyondpay.api.expand import refuse_expansions
from beyondpay.api.lists import list_object, list_of
from beyondpay.api.mutation import Mutation, Outcome, run_mutation
from beyondpay.api.openapi import operation
from beyondpay.api.params import body, query
from beyondpay.api.responses import json_response
from beyondpay.db.session import Database
from beyondpay.kit.crypto import KeyRing
from beyondpay.merchants.domain import Caller, Scope
from beyondpay.psp.addresses.errors import ResolveRateLimitError
from beyondpay.psp.addresses.qr import render_png, render_svg
from beyondpay.psp.addresses.schemas import (
    AliasCreateParams,
    BeneficiaryCreateParams,
    DeletedPspBeneficiary,
    MerchantQrParams,
    MerchantVpaCreateParams,
    NoParams,
    PspAlias,
    PspBeneficiary,
    PspListParams,
    PspPayeePreview,
    PspVpa,
    ResolveParams,
    UpiMerchantVpa,
    VpaCreateParams,
    VpaUpdateParams,
    alias_object,
    beneficiary_object,
    merchant_vpa_object,
    vpa_object,
)
from beyondpay.psp.addresses.service import Payee, address_service, open_alias, open_vpa
from beyondpay.psp.identity.auth import PayerDep

router = APIRouter(prefix="/v1/psp", tags=["psp"])
merchant_router = APIRouter(prefix="/v1/upi/merchant_vpas", tags=["upi"])

ACCESS_PAYER: Final = "payer"
VpaId = Annotated[str, Path(max_length=255, description="The VPA's id (`vpa_…`).")]
AliasId = Annotated[str, Path(max_length=255, description="The alias's id (`als_…`).")]
BeneficiaryId = Annotated[str, Path(max_length=255, description="The id (`ben_…`).")]
MerchantVpaId = Annotated[str, Path(max_length=255, description="The id (`mvpa_…`).")]
Reader = Annotated[Caller, Depends(authorize(Scope.upi_read))]
Writer = Annotated[Caller, Depends(authorize(Scope.upi_write))]


def _ring(request: Request) -> KeyRing:
    ring: KeyRing = request.app.state.key_ring
    return ring


# ---- VPAs -------------------------------------------------------------------------------------


@router.post(
    "/vpas",
    summary="Create a VPA (username@handle) paid into one of the payer's bank accounts",
    **operation(body=VpaCreateParams, returns=PspVpa, access=ACCESS_PAYER),
)
async def create_vpa(
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[VpaCreateParams, Depends(body(VpaCreateParams))],
) -> Response:
    ring = _ring(request)

    async def execute(_mutation: Mutation) -> Outcome:
        row, vpa = await address_service.create_vpa(session, ring, payer.payer_id, params)
        return Outcome(vpa_object(row, vpa), sealed=True)

    return await run_mutation(request, session, payer.caller, params, execute)


PspVpaList = list_of(PspVpa)


@router.get(
    "/vpas",
    summary="The payer's VPAs, deactivated ones included",
    **operation(query=PspListParams, returns=PspVpaList, access=ACCESS_PAYER),
)
async def list_vpas(
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[PspListParams, Depends(query(PspListParams))],
) -> Response:
    refuse_expansions(params.expand, set(), listing=True)
    ring = _ring(request)
    rows, has_more = await address_service.list_vpas(session, payer.payer_id, params)
    data = [vpa_object(row, open_vpa(ring, row)) for row in rows]
    return json_response(list_object(request.url.path, data, has_more))


@router.get(
    "/vpas/{vpa}",
    summary="Retrieve one of the payer's VPAs",
    **operation(returns=PspVpa, access=ACCESS_PAYER),
)
async def retrieve_vpa(
    vpa: VpaId, request: Request, session: SessionDep, payer: PayerDep
) -> Response:
    row = await address_service.get_vpa(session, payer.payer_id, vpa)
    return json_response(vpa_object(row, open_vpa(_ring(request), row)))


@router.post(
    "/vpas/{vpa}",
    summary="Pay the VPA into another of the payer's linked bank accounts",
    **operation(body=VpaUpdateParams, returns=PspVpa, access=ACCESS_PAYER),
)
async def update_vpa(
    vpa: VpaId,
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[VpaUpdateParams, Depends(body(VpaUpdateParams))],
) -> Response:
    ring = _ring(request)

    async def execute(_mutation: Mutation) -> Outcome:
        row = await address_service.relink_vpa(session, payer.payer_id, vpa, params.bank_account)
        return Outcome(vpa_object(row, open_vpa(ring, row)), sealed=True)

    return await run_mutation(request, session, payer.caller, params, execute)


@router.post(
    "/vpas/{vpa}/primary",
    summary="Make the VPA the payer's primary (the one their mobile number resolves to)",
    **operation(body=NoParams, returns=PspVpa, access=ACCESS_PAYER),
)
async def make_primary(
    vpa: VpaId,
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[NoParams, Depends(body(NoParams))],
) -> Response:
    ring = _ring(request)

    async def execute(_mutation: Mutation) -> Outcome:
        row = await address_service.make_primary(session, payer.payer_id, vpa)
        return Outcome(vpa_object(row, open_vpa(ring, row)), sealed=True)

    return await run_mutation(request, session, payer.caller, params, execute)


@router.post(
    "/vpas/{vpa}/deactivate",
    summary="Deactivate the VPA: it stops receiving money; its name is never reissued",
    **operation(body=NoParams, returns=PspVpa, access=ACCESS_PAYER),
)
async def deactivate_vpa(
    vpa: VpaId,
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[NoParams, Depends(body(NoParams))],
) -> Response:
    ring = _ring(request)

    async def execute(_mutation: Mutation) -> Outcome:
        row = await address_service.deactivate_vpa(session, payer.payer_id, vpa)
        return Outcome(vpa_object(row, open_vpa(ring, row)), sealed=True)

    return await run_mutation(request, session, payer.caller, params, execute)


# ---- the payee preview ------------------------------------------------------------------------


def payee_preview_object(payee: Payee) -> dict[str, Any]:
    return {
        "object": "psp_payee_preview",
        "kind": payee.kind,
        "verified_name": payee.verified_name,
        "masked": payee.masked,
        "merchant_category_code": payee.merchant_category_code,
    }


async def _count_resolve(request: Request, payer_id: str) -> None:
    """Counts the lookup in a transaction of its own, before the request's: a refused lookup
    (an unknown address) rolls the request back, and must count all the same."""
    database: Database = request.app.state.database
    async with database.unit_of_work() as own:
        retry_after_s = await address_service.count_resolve(own, payer_id)
    if retry_after_s is not None:
        raise ResolveRateLimitError(
            "Too many addresses looked up in a minute. Retry later.",
            headers={"Retry-After": str(retry_after_s)},
        )


@router.post(
    "/resolve",
    summary="Preview a payee: the verified name behind a VPA, mobile number or alias",
    **operation(body=ResolveParams, returns=PspPayeePreview, access=ACCESS_PAYER),
)
async def resolve(
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[ResolveParams, Depends(body(ResolveParams))],
) -> Response:
    ring = _ring(request)
    await _count_resolve(request, payer.payer_id)

    async def execute(_mutation: Mutation) -> Outcome:
        payee = await address_service.preview(session, ring, payer.payer_id, params)
        return Outcome(payee_preview_object(payee))

    return await run_mutation(request, session, payer.caller, params, execute)


# ---- private aliases --------------------------------------------------------------------------


@router.post(
    "/aliases",
    summary="Create a private alias standing for one of the payer's VPAs",
    **operation(body=AliasCreateParams, returns=PspAlias, access=ACCESS_PAYER),
)
async def create_alias(
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[AliasCreateParams, Depends(body(AliasCreateParams))],
) -> Response:
    ring = _ring(request)

    async def execute(_mutation: Mutation) -> Outcome:
        row, alias = await address_service.create_alias(session, ring, payer.payer_id, params)
        return Outcome(alias_object(row, alias), sealed=True)

    return await run_mutation(request, session, payer.caller, params, execute)


PspAliasList = list_of(PspAlias)


@router.get(
    "/aliases",
    summary="The payer's aliases",
    **operation(query=PspListParams, returns=PspAliasList, access=ACCESS_PAYER),
)
async def list_aliases(
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[PspListParams, Depends(query(PspListParams))],
) -> Response:
    refuse_expansions(params.expand, set(), listing=True)
    ring = _ring(request)
    rows, has_more = await address_service.list_aliases(session, payer.payer_id, params)
    data = [alias_object(row, open_alias(ring, row)) for row in rows]
    return json_response(list_object(request.url.path, data, has_more))


@router.get(
    "/aliases/{alias}",
    summary="Retrieve one of the payer's aliases",
    **operation(returns=PspAlias, access=ACCESS_PAYER),
)
async def retrieve_alias(
    alias: AliasId, request: Request, session: SessionDep, payer: PayerDep
) -> Response:
    row = await address_service.get_alias(session, payer.payer_id, alias)
    return json_response(alias_object(row, open_alias(_ring(request), row)))


@router.post(
    "/aliases/{alias}/rotate",
    summary="Give the alias a new text; the old one stops resolving",
    **operation(body=NoParams, returns=PspAlias, access=ACCESS_PAYER),
)
async def rotate_alias(
    alias: AliasId,
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[NoParams, Depends(body(NoParams))],
) -> Response:
    ring = _ring(request)

    async def execute(_mutation: Mutation) -> Outcome:
        row, text = await address_service.rotate_alias(session, ring, payer.payer_id, alias)
        return Outcome(alias_object(row, text), sealed=True)

    return await run_mutation(request, session, payer.caller, params, execute)


@router.post(
    "/aliases/{alias}/revoke",
    summary="Revoke the alias for good: nothing resolves through it any more",
    **operation(body=NoParams, returns=PspAlias, access=ACCESS_PAYER),
)
async def revoke_alias(
    alias: AliasId,
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[NoParams, Depends(body(NoParams))],
) -> Response:
    ring = _ring(request)

    async def execute(_mutation: Mutation) -> Outcome:
        row = await address_service.revoke_alias(session, payer.payer_id, alias)
        return Outcome(alias_object(row, open_alias(ring, row)), sealed=True)

    return await run_mutation(request, session, payer.caller, params, execute)


# ---- beneficiaries ----------------------------------------------------------------------------


@router.post(
    "/beneficiaries",
    summary="Save a payee by VPA, alias or mobile number",
    **operation(body=BeneficiaryCreateParams, returns=PspBeneficiary, access=ACCESS_PAYER),
)
async def create_beneficiary(
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[BeneficiaryCreateParams, Depends(body(BeneficiaryCreateParams))],
) -> Response:
    ring = _ring(request)
    await _count_resolve(request, payer.payer_id)

    async def execute(_mutation: Mutation) -> Outcome:
        row = await address_service.create_beneficiary(session, ring, payer.payer_id, params)
        return Outcome(beneficiary_object(row))

    return await run_mutation(request, session, payer.caller, params, execute)


PspBeneficiaryList = list_of(PspBeneficiary)


@router.get(
    "/beneficiaries",
    summary="The payer's saved payees",
    **operation(query=PspListParams, returns=PspBeneficiaryList, access=ACCESS_PAYER),
)
async def list_beneficiaries(
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[PspListParams, Depends(query(PspListParams))],
) -> Response:
    refuse_expansions(params.expand, set(), listing=True)
    rows, has_more = await address_service.list_beneficiaries(session, payer.payer_id, params)
    data = [beneficiary_object(row) for row in rows]
    return json_response(list_object(request.url.path, data, has_more))


@router.delete(
    "/beneficiaries/{beneficiary}",
    summary="Delete a saved payee",
    **operation(returns=DeletedPspBeneficiary, access=ACCESS_PAYER),
)
async def delete_beneficiary(
    beneficiary: BeneficiaryId, request: Request, session: SessionDep, payer: PayerDep
) -> Response:
    async def execute(_mutation: Mutation) -> Outcome:
        row = await address_service.delete_beneficiary(session, payer.payer_id, beneficiary)
        return Outcome(beneficiary_object(row))

    return await run_mutation(request, session, payer.caller, None, execute)


# ---- merchant VPAs (merchant keys) ------------------------------------------------------------


@merchant_router.post(
    "",
    summary="Create a merchant VPA payers can pay at (test mode)",
    **operation(body=MerchantVpaCreateParams, returns=UpiMerchantVpa, access="upi:write"),
)
async def create_merchant_vpa(
    request: Request,
    session: SessionDep,
    caller: Writer,
    params: Annotated[MerchantVpaCreateParams, Depends(body(MerchantVpaCreateParams))],
) -> Response:
    ring = _ring(request)

    async def execute(_mutation: Mutation) -> Outcome:
        row, vpa = await address_service.create_merchant_vpa(session, ring, caller, params)
        return Outcome(merchant_vpa_object(row, vpa), sealed=True)

    return await run_mutation(request, session, caller, params, execute)


UpiMerchantVpaList = list_of(UpiMerchantVpa)


@merchant_router.get(
    "",
    summary="List merchant VPAs",
    **operation(query=PspListParams, returns=UpiMerchantVpaList, access="upi:read"),
)
async def list_merchant_vpas(
    request: Request,
    session: SessionDep,
    caller: Reader,
    params: Annotated[PspListParams, Depends(query(PspListParams))],
) -> Response:
    refuse_expansions(params.expand, set(), listing=True)
    ring = _ring(request)
    rows, has_more = await address_service.list_merchant_vpas(session, caller, params)
    data = [merchant_vpa_object(row, open_vpa(ring, row)) for row in rows]
    return json_response(list_object(request.url.path, data, has_more))


@merchant_router.get(
    "/{merchant_vpa}",
    summary="Retrieve a merchant VPA",
    **operation(returns=UpiMerchantVpa, access="upi:read"),
)
async def retrieve_merchant_vpa(
    merchant_vpa: MerchantVpaId, request: Request, session: SessionDep, caller: Reader
) -> Response:
    row = await address_service.get_merchant_vpa(session, caller, merchant_vpa)
    return json_response(merchant_vpa_object(row, open_vpa(_ring(request), row)))


def _image(media_type: str, schema: dict[str, str], access: str) -> dict[str, Any]:
    kwargs = operation(query=MerchantQrParams, access=access)
    kwargs["responses"] = {
        200: {
            "description": "The QR code of the VPA's UPI payment link.",
            "content": {media_type: {"schema": schema}},
        }
    }
    kwargs["response_class"] = Response
    return kwargs


@merchant_router.get(
    "/{merchant_vpa}/qr.png",
    summary="The VPA's UPI QR code as PNG: static, or dynamic with amount and tr",
    **_image("image/png", {"type": "string", "format": "binary"}, "upi:read"),
)
async def merchant_qr_png(
    merchant_vpa: MerchantVpaId,
    request: Request,
    session: SessionDep,
    caller: Reader,
    params: Annotated[MerchantQrParams, Depends(query(MerchantQrParams))],
) -> Response:
    ring = _ring(request)
    row = await address_service.get_merchant_vpa(session, caller, merchant_vpa)
    link = address_service.merchant_qr_link(ring, row, params)
    return Response(render_png(link, scale=params.scale), media_type="image/png")


@merchant_router.get(
    "/{merchant_vpa}/qr.svg",
    summary="The VPA's UPI QR code as SVG: static, or dynamic with amount and tr",
    **_image("image/svg+xml", {"type": "string"}, "upi:read"),
)
async def merchant_qr_svg(
    merchant_vpa: MerchantVpaId,
    request: Request,
    session: SessionDep,
    caller: Reader,
    params: Annotated[MerchantQrParams, Depends(query(MerchantQrParams))],
) -> Response:
    ring = _ring(request)
    row = await address_service.get_merchant_vpa(session, caller, merchant_vpa)
    link = address_service.merchant_qr_link(ring, row, params)
    return Response(render_svg(link, scale=params.scale), media_type="image/svg+xml")
