"""Account, KYC and API-key routes for merchants, and the platform admin's routes over merchants:
parse, authorize, call the merchants service, render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from beyondpay.accounts.schemas import (
    Account,
    ApiKey,
    ApiKeyCreateParams,
    ApiKeyListParams,
    ApiKeyRollParams,
    ApiKeyWithSecret,
    KycDocument,
    KycDocumentCreateParams,
    KycDocumentListParams,
    NewAccount,
    PlatformKycDocumentListParams,
    PlatformMerchantCreateParams,
    PlatformMerchantListParams,
    RejectParams,
    RolledApiKey,
    SuspendParams,
    account_object,
    api_key_object,
    api_key_with_secret,
    kyc_document_object,
    new_account_object,
)
from beyondpay.api.access import (
    AccountReader,
    ApiKeysReader,
    ApiKeysWriter,
    PlatformAdmin,
    SecretKey,
)
from beyondpay.api.auditing import audit
from beyondpay.api.auth import SessionDep
from beyondpay.api.lists import ListParams
from beyondpay.api.mutation import Outcome
from beyondpay.api.responses import json_response
from beyondpay.api.routing import Body, Listed, Query, RingDep, Router
from beyondpay.merchants.kyc import KycStatus, checked_details
from beyondpay.merchants.service import (
    api_key_service,
    checked_allowed_ips,
    checked_scopes,
    kyc_service,
    merchant_service,
)

account_router = Router(prefix="/v1/account", tags=["account"])
api_keys_router = Router(prefix="/v1/api_keys", tags=["api_keys"])
platform_router = Router(prefix="/v1/platform", tags=["platform"])

KeyId = Annotated[str, Path(max_length=255, description="The API key's id (`key_…`).")]
MerchantId = Annotated[str, Path(max_length=255, description="The account's id (`acct_…`).")]
DocumentId = Annotated[str, Path(max_length=255, description="The document's id (`kyc_…`).")]


async def _kyc_documents(
    session: AsyncSession,
    params: ListParams,
    merchant_id: str | None,
    status: KycStatus | None = None,
) -> Listed:
    """A page of one merchant's KYC documents (``merchant_id``), or of every merchant's."""
    views, has_more = await kyc_service.list_documents(session, params, merchant_id, status)
    return Listed([kyc_document_object(view) for view in views], has_more)


async def _kyc_details(params: Body[KycDocumentCreateParams]) -> dict[str, str]:
    """The document's details, checked before the mutation runs: a malformed document is a
    validation failure, which an idempotency key does not store."""
    return checked_details(params.type, params.details())


KycDetails = Annotated[dict[str, str], Depends(_kyc_details)]


async def _check_key_params(caller: ApiKeysWriter, params: Body[ApiKeyCreateParams]) -> None:
    """A restricted key's scopes and networks, checked before the mutation runs (the caller
    first: an unauthenticated request is refused before its parameters are read)."""
    checked_scopes(params.scopes)
    checked_allowed_ips(params.allowed_ips)


# ---- the caller's own account ------------------------------------------------------------------


@account_router.get("", returns=Account)
async def retrieve_account(session: SessionDep, caller: AccountReader) -> dict[str, Any]:
    """Retrieve the caller's account."""
    return account_object(await merchant_service.account(session, caller.merchant))


@account_router.post("/kyc_documents", returns=KycDocument)
async def submit_kyc_document(
    session: SessionDep,
    caller: SecretKey,
    ring: RingDep,
    params: Body[KycDocumentCreateParams],
    details: KycDetails,
) -> Outcome:
    """Submit a KYC document for review."""
    view = await kyc_service.submit(session, ring, caller.merchant, params.type, details)
    return Outcome(kyc_document_object(view))


@account_router.get("/kyc_documents", returns=KycDocument)
async def list_kyc_documents(
    session: SessionDep, caller: SecretKey, params: Query[KycDocumentListParams]
) -> Listed:
    """List the account's KYC documents."""
    return await _kyc_documents(session, params, caller.merchant)


# ---- API keys ----------------------------------------------------------------------------------


@api_keys_router.get("", returns=ApiKey)
async def list_api_keys(
    session: SessionDep, caller: ApiKeysReader, params: Query[ApiKeyListParams]
) -> Listed:
    """List the API keys of the caller's mode."""
    views, has_more = await api_key_service.list_keys(session, caller, params)
    return Listed([api_key_object(view) for view in views], has_more)


@api_keys_router.post("", returns=ApiKeyWithSecret, checks=[_check_key_params])
async def create_api_key(
    session: SessionDep, caller: ApiKeysWriter, ring: RingDep, params: Body[ApiKeyCreateParams]
) -> Outcome:
    """Create a restricted API key."""
    created = await api_key_service.create_restricted(
        session,
        ring,
        caller,
        scopes=params.scopes,
        name=params.name,
        allowed_ips=params.allowed_ips,
    )
    return Outcome(api_key_with_secret(created), sealed=True)


@api_keys_router.post("/{key}/roll", returns=RolledApiKey)
async def roll_api_key(
    key: KeyId,
    session: SessionDep,
    caller: ApiKeysWriter,
    ring: RingDep,
    params: Body[ApiKeyRollParams],
) -> Outcome:
    """Roll an API key: a new key, the old one expiring after an overlap."""
    new, old = await api_key_service.roll(session, ring, caller, key, params.expires_in)
    return Outcome({**api_key_with_secret(new), "rolled_from": api_key_object(old)}, sealed=True)


@api_keys_router.post("/{key}/revoke", returns=ApiKey)
async def revoke_api_key(key: KeyId, session: SessionDep, caller: ApiKeysWriter) -> Outcome:
    """Revoke an API key at once."""
    return Outcome(api_key_object(await api_key_service.revoke(session, caller, key)))


# ---- platform admin ----------------------------------------------------------------------------


@platform_router.post("/merchants", returns=NewAccount)
async def create_merchant(
    session: SessionDep,
    _caller: PlatformAdmin,
    ring: RingDep,
    params: Body[PlatformMerchantCreateParams],
) -> Outcome:
    """Create a merchant account and its four keys."""
    created = await merchant_service.create(session, ring, name=params.name)
    view = await merchant_service.account(session, created.id)
    return Outcome(new_account_object(view, created), sealed=True)


@platform_router.get("/merchants", returns=Account)
async def list_merchants(
    session: SessionDep, _caller: PlatformAdmin, params: Query[PlatformMerchantListParams]
) -> Listed:
    """List merchant accounts."""
    views, has_more = await merchant_service.list_accounts(session, params, params.status)
    return Listed([account_object(view) for view in views], has_more)


@platform_router.get("/merchants/{merchant}", returns=Account)
async def retrieve_merchant(
    merchant: MerchantId, session: SessionDep, _caller: PlatformAdmin
) -> dict[str, Any]:
    """Retrieve a merchant account."""
    return account_object(await merchant_service.account(session, merchant))


@platform_router.post("/merchants/{merchant}/suspend", returns=Account)
async def suspend_merchant(
    merchant: MerchantId, session: SessionDep, _caller: PlatformAdmin, params: Body[SuspendParams]
) -> Outcome:
    """Suspend a merchant account: every key is refused until reactivation."""
    return Outcome(account_object(await merchant_service.suspend(session, merchant, params.reason)))


@platform_router.post("/merchants/{merchant}/reactivate", returns=Account)
async def reactivate_merchant(
    merchant: MerchantId, session: SessionDep, _caller: PlatformAdmin
) -> Outcome:
    """Lift a merchant account's suspension."""
    return Outcome(account_object(await merchant_service.reactivate(session, merchant)))


@platform_router.get("/merchants/{merchant}/kyc_documents", returns=KycDocument)
async def list_merchant_kyc_documents(
    merchant: MerchantId,
    session: SessionDep,
    _caller: PlatformAdmin,
    params: Query[KycDocumentListParams],
) -> Listed:
    """List a merchant's KYC documents."""
    await merchant_service.account(session, merchant)  # 404 for an unknown merchant
    return await _kyc_documents(session, params, merchant)


@platform_router.get("/kyc_documents", returns=KycDocument)
async def list_all_kyc_documents(
    session: SessionDep, _caller: PlatformAdmin, params: Query[PlatformKycDocumentListParams]
) -> Listed:
    """List KYC documents of every merchant: the review queue with status=pending_review."""
    return await _kyc_documents(session, params, None, params.status)


@platform_router.get("/kyc_documents/{document}/reveal", returns=KycDocument)
async def reveal_kyc_document(
    document: DocumentId,
    request: Request,
    session: SessionDep,
    caller: PlatformAdmin,
    ring: RingDep,
) -> Response:
    """Retrieve a KYC document with its details in full, for review (audited).

    The reviewer's view. Every read is put in the platform's audit trail (a read of sealed
    personal data is an event worth a record), and the answer is never stored or cached."""
    view, details = await kyc_service.reveal(session, ring, document)
    await audit(session, request, caller, 200, object_id=view.id)
    await session.commit()
    response = json_response({**kyc_document_object(view), "details": details})
    response.headers["cache-control"] = "no-store"
    return response


@platform_router.post("/kyc_documents/{document}/approve", returns=KycDocument)
async def approve_kyc_document(
    document: DocumentId, session: SessionDep, _caller: PlatformAdmin
) -> Outcome:
    """Approve a KYC document pending review."""
    return Outcome(kyc_document_object(await kyc_service.approve(session, document)))


@platform_router.post("/kyc_documents/{document}/reject", returns=KycDocument)
async def reject_kyc_document(
    document: DocumentId, session: SessionDep, _caller: PlatformAdmin, params: Body[RejectParams]
) -> Outcome:
    """Reject a KYC document pending review, with a reason the merchant sees."""
    view = await kyc_service.reject(session, document, params.reason)
    return Outcome(kyc_document_object(view))


# The module's routes, mounted as one by app.py.
router = APIRouter()
router.include_router(account_router)
router.include_router(api_keys_router)
router.include_router(platform_router)
