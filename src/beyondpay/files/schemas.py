"""Files' API object: Stripe's ``file``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from beyondpay.db.pagination import ListParams
from beyondpay.files.models import FileRow

FilePurpose = Literal["finance_report_run"]


class FileListParams(ListParams):
    purpose: FilePurpose | None = None


class FileLinks(BaseModel):
    object: Literal["list"]
    data: list[dict[str, Any]]
    has_more: bool
    url: str


class File(BaseModel):
    id: str = Field(description="`file_…`")
    object: Literal["file"]
    created: int
    expires_at: int | None
    filename: str
    links: FileLinks = Field(description="Always empty: file links are not offered.")
    purpose: FilePurpose
    size: int = Field(description="In bytes.")
    title: str | None
    type: str = Field(description="`csv`.")
    url: str = Field(description="Where to download the contents, with the same key.")


def file_object(row: FileRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "file",
        "created": int(row.created_at.timestamp()),
        "expires_at": None if row.expires_at is None else int(row.expires_at.timestamp()),
        "filename": row.filename,
        "links": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/file_links?file={row.id}",
        },
        "purpose": row.purpose,
        "size": row.size,
        "title": None,
        "type": row.type,
        "url": f"/v1/files/{row.id}/contents",
    }
