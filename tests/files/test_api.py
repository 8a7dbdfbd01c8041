"""Files (Stripe's File object): listed, retrieved and downloaded by their merchant in their
mode only; an expired file is gone; a restricted key needs `files:read`."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import update

from beyondpay.db.session import Database
from beyondpay.files.models import FileRow
from beyondpay.files.service import file_service
from beyondpay.kit.clock import utcnow
from tests.payments.support import get
from tests.support import TestMerchant, make_merchant

CONTENTS = b"category,net_amount\nstarting_balance,0.00\n"


async def _file(database: Database, merchant: TestMerchant) -> str:
    async with database.unit_of_work() as session:
        row = await file_service.create(
            session,
            merchant_id=merchant.id,
            livemode=False,
            purpose="finance_report_run",
            filename="summary.csv",
            contents=CONTENTS,
        )
        return row.id


async def test_a_merchant_reads_and_downloads_its_file(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    file_id = await _file(database, merchant)
    found = await get(client, merchant, f"/v1/files/{file_id}")
    assert found["object"] == "file" and found["size"] == len(CONTENTS)
    assert found["url"] == f"/v1/files/{file_id}/contents" and found["type"] == "csv"
    assert found["expires_at"] - found["created"] == 365 * 86_400
    assert found["links"]["data"] == []
    listed = await get(client, merchant, "/v1/files", purpose="finance_report_run")
    assert [item["id"] for item in listed["data"]] == [file_id]
    download = await client.get(found["url"], headers=merchant.auth())
    assert download.status_code == 200 and download.content == CONTENTS
    assert download.headers["content-type"].startswith("text/csv")
    assert 'filename="summary.csv"' in download.headers["content-disposition"]


async def test_other_merchants_other_modes_and_expired_files_are_404(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    file_id = await _file(database, merchant)
    other = await make_merchant(database, name="Other")
    paths = (f"/v1/files/{file_id}", f"/v1/files/{file_id}/contents")
    for path in paths:
        for headers in (other.auth(), merchant.auth("sk_live")):
            answer = await client.get(path, headers=headers)
            assert answer.status_code == 404, answer.text
    assert (await get(client, other, "/v1/files"))["data"] == []
    async with database.unit_of_work() as session:
        await session.execute(
            update(FileRow).where(FileRow.id == file_id).values(expires_at=utcnow() - timedelta(1))
        )
    for path in paths:
        assert (await client.get(path, headers=merchant.auth())).status_code == 404
    assert (await get(client, merchant, "/v1/files"))["data"] == []


async def test_a_restricted_key_needs_files_read(
    client: httpx.AsyncClient, database: Database
) -> None:
    allowed = await make_merchant(database, restricted_scopes=("files:read",))
    refused = await make_merchant(database, name="Refused", restricted_scopes=("customers:read",))
    file_id = await _file(database, allowed)
    answer = await client.get(f"/v1/files/{file_id}", headers=allowed.auth("rk_test"))
    assert answer.status_code == 200
    denied = await client.get("/v1/files", headers=refused.auth("rk_test"))
    assert denied.status_code == 403
