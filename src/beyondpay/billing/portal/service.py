"""The customer portal's use cases, as the API and the hosted page reach them. Never commits:
the request owns the transaction (the page's card form commits at the recovery point its
SetupIntent is handed, ``db.phases``).

- ``configuration_service``: Stripe's portal configurations (``bpc_…``): create, retrieve,
  update, list, and ``default`` — the merchant's default configuration in a mode, made on first
  use (a session made without naming one, or a list) with its ``created`` event. It cannot be
  deactivated; the merchant changes what it offers by updating it.
- ``portal_session_service.create``: a session (``bps_…``) for one customer; its ``url`` is a
  one-time link valid for ``domain.LINK_OPEN_S`` (domain.py says why it is a capability).
- ``visit_service`` (visits.py): what the hosted page does in a visit — open the link, check
  the visit's cookie, show the portal, save a card (through a SetupIntent, 3-D Secure where the
  card asks), choose the default, remove a payment method, and the subscription actions the
  configuration offers (sections.py: the seams to subscriptions and invoices).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.portal.domain import (
    FORM_ID_PATTERN,
    VISIT_S,
    blank_features,
    default_features,
    features_with,
    link_expires_at,
    new_link_token,
)
from beyondpay.billing.portal.errors import (
    ConfigurationInactiveError,
    DefaultConfigurationError,
    FeatureUnavailableError,
    OnBehalfOfUnsupportedError,
)
from beyondpay.billing.portal.events import PortalEvent, record
from beyondpay.billing.portal.models import PortalConfigurationRow, PortalSessionRow
from beyondpay.billing.portal.schemas import (
    BusinessProfileParams,
    ConfigurationCreateParams,
    ConfigurationListParams,
    ConfigurationUpdateParams,
    LoginPageParams,
    SessionCreateParams,
    configuration_object,
)
from beyondpay.billing.portal.settings import CONFIG
from beyondpay.billing.portal.visits import (
    CardForm,
    CardFormError,
    PageAnswer,
    PortalView,
    Visit,
    link_label,
    visit_service,
)
from beyondpay.customers.service import customer_service
from beyondpay.db.pagination import scoped, scoped_page
from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.kit.params import merge_metadata
from beyondpay.merchants.domain import Caller

__all__ = [
    "FORM_ID_PATTERN",
    "VISIT_S",
    "CardForm",
    "CardFormError",
    "ConfigurationService",
    "CreatedSession",
    "PageAnswer",
    "PortalSessionService",
    "PortalView",
    "Visit",
    "configuration_service",
    "portal_session_service",
    "secure_cookies",
    "visit_service",
]


def secure_cookies() -> bool:
    """Whether the visit's cookie is sent over HTTPS only (``settings.PortalConfig``)."""
    return CONFIG.current().secure_cookies


OBJECT_NAME: Final = "configuration"  # Stripe's "No such configuration: 'bpc_…'"
LINK_PATH: Final = "/billing_portal/session/"


def _business_profile(
    current: dict[str, Any], sent: BusinessProfileParams | None
) -> dict[str, Any]:
    """``current`` with the fields sent; a field sent empty is unset, as in Stripe."""
    profile = {
        "headline": current.get("headline"),
        "privacy_policy_url": current.get("privacy_policy_url"),
        "terms_of_service_url": current.get("terms_of_service_url"),
    }
    if sent is not None:
        for field in sent.model_fields_set:
            profile[field] = getattr(sent, field) or None
    return profile


def _refuse_login_page(login_page: LoginPageParams | None) -> None:
    if login_page is not None and login_page.enabled:
        raise FeatureUnavailableError(
            "The portal has no hosted login page yet: customers reach it through a session"
            " your site creates.",
            param="login_page[enabled]",
        )


def _sent_features(params: ConfigurationCreateParams | ConfigurationUpdateParams) -> dict[str, Any]:
    if params.features is None:
        return {}
    return params.features.model_dump(exclude_unset=True)


class ConfigurationService:
    async def create(
        self, session: AsyncSession, caller: Caller, params: ConfigurationCreateParams
    ) -> PortalConfigurationRow:
        features = features_with(blank_features(), _sent_features(params), creating=True)
        _refuse_login_page(params.login_page)
        now = utcnow()
        row = PortalConfigurationRow(
            id=new_id("bpc"),
            merchant_id=caller.merchant,
            livemode=caller.livemode,
            active=True,
            is_default=False,
            name=params.name or None,
            default_return_url=params.default_return_url or None,
            business_profile=_business_profile({}, params.business_profile),
            features=features,
            metadata_=merge_metadata(
                {}, params.metadata if isinstance(params.metadata, dict) else None
            ),
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        await session.flush()
        await record(session, row, PortalEvent.configuration_created)
        return row

    async def get(
        self,
        session: AsyncSession,
        caller: Caller,
        configuration_id: str,
        *,
        for_update: bool = False,
        param: str = "id",
    ) -> PortalConfigurationRow:
        statement = scoped(
            PortalConfigurationRow,
            caller.merchant,
            caller.livemode,
            PortalConfigurationRow.id == configuration_id,
        )
        if for_update:
            statement = statement.with_for_update()
        row: PortalConfigurationRow | None = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object(OBJECT_NAME, configuration_id, param=param)
        return row

    async def default(self, session: AsyncSession, caller: Caller) -> PortalConfigurationRow:
        """The merchant's default configuration in the caller's mode, made (with its event) the
        first time it is needed. Two first uses at once: the partial unique index lets one
        insert through, the other's insert waits for it and does nothing, then reads it."""
        found = await self._default(session, caller)
        if found is not None:
            return found
        now = utcnow()
        made = await session.execute(
            insert(PortalConfigurationRow)
            .values(
                id=new_id("bpc"),
                merchant_id=caller.merchant,
                livemode=caller.livemode,
                active=True,
                is_default=True,
                name=None,
                default_return_url=None,
                business_profile=_business_profile({}, None),
                features=default_features(),
                metadata={},
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(
                index_elements=["merchant_id", "livemode"],
                index_where=text("is_default"),  # the partial index's predicate, as written
            )
            .returning(PortalConfigurationRow.id)
        )
        inserted = made.scalar_one_or_none()
        row = await self._default(session, caller)
        invariant(row is not None, "the default exists: made here, or by the one waited for")
        assert row is not None
        if inserted is not None:
            await record(session, row, PortalEvent.configuration_created)
        return row

    async def _default(
        self, session: AsyncSession, caller: Caller
    ) -> PortalConfigurationRow | None:
        statement = scoped(
            PortalConfigurationRow,
            caller.merchant,
            caller.livemode,
            PortalConfigurationRow.is_default.is_(True),
        ).execution_options(populate_existing=True)
        found: PortalConfigurationRow | None = (
            await session.execute(statement)
        ).scalar_one_or_none()
        return found

    async def update(
        self,
        session: AsyncSession,
        caller: Caller,
        configuration_id: str,
        params: ConfigurationUpdateParams,
    ) -> PortalConfigurationRow:
        row = await self.get(session, caller, configuration_id, for_update=True)
        before = configuration_object(row)
        sent = params.model_fields_set
        if params.active is not None:
            if row.is_default and not params.active:
                raise DefaultConfigurationError(param="active")
            row.active = params.active
        if params.business_profile is not None:
            row.business_profile = _business_profile(row.business_profile, params.business_profile)
        if "default_return_url" in sent:
            row.default_return_url = params.default_return_url or None
        if params.features is not None:
            row.features = features_with(row.features, _sent_features(params), creating=False)
        _refuse_login_page(params.login_page)
        if "metadata" in sent:
            metadata = params.metadata if isinstance(params.metadata, dict) else {}
            row.metadata_ = merge_metadata(row.metadata_, metadata)
        if "name" in sent:
            row.name = params.name or None
        after = configuration_object(row)
        previous = {
            field: value
            for field, value in before.items()
            if field != "updated" and after[field] != value
        }
        if previous:  # an update that changes nothing announces nothing, as Stripe does
            row.updated_at = utcnow()
            await session.flush()
            await record(
                session, row, PortalEvent.configuration_updated, previous_attributes=previous
            )
        return row

    async def list(
        self, session: AsyncSession, caller: Caller, params: ConfigurationListParams
    ) -> tuple[Sequence[PortalConfigurationRow], bool]:
        """The caller's configurations, newest first; the default among them once it exists
        (the list route makes it first: ``default``)."""
        filters: list[Any] = []
        if params.active is not None:
            filters.append(PortalConfigurationRow.active.is_(params.active))
        if params.is_default is not None:
            filters.append(PortalConfigurationRow.is_default.is_(params.is_default))
        return await scoped_page(
            session,
            PortalConfigurationRow,
            caller.merchant,
            caller.livemode,
            params,
            *filters,
            object_name=OBJECT_NAME,
        )


configuration_service = ConfigurationService()


@dataclass(frozen=True, slots=True)
class CreatedSession:
    """A new session, its one-time ``url`` (known only now: the token is not kept), and its
    configuration."""

    row: PortalSessionRow
    url: str
    configuration: PortalConfigurationRow


class PortalSessionService:
    async def create(
        self, session: AsyncSession, caller: Caller, ring: KeyRing, params: SessionCreateParams
    ) -> CreatedSession:
        if params.on_behalf_of is not None:
            raise OnBehalfOfUnsupportedError(param="on_behalf_of")
        customer_id = await _live_customer(session, caller, params.customer)
        if params.configuration is not None:
            configuration = await configuration_service.get(
                session, caller, params.configuration, param="configuration"
            )
        else:
            configuration = await configuration_service.default(session, caller)
        if not configuration.active:
            raise ConfigurationInactiveError(param="configuration")
        token = new_link_token(caller.livemode)
        now = utcnow()
        row = PortalSessionRow(
            id=new_id("bps"),
            merchant_id=caller.merchant,
            livemode=caller.livemode,
            customer_id=customer_id,
            configuration_id=configuration.id,
            locale=params.locale,
            return_url=params.return_url or configuration.default_return_url,
            link_fingerprint=ring.fingerprint(link_label(token)),
            link_expires_at=link_expires_at(now),
            opened_at=None,
            visit_fingerprint=None,
            visit_expires_at=None,
            created_at=now,
        )
        session.add(row)
        await session.flush()
        await record(session, row, PortalEvent.session_created)
        url = f"{CONFIG.current().public_url}{LINK_PATH}{token}"
        return CreatedSession(row, url, configuration)


async def _live_customer(session: AsyncSession, caller: Caller, customer_id: str) -> str:
    """The id of a customer of the caller's that is not deleted; 404 naming ``customer``."""
    return (await customer_service.live(session, caller, customer_id)).id


portal_session_service = PortalSessionService()
