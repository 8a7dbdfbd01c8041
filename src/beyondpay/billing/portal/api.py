"""Customer portal routes: parse, authorize, call the service, render. The hosted page itself is
``web/portal.py``."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import Path

from beyondpay.api.access import BillingPortalReader, BillingPortalWriter
from beyondpay.api.auth import SessionDep
from beyondpay.api.mutation import Outcome
from beyondpay.api.routing import Body, DatabaseDep, Listed, Query, RingDep, Router, listed
from beyondpay.billing.portal.schemas import (
    ConfigurationCreateParams,
    ConfigurationListParams,
    ConfigurationUpdateParams,
    PortalConfiguration,
    PortalSession,
    SessionCreateParams,
    configuration_object,
    session_object,
)
from beyondpay.billing.portal.service import configuration_service, portal_session_service

EXPANSIONS: Final = frozenset({"configuration"})

configurations_router = Router(prefix="/v1/billing_portal/configurations", tags=["billing_portal"])
sessions_router = Router(prefix="/v1/billing_portal/sessions", tags=["billing_portal"])

ConfigurationId = Annotated[
    str, Path(max_length=255, description="The configuration's id (`bpc_…`).")
]


@configurations_router.post("", returns=PortalConfiguration)
async def create_portal_configuration(
    session: SessionDep, caller: BillingPortalWriter, params: Body[ConfigurationCreateParams]
) -> Outcome:
    """Create a portal configuration: which features the customer portal offers."""
    row = await configuration_service.create(session, caller, params)
    return Outcome(configuration_object(row))


@configurations_router.get("/{configuration}", returns=PortalConfiguration)
async def retrieve_portal_configuration(
    configuration: ConfigurationId, session: SessionDep, caller: BillingPortalReader
) -> dict[str, Any]:
    """Retrieve a portal configuration."""
    return configuration_object(await configuration_service.get(session, caller, configuration))


@configurations_router.post("/{configuration}", returns=PortalConfiguration)
async def update_portal_configuration(
    configuration: ConfigurationId,
    session: SessionDep,
    caller: BillingPortalWriter,
    params: Body[ConfigurationUpdateParams],
) -> Outcome:
    """Update a portal configuration; the default one cannot be deactivated."""
    row = await configuration_service.update(session, caller, configuration, params)
    return Outcome(configuration_object(row))


@configurations_router.get("", returns=PortalConfiguration)
async def list_portal_configurations(
    session: SessionDep,
    caller: BillingPortalReader,
    database: DatabaseDep,
    params: Query[ConfigurationListParams],
) -> Listed:
    """List portal configurations, newest first.

    The merchant's default configuration in the key's mode is among them: the first list (or
    the first session made without a configuration) makes it, in a transaction of its own.
    """
    async with database.unit_of_work() as own:
        await configuration_service.default(own, caller)
    return listed(configuration_object, await configuration_service.list(session, caller, params))


@sessions_router.post("", returns=PortalSession, expand=EXPANSIONS)
async def create_portal_session(
    session: SessionDep,
    caller: BillingPortalWriter,
    ring: RingDep,
    params: Body[SessionCreateParams],
    expand: list[str],
) -> Outcome:
    """Create a customer portal session: a link the customer opens once, within 5 minutes.

    Without `configuration` the merchant's default configuration is used. The answer is the
    only place the `url` is shown (it is kept sealed for an idempotent replay).
    """
    made = await portal_session_service.create(session, caller, ring, params)
    shown = made.configuration if "configuration" in expand else None
    return Outcome(session_object(made.row, made.url, shown), sealed=True)
