"""File routes (Stripe's ``/v1/files``): list and retrieve a merchant's files, and download one's
contents. Stripe serves contents from ``files.stripe.com``; a self-hosted platform serves them
under its own ``/v1/files/{id}/contents``, with the same key."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from starlette.responses import Response

from beyondpay.api.access import FilesReader
from beyondpay.api.auth import SessionDep
from beyondpay.api.routing import Listed, Query, Router, listed
from beyondpay.files.schemas import File, FileListParams, file_object
from beyondpay.files.service import file_service

router = Router(prefix="/v1/files", tags=["files"])

FileId = Annotated[str, Path(max_length=255, description="The file's id (`file_…`).")]
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8"}


@router.get("/{id}", returns=File)
async def retrieve_file(id: FileId, session: SessionDep, caller: FilesReader) -> dict[str, Any]:
    """Retrieve a file."""
    return file_object(await file_service.get(session, caller, id))


@router.get("", returns=File)
async def list_files(
    session: SessionDep, caller: FilesReader, params: Query[FileListParams]
) -> Listed:
    """List files (`purpose` filter), newest first."""
    return listed(file_object, await file_service.list(session, caller, params))


@router.get(
    "/{id}/contents",
    response_class=Response,
    responses={200: {"description": "The file's contents.", "content": {"text/csv": {}}}},
)
async def download_file(id: FileId, session: SessionDep, caller: FilesReader) -> Response:
    """Download a file's contents."""
    row = await file_service.get(session, caller, id)
    headers = {"content-disposition": f'attachment; filename="{row.filename}"'}
    return Response(row.contents, media_type=MEDIA_TYPES.get(row.type), headers=headers)
