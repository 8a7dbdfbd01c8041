"""Webhook endpoint parameters and the webhook_endpoint object, in Stripe's shape."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, Field

from beyondpay.db.pagination import UNIX_S_MAX, ListParams
from beyondpay.events.catalog import EVENT_TYPES
from beyondpay.kit.params import Params, check_metadata
from beyondpay.webhooks.models import WebhookAttemptRow, WebhookDeliveryRow, WebhookEndpointRow
from beyondpay.webhooks.ssrf import URL_CHARS_MAX

DESCRIPTION_CHARS_MAX: Final = 5_000  # Stripe's limit
ENABLED_EVENTS_MAX: Final = 256
EVENT_TYPE_CHARS_MAX: Final = 128
ROLL_OVERLAP_S_MAX: Final = 24 * 3600
ALL_EVENTS: Final = "*"
# How far back ``recover`` may reach: deliveries older than this are not requeued (Svix keeps a
# similar bound), so a recovery's size stays that of two weeks of traffic.
RECOVER_WINDOW_MAX: Final = timedelta(days=14)


class EndpointStatus(StrEnum):
    enabled = "enabled"
    disabled = "disabled"


def _known_events(values: list[str]) -> list[str]:
    for value in values:
        if value != ALL_EVENTS and value not in EVENT_TYPES:
            # The type is a catalog name, not personal data: echoing it helps the caller.
            raise ValueError(f"unknown event type {value[:EVENT_TYPE_CHARS_MAX]!r}")
    return list(dict.fromkeys(values))  # duplicates collapse, order kept


EnabledEvents = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=EVENT_TYPE_CHARS_MAX)]],
    Field(min_length=1, max_length=ENABLED_EVENTS_MAX),
    AfterValidator(_known_events),
]
Url = Annotated[str, Field(min_length=1, max_length=URL_CHARS_MAX)]
Description = Annotated[str | None, Field(max_length=DESCRIPTION_CHARS_MAX)]
MetadataParam = Annotated[dict[str, str] | str | None, AfterValidator(check_metadata)]


class WebhookEndpointCreateParams(Params):
    url: Url
    enabled_events: EnabledEvents
    description: Description = None
    metadata: MetadataParam = None
    expand: list[str] = Field(default_factory=list, max_length=20)


class WebhookEndpointUpdateParams(Params):
    """Every field optional; ``description`` sent as "" is unset, as in Stripe."""

    url: Url | None = None
    enabled_events: EnabledEvents | None = None
    description: Description = None
    metadata: MetadataParam = None
    disabled: bool | None = Field(default=None, description="true disables, false enables.")
    expand: list[str] = Field(default_factory=list, max_length=20)


class WebhookEndpointRollParams(Params):
    expires_in: int = Field(
        default=0,
        ge=0,
        le=ROLL_OVERLAP_S_MAX,
        description=(
            "Seconds the previous secret keeps signing deliveries beside the new one"
            " (0 to 86400, 24 hours; default 0: it stops at once)."
        ),
    )


class WebhookEndpointListParams(ListParams):
    pass


class WebhookEndpoint(BaseModel):
    id: str
    object: Literal["webhook_endpoint"]
    api_version: str | None
    application: str | None
    created: int
    description: str | None
    enabled_events: list[str]
    livemode: bool
    metadata: dict[str, str]
    status: EndpointStatus
    url: str


class WebhookEndpointWithSecret(WebhookEndpoint):
    """At creation and after a roll only: the signing secret, ``whsec_…``."""

    secret: str


class DeletedWebhookEndpoint(BaseModel):
    id: str
    object: Literal["webhook_endpoint"]
    deleted: Literal[True]


def webhook_endpoint_object(row: WebhookEndpointRow) -> dict[str, Any]:
    if row.deleted_at is not None:
        return {"id": row.id, "object": "webhook_endpoint", "deleted": True}
    return {
        "id": row.id,
        "object": "webhook_endpoint",
        "api_version": None,
        "application": None,
        "created": int(row.created_at.timestamp()),
        "description": row.description,
        "enabled_events": list(row.enabled_events),
        "livemode": row.livemode,
        "metadata": row.metadata_,
        "status": row.status,
        "url": row.url,
    }


def webhook_endpoint_with_secret(row: WebhookEndpointRow, secret: str) -> dict[str, Any]:
    return {**webhook_endpoint_object(row), "secret": secret}


class WebhookDeliveryListParams(ListParams):
    pass


class WebhookAttempt(BaseModel):
    attempted_at: int
    status_code: int | None = Field(description="The receiver's HTTP status; null on an error.")
    error: str | None = Field(
        description="timeout, connection_error, http_error or url_refused; null with a status."
    )
    latency_ms: int
    response_body_prefix: str | None = Field(description="The first 2 KiB of the response body.")


class WebhookDelivery(BaseModel):
    id: str
    object: Literal["webhook_delivery"]
    attempt_count: int
    created: int
    event: str
    last_status_code: int | None
    livemode: bool
    next_attempt_at: int | None
    object_id: str | None
    status: Literal["pending", "succeeded", "failed", "dead"]
    webhook_endpoint: str


class WebhookDeliveryWithAttempts(WebhookDelivery):
    attempts: list[WebhookAttempt]


def _unix(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


def webhook_delivery_object(row: WebhookDeliveryRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "webhook_delivery",
        "attempt_count": row.attempt_count,
        "created": int(row.created_at.timestamp()),
        "event": row.event_id,
        "last_status_code": row.last_status_code,
        "livemode": row.livemode,
        "next_attempt_at": _unix(row.next_attempt_at),
        "object_id": row.object_id,
        "status": row.status,
        "webhook_endpoint": row.endpoint_id,
    }


def webhook_delivery_with_attempts(
    row: WebhookDeliveryRow, attempts: list[WebhookAttemptRow]
) -> dict[str, Any]:
    return {
        **webhook_delivery_object(row),
        "attempts": [
            {
                "attempted_at": int(attempt.attempted_at.timestamp()),
                "status_code": attempt.status_code,
                "error": attempt.error,
                "latency_ms": attempt.latency_ms,
                "response_body_prefix": attempt.response_body_prefix,
            }
            for attempt in attempts
        ],
    }


class WebhookDeliveryRetryParams(Params):
    expand: list[str] = Field(default_factory=list, max_length=20)


class WebhookEndpointRecoverParams(Params):
    since: int = Field(
        ge=0,
        le=UNIX_S_MAX,
        description=(
            "Unix seconds: deliveries created at or after it are requeued. At most 14 days ago."
        ),
    )
    until: int | None = Field(
        default=None,
        ge=0,
        le=UNIX_S_MAX,
        description="Unix seconds: deliveries created before it (default: no end).",
    )


class WebhookRecovery(BaseModel):
    object: Literal["webhook_recovery"]
    webhook_endpoint: str
    since: int
    until: int | None
    deliveries_requeued: int = Field(
        description="How many dead or failed deliveries were put back to pending."
    )
    livemode: bool
