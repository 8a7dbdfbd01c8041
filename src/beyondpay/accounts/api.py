"""Account, KYC and API-key routes for merchants, and the platform admin's routes over merchants:
parse, authorize, call the merchants service, render."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy import Select
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
    NoParams,
    PlatformKycDocumentListParams,
    PlatformMerchantCreateParams,
    PlatformMerchantListParams,
    RejectParams,
    RetrieveParams,
    RolledApiKey,
    SuspendParams,
    account_object,
    api_key_object,
    api_key_with_secret,
    kyc_document_object,
    new_account_object,
)
from beyondpay.api.auditing import audit
from beyondpay.api.auth import SessionDep, authorize
from beyondpay.api.expand import refuse_expansions
from beyondpay.api.lists import ListParams, created_conditions, list_object, list_of, page
from beyondpay.api.mutation import Mutation, Outcome, run_mutation
from beyondpay.api.openapi import operation
from beyondpay.api.params import body, query
from beyondpay.api.responses import json_response
from beyondpay.kit.crypto import KeyRing
from beyondpay.merchants.domain import Caller, Scope
from beyondpay.merchants.kyc import KycStatus, checked_details
from beyondpay.merchants.service import (
    api_key_service,
    checked_allowed_ips,
    checked_scopes,
    kyc_service,
    merchant_service,
)

router = APIRouter()

SECRET_ONLY: Final = "secret key"  # noqa: S105 (an access marker, not a password)
PLATFORM: Final = "platform admin"

AccountReader = Annotated[Caller, Depends(authorize(Scope.account_read))]
SecretKey = Annotated[Caller, Depends(authorize())]
KeyReader = Annotated[Caller, Depends(authorize(Scope.api_keys_read))]
KeyWriter = Annotated[Caller, Depends(authorize(Scope.api_keys_write))]
PlatformAdmin = Annotated[Caller, Depends(authorize(platform=True))]
KeyId = Annotated[str, Path(max_length=255, description="The API key's id (`key_…`).")]
MerchantId = Annotated[str, Path(max_length=255, description="The account's id (`acct_…`).")]
DocumentId = Annotated[str, Path(max_length=255, description="The document's id (`kyc_…`).")]


def _ring(request: Request) -> KeyRing:
    ring: KeyRing = request.app.state.key_ring
    return ring


async def _page(
    session: AsyncSession,
    statement: Select[Any],
    columns: tuple[Any, Any],
    params: ListParams,
    cursor_exists: Callable[[str], Select[Any]],
    object_name: str,
) -> tuple[list[Any], bool]:
    id_column, created_column = columns
    statement = statement.where(*created_conditions(created_column, params.created))
    rows: Sequence[Any]
    rows, has_more = await page(
        session, statement, id_column, params, cursor_exists=cursor_exists, object_name=object_name
    )
    return list(rows), has_more


async def _kyc_documents(
    request: Request,
    session: AsyncSession,
    params: ListParams,
    merchant_id: str | None,
    status: KycStatus | None = None,
) -> Response:
    """A page of one merchant's KYC documents (``merchant_id``), or of every merchant's."""
    rows, has_more = await _page(
        session,
        kyc_service.listed(merchant_id, status),
        (kyc_service.id_column, kyc_service.created_column),
        params,
        lambda cursor: kyc_service.exists(merchant_id, cursor),
        "kyc_document",
    )
    data = [kyc_document_object(view) for view in kyc_service.views(rows)]
    return json_response(list_object(request.url.path, data, has_more))


# ---- the caller's own account ------------------------------------------------------------------


@router.get(
    "/v1/account",
    tags=["account"],
    summary="Retrieve the caller's account",
    **operation(query=RetrieveParams, returns=Account, access="account:read"),
)
async def retrieve_account(
    session: SessionDep,
    caller: AccountReader,
    params: Annotated[RetrieveParams, Depends(query(RetrieveParams))],
) -> Response:
    refuse_expansions(params.expand, set())
    view = await merchant_service.account(session, caller.merchant)
    return json_response(account_object(view))


@router.post(
    "/v1/account/kyc_documents",
    tags=["account"],
    summary="Submit a KYC document for review",
    **operation(body=KycDocumentCreateParams, returns=KycDocument, access=SECRET_ONLY),
)
async def submit_kyc_document(
    request: Request,
    session: SessionDep,
    caller: SecretKey,
    params: Annotated[KycDocumentCreateParams, Depends(body(KycDocumentCreateParams))],
) -> Response:
    # Checked before the mutation runs: a malformed document is a validation failure, which an
    # idempotency key does not store.
    details = checked_details(params.type, params.details())
    ring = _ring(request)

    async def execute(_mutation: Mutation) -> Outcome:
        view = await kyc_service.submit(session, ring, caller.merchant, params.type, details)
        return Outcome(kyc_document_object(view))

    return await run_mutation(request, session, caller, params, execute)


@router.get(
    "/v1/account/kyc_documents",
    tags=["account"],
    summary="List the account's KYC documents",
    **operation(query=KycDocumentListParams, returns=list_of(KycDocument), access=SECRET_ONLY),
)
async def list_kyc_documents(
    request: Request,
    session: SessionDep,
    caller: SecretKey,
    params: Annotated[KycDocumentListParams, Depends(query(KycDocumentListParams))],
) -> Response:
    refuse_expansions(params.expand, set(), listing=True)
    return await _kyc_documents(request, session, params, caller.merchant)


# ---- API keys ----------------------------------------------------------------------------------


@router.get(
    "/v1/api_keys",
    tags=["api_keys"],
    summary="List the API keys of the caller's mode",
    **operation(query=ApiKeyListParams, returns=list_of(ApiKey), access="api_keys:read"),
)
async def list_api_keys(
    request: Request,
    session: SessionDep,
    caller: KeyReader,
    params: Annotated[ApiKeyListParams, Depends(query(ApiKeyListParams))],
) -> Response:
    refuse_expansions(params.expand, set(), listing=True)
    merchant_id, livemode = caller.merchant, caller.livemode
    rows, has_more = await _page(
        session,
        api_key_service.listed(merchant_id, livemode),
        (api_key_service.id_column, api_key_service.created_column),
        params,
        lambda cursor: api_key_service.exists(merchant_id, livemode, cursor),
        "api_key",
    )
    data = [api_key_object(view) for view in api_key_service.views(rows)]
    return json_response(list_object(request.url.path, data, has_more))


@router.post(
    "/v1/api_keys",
    tags=["api_keys"],
    summary="Create a restricted API key",
    **operation(body=ApiKeyCreateParams, returns=ApiKeyWithSecret, access="api_keys:write"),
)
async def create_api_key(
    request: Request,
    session: SessionDep,
    caller: KeyWriter,
    params: Annotated[ApiKeyCreateParams, Depends(body(ApiKeyCreateParams))],
) -> Response:
    checked_scopes(params.scopes)
    checked_allowed_ips(params.allowed_ips)
    ring = _ring(request)

    async def execute(_mutation: Mutation) -> Outcome:
        created = await api_key_service.create_restricted(
            session,
            ring,
            caller,
            scopes=params.scopes,
            name=params.name,
            allowed_ips=params.allowed_ips,
        )
        return Outcome(api_key_with_secret(created), sealed=True)

    return await run_mutation(request, session, caller, params, execute)


@router.post(
    "/v1/api_keys/{key}/roll",
    tags=["api_keys"],
    summary="Roll an API key: a new key, the old one expiring after an overlap",
    **operation(body=ApiKeyRollParams, returns=RolledApiKey, access="api_keys:write"),
)
async def roll_api_key(
    key: KeyId,
    request: Request,
    session: SessionDep,
    caller: KeyWriter,
    params: Annotated[ApiKeyRollParams, Depends(body(ApiKeyRollParams))],
) -> Response:
    ring = _ring(request)

    async def execute(_mutation: Mutation) -> Outcome:
        new, old = await api_key_service.roll(session, ring, caller, key, params.expires_in)
        return Outcome(
            {**api_key_with_secret(new), "rolled_from": api_key_object(old)}, sealed=True
        )

    return await run_mutation(request, session, caller, params, execute)


@router.post(
    "/v1/api_keys/{key}/revoke",
    tags=["api_keys"],
    summary="Revoke an API key at once",
    **operation(body=NoParams, returns=ApiKey, access="api_keys:write"),
)
async def revoke_api_key(
    key: KeyId,
    request: Request,
    session: SessionDep,
    caller: KeyWriter,
    params: Annotated[NoParams, Depends(body(NoParams))],
) -> Response:
    async def execute(_mutation: Mutation) -> Outcome:
        view = await api_key_service.revoke(session, caller, key)
        return Outcome(api_key_object(view))

    return await run_mutation(request, session, caller, params, execute)


# ---- platform admin ----------------------------------------------------------------------------


@router.post(
    "/v1/platform/merchants",
    tags=["platform"],
    summary="Create a merchant account and its four keys",
    **operation(body=PlatformMerchantCreateParams, returns=NewAccount, access=PLATFORM),
)
async def create_merchant(
    request: Request,
    session: SessionDep,
    caller: PlatformAdmin,
    params: Annotated[PlatformMerchantCreateParams, Depends(body(PlatformMerchantCreateParams))],
) -> Response:
    ring = _ring(request)

    async def execute(_mutation: Mutation) -> Outcome:
        created = await merchant_service.create(session, ring, name=params.name)
        view = await merchant_service.account(session, created.id)
        return Outcome(new_account_object(view, created), sealed=True)

    return await run_mutation(request, session, caller, params, execute)


@router.get(
    "/v1/platform/merchants",
    tags=["platform"],
    summary="List merchant accounts",
    **operation(query=PlatformMerchantListParams, returns=list_of(Account), access=PLATFORM),
)
async def list_merchants(
    request: Request,
    session: SessionDep,
    _caller: PlatformAdmin,
    params: Annotated[PlatformMerchantListParams, Depends(query(PlatformMerchantListParams))],
) -> Response:
    refuse_expansions(params.expand, set(), listing=True)
    rows, has_more = await _page(
        session,
        merchant_service.listed(params.status),
        (merchant_service.id_column, merchant_service.created_column),
        params,
        merchant_service.exists,
        "account",
    )
    views = await merchant_service.accounts(session, rows)
    data = [account_object(view) for view in views]
    return json_response(list_object(request.url.path, data, has_more))


@router.get(
    "/v1/platform/merchants/{merchant}",
    tags=["platform"],
    summary="Retrieve a merchant account",
    **operation(query=RetrieveParams, returns=Account, access=PLATFORM),
)
async def retrieve_merchant(
    merchant: MerchantId,
    session: SessionDep,
    _caller: PlatformAdmin,
    params: Annotated[RetrieveParams, Depends(query(RetrieveParams))],
) -> Response:
    refuse_expansions(params.expand, set())
    view = await merchant_service.account(session, merchant)
    return json_response(account_object(view))


@router.post(
    "/v1/platform/merchants/{merchant}/suspend",
    tags=["platform"],
    summary="Suspend a merchant account: every key is refused until reactivation",
    **operation(body=SuspendParams, returns=Account, access=PLATFORM),
)
async def suspend_merchant(
    merchant: MerchantId,
    request: Request,
    session: SessionDep,
    caller: PlatformAdmin,
    params: Annotated[SuspendParams, Depends(body(SuspendParams))],
) -> Response:
    async def execute(_mutation: Mutation) -> Outcome:
        view = await merchant_service.suspend(session, merchant, params.reason)
        return Outcome(account_object(view))

    return await run_mutation(request, session, caller, params, execute)


@router.post(
    "/v1/platform/merchants/{merchant}/reactivate",
    tags=["platform"],
    summary="Lift a merchant account's suspension",
    **operation(body=NoParams, returns=Account, access=PLATFORM),
)
async def reactivate_merchant(
    merchant: MerchantId,
    request: Request,
    session: SessionDep,
    caller: PlatformAdmin,
    params: Annotated[NoParams, Depends(body(NoParams))],
) -> Response:
    async def execute(_mutation: Mutation) -> Outcome:
        view = await merchant_service.reactivate(session, merchant)
        return Outcome(account_object(view))

    return await run_mutation(request, session, caller, params, execute)


@router.get(
    "/v1/platform/merchants/{merchant}/kyc_documents",
    tags=["platform"],
    summary="List a merchant's KYC documents",
    **operation(query=KycDocumentListParams, returns=list_of(KycDocument), access=PLATFORM),
)
async def list_merchant_kyc_documents(
    merchant: MerchantId,
    request: Request,
    session: SessionDep,
    _caller: PlatformAdmin,
    params: Annotated[KycDocumentListParams, Depends(query(KycDocumentListParams))],
) -> Response:
    refuse_expansions(params.expand, set(), listing=True)
    await merchant_service.account(session, merchant)  # 404 for an unknown merchant
    return await _kyc_documents(request, session, params, merchant)


@router.get(
    "/v1/platform/kyc_documents",
    tags=["platform"],
    summary="List KYC documents of every merchant: the review queue with status=pending_review",
    **operation(query=PlatformKycDocumentListParams, returns=list_of(KycDocument), access=PLATFORM),
)
async def list_all_kyc_documents(
    request: Request,
    session: SessionDep,
    _caller: PlatformAdmin,
    params: Annotated[PlatformKycDocumentListParams, Depends(query(PlatformKycDocumentListParams))],
) -> Response:
    refuse_expansions(params.expand, set(), listing=True)
    return await _kyc_documents(request, session, params, None, params.status)


@router.get(
    "/v1/platform/kyc_documents/{document}/reveal",
    tags=["platform"],
    summary="Retrieve a KYC document with its details in full, for review (audited)",
    **operation(query=RetrieveParams, returns=KycDocument, access=PLATFORM),
)
async def reveal_kyc_document(
    document: DocumentId,
    request: Request,
    session: SessionDep,
    caller: PlatformAdmin,
    params: Annotated[RetrieveParams, Depends(query(RetrieveParams))],
) -> Response:
    """The reviewer's view. Every read is put in the platform's audit trail (a read of sealed
    personal data is an event worth a record), and the answer is never stored or cached."""
    refuse_expansions(params.expand, set())
    view, details = await kyc_service.reveal(session, request.app.state.key_ring, document)
    await audit(session, request, caller, 200, object_id=view.id)
    await session.commit()
    response = json_response({**kyc_document_object(view), "details": details})
    response.headers["cache-control"] = "no-store"
    return response


@router.post(
    "/v1/platform/kyc_documents/{document}/approve",
    tags=["platform"],
    summary="Approve a KYC document pending review",
    **operation(body=NoParams, returns=KycDocument, access=PLATFORM),
)
async def approve_kyc_document(
    document: DocumentId,
    request: Request,
    session: SessionDep,
    caller: PlatformAdmin,
    params: Annotated[NoParams, Depends(body(NoParams))],
) -> Response:
    async def execute(_mutation: Mutation) -> Outcome:
        view = await kyc_service.approve(session, document)
        return Outcome(kyc_document_object(view))

    return await run_mutation(request, session, caller, params, execute)


@router.post(
    "/v1/platform/kyc_documents/{document}/reject",
    tags=["platform"],
    summary="Reject a KYC document pending review, with a reason the merchant sees",
    **operation(body=RejectParams, returns=KycDocument, access=PLATFORM),
)
async def reject_kyc_document(
    document: DocumentId,
    request: Request,
    session: SessionDep,
    caller: PlatformAdmin,
    params: Annotated[RejectParams, Depends(body(RejectParams))],
) -> Response:
    async def execute(_mutation: Mutation) -> Outcome:
        view = await kyc_service.reject(session, document, params.reason)
        return Outcome(kyc_document_object(view))

    return await run_mutation(request, session, caller, params, execute)
