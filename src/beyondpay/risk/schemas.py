"""Risk parameters and objects: assessments, rules and blocklist items.

An assessment's rendering holds no personal data: features are numbers, rules carry their ids
and reasons, and the context's IP, device and instrument never appear in it.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, Field

from beyondpay.db.pagination import ListParams
from beyondpay.kit.money import (
    AMOUNT_MINOR_MAX,
    UnknownCurrencyError,
    accepted_currencies_message,
    normalize_currency,
)
from beyondpay.kit.params import Params
from beyondpay.risk.domain import Rail, Segment
from beyondpay.risk.models import AssessmentRow, BlocklistItemRow, RuleRow
from beyondpay.risk.rules import CONDITIONS_MAX, REASON_CHARS_MAX, parse_condition

ID_CHARS_MAX: Final = 255
KEY_CHARS_MAX: Final = 255
# A fingerprint as payment methods show it (base62) or as the PSP keeps it (hex). Never all
# digits: that would be a card number, which must not be stored or echoed.
FINGERPRINT_PATTERN: Final = re.compile(r"^[0-9A-Za-z]{16,128}$")
MCC_PATTERN: Final = r"^[0-9]{4}$"
# Unix seconds of 2000-01-01 and 9999-12-31: the range a device or payer could be created in.
UNIX_S_MIN: Final = 946_684_800
UNIX_S_MAX: Final = 253_402_300_799
POSITION_MAX: Final = 10_000

BlocklistKind = Literal["vpa", "card", "device", "ip", "payer"]
RuleAction = Literal["challenge", "allow", "block", "review"]
SegmentName = Literal["default", "minor"]
Key = Annotated[str, Field(min_length=1, max_length=KEY_CHARS_MAX)]
UnixSeconds = Annotated[int, Field(ge=UNIX_S_MIN, le=UNIX_S_MAX)]


def _currency(value: str) -> str:
    try:
        return normalize_currency(value)
    except UnknownCurrencyError:
        raise ValueError(accepted_currencies_message()) from None


def check_fingerprint(value: str | None) -> str | None:
    if value is not None and (not FINGERPRINT_PATTERN.fullmatch(value) or value.isdigit()):
        raise ValueError("it must be a fingerprint (16 to 128 letters and digits), not a number")
    return value


def check_ip(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return ipaddress.ip_address(value).compressed
    except ValueError:
        raise ValueError("it must be an IPv4 or IPv6 address") from None


Currency = Annotated[
    str, Field(json_schema_extra={"pattern": "^[A-Za-z]{3}$"}), AfterValidator(_currency)
]
Fingerprint = Annotated[
    str | None, Field(default=None, max_length=128), AfterValidator(check_fingerprint)
]
Ip = Annotated[str | None, Field(default=None, max_length=45), AfterValidator(check_ip)]


class AssessmentCreateParams(Params):
    """A payment context. ``payer`` keys the history (a customer id, a payer id); without it
    the instrument's fingerprint does."""

    payment: Key
    amount: Annotated[int, Field(ge=1, le=AMOUNT_MINOR_MAX)]
    currency: Currency
    rail: Rail
    payer: Key | None = None
    payee: Key | None = None  # the merchant itself when not given
    instrument_fingerprint: Fingerprint = None
    device: Key | None = None
    device_bound_at: UnixSeconds | None = None
    ip: Ip = None
    latitude: Annotated[float | None, Field(default=None, ge=-90, le=90)] = None
    longitude: Annotated[float | None, Field(default=None, ge=-180, le=180)] = None
    mcc: Annotated[str | None, Field(default=None, pattern=MCC_PATTERN)] = None
    payer_created: UnixSeconds | None = None
    segment: SegmentName = Segment.default.value
    expand: list[str] = Field(default_factory=list, max_length=20)


class AssessmentListParams(ListParams):
    payment: Key | None = None


class ConditionParams(Params):
    feature: Annotated[str, Field(min_length=1, max_length=64)]
    op: Annotated[str, Field(min_length=1, max_length=8)]
    value: (
        Annotated[str, Field(max_length=100)]
        | float
        | list[Annotated[str, Field(max_length=100)] | float]
    )


def _conditions(value: list[ConditionParams] | None) -> list[ConditionParams] | None:
    for condition in value or []:
        parse_condition(condition.model_dump())  # ValueError names what is wrong
    return value


Conditions = Annotated[
    list[ConditionParams],
    Field(min_length=1, max_length=CONDITIONS_MAX),
    AfterValidator(_conditions),
]
Reason = Annotated[str, Field(min_length=1, max_length=REASON_CHARS_MAX)]


class RuleCreateParams(Params):
    action: RuleAction
    conditions: Conditions
    reason: Reason
    segment: SegmentName | None = None
    position: Annotated[int, Field(ge=0, le=POSITION_MAX)] = 0
    enabled: bool = True


class RuleUpdateParams(Params):
    action: RuleAction | None = None
    conditions: Annotated[
        list[ConditionParams] | None,
        Field(default=None, min_length=1, max_length=CONDITIONS_MAX),
        AfterValidator(_conditions),
    ] = None
    reason: Reason | None = None
    segment: SegmentName | Literal[""] | None = None  # "" applies the rule to every segment
    position: Annotated[int | None, Field(default=None, ge=0, le=POSITION_MAX)] = None
    enabled: bool | None = None


class RuleListParams(ListParams):
    action: RuleAction | None = None


class BlocklistItemCreateParams(Params):
    """``value``: a card's or VPA's fingerprint (as payment methods show it), a device id, an IP
    address or a payer key. IP addresses are kept only as keyed fingerprints."""

    kind: BlocklistKind
    value: Key
    reason: Annotated[str | None, Field(default=None, max_length=REASON_CHARS_MAX)] = None


class BlocklistItemListParams(ListParams):
    kind: BlocklistKind | None = None


class RuleFired(BaseModel):
    id: str
    action: str
    reason: str


class ContributionObject(BaseModel):
    feature: str
    value: float
    contribution: float


class Assessment(BaseModel):
    id: str
    object: Literal["risk.assessment"]
    payment: str
    livemode: bool
    created: int
    rail: str
    amount: int
    currency: str
    segment: str
    score: int
    level: str
    decision: str
    decline_code: str | None
    rules: list[RuleFired]
    contributions: list[ContributionObject]
    features: dict[str, float]
    model_version: str


class ConditionObject(BaseModel):
    feature: str
    op: str
    value: Any


class Rule(BaseModel):
    id: str
    object: Literal["risk.rule"]
    livemode: bool
    created: int
    action: str
    conditions: list[ConditionObject]
    reason: str
    segment: str | None
    position: int
    enabled: bool


class DeletedObject(BaseModel):
    id: str
    object: str
    deleted: Literal[True]


class BlocklistItem(BaseModel):
    id: str
    object: Literal["risk.blocklist_item"]
    livemode: bool
    created: int
    kind: str
    value: str  # the id, or for a fingerprinted value its display form
    reason: str | None


def assessment_object(row: AssessmentRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "risk.assessment",
        "payment": row.payment_id,
        "livemode": row.livemode,
        "created": int(row.created_at.timestamp()),
        "rail": row.rail,
        "amount": row.amount_minor,
        "currency": row.currency,
        "segment": row.segment,
        "score": row.score,
        "level": row.level,
        "decision": row.decision,
        "decline_code": row.decline_code,
        "rules": row.rules,
        "contributions": row.contributions,
        "features": row.features,
        "model_version": row.model_version,
    }


def rule_object(row: RuleRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "risk.rule",
        "livemode": row.livemode,
        "created": int(row.created_at.timestamp()),
        "action": row.action,
        "conditions": row.conditions,
        "reason": row.reason,
        "segment": row.segment,
        "position": row.position,
        "enabled": row.enabled,
    }


def blocklist_item_object(row: BlocklistItemRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "risk.blocklist_item",
        "livemode": row.livemode,
        "created": int(row.created_at.timestamp()),
        "kind": row.kind,
        "value": row.display,
        "reason": row.reason,
    }
