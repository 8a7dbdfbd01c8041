"""Notifications' routes: the test-mode sink's messages, for tests and local development."""

from __future__ import annotations

from fastapi import Request

from beyondpay.api.access import SecretKey
from beyondpay.api.auth import SessionDep
from beyondpay.api.routing import Listed, Query, Router
from beyondpay.kit.errors import RouteNotFoundError
from beyondpay.notifications.schemas import (
    SandboxEmail,
    SandboxEmailListParams,
    sandbox_email_object,
)
from beyondpay.notifications.service import notification_service

router = Router(prefix="/v1/notifications", tags=["notifications"])


@router.get("/sandbox/emails", returns=SandboxEmail)
async def list_sandbox_emails(
    request: Request, session: SessionDep, caller: SecretKey, params: Query[SandboxEmailListParams]
) -> Listed:
    """Sandbox: the emails sent in test mode, as the SMTP sink received them (newest first).

    Test-mode keys only: live-mode email goes to a real SMTP server and is never kept, so a
    live key is answered 404 as for a route that does not exist."""
    if caller.livemode:
        raise RouteNotFoundError.for_request(request.method, request.url.path)
    found = await notification_service.sandbox_emails(session, caller, params)
    data = [sandbox_email_object(email, notification) for email, notification in found]
    return Listed(data, has_more=len(found) == params.limit)
