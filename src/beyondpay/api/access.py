"""Who may call a route: the caller each scope admits, declared once.

A route names its access in its signature (``caller: RefundsWriter``); the router reads the
OpenAPI ``x-beyondpay-access`` and ``security`` from it. A new scope (``merchants.domain.Scope``)
gets its two lines here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from beyondpay.api.auth import authorize
from beyondpay.merchants.domain import Caller, Scope

SecretKey = Annotated[Caller, Depends(authorize())]
PlatformAdmin = Annotated[Caller, Depends(authorize(platform=True))]

CustomersReader = Annotated[Caller, Depends(authorize(Scope.customers_read))]
CustomersWriter = Annotated[Caller, Depends(authorize(Scope.customers_write))]
LedgerReader = Annotated[Caller, Depends(authorize(Scope.ledger_read))]
LedgerWriter = Annotated[Caller, Depends(authorize(Scope.ledger_write))]
AuditEventsReader = Annotated[Caller, Depends(authorize(Scope.audit_events_read))]
ApiKeysReader = Annotated[Caller, Depends(authorize(Scope.api_keys_read))]
ApiKeysWriter = Annotated[Caller, Depends(authorize(Scope.api_keys_write))]
AccountReader = Annotated[Caller, Depends(authorize(Scope.account_read))]
AccountWriter = Annotated[Caller, Depends(authorize(Scope.account_write))]
EventsReader = Annotated[Caller, Depends(authorize(Scope.events_read))]
WebhookEndpointsReader = Annotated[Caller, Depends(authorize(Scope.webhook_endpoints_read))]
WebhookEndpointsWriter = Annotated[Caller, Depends(authorize(Scope.webhook_endpoints_write))]
PaymentMethodsReader = Annotated[Caller, Depends(authorize(Scope.payment_methods_read))]
PaymentMethodsWriter = Annotated[Caller, Depends(authorize(Scope.payment_methods_write))]
PaymentIntentsReader = Annotated[Caller, Depends(authorize(Scope.payment_intents_read))]
PaymentIntentsWriter = Annotated[Caller, Depends(authorize(Scope.payment_intents_write))]
ChargesReader = Annotated[Caller, Depends(authorize(Scope.charges_read))]
ChargesWriter = Annotated[Caller, Depends(authorize(Scope.charges_write))]
RefundsReader = Annotated[Caller, Depends(authorize(Scope.refunds_read))]
RefundsWriter = Annotated[Caller, Depends(authorize(Scope.refunds_write))]
BalanceReader = Annotated[Caller, Depends(authorize(Scope.balance_read))]
UpiReader = Annotated[Caller, Depends(authorize(Scope.upi_read))]
UpiWriter = Annotated[Caller, Depends(authorize(Scope.upi_write))]
LimitsReader = Annotated[Caller, Depends(authorize(Scope.limits_read))]
LimitsWriter = Annotated[Caller, Depends(authorize(Scope.limits_write))]
RiskReader = Annotated[Caller, Depends(authorize(Scope.risk_read))]
RiskWriter = Annotated[Caller, Depends(authorize(Scope.risk_write))]
TestClocksReader = Annotated[Caller, Depends(authorize(Scope.test_clocks_read))]
TestClocksWriter = Annotated[Caller, Depends(authorize(Scope.test_clocks_write))]
DisputesReader = Annotated[Caller, Depends(authorize(Scope.disputes_read))]
DisputesWriter = Annotated[Caller, Depends(authorize(Scope.disputes_write))]
SetupIntentsReader = Annotated[Caller, Depends(authorize(Scope.setup_intents_read))]
SetupIntentsWriter = Annotated[Caller, Depends(authorize(Scope.setup_intents_write))]
TokensReader = Annotated[Caller, Depends(authorize(Scope.tokens_read))]
TokensWriter = Annotated[Caller, Depends(authorize(Scope.tokens_write))]
TaxRatesReader = Annotated[Caller, Depends(authorize(Scope.tax_rates_read))]
TaxRatesWriter = Annotated[Caller, Depends(authorize(Scope.tax_rates_write))]
TaxIdsReader = Annotated[Caller, Depends(authorize(Scope.tax_ids_read))]
TaxIdsWriter = Annotated[Caller, Depends(authorize(Scope.tax_ids_write))]
ProductsReader = Annotated[Caller, Depends(authorize(Scope.products_read))]
ProductsWriter = Annotated[Caller, Depends(authorize(Scope.products_write))]
PricesReader = Annotated[Caller, Depends(authorize(Scope.prices_read))]
PricesWriter = Annotated[Caller, Depends(authorize(Scope.prices_write))]
CouponsReader = Annotated[Caller, Depends(authorize(Scope.coupons_read))]
CouponsWriter = Annotated[Caller, Depends(authorize(Scope.coupons_write))]
PromotionCodesReader = Annotated[Caller, Depends(authorize(Scope.promotion_codes_read))]
PromotionCodesWriter = Annotated[Caller, Depends(authorize(Scope.promotion_codes_write))]
BillingPortalReader = Annotated[Caller, Depends(authorize(Scope.billing_portal_read))]
BillingPortalWriter = Annotated[Caller, Depends(authorize(Scope.billing_portal_write))]
InvoicesReader = Annotated[Caller, Depends(authorize(Scope.invoices_read))]
InvoicesWriter = Annotated[Caller, Depends(authorize(Scope.invoices_write))]
SubscriptionsReader = Annotated[Caller, Depends(authorize(Scope.subscriptions_read))]
SubscriptionsWriter = Annotated[Caller, Depends(authorize(Scope.subscriptions_write))]
CreditNotesReader = Annotated[Caller, Depends(authorize(Scope.credit_notes_read))]
CreditNotesWriter = Annotated[Caller, Depends(authorize(Scope.credit_notes_write))]
CheckoutSessionsReader = Annotated[Caller, Depends(authorize(Scope.checkout_sessions_read))]
CheckoutSessionsWriter = Annotated[Caller, Depends(authorize(Scope.checkout_sessions_write))]
PaymentLinksReader = Annotated[Caller, Depends(authorize(Scope.payment_links_read))]
PaymentLinksWriter = Annotated[Caller, Depends(authorize(Scope.payment_links_write))]
SettlementReader = Annotated[Caller, Depends(authorize(Scope.settlement_read))]
SettlementWriter = Annotated[Caller, Depends(authorize(Scope.settlement_write))]
ExternalAccountsReader = Annotated[Caller, Depends(authorize(Scope.external_accounts_read))]
ExternalAccountsWriter = Annotated[Caller, Depends(authorize(Scope.external_accounts_write))]
PayoutsReader = Annotated[Caller, Depends(authorize(Scope.payouts_read))]
PayoutsWriter = Annotated[Caller, Depends(authorize(Scope.payouts_write))]
AccountsReader = Annotated[Caller, Depends(authorize(Scope.accounts_read))]
AccountsWriter = Annotated[Caller, Depends(authorize(Scope.accounts_write))]
TransfersReader = Annotated[Caller, Depends(authorize(Scope.transfers_read))]
TransfersWriter = Annotated[Caller, Depends(authorize(Scope.transfers_write))]
ReportingReader = Annotated[Caller, Depends(authorize(Scope.reporting_read))]
ReportingWriter = Annotated[Caller, Depends(authorize(Scope.reporting_write))]
FilesReader = Annotated[Caller, Depends(authorize(Scope.files_read))]
ApplicationFeesReader = Annotated[Caller, Depends(authorize(Scope.application_fees_read))]
ApplicationFeesWriter = Annotated[Caller, Depends(authorize(Scope.application_fees_write))]
# Browser keys too (publishable: the card element, Stripe.js); the use case limits what they
# may do (a PaymentIntent only with its client secret, a payment method for no customer).
PaymentMethodsWriterOrBrowser = Annotated[
    Caller, Depends(authorize(Scope.payment_methods_write, publishable=True))
]
PaymentIntentsReaderOrBrowser = Annotated[
    Caller, Depends(authorize(Scope.payment_intents_read, publishable=True))
]
PaymentIntentsWriterOrBrowser = Annotated[
    Caller, Depends(authorize(Scope.payment_intents_write, publishable=True))
]
SetupIntentsReaderOrBrowser = Annotated[
    Caller, Depends(authorize(Scope.setup_intents_read, publishable=True))
]
SetupIntentsWriterOrBrowser = Annotated[
    Caller, Depends(authorize(Scope.setup_intents_write, publishable=True))
]
