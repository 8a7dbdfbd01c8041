"""The composition root: builds the ASGI app and mounts each module's routes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import procrastinate
from fastapi import APIRouter, FastAPI

from beyondpay import __version__
from beyondpay.api import health
from beyondpay.api.docs import install_docs
from beyondpay.api.errors import install_error_handlers
from beyondpay.api.middleware import EdgeMiddleware
from beyondpay.api.openapi import install_openapi
from beyondpay.api.ratelimit import create_rate_limiter
from beyondpay.db import jobs
from beyondpay.db.session import Database
from beyondpay.db.urls import libpq_url
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.logging import configure_logging
from beyondpay.kit.settings import Settings
from beyondpay.rails.pages import router as pages_router
from beyondpay.web.checkout import router as checkout_pages
from beyondpay.web.elements import router as element_pages
from beyondpay.web.invoices import router as invoices_pages
from beyondpay.web.pages import STATIC_PATH, static_files
from beyondpay.web.portal import router as portal_pages
from beyondpay.web.receipts import router as receipts_pages


def job_blueprints() -> list[procrastinate.Blueprint]:
    """Every module's jobs; a module adds its blueprint here."""
    from beyondpay.api.tasks import api_jobs
    from beyondpay.billing.invoices.tasks import invoices_jobs
    from beyondpay.billing.subscriptions.tasks import subscriptions_jobs
    from beyondpay.checkout.tasks import checkout_jobs
    from beyondpay.events.tasks import events_jobs
    from beyondpay.ledger.tasks import ledger_jobs
    from beyondpay.notifications.tasks import notifications_jobs
    from beyondpay.payments.tasks import payments_jobs
    from beyondpay.psp.transfers.tasks import psp_transfers_jobs
    from beyondpay.rails.tasks import rails_jobs
    from beyondpay.refunds.tasks import refunds_jobs
    from beyondpay.reporting.tasks import reporting_jobs
    from beyondpay.settlement.bank_accounts.tasks import bank_accounts_jobs
    from beyondpay.settlement.payouts.tasks import settlement_payouts_jobs
    from beyondpay.settlement.windows.tasks import settlement_windows_jobs
    from beyondpay.setup_intents.tasks import setup_intents_jobs
    from beyondpay.test_clocks.tasks import test_clocks_jobs
    from beyondpay.webhooks.tasks import webhooks_jobs

    return [
        api_jobs,
        events_jobs,
        ledger_jobs,
        rails_jobs,
        payments_jobs,
        refunds_jobs,
        webhooks_jobs,
        psp_transfers_jobs,
        test_clocks_jobs,
        notifications_jobs,
        setup_intents_jobs,
        invoices_jobs,
        subscriptions_jobs,
        checkout_jobs,
        settlement_windows_jobs,
        bank_accounts_jobs,
        settlement_payouts_jobs,
        reporting_jobs,
    ]


def configure_modules(settings: Settings, *, ring: KeyRing | None = None) -> None:
    """Builds every module's settings once (``kit.module_settings``: each module's frozen
    config, read with its ``CONFIG.current()``) and wires the modules together
    (:func:`wire_modules`). The API's lifespan and the worker call it at start."""
    from beyondpay.billing.invoices.service import configure as configure_invoices
    from beyondpay.billing.portal.settings import configure as configure_billing_portal
    from beyondpay.checkout.settings import configure as configure_checkout
    from beyondpay.disputes.settings import configure as configure_disputes
    from beyondpay.limits.service import configure as configure_limits
    from beyondpay.notifications.service import configure as configure_notifications
    from beyondpay.payments.service import configure as configure_payments
    from beyondpay.psp.addresses.service import configure as configure_addresses
    from beyondpay.psp.identity.passkeys import configure as configure_passkeys
    from beyondpay.psp.transfers.service import configure as configure_transfers
    from beyondpay.rails.service import configure as configure_rails
    from beyondpay.risk.service import configure as configure_risk
    from beyondpay.settlement.bank_accounts.settings import configure as configure_bank_accounts
    from beyondpay.setup_intents.settings import configure as configure_setup_intents

    ring = ring if ring is not None else settings.key_ring()
    configure_payments(settings, ring=ring)
    configure_addresses(settings)
    configure_rails(settings, ring=ring)
    configure_passkeys(settings)
    configure_transfers(settings)
    configure_limits(settings)
    configure_risk(settings)
    configure_notifications(settings, ring=ring)
    configure_disputes(settings)
    configure_setup_intents(settings, ring=ring)
    configure_billing_portal(settings)
    configure_invoices(settings, ring=ring)
    configure_checkout(settings, ring=ring)
    configure_bank_accounts(settings, ring=ring)
    wire_modules()


def wire_modules() -> None:
    """Who hears whom, in one place: the rails' scheduler (their callbacks and voids are jobs),
    and every handler of what a rail reports by itself (payments' authorizations, refunds', the
    PSP's collects), the PSP's claim on collects to its VPAs and on credits to its merchants'
    VPAs (each becomes the merchant's payment), who writes a receipt's email to the outbox when
    payments say one is due, who hears a PaymentIntent's events in their transaction (invoices,
    paid with their intent) and who writes an invoice's email, and what runs at a test clock's
    time when it advances or is deleted (``test_clocks.timeline``: payments' funds becoming
    available and payers' answers expiring, invoices' auto-advance and due dates, customers
    deleted with their clock). Registering twice changes nothing."""
    from beyondpay.billing.credit_notes.service import compose_credit_note_email
    from beyondpay.billing.invoices.service import (
        compose_invoice_email,
        hear_payment,
        on_first_collection,
        on_invoice_event,
    )
    from beyondpay.billing.subscriptions.notices import compose_notice, gate_first_collection
    from beyondpay.billing.subscriptions.service import hear_invoice
    from beyondpay.checkout.service import hear_invoice as hear_checkout_invoice
    from beyondpay.checkout.service import hear_payment as hear_checkout_payment
    from beyondpay.checkout.service import on_completed
    from beyondpay.checkout.setup_mode import hear_setup as hear_setup_checkout
    from beyondpay.customers.service import use_payment_methods
    from beyondpay.disputes.service import handle_rail_outcome as disputes_hear
    from beyondpay.notifications.service import Kind, queue_receipt, register_composer
    from beyondpay.payment_links.service import count_completed
    from beyondpay.payment_methods.service import payment_method_service
    from beyondpay.payments.service import handle_rail_outcome as payments_hear
    from beyondpay.payments.service import on_intent_event, on_receipt_due, waits_for_payer
    from beyondpay.psp.transfers.service import claim_collect, credit_merchant
    from beyondpay.psp.transfers.service import handle_rail_outcome as psp_hear
    from beyondpay.rails.service import (
        on_collect,
        on_credit,
        on_outcome,
        on_payable,
        use_scheduler,
    )
    from beyondpay.rails.tasks import JobScheduler
    from beyondpay.refunds.service import handle_rail_outcome as refunds_hear
    from beyondpay.setup_intents.service import handle_rail_outcome as setup_intents_hear
    from beyondpay.setup_intents.service import on_setup_intent_event

    use_scheduler(JobScheduler())
    on_outcome(payments_hear)
    on_outcome(refunds_hear)
    on_outcome(psp_hear)
    on_outcome(disputes_hear)
    on_outcome(setup_intents_hear)
    on_collect(claim_collect)
    on_credit(credit_merchant)
    # A payer's push pays a waiting UPI intent request only while payments still waits for it.
    on_payable(waits_for_payer)
    on_receipt_due(queue_receipt)
    # An invoice is paid in its PaymentIntent's transaction; its email is billing's to write.
    on_intent_event(hear_payment, owner_prefix="in_")
    register_composer(Kind.invoice, compose_invoice_email)
    register_composer(Kind.credit_note, compose_credit_note_email)
    # A subscription follows its invoices' outcomes, in their transaction.
    on_invoice_event(hear_invoice)
    # RBI's pre-debit notice before each charge of a subscription: a renewal's first
    # collection waits for its notice, or for the customer; the notice's email is billing's.
    on_first_collection(gate_first_collection)
    register_composer(Kind.pre_debit_notice, compose_notice)
    # customers.create(payment_method=…) and invoice_settings.default_payment_method reach
    # the payment methods, a module above customers, through this.
    use_payment_methods(payment_method_service)
    # A Checkout Session completes in its PaymentIntent's transaction.
    on_intent_event(hear_checkout_payment, owner_prefix="cs_")
    # A subscription-mode session completes when its first invoice is paid, heard after the
    # subscription's own listener (registered above) has made the subscription active.
    on_invoice_event(hear_checkout_invoice)
    # A payment link counts its completed sessions in the transaction completing each.
    on_completed(count_completed)
    # A Checkout Session in setup mode completes in its SetupIntent's transaction.
    on_setup_intent_event(hear_setup_checkout, owner_prefix="cs_")
    wire_test_clocks()
    wire_settlement()


def wire_settlement() -> None:
    """Settlement's reactions: a closed window makes its automatic payout (in the close's
    transaction), and the payout rail's own reports (a NEFT batch settled) reach payouts."""
    from beyondpay.rails.service import on_payout_outcome
    from beyondpay.settlement.payouts.service import handle_payout_outcome, pay_closed_window
    from beyondpay.settlement.windows.service import on_window_closed

    on_window_closed(pay_closed_window)
    on_payout_outcome(handle_payout_outcome)
    wire_reconciliation()
    wire_destination_charges()


def wire_destination_charges() -> None:
    """Connect's destination charges: a capture makes its transfer and application fee, and a
    refund asking for them takes its share back, in their own transactions. Connect sits above
    payments and refunds (neither imports it), so they meet here."""
    from beyondpay.connect.fees import record_destination_charge, refund_destination
    from beyondpay.payments.service import on_destination_charge
    from beyondpay.refunds.service import on_destination_refund

    on_destination_charge(record_destination_charge)
    on_destination_refund(refund_destination)


def wire_reconciliation() -> None:
    """Refunds' records on the card network's file, and payouts in the reports: refunds and
    reporting sit beside settlement (neither imports the other), so they meet here."""
    from beyondpay.rails.file_domain import FileKind
    from beyondpay.refunds.service import succeeded_refunds
    from beyondpay.settlement.reconciliation.service import register_records

    register_records(FileKind.card, succeeded_refunds)
    # Payouts in Stripe's reports: payouts.itemized.1, and the payout each balance
    # transaction went out in (reconciliation.itemized.1).
    from beyondpay.reporting.service import register_payouts
    from beyondpay.settlement.payouts.reports import (
        PAYOUTS_ITEMIZED_COLUMNS,
        automatic_payout_spans,
        payouts_itemized,
    )

    register_payouts(payouts_itemized, automatic_payout_spans, PAYOUTS_ITEMIZED_COLUMNS)


def wire_test_clocks() -> None:
    """What runs at a test clock's time, by stage (``test_clocks.timeline.Stage``): a module
    whose objects attach to a clock adds its handlers here."""
    from beyondpay.billing.invoices.service import advance_invoices_on_clock
    from beyondpay.billing.subscriptions.service import advance_subscriptions_on_clock
    from beyondpay.customers.service import customer_service
    from beyondpay.payments.service import expire_payer_actions_on_clock, release_funds_on_clock
    from beyondpay.test_clocks.timeline import Stage, on_advance, on_delete

    on_advance(release_funds_on_clock, stage=Stage.funds)
    on_advance(expire_payer_actions_on_clock, stage=Stage.expiry)
    # Subscriptions before invoices: a renewal's draft due in the interval is finalized in it.
    on_advance(advance_subscriptions_on_clock, stage=Stage.billing)
    on_advance(advance_invoices_on_clock, stage=Stage.billing)
    on_delete(customer_service.delete_on_clock)


def create_job_app(database_url: str) -> procrastinate.App:
    return jobs.create_job_app(database_url, job_blueprints())


def worker_loops(database_url: str) -> list[Callable[[], Coroutine[Any, Any, None]]]:
    """What runs beside the jobs for as long as the worker does."""
    from beyondpay.events.follower import follow

    conninfo = libpq_url(database_url)
    return [lambda: follow(conninfo)]


@contextlib.asynccontextmanager
async def running_worker(
    database_url: str, *, concurrency: int = jobs.WORKER_CONCURRENCY_DEFAULT
) -> AsyncIterator[procrastinate.App]:
    """The whole worker (jobs and the loops beside them) in the background of this loop."""
    job_app = create_job_app(database_url)
    try:
        async with jobs.running_worker(
            job_app, alongside=worker_loops(database_url), concurrency=concurrency
        ):
            yield job_app
    finally:
        await close_worker_resources()


async def close_worker_resources() -> None:
    """What the jobs opened for the worker's lifetime: the bus connection, the engines."""
    from beyondpay.db.jobs import close_job_databases
    from beyondpay.events.relay import close_worker_bus
    from beyondpay.notifications.senders import close_sink
    from beyondpay.webhooks.tasks import close_databases

    await close_worker_bus()
    await close_databases()
    await close_job_databases()
    await close_sink()


def create_app(
    settings: Settings,
    database_url: str,
    *,
    run_worker: bool = False,
) -> FastAPI:
    """The API; with ``run_worker`` the background worker runs inside the same process."""
    configure_logging(settings.log_level, settings.log_format.value)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(
            database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_pool_max_overflow,
            pool_timeout_s=settings.database_pool_timeout_s,
        )
        app.state.database = database
        app.state.settings = settings
        app.state.key_ring = settings.key_ring()
        configure_modules(settings, ring=app.state.key_ring)
        rate_limiter = create_rate_limiter(settings)
        app.state.rate_limiter = rate_limiter
        async with contextlib.AsyncExitStack() as stack:
            if run_worker:
                job_app = await stack.enter_async_context(running_worker(database_url))
            else:
                job_app = create_job_app(database_url)
                await stack.enter_async_context(job_app.open_async())
            app.state.jobs = job_app
            try:
                yield
            finally:
                if rate_limiter is not None:
                    await rate_limiter.close()
                await database.dispose()

    app = FastAPI(
        title="beyondpay",
        version=__version__,
        description="Stripe-compatible payments, UPI and programmable money on one ledger.",
        lifespan=lifespan,
        # /docs and /redoc are installed below with their assets served here, not a CDN.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    install_error_handlers(app)
    install_openapi(app)
    install_docs(app)
    app.add_middleware(EdgeMiddleware)
    app.include_router(health.router)
    app.include_router(pages_router)
    app.include_router(receipts_pages)
    app.include_router(portal_pages)
    app.include_router(invoices_pages)
    app.include_router(checkout_pages)
    from beyondpay.web.payment_links import router as payment_link_pages

    app.include_router(payment_link_pages)
    app.mount(STATIC_PATH, static_files(), name="static")
    for router in merchant_routers():
        app.include_router(router)
    for router in psp_routers():
        app.include_router(router)
    app.include_router(element_pages)
    return app


def psp_routers() -> list[APIRouter]:
    """The PSP's routes under /v1/psp, called with payers' sessions, not merchant keys; each
    part of the PSP adds its router here."""
    from beyondpay.psp.addresses.api import router as psp_addresses
    from beyondpay.psp.banking.api import router as psp_banking
    from beyondpay.psp.identity.api import router as psp_identity
    from beyondpay.psp.transfers.api import router as psp_transfers

    return [psp_identity, psp_banking, psp_addresses, psp_transfers]


def merchant_routers() -> list[APIRouter]:
    """Every module's routes; a module adds its router here."""
    from beyondpay.accounts.api import router as accounts
    from beyondpay.activity.api import audit_router as audit_events
    from beyondpay.activity.api import events_router as events
    from beyondpay.billing.catalog.api import coupons, prices, products, promotion_codes
    from beyondpay.billing.credit_notes.api import router as credit_notes
    from beyondpay.billing.invoices.api import balance_router as customer_balance_transactions
    from beyondpay.billing.invoices.api import items_router as invoice_items
    from beyondpay.billing.invoices.api import router as invoices
    from beyondpay.billing.invoices.api import settings_router as invoice_settings
    from beyondpay.billing.portal.api import configurations_router as billing_portal_configurations
    from beyondpay.billing.portal.api import sessions_router as billing_portal_sessions
    from beyondpay.billing.subscriptions.api import items_router as subscription_items
    from beyondpay.billing.subscriptions.api import router as subscriptions
    from beyondpay.billing.subscriptions.api import settings_router as dunning_settings
    from beyondpay.billing.tax.api import customer_tax_ids_router as customer_tax_ids
    from beyondpay.billing.tax.api import router as tax_rates
    from beyondpay.billing.tax.api import tax_ids_router as tax_ids
    from beyondpay.checkout.api import router as checkout_sessions
    from beyondpay.connect.api import accounts_router as connected_accounts
    from beyondpay.connect.api import fees_router as application_fees
    from beyondpay.connect.api import router as transfers
    from beyondpay.customers.api import router as customers
    from beyondpay.disputes.api import router as disputes
    from beyondpay.files.api import router as files
    from beyondpay.limits.api import router as limit_policies
    from beyondpay.notifications.api import router as notifications
    from beyondpay.payment_links.api import router as payment_links
    from beyondpay.payment_methods.api import customer_router as customer_payment_methods
    from beyondpay.payment_methods.api import router as payment_methods
    from beyondpay.payment_methods.api import tokens_router as tokens
    from beyondpay.payments.api import balance, charges, intents
    from beyondpay.psp.addresses.api import merchant_router as upi_merchant_vpas
    from beyondpay.refunds.api import router as refunds
    from beyondpay.reporting.api import router as report_runs
    from beyondpay.risk.api import router as risk
    from beyondpay.settlement.bank_accounts.api import router as external_accounts
    from beyondpay.settlement.payouts.api import router as payouts
    from beyondpay.settlement.reconciliation.api import router as reconciliation
    from beyondpay.settlement.windows.api import router as settlement_windows
    from beyondpay.setup_intents.api import router as setup_intents
    from beyondpay.test_clocks.api import router as test_clocks
    from beyondpay.wallets.api import router as wallets
    from beyondpay.webhooks.api import deliveries_router as webhook_deliveries
    from beyondpay.webhooks.api import router as webhooks

    return [
        accounts,
        audit_events,
        customers,
        customer_payment_methods,
        payment_methods,
        intents,
        charges,
        refunds,
        balance,
        events,
        wallets,
        webhooks,
        webhook_deliveries,
        upi_merchant_vpas,
        limit_policies,
        risk,
        test_clocks,
        notifications,
        disputes,
        setup_intents,
        tokens,
        tax_rates,
        tax_ids,
        customer_tax_ids,
        products,
        prices,
        coupons,
        promotion_codes,
        billing_portal_configurations,
        billing_portal_sessions,
        invoices,
        invoice_items,
        invoice_settings,
        subscriptions,
        subscription_items,
        dunning_settings,
        customer_balance_transactions,
        credit_notes,
        checkout_sessions,
        payment_links,
        settlement_windows,
        external_accounts,
        payouts,
        transfers,
        reconciliation,
        files,
        report_runs,
        connected_accounts,
        application_fees,
    ]
