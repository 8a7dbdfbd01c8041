"""PSP addresses routes: a payer's VPAs, the payee preview, private aliases and beneficiaries
under ``/v1/psp`` (payer sessions), and merchants' VPAs and QR codes under ``/v1/upi`` (merchant
keys, ``upi:read`` / ``upi:write``).

Answers that show a VPA or an alias in clear (to its owner) are sealed before they are kept for
idempotent replay, so the ``idempotency_keys`` table never holds one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Path
from starlette.responses import Response

from beyondpay.api.access import UpiReader, UpiWriter
from beyondpay.api.auth import SessionDep
from beyondpay.api.mutation import Outcome
from beyondpay.api.routing import Body, DatabaseDep, Listed, Query, RingDep, Router, listed
from beyondpay.kit.crypto import KeyRing
from beyondpay.psp.addresses.errors import ResolveRateLimitError
from beyondpay.psp.addresses.models import AliasRow, VpaRow
from beyondpay.psp.addresses.qr import render_png, render_svg
from beyondpay.psp.addresses.schemas import (
    AliasCreateParams,
    BeneficiaryCreateParams,
    DeletedPspBeneficiary,
    MerchantQrParams,
    MerchantVpaCreateParams,
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
    payee_preview_object,
    vpa_object,
)
from beyondpay.psp.addresses.service import (
    alias_service,
    beneficiary_service,
    merchant_vpa_service,
    open_alias,
    open_vpa,
    payee_service,
    vpa_service,
)
from beyondpay.psp.identity.auth import Payer, PayerDep

router = Router(prefix="/v1/psp", tags=["psp"])
merchant_router = Router(prefix="/v1/upi/merchant_vpas", tags=["upi"])

VpaId = Annotated[str, Path(max_length=255, description="The VPA's id (`vpa_…`).")]
AliasId = Annotated[str, Path(max_length=255, description="The alias's id (`als_…`).")]
BeneficiaryId = Annotated[str, Path(max_length=255, description="The id (`ben_…`).")]
MerchantVpaId = Annotated[str, Path(max_length=255, description="The id (`mvpa_…`).")]
Render = Callable[..., bytes | str]


async def _counted_resolve(database: DatabaseDep, payer: PayerDep) -> None:
    """Counts the lookup in a transaction of its own, before the request's: a refused lookup
    (an unknown address) rolls the request back, and must count all the same."""
    async with database.unit_of_work() as own:
        retry_after_s = await payee_service.count_resolve(own, payer.payer_id)
    if retry_after_s is not None:
        raise ResolveRateLimitError(
            "Too many addresses looked up in a minute. Retry later.",
            headers={"Retry-After": str(retry_after_s)},
        )


ResolveCounted = Annotated[None, Depends(_counted_resolve)]


# A VPA or alias in clear, to its owner: the answer is sealed before it is kept for a replay.
def _vpa(ring: KeyRing, row: VpaRow) -> dict[str, Any]:
    return vpa_object(row, open_vpa(ring, row))


def _alias(ring: KeyRing, row: AliasRow) -> dict[str, Any]:
    return alias_object(row, open_alias(ring, row))


def _merchant_vpa(ring: KeyRing, row: VpaRow) -> dict[str, Any]:
    return merchant_vpa_object(row, open_vpa(ring, row))


# ---- VPAs -------------------------------------------------------------------------------------


@router.post("/vpas", returns=PspVpa)
async def create_vpa(payer: Payer, params: Body[VpaCreateParams]) -> Outcome:
    """Create a VPA (username@handle) paid into one of the payer's bank accounts."""
    row, vpa = await vpa_service.create(payer.session, payer.ring, payer.id, params)
    return Outcome(vpa_object(row, vpa), sealed=True)


@router.get("/vpas", returns=PspVpa)
async def list_vpas(payer: Payer, params: Query[PspListParams]) -> Listed:
    """The payer's VPAs, deactivated ones included."""
    rows, has_more = await vpa_service.list(payer.session, payer.id, params)
    return Listed([_vpa(payer.ring, row) for row in rows], has_more)


@router.get("/vpas/{vpa}", returns=PspVpa)
async def retrieve_vpa(vpa: VpaId, payer: Payer) -> dict[str, Any]:
    """Retrieve one of the payer's VPAs."""
    row = await vpa_service.get(payer.session, payer.id, vpa)
    return _vpa(payer.ring, row)


@router.post("/vpas/{vpa}", returns=PspVpa)
async def update_vpa(vpa: VpaId, payer: Payer, params: Body[VpaUpdateParams]) -> Outcome:
    """Pay the VPA into another of the payer's linked bank accounts."""
    row = await vpa_service.relink(payer.session, payer.id, vpa, params.bank_account)
    return Outcome(_vpa(payer.ring, row), sealed=True)


@router.post("/vpas/{vpa}/primary", returns=PspVpa)
async def make_primary(vpa: VpaId, payer: Payer) -> Outcome:
    """Make the VPA the payer's primary (the one their mobile number resolves to)."""
    row = await vpa_service.make_primary(payer.session, payer.id, vpa)
    return Outcome(_vpa(payer.ring, row), sealed=True)


@router.post("/vpas/{vpa}/deactivate", returns=PspVpa)
async def deactivate_vpa(vpa: VpaId, payer: Payer) -> Outcome:
    """Deactivate the VPA: it stops receiving money; its name is never reissued."""
    row = await vpa_service.deactivate(payer.session, payer.id, vpa)
    return Outcome(_vpa(payer.ring, row), sealed=True)


# ---- the payee preview ------------------------------------------------------------------------


@router.post("/resolve", returns=PspPayeePreview)
async def resolve(payer: Payer, params: Body[ResolveParams], _: ResolveCounted) -> Outcome:
    """Preview a payee: the verified name behind a VPA, mobile number or alias."""
    payee = await payee_service.preview(payer.session, payer.ring, payer.id, params)
    return Outcome(payee_preview_object(payee))


# ---- private aliases --------------------------------------------------------------------------


@router.post("/aliases", returns=PspAlias)
async def create_alias(payer: Payer, params: Body[AliasCreateParams]) -> Outcome:
    """Create a private alias standing for one of the payer's VPAs."""
    row, alias = await alias_service.create(payer.session, payer.ring, payer.id, params)
    return Outcome(alias_object(row, alias), sealed=True)


@router.get("/aliases", returns=PspAlias)
async def list_aliases(payer: Payer, params: Query[PspListParams]) -> Listed:
    """The payer's aliases."""
    rows, has_more = await alias_service.list(payer.session, payer.id, params)
    return Listed([_alias(payer.ring, row) for row in rows], has_more)


@router.get("/aliases/{alias}", returns=PspAlias)
async def retrieve_alias(alias: AliasId, payer: Payer) -> dict[str, Any]:
    """Retrieve one of the payer's aliases."""
    row = await alias_service.get(payer.session, payer.id, alias)
    return _alias(payer.ring, row)


@router.post("/aliases/{alias}/rotate", returns=PspAlias)
async def rotate_alias(alias: AliasId, payer: Payer) -> Outcome:
    """Give the alias a new text; the old one stops resolving."""
    row, text = await alias_service.rotate(payer.session, payer.ring, payer.id, alias)
    return Outcome(alias_object(row, text), sealed=True)


@router.post("/aliases/{alias}/revoke", returns=PspAlias)
async def revoke_alias(alias: AliasId, payer: Payer) -> Outcome:
    """Revoke the alias for good: nothing resolves through it any more."""
    row = await alias_service.revoke(payer.session, payer.id, alias)
    return Outcome(_alias(payer.ring, row), sealed=True)


# ---- beneficiaries ----------------------------------------------------------------------------


@router.post("/beneficiaries", returns=PspBeneficiary)
async def create_beneficiary(
    payer: Payer, params: Body[BeneficiaryCreateParams], _: ResolveCounted
) -> Outcome:
    """Save a payee by VPA, alias or mobile number."""
    row = await payee_service.save_beneficiary(payer.session, payer.ring, payer.id, params)
    return Outcome(beneficiary_object(row))


@router.get("/beneficiaries", returns=PspBeneficiary)
async def list_beneficiaries(payer: Payer, params: Query[PspListParams]) -> Listed:
    """The payer's saved payees."""
    page = await beneficiary_service.list(payer.session, payer.id, params)
    return listed(beneficiary_object, page)


@router.delete("/beneficiaries/{beneficiary}", returns=DeletedPspBeneficiary)
async def delete_beneficiary(beneficiary: BeneficiaryId, payer: Payer) -> Outcome:
    """Delete a saved payee."""
    row = await beneficiary_service.delete(payer.session, payer.id, beneficiary)
    return Outcome(beneficiary_object(row))


# ---- merchant VPAs (merchant keys) ------------------------------------------------------------


@merchant_router.post("", returns=UpiMerchantVpa)
async def create_merchant_vpa(
    session: SessionDep, ring: RingDep, caller: UpiWriter, params: Body[MerchantVpaCreateParams]
) -> Outcome:
    """Create a merchant VPA payers can pay at (test mode)."""
    row, vpa = await merchant_vpa_service.create(session, ring, caller, params)
    return Outcome(merchant_vpa_object(row, vpa), sealed=True)


@merchant_router.get("", returns=UpiMerchantVpa)
async def list_merchant_vpas(
    session: SessionDep, ring: RingDep, caller: UpiReader, params: Query[PspListParams]
) -> Listed:
    """List merchant VPAs."""
    rows, has_more = await merchant_vpa_service.list(session, caller, params)
    return Listed([_merchant_vpa(ring, row) for row in rows], has_more)


@merchant_router.get("/{merchant_vpa}", returns=UpiMerchantVpa)
async def retrieve_merchant_vpa(
    merchant_vpa: MerchantVpaId, session: SessionDep, ring: RingDep, caller: UpiReader
) -> dict[str, Any]:
    """Retrieve a merchant VPA."""
    row = await merchant_vpa_service.get(session, caller, merchant_vpa)
    return _merchant_vpa(ring, row)


def _image(media_type: str, schema: dict[str, str]) -> dict[str, Any]:
    """What an image route documents and answers with, in place of a JSON object."""
    content = {media_type: {"schema": schema}}
    description = "The QR code of the VPA's UPI payment link."
    return {
        "responses": {200: {"description": description, "content": content}},
        "response_class": Response,
    }


def _qr_route(kind: str, media_type: str, schema: dict[str, str], render: Render) -> None:
    """A route answering the VPA's QR code as an image: one per format, the same link."""

    async def merchant_qr(
        merchant_vpa: MerchantVpaId,
        session: SessionDep,
        ring: RingDep,
        caller: UpiReader,
        params: Query[MerchantQrParams],
    ) -> Response:
        row = await merchant_vpa_service.get(session, caller, merchant_vpa)
        link = merchant_vpa_service.qr_link(ring, row, params)
        return Response(render(link, scale=params.scale), media_type=media_type)

    # Named before it is routed: the route's name and operationId are read from it.
    merchant_qr.__name__ = merchant_qr.__qualname__ = f"merchant_qr_{kind}"
    merchant_qr.__doc__ = (
        f"The VPA's UPI QR code as {kind.upper()}: static, or dynamic with amount and tr."
    )
    merchant_router.get(f"/{{merchant_vpa}}/qr.{kind}", **_image(media_type, schema))(merchant_qr)


_qr_route("png", "image/png", {"type": "string", "format": "binary"}, render_png)
_qr_route("svg", "image/svg+xml", {"type": "string"}, render_svg)
