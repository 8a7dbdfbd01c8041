"""Limit-policy parameters and the ``limits.policy`` object."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, Field

from beyondpay.db.pagination import ListParams
from beyondpay.kit.params import Params, check_metadata
from beyondpay.limits.domain import Action, Kind, Period, Subject
from beyondpay.limits.models import LimitPolicyRow

# An amount cap above ₹1 crore per payment is not a cap; it also keeps sums far from bigint.
AMOUNT_MINOR_MAX: Final = 10_000_000_000
COUNT_MAX: Final = 1_000_000
MCCS_MAX: Final = 100
LIST_VALUES_MAX: Final = 1_000
VALUE_CHARS_MAX: Final = 255
SEGMENT_CHARS_MAX: Final = 40
DESCRIPTION_CHARS_MAX: Final = 350
RADIUS_M_MAX: Final = 20_000_000

MetadataParam = Annotated[dict[str, str] | str | None, AfterValidator(check_metadata)]
Mcc = Annotated[str, Field(pattern=r"^[0-9]{4}$")]
Value = Annotated[str, Field(min_length=1, max_length=VALUE_CHARS_MAX)]


class PolicyChangeParams(Params):
    """What an update may change: the limits themselves, not what a policy counts (its kind,
    subject, period and currency name its counters)."""

    action: Action | None = None
    amount_max: int | None = Field(default=None, ge=1, le=AMOUNT_MINOR_MAX)
    count_max: int | None = Field(default=None, ge=1, le=COUNT_MAX)
    mccs: list[Mcc] | None = Field(default=None, max_length=MCCS_MAX)
    start_minute: int | None = Field(default=None, ge=0, le=1439)
    end_minute: int | None = Field(default=None, ge=0, le=1440)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    radius_m: int | None = Field(default=None, ge=1, le=RADIUS_M_MAX)
    values: list[Value] | None = Field(default=None, max_length=LIST_VALUES_MAX)
    segment: Annotated[str | None, Field(max_length=SEGMENT_CHARS_MAX)] = None
    description: Annotated[str | None, Field(max_length=DESCRIPTION_CHARS_MAX)] = None
    metadata: MetadataParam = None


class PolicyCreateParams(PolicyChangeParams):
    kind: Kind
    subject: Subject | None = None
    period: Period | None = None
    currency: Annotated[str, Field(pattern=r"^[a-zA-Z]{3}$")] = "inr"


class PolicyUpdateParams(PolicyChangeParams):
    """As create without kind, subject, period and currency; a parameter left out is kept."""


class PolicyListParams(ListParams):
    kind: Kind | None = None


class LimitPolicy(BaseModel):
    id: str
    object: Literal["limits.policy"]
    kind: Kind
    action: Action
    subject: Subject | None
    period: Period | None
    amount_max: int | None
    count_max: int | None
    currency: str | None
    mccs: list[str]
    start_minute: int | None
    end_minute: int | None
    latitude: float | None
    longitude: float | None
    radius_m: int | None
    values: list[str]
    segment: str | None
    description: str | None
    created: int
    livemode: bool
    metadata: dict[str, str]


class DeletedLimitPolicy(BaseModel):
    id: str
    object: Literal["limits.policy"]
    deleted: Literal[True]


def policy_object(row: LimitPolicyRow) -> dict[str, Any]:
    """The API's policy: a VPA list shows masked VPAs (it stores only fingerprints)."""
    if row.deleted_at is not None:
        return {"id": row.id, "object": "limits.policy", "deleted": True}
    return {
        "id": row.id,
        "object": "limits.policy",
        "kind": row.kind,
        "action": row.action,
        "subject": row.subject,
        "period": row.period,
        "amount_max": row.amount_minor_max,
        "count_max": row.count_max,
        "currency": row.currency,
        "mccs": list(row.mccs),
        "start_minute": row.start_minute,
        "end_minute": row.end_minute,
        "latitude": row.latitude,
        "longitude": row.longitude,
        "radius_m": row.radius_m,
        "values": list(row.list_values_shown),
        "segment": row.segment,
        "description": row.description,
        "created": int(row.created_at.timestamp()),
        "livemode": row.livemode,
        "metadata": row.metadata_,
    }
