"""The hosted receipt (``charge.receipt_url``): ``GET /receipts/{token}``, no API key; the link
is the credential (``payments.receipts``: an HMAC under the key ring, unguessable)."""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Path, Request
from starlette.responses import HTMLResponse

from beyondpay.db.session import Database
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import ResourceMissingError
from beyondpay.payments.service import receipt_of_token
from beyondpay.web.pages import page

TOKEN_CHARS_MAX: Final = 600

router = APIRouter(include_in_schema=False)


@router.get("/receipts/{token}")
async def receipt_page(
    request: Request, token: str = Path(max_length=TOKEN_CHARS_MAX)
) -> HTMLResponse:
    database: Database = request.app.state.database
    ring: KeyRing = request.app.state.key_ring
    try:
        async with database.unit_of_work() as session:
            receipt = await receipt_of_token(session, ring, token)
    except ResourceMissingError:
        return page("receipt_missing.html", status_code=404)
    return page("receipt.html", receipt=receipt)
