"""Files' use cases: made by other modules (a report run's result), read by their merchant.
Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.pagination import created_conditions, scoped, scoped_page
from beyondpay.files.models import FileRow
from beyondpay.files.schemas import FileListParams
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.merchants.domain import Caller

# A report's file is kept a year, as Stripe keeps report runs' files.
FILE_RETENTION: Final = timedelta(days=365)
FILE_BYTES_MAX: Final = 50 * 1024 * 1024


class FileService:
    async def create(
        self,
        session: AsyncSession,
        *,
        merchant_id: str,
        livemode: bool,
        purpose: str,
        filename: str,
        contents: bytes,
        type: str = "csv",
    ) -> FileRow:
        invariant(len(contents) <= FILE_BYTES_MAX, "a file the platform makes stays small")
        now = utcnow()
        row = FileRow(
            id=new_id("file"),
            merchant_id=merchant_id,
            livemode=livemode,
            purpose=purpose,
            filename=filename,
            type=type,
            size=len(contents),
            contents=contents,
            created_at=now,
            expires_at=now + FILE_RETENTION,
        )
        session.add(row)
        await session.flush()
        return row

    async def get(self, session: AsyncSession, caller: Caller, file_id: str) -> FileRow:
        row = await find_file(session, caller.merchant, caller.livemode, file_id)
        if row is None or _expired(row, utcnow()):
            raise ResourceMissingError.for_object("file", file_id)
        return row

    async def list(
        self, session: AsyncSession, caller: Caller, params: FileListParams
    ) -> tuple[Sequence[FileRow], bool]:
        filters = created_conditions(FileRow.created_at, params.created)
        if params.purpose is not None:
            filters.append(FileRow.purpose == params.purpose)
        filters.append((FileRow.expires_at.is_(None)) | (FileRow.expires_at > utcnow()))
        return await scoped_page(
            session,
            FileRow,
            caller.merchant,
            caller.livemode,
            params,
            *filters,
            object_name="file",
        )


def _expired(row: FileRow, now: datetime) -> bool:
    return row.expires_at is not None and row.expires_at <= now


file_service = FileService()


async def find_file(
    session: AsyncSession, merchant_id: str, livemode: bool, file_id: str
) -> FileRow | None:
    """A merchant's file by id, for the module that made it (a report run's result)."""
    found: FileRow | None = (
        await session.scalars(scoped(FileRow, merchant_id, livemode, FileRow.id == file_id))
    ).first()
    return found
