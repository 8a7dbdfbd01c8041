"""The base of every parameter model and Stripe's metadata rules.

No HTTP here: schemas declare their parameter models on :class:`Params` and services merge
metadata with :func:`merge_metadata`; ``api.params`` decodes requests into these models.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Final, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from beyondpay.kit.errors import InvalidRequestError

# Stripe's metadata limits.
METADATA_KEYS_MAX: Final = 50
METADATA_KEY_CHARS_MAX: Final = 40
METADATA_VALUE_CHARS_MAX: Final = 500


class Params(BaseModel):
    """Base of every request-parameter model: unknown parameters are an error."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_booleans_for_integers(cls, value: Any, info: ValidationInfo) -> Any:
        """A JSON ``true`` where an integer is expected is an error, not 1: pydantic's lax mode
        would read ``"amount": true`` as ₹0.01 (a form body sends text, which this never
        sees as a boolean)."""
        if isinstance(value, bool) and info.field_name is not None:
            field = cls.model_fields.get(info.field_name)
            if field is not None and _expects_integer(field.annotation):
                raise PydanticCustomError("int_type", "Input should be a valid integer")
        return value


def _expects_integer(annotation: Any) -> bool:
    """``int``, or a union holding ``int`` (``Amount | None``), through ``Annotated``."""
    if get_origin(annotation) is Annotated:
        return _expects_integer(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        return any(_expects_integer(member) for member in get_args(annotation))
    return annotation is int


def check_metadata(value: dict[str, str] | str | None) -> dict[str, str] | None:
    """Stripe's rules: up to 50 keys of at most 40 characters, values of at most 500. An empty
    string for the whole parameter (``metadata=``) means "unset every key"; an empty value
    unsets that key (the caller merges)."""
    if value is None:
        return None
    if isinstance(value, str):
        if value == "":
            return {}
        raise ValueError("metadata must be a hash of keys to string values")
    if len(value) > METADATA_KEYS_MAX:
        raise ValueError(f"metadata can have at most {METADATA_KEYS_MAX} keys")
    for key, item in value.items():
        if not key or len(key) > METADATA_KEY_CHARS_MAX:
            raise ValueError(f"metadata keys must be 1 to {METADATA_KEY_CHARS_MAX} characters")
        if len(item) > METADATA_VALUE_CHARS_MAX:
            raise ValueError(
                f"metadata values can be at most {METADATA_VALUE_CHARS_MAX} characters"
            )
    return value


def merge_metadata(current: dict[str, str], update: dict[str, str] | None) -> dict[str, str]:
    """An update's metadata: keys with "" are removed, others set; {} clears all."""
    if update is None:
        return current
    if not update:
        return {}
    merged = {**current, **update}
    merged = {key: item for key, item in merged.items() if item != ""}
    if len(merged) > METADATA_KEYS_MAX:
        raise InvalidRequestError(
            f"Invalid metadata: it can have at most {METADATA_KEYS_MAX} keys.", param="metadata"
        )
    return merged


EXPAND_PATHS_MAX: Final = 20  # as Stripe: at most 20 paths in one expand[]


class NoParams(Params):
    """A POST that takes no parameters: any sent is refused, naming it."""


class RetrieveParams(Params):
    """A retrieve that takes only ``expand[]`` (refused, naming the path, where nothing
    expands)."""

    expand: list[str] = Field(default_factory=list, max_length=EXPAND_PATHS_MAX)
