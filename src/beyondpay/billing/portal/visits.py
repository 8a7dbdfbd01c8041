"""The hosted portal's use cases: a customer's visit, from the session's link to each form.
Never commits, except at the recovery point a card's SetupIntent is handed (``db.phases``):
the page request owns the transaction. No HTTP here: ``web/portal.py`` parses the request,
checks the anti-forgery token (:meth:`Visit.form_is_ours`) and renders what these return.

- :meth:`VisitService.open`: the link (a token) opened once, in time, starts a visit: a random
  secret for the browser's cookie, of which only a keyed fingerprint is kept.
- :meth:`VisitService.visit`: every later page checks the cookie against the session, the
  visit's deadline, the merchant (not suspended) and the customer (not deleted), and acts as a
  caller of the session's merchant and mode, for the session's customer only.
- Each form is claimed by its one-time id (``billing_portal_actions``) in the transaction that
  acts on it: the same form sent twice acts once, and answers as the first did.
- A card is saved as the API saves one: a payment method made from the form, then a
  SetupIntent confirmed for off-session use. The card network answers at once (saved, or
  declined), or asks for 3-D Secure: the visit goes to the sandbox's challenge page, which
  sends it back to :meth:`VisitService.card_returned`. A saved card becomes the customer's
  ``invoice_settings.default_payment_method``.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.portal import sections
from beyondpay.billing.portal.domain import (
    PAYMENT_METHODS_SHOWN_MAX,
    LinkState,
    csrf_matches,
    csrf_token,
    expiry_label,
    link_state,
    method_label,
    new_form_id,
    new_visit_secret,
    visit_expires_at,
    well_formed_link_token,
    well_formed_visit_secret,
)
from beyondpay.billing.portal.errors import (
    DefaultInUseError,
    FormExpiredError,
    LinkExpiredError,
    LinkUnknownError,
    LinkUsedError,
    PortalFeatureOffError,
    PortalObjectMissingError,
    PortalUnavailableError,
    VisitMissingError,
)
from beyondpay.billing.portal.models import (
    PortalActionRow,
    PortalConfigurationRow,
    PortalSessionRow,
)
from beyondpay.billing.portal.sections import InvoiceSummary, PlanChoice, SubscriptionSummary
from beyondpay.billing.portal.settings import CONFIG
from beyondpay.customers.schemas import CustomerUpdateParams
from beyondpay.customers.service import customer_service
from beyondpay.db.phases import Phases
from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import BeyondpayError, InvalidRequestError, ResourceMissingError
from beyondpay.kit.invariants import invariant
from beyondpay.merchants.domain import Caller, KeyKind, MerchantStatus, Scope
from beyondpay.merchants.service import merchant_service
from beyondpay.payment_methods.schemas import (
    CustomerPaymentMethodListParams,
    PaymentMethodCreateParams,
)
from beyondpay.payment_methods.service import payment_method_object, payment_method_service
from beyondpay.setup_intents.schemas import SetupIntentCreateParams, SetupIntentListParams
from beyondpay.setup_intents.service import setup_intent_service

# What the portal's caller stands for: the customer, acting on their own payment methods,
# customer record and setups. Services read only its merchant and mode; the scopes say so.
PORTAL_SCOPES: Final = frozenset(
    {
        Scope.customers_write.value,
        Scope.payment_methods_write.value,
        Scope.setup_intents_write.value,
    }
)
INVOICES_SHOWN_MAX: Final = 24  # two years of monthly invoices
CARD_NAME_CHARS_MAX: Final = 200
_LINK_LABEL: Final = "billing_portal.link:"
_VISIT_LABEL: Final = "billing_portal.visit:"
# Subscriptions still billed: a default payment method paying for one is not removed.
_BILLED_STATUSES: Final = frozenset({"active", "trialing", "past_due", "unpaid", "incomplete"})
_IN_FLIGHT: Final = frozenset({"requires_confirmation", "processing"})
# The card form's fields, by the payment method parameter a refusal names.
_CARD_FIELDS: Final = {
    "card[number]": "number",
    "card[exp_month]": "exp_month",
    "card[exp_year]": "exp_year",
    "card[cvc]": "cvc",
    "billing_details[name]": "name",
}


def link_label(token: str) -> str:
    """What a link's fingerprint is taken of (the label keeps it apart from other HMACs)."""
    return _LINK_LABEL + token


def _visit_fingerprints(ring: KeyRing, secret: str) -> list[bytes]:
    return ring.fingerprints(_VISIT_LABEL + secret)


# ---- what the page shows and is told ---------------------------------------------------------


NOTICES: Final = {
    "card_added": "Your card was saved. It is now your default payment method.",
    "card_pending": "Your bank is still checking your card. Refresh this page in a moment.",
    "card_declined": (
        "Your card could not be saved: the bank declined it, or its authentication did not"
        " complete. Try again, or use another card."
    ),
    "default_updated": "Your default payment method was updated.",
    "method_removed": "The payment method was removed.",
    "subscription_canceled": "Your subscription was canceled.",
    "subscription_updated": "Your subscription was updated.",
}


@dataclass(frozen=True, slots=True)
class PageAnswer:
    """Where a form sends the browser: back to the portal with a notice (``NOTICES``), or on
    to ``redirect`` (the 3-D Secure page)."""

    notice: str | None = None
    redirect: str | None = None


class CardFormError(InvalidRequestError):
    """The card form refused: ``field`` is the form's field it is about (``number``,
    ``exp_month``, …); the message is the customer's to read."""

    code = "portal_card_invalid"

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message, param=field)
        self.field = field


@dataclass(frozen=True, slots=True)
class CardForm:
    """The add-card form as posted: the number and CVC are secrets from the moment they are
    read (a log, a repr or an error cannot show them), and are dropped after the card network
    has them, as everywhere else."""

    form_id: str
    number: SecretStr
    exp_month: int
    exp_year: int
    cvc: SecretStr | None
    name: str | None

    @classmethod
    def parse(cls, form_id: str, fields: Mapping[str, str]) -> CardForm:
        number = fields.get("number", "").strip()
        if not number:
            raise CardFormError("Enter your card number.", field="number")
        month = _number(fields.get("exp_month"), "exp_month", "the expiry month (1 to 12)")
        year = _number(fields.get("exp_year"), "exp_year", "the expiry year (such as 2030)")
        cvc = fields.get("cvc", "").strip()
        name = fields.get("name", "").strip()
        if len(name) > CARD_NAME_CHARS_MAX:
            raise CardFormError("The name on the card is too long.", field="name")
        return cls(
            form_id=form_id,
            number=SecretStr(number),
            exp_month=month,
            exp_year=year,
            cvc=SecretStr(cvc) if cvc else None,
            name=name or None,
        )


def _number(text: str | None, field: str, what: str) -> int:
    value = (text or "").strip()
    if not value.isascii() or not value.isdigit() or len(value) > 4:
        raise CardFormError(f"Enter {what}.", field=field)
    return int(value)


@dataclass(frozen=True, slots=True)
class MethodView:
    id: str
    label: str  # "Visa •••• 4242"
    expiry: str | None  # "Expires 12/2030"
    is_default: bool
    default_form_id: str
    remove_form_id: str


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    summary: SubscriptionSummary
    cancel_form_id: str | None  # None: the configuration offers no cancellation, or it is set
    switch_form_id: str | None  # None: nothing to switch to


@dataclass(frozen=True, slots=True)
class PortalView:
    """Everything the portal page shows; its forms' one-time ids are made for this rendering."""

    session_id: str
    livemode: bool
    merchant_name: str
    customer_name: str | None
    customer_email: str | None
    headline: str | None
    privacy_policy_url: str | None
    terms_of_service_url: str | None
    return_url: str | None
    csrf_token: str
    can_update_methods: bool
    methods: list[MethodView]
    add_card_form_id: str
    subscriptions: list[SubscriptionView]
    plan_choices: list[PlanChoice]
    cancel_reasons: list[str]
    cancel_immediately: bool
    show_invoices: bool
    invoices: list[InvoiceSummary]
    notice: str | None = None
    card_error: CardFormError | None = None
    card_name: str | None = None


# ---- a visit ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Visit:
    """An open visit: the session, its configuration, and who the page acts for."""

    row: PortalSessionRow
    secret: str
    configuration: PortalConfigurationRow
    merchant_name: str
    caller: Caller = field(repr=False)

    @property
    def csrf_token(self) -> str:
        return csrf_token(self.secret)

    def form_is_ours(self, presented: str | None) -> bool:
        """Whether a posted form carries this visit's anti-forgery token."""
        return csrf_matches(self.secret, presented)

    def feature(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.configuration.features[name]
        return found

    def page_url(self) -> str:
        return f"{CONFIG.current().public_url}/billing_portal/{self.row.id}"


@dataclass(frozen=True, slots=True)
class Opened:
    """A link opened: the visit's session, and the secret its browser keeps (None: this
    browser's visit was already open, and its cookie stays as it is)."""

    session_id: str
    secret: str | None


def _portal_caller(row: PortalSessionRow, status: MerchantStatus | None) -> Caller:
    return Caller(
        key_id=row.id,  # the audit trail names the session that acted
        kind=KeyKind.restricted,
        livemode=row.livemode,
        merchant_id=row.merchant_id,
        merchant_status=status,
        scopes=PORTAL_SCOPES,
    )


async def _merchant_name(session: AsyncSession, row: PortalSessionRow) -> str | None:
    merchant = await merchant_service.get(session, row.merchant_id)
    return merchant.name if merchant is not None else None


def _matches(ring: KeyRing, secret: str | None, stored: bytes | None) -> bool:
    if secret is None or stored is None or not well_formed_visit_secret(secret):
        return False
    return any(hmac.compare_digest(found, stored) for found in _visit_fingerprints(ring, secret))


class VisitService:
    async def open(
        self, session: AsyncSession, ring: KeyRing, token: str, held: Mapping[str, str]
    ) -> Opened:
        """The link ``token`` opened, in the session's first and only visit. ``held``: the
        browser's portal cookies by session id (a browser that opened this link already is
        sent back to its visit)."""
        if not well_formed_link_token(token):
            raise LinkUnknownError()
        row = (
            await session.execute(
                select(PortalSessionRow)
                .where(PortalSessionRow.link_fingerprint.in_(ring.fingerprints(link_label(token))))
                .with_for_update()
            )
        ).scalar_one_or_none()
        if row is None:
            raise LinkUnknownError()
        now = utcnow()
        state = link_state(row.opened_at, row.link_expires_at, now)
        if state is LinkState.used:
            if _matches(ring, held.get(row.id), row.visit_fingerprint):
                return Opened(row.id, None)
            raise LinkUsedError(
                return_url=row.return_url, merchant_name=await _merchant_name(session, row)
            )
        if state is LinkState.expired:
            raise LinkExpiredError(
                return_url=row.return_url, merchant_name=await _merchant_name(session, row)
            )
        await self._check_open(session, row)
        secret = new_visit_secret()
        row.opened_at = now
        row.visit_fingerprint = ring.fingerprint(_VISIT_LABEL + secret)
        row.visit_expires_at = visit_expires_at(now)
        await session.flush()
        return Opened(row.id, secret)

    async def _check_open(
        self, session: AsyncSession, row: PortalSessionRow
    ) -> tuple[str, MerchantStatus]:
        """The merchant's name and status, refusing a portal that is closed: the merchant
        suspended (or, in live mode, not active), or the customer deleted."""
        merchant = await merchant_service.get(session, row.merchant_id)
        invariant(merchant is not None, "a portal session's merchant exists")
        assert merchant is not None
        status = MerchantStatus(merchant.status)
        closed = status is MerchantStatus.suspended or (
            row.livemode and status is not MerchantStatus.active
        )
        customer = await customer_service.get(session, _portal_caller(row, status), row.customer_id)
        if closed or customer.deleted_at is not None:
            raise PortalUnavailableError(return_url=row.return_url)
        return merchant.name, status

    async def visit(
        self, session: AsyncSession, ring: KeyRing, session_id: str, secret: str | None
    ) -> Visit:
        """The open visit of session ``session_id`` whose cookie holds ``secret``; refused
        alike for an unknown session and a wrong secret (the id alone says nothing)."""
        row = await session.get(PortalSessionRow, session_id, populate_existing=True)
        if row is None or not _matches(ring, secret, row.visit_fingerprint):
            raise VisitMissingError()
        assert secret is not None and row.visit_expires_at is not None
        if utcnow() >= row.visit_expires_at:
            raise LinkExpiredError(
                return_url=row.return_url, merchant_name=await _merchant_name(session, row)
            )
        name, status = await self._check_open(session, row)
        configuration = await session.get(PortalConfigurationRow, row.configuration_id)
        invariant(configuration is not None, "a portal session's configuration exists")
        assert configuration is not None
        return Visit(row, secret, configuration, name, _portal_caller(row, status))

    # ---- the page -----------------------------------------------------------------------------

    async def view(
        self,
        session: AsyncSession,
        visit: Visit,
        *,
        notice: str | None = None,
        card_error: CardFormError | None = None,
        card_name: str | None = None,
    ) -> PortalView:
        caller, row = visit.caller, visit.row
        customer = await customer_service.get(session, caller, row.customer_id)
        methods = await self._methods(session, visit, customer.default_payment_method_id)
        cancel = visit.feature("subscription_cancel")
        update = visit.feature("subscription_update")
        choices = (
            await sections.plan_choices(session, caller, update["products"])
            if update["enabled"]
            else []
        )
        subscriptions = [
            SubscriptionView(
                summary,
                cancel_form_id=new_form_id()
                if cancel["enabled"] and not summary.cancel_at_period_end
                else None,
                # Only a one-item subscription names its plan, and only it is switched.
                switch_form_id=new_form_id()
                if summary.price_id is not None
                and any(choice.price_id != summary.price_id for choice in choices)
                else None,
            )
            for summary in await sections.subscriptions_for(session, caller, row.customer_id)
        ]
        history = visit.feature("invoice_history")["enabled"]
        profile = visit.configuration.business_profile
        return PortalView(
            session_id=row.id,
            livemode=row.livemode,
            merchant_name=visit.merchant_name,
            customer_name=customer.name,
            customer_email=customer.email,
            headline=profile.get("headline"),
            privacy_policy_url=profile.get("privacy_policy_url"),
            terms_of_service_url=profile.get("terms_of_service_url"),
            return_url=row.return_url,
            csrf_token=visit.csrf_token,
            can_update_methods=bool(visit.feature("payment_method_update")["enabled"]),
            methods=methods,
            add_card_form_id=new_form_id(),
            subscriptions=subscriptions,
            plan_choices=choices,
            cancel_reasons=list(cancel["cancellation_reason"]["options"])
            if cancel["cancellation_reason"]["enabled"]
            else [],
            cancel_immediately=cancel["mode"] == "immediately",
            show_invoices=bool(history),
            invoices=await sections.invoices_for(
                session, caller, row.customer_id, limit=INVOICES_SHOWN_MAX
            )
            if history
            else [],
            notice=NOTICES.get(notice or ""),
            card_error=card_error,
            card_name=card_name,
        )

    async def _methods(
        self, session: AsyncSession, visit: Visit, default_id: str | None
    ) -> list[MethodView]:
        listed, _ = await payment_method_service.list(
            session,
            visit.caller,
            CustomerPaymentMethodListParams(limit=PAYMENT_METHODS_SHOWN_MAX),
            visit.row.customer_id,
        )
        views = []
        for method in listed:
            rendered = payment_method_object(method)
            details = rendered[method.type]
            views.append(
                MethodView(
                    id=method.id,
                    label=method_label(method.type, details),
                    expiry=expiry_label(details) if method.type == "card" else None,
                    is_default=method.id == default_id,
                    default_form_id=new_form_id(),
                    remove_form_id=new_form_id(),
                )
            )
        # The default first, then newest first: what the customer pays with leads.
        views.sort(key=lambda view: not view.is_default)
        return views

    # ---- forms --------------------------------------------------------------------------------

    async def _claim(
        self, session: AsyncSession, visit: Visit, form_id: str, kind: str, subject: str | None
    ) -> tuple[PortalActionRow, bool]:
        """The form's action, claimed for this request (True), or as a first sending left it
        (False: this is the same form sent again, and answers as that one did). A sending
        still running holds the row: this one waits for it."""
        made = await session.execute(
            insert(PortalActionRow)
            .values(
                session_id=visit.row.id,
                form_id=form_id,
                kind=kind,
                subject_id=subject,
                setup_intent_id=None,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["session_id", "form_id"])
            .returning(PortalActionRow.form_id)
        )
        fresh = made.scalar_one_or_none() is not None
        action = await self._action(session, visit, form_id)
        invariant(action is not None, "a claimed form's action exists")
        assert action is not None
        if not fresh and (action.kind != kind or (subject and action.subject_id != subject)):
            raise FormExpiredError()  # one form's id posted with another form's fields
        return action, fresh

    async def _action(
        self, session: AsyncSession, visit: Visit, form_id: str
    ) -> PortalActionRow | None:
        found: PortalActionRow | None = (
            await session.execute(
                select(PortalActionRow)
                .where(PortalActionRow.session_id == visit.row.id)
                .where(PortalActionRow.form_id == form_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).scalar_one_or_none()
        return found

    def _require(self, visit: Visit, feature: str) -> None:
        if not visit.feature(feature)["enabled"]:
            raise PortalFeatureOffError()

    async def add_card(
        self,
        session: AsyncSession,
        ring: KeyRing,
        visit: Visit,
        form: CardForm,
        phases: Phases,
    ) -> PageAnswer:
        """Save the card of ``form`` for the customer: a payment method, and a SetupIntent
        confirmed for off-session use (the card network asked outside any transaction, after
        the recovery point ``phases`` commits). Refusals of the card's details are
        :class:`CardFormError` (nothing is kept); a decline after the network was asked is an
        answer (``card_declined``)."""
        self._require(visit, "payment_method_update")
        action, fresh = await self._claim(session, visit, form.form_id, "add_card", None)
        if not fresh:
            return await self._settle_card(session, visit, action)
        method = await self._new_card(session, ring, visit, form)
        action.subject_id = method
        await session.flush()
        setup = SetupIntentCreateParams.model_validate(
            {
                "customer": visit.row.customer_id,
                "payment_method": method,
                "confirm": True,
                "usage": "off_session",
                "return_url": f"{visit.page_url()}/cards/{form.form_id}",
                "metadata": {"billing_portal_session": visit.row.id},
            }
        )
        try:
            result = await setup_intent_service.create(session, visit.caller, ring, setup, phases)
        except BeyondpayError as refusal:  # refused before the network was asked
            raise CardFormError(refusal.message, field="number") from None
        # The answer is applied in a transaction of its own (the first committed): the
        # action's row is read again there.
        settled = await self._action(session, visit, form.form_id)
        invariant(settled is not None, "the card's action was committed with its setup")
        assert settled is not None
        settled.setup_intent_id = result.intent.id
        await session.flush()
        return await self._settle_card(session, visit, settled)

    async def _new_card(
        self, session: AsyncSession, ring: KeyRing, visit: Visit, form: CardForm
    ) -> str:
        card: dict[str, Any] = {
            "number": form.number,
            "exp_month": form.exp_month,
            "exp_year": form.exp_year,
        }
        if form.cvc is not None:
            card["cvc"] = form.cvc
        params: dict[str, Any] = {"type": "card", "card": card, "allow_redisplay": "always"}
        if form.name is not None:
            params["billing_details"] = {"name": form.name}
        try:
            method = await payment_method_service.create(
                session, visit.caller, ring, PaymentMethodCreateParams.model_validate(params)
            )
        except BeyondpayError as refusal:
            field_name = _CARD_FIELDS.get(refusal.param or "", "number")
            raise CardFormError(refusal.message, field=field_name) from None
        return method.id

    async def card_returned(self, session: AsyncSession, visit: Visit, form_id: str) -> PageAnswer:
        """The visit back from 3-D Secure (the SetupIntent's ``return_url``): the card's setup
        as the network left it."""
        action = await self._action(session, visit, form_id)
        if action is None or action.kind != "add_card":
            raise PortalObjectMissingError()
        return await self._settle_card(session, visit, action)

    async def _settle_card(
        self, session: AsyncSession, visit: Visit, action: PortalActionRow
    ) -> PageAnswer:
        """What a card's setup came to: saved (and made the default), waiting for 3-D Secure,
        still with the network, or declined."""
        intent = await self._setup_of(session, visit, action)
        if intent is None:  # the card's details were refused before a setup began
            return PageAnswer(notice="card_declined")
        if intent.status == "succeeded":
            await self._make_default(session, visit, str(intent.payment_method_id))
            return PageAnswer(notice="card_added")
        if intent.status == "requires_action" and intent.next_action is not None:
            return PageAnswer(redirect=str(intent.next_action["redirect_to_url"]["url"]))
        if intent.status in _IN_FLIGHT:
            return PageAnswer(notice="card_pending")
        return PageAnswer(notice="card_declined")

    async def _setup_of(self, session: AsyncSession, visit: Visit, action: PortalActionRow) -> Any:
        """The action's SetupIntent; found by its payment method when the process that made it
        stopped before naming it on the action."""
        if action.setup_intent_id is not None:
            return await setup_intent_service.get(session, visit.caller, action.setup_intent_id)
        if action.subject_id is None:
            return None
        found, _ = await setup_intent_service.list(
            session,
            visit.caller,
            SetupIntentListParams(limit=1, payment_method=action.subject_id),
        )
        return found[0] if found else None

    async def _make_default(self, session: AsyncSession, visit: Visit, method_id: str) -> None:
        """The customer's ``invoice_settings.default_payment_method`` (``customer.updated``
        once; setting it again changes nothing)."""
        update = CustomerUpdateParams.model_validate(
            {"invoice_settings": {"default_payment_method": method_id}}
        )
        await customer_service.update(session, visit.caller, visit.row.customer_id, update)

    async def _own_method(self, session: AsyncSession, visit: Visit, method_id: str) -> str:
        try:
            method = await payment_method_service.get_of_customer(
                session, visit.caller, visit.row.customer_id, method_id
            )
        except ResourceMissingError:
            raise PortalObjectMissingError() from None
        return method.id

    async def make_default(
        self, session: AsyncSession, visit: Visit, form_id: str, method_id: str
    ) -> PageAnswer:
        """Make one of the customer's payment methods their default."""
        self._require(visit, "payment_method_update")
        _, fresh = await self._claim(session, visit, form_id, "set_default", method_id)
        if fresh:
            await self._make_default(
                session, visit, await self._own_method(session, visit, method_id)
            )
        return PageAnswer(notice="default_updated")

    async def remove(
        self, session: AsyncSession, visit: Visit, form_id: str, method_id: str
    ) -> PageAnswer:
        """Detach one of the customer's payment methods (``payment_method.detached``); the
        default is kept while subscriptions are billed to it."""
        self._require(visit, "payment_method_update")
        _, fresh = await self._claim(session, visit, form_id, "remove_payment_method", method_id)
        if not fresh:
            return PageAnswer(notice="method_removed")
        owned = await self._own_method(session, visit, method_id)
        customer = await customer_service.get(session, visit.caller, visit.row.customer_id)
        if customer.default_payment_method_id == owned:
            billed = await sections.subscriptions_for(session, visit.caller, visit.row.customer_id)
            if any(summary.status in _BILLED_STATUSES for summary in billed):
                raise DefaultInUseError()
        await payment_method_service.detach(session, visit.caller, owned)
        return PageAnswer(notice="method_removed")

    async def cancel_subscription(
        self,
        session: AsyncSession,
        visit: Visit,
        form_id: str,
        subscription_id: str,
        reason: str | None,
    ) -> PageAnswer:
        """Cancel one of the customer's subscriptions as the configuration says."""
        self._require(visit, "subscription_cancel")
        cancel = visit.feature("subscription_cancel")
        offered = cancel["cancellation_reason"]["options"]
        _, fresh = await self._claim(
            session, visit, form_id, "cancel_subscription", subscription_id
        )
        if fresh:
            await sections.cancel_subscription(
                session,
                visit.caller,
                visit.row.customer_id,
                subscription_id,
                mode=cancel["mode"],
                proration_behavior=cancel["proration_behavior"],
                reason=reason if reason in offered else None,
            )
        return PageAnswer(notice="subscription_canceled")

    async def switch_subscription(
        self,
        session: AsyncSession,
        visit: Visit,
        form_id: str,
        subscription_id: str,
        price_id: str,
    ) -> PageAnswer:
        """Switch one of the customer's subscriptions to one of the configuration's prices."""
        self._require(visit, "subscription_update")
        update = visit.feature("subscription_update")
        choices = await sections.plan_choices(session, visit.caller, update["products"])
        if price_id not in {choice.price_id for choice in choices}:
            raise PortalObjectMissingError()
        _, fresh = await self._claim(
            session, visit, form_id, "switch_subscription", subscription_id
        )
        if fresh:
            await sections.switch_subscription(
                session,
                visit.caller,
                visit.row.customer_id,
                subscription_id,
                price_id=price_id,
                proration_behavior=update["proration_behavior"],
                billing_cycle_anchor=update["billing_cycle_anchor"],
            )
        return PageAnswer(notice="subscription_updated")


visit_service = VisitService()
