"""Payment links' API objects: the parameters they take and the ``payment_link`` object,
Stripe's shape."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, Field

from beyondpay.checkout.domain import QUANTITY_MAX
from beyondpay.checkout.schemas import (
    CheckoutLineItemListParams,
    Expand,
    Id,
    MetadataParam,
    PaymentMethodType,
)
from beyondpay.db.pagination import ListParams
from beyondpay.kit.params import Params
from beyondpay.payment_links.domain import (
    COMPLETED_SESSIONS_LIMIT_MAX,
    CUSTOM_MESSAGE_CHARS_MAX,
    LINE_ITEMS_MAX,
)
from beyondpay.payment_links.models import PaymentLinkRow

PAGE_PATH: Final = "/l/"


class PaymentLinkLineItemParams(Params):
    price: Id
    quantity: Annotated[int, Field(ge=1, le=QUANTITY_MAX)]


class PaymentLinkLineItemUpdateParams(Params):
    """``line_items[n]`` on update: a line item of the link (by ``id``) and its new quantity."""

    id: Id
    quantity: Annotated[int, Field(ge=1, le=QUANTITY_MAX)]


class CompletedSessionsParams(Params):
    limit: Annotated[int, Field(ge=1, le=COMPLETED_SESSIONS_LIMIT_MAX)]


class RestrictionsParams(Params):
    completed_sessions: CompletedSessionsParams


def _http_url(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError("it must be an http or https URL")
    return value


class RedirectParams(Params):
    url: Annotated[str, Field(min_length=1, max_length=2_048), AfterValidator(_http_url)]


class HostedConfirmationParams(Params):
    custom_message: Annotated[
        str | None, Field(default=None, min_length=1, max_length=CUSTOM_MESSAGE_CHARS_MAX)
    ] = None


class AfterCompletionParams(Params):
    type: Literal["redirect", "hosted_confirmation"]
    redirect: RedirectParams | None = None
    hosted_confirmation: HostedConfirmationParams | None = None


class PaymentLinkCreateParams(Params):
    line_items: Annotated[
        list[PaymentLinkLineItemParams], Field(min_length=1, max_length=LINE_ITEMS_MAX)
    ]
    after_completion: AfterCompletionParams | None = None
    restrictions: RestrictionsParams | None = None
    payment_method_types: Annotated[
        list[PaymentMethodType] | None, Field(default=None, min_length=1, max_length=3)
    ] = None
    metadata: MetadataParam = None
    expand: Expand


class PaymentLinkUpdateParams(Params):
    active: bool | None = None
    line_items: Annotated[
        list[PaymentLinkLineItemUpdateParams] | None,
        Field(default=None, min_length=1, max_length=LINE_ITEMS_MAX),
    ] = None
    # "" (an empty value) removes the restriction, as Stripe's does.
    restrictions: RestrictionsParams | Literal[""] | None = None
    after_completion: AfterCompletionParams | None = None
    metadata: MetadataParam = None
    expand: Expand


class PaymentLinkListParams(ListParams):
    active: bool | None = None


PaymentLinkLineItemListParams = CheckoutLineItemListParams


# ---- the object -------------------------------------------------------------------------------


class PaymentLinkRedirect(BaseModel):
    url: str


class PaymentLinkHostedConfirmation(BaseModel):
    custom_message: str | None


class PaymentLinkAfterCompletion(BaseModel):
    type: Literal["redirect", "hosted_confirmation"]
    redirect: PaymentLinkRedirect | None
    hosted_confirmation: PaymentLinkHostedConfirmation | None


class PaymentLinkCompletedSessions(BaseModel):
    count: int
    limit: int


class PaymentLinkRestrictions(BaseModel):
    completed_sessions: PaymentLinkCompletedSessions


class PaymentLinkAutomaticTax(BaseModel):
    enabled: bool = Field(description="Always false: no automatic tax yet.")
    liability: None


class PaymentLink(BaseModel):
    id: str = Field(description="`plink_…`.")
    object: Literal["payment_link"]
    active: bool
    after_completion: PaymentLinkAfterCompletion
    allow_promotion_codes: bool
    application: None
    application_fee_amount: None
    application_fee_percent: None
    automatic_tax: PaymentLinkAutomaticTax
    billing_address_collection: Literal["auto"]
    currency: str
    customer_creation: Literal["if_required"]
    inactive_message: None
    invoice_creation: None
    livemode: bool
    metadata: dict[str, str]
    on_behalf_of: None
    payment_intent_data: None
    payment_method_collection: Literal["always"]
    payment_method_types: list[str] | None
    restrictions: PaymentLinkRestrictions | None
    shipping_address_collection: None
    submit_type: Literal["auto"]
    subscription_data: None
    transfer_data: None
    url: str = Field(description="The shareable link: each visit opens a new Checkout Session.")


def link_object(row: PaymentLinkRow, url: str) -> dict[str, Any]:
    """The link as Stripe renders it (its line items are read at ``…/line_items``)."""
    restrictions = None
    if row.completed_sessions_limit is not None:
        restrictions = {
            "completed_sessions": {
                "count": row.completed_sessions,
                "limit": row.completed_sessions_limit,
            }
        }
    return {
        "id": row.id,
        "object": "payment_link",
        "active": row.active,
        "after_completion": {
            "type": row.after_completion_type,
            "redirect": {"url": row.redirect_url} if row.redirect_url is not None else None,
            "hosted_confirmation": (
                {"custom_message": row.custom_message}
                if row.after_completion_type == "hosted_confirmation"
                else None
            ),
        },
        "allow_promotion_codes": False,
        "application": None,
        "application_fee_amount": None,
        "application_fee_percent": None,
        "automatic_tax": {"enabled": False, "liability": None},
        "billing_address_collection": "auto",
        "currency": row.currency,
        "customer_creation": "if_required",
        "inactive_message": None,
        "invoice_creation": None,
        "livemode": row.livemode,
        "metadata": dict(row.metadata_),
        "on_behalf_of": None,
        "payment_intent_data": None,
        "payment_method_collection": "always",
        "payment_method_types": (
            list(row.payment_method_types) if row.payment_method_types is not None else None
        ),
        "restrictions": restrictions,
        "shipping_address_collection": None,
        "submit_type": "auto",
        "subscription_data": None,
        "transfer_data": None,
        "url": url,
    }
