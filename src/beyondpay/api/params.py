"""Request parameters: form-encoded with bracket nesting (what Stripe's SDKs send) or JSON.

``metadata[k]=v``, ``items[0][price]=p`` and ``expand[]=a`` decode (with qs-codec) into the same
nested structure a JSON body gives, and one Pydantic model per route validates either. Unknown
parameters are refused naming the parameter; a malformed value names it too; the value itself is
never echoed, since it may be personal data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

import orjson
import qs_codec
from fastapi import Request
from pydantic import BaseModel, ValidationError

from beyondpay.kit.errors import (
    BeyondpayError,
    BodyMalformedError,
    InvalidRequestError,
    ParameterInvalidEmptyError,
    ParameterInvalidIntegerError,
    ParameterInvalidStringError,
    ParameterMissingError,
    ParameterUnknownError,
)
from beyondpay.kit.invariants import invariant
from beyondpay.kit.params import (
    METADATA_KEY_CHARS_MAX,
    METADATA_KEYS_MAX,
    METADATA_VALUE_CHARS_MAX,
    Params,
    check_metadata,
    merge_metadata,
)

# Params and the metadata helpers live in kit.params (schemas and services use them); they stay
# importable from here for the HTTP layer.
__all__ = [
    "LIST_INDEX_MAX",
    "METADATA_KEYS_MAX",
    "METADATA_KEY_CHARS_MAX",
    "METADATA_VALUE_CHARS_MAX",
    "NESTING_DEPTH_MAX",
    "PARAMETERS_MAX",
    "REGISTERED",
    "Params",
    "body",
    "check_metadata",
    "decode_body",
    "decode_form",
    "merge_metadata",
    "param_name",
    "plain_message",
    "query",
    "refuse_nul",
    "validate",
    "validation_failure",
]

ParamsT = TypeVar("ParamsT", bound=BaseModel)

# Limits of the decoder: list indexes above LIST_INDEX_MAX would otherwise turn into dict keys.
LIST_INDEX_MAX: Final = 8_190
NESTING_DEPTH_MAX: Final = 6
PARAMETERS_MAX: Final = 20_000

_DECODE: Final = qs_codec.DecodeOptions(
    list_limit=LIST_INDEX_MAX,
    depth=NESTING_DEPTH_MAX,
    parameter_limit=PARAMETERS_MAX,
    strict_depth=True,
    raise_on_limit_exceeded=True,
)
_INTEGER_ERRORS: Final = frozenset(
    {"int_parsing", "int_type", "int_from_float", "int_parsing_size"}
)
_STRING_ERRORS: Final = frozenset({"string_type", "string_unicode"})
# What pydantic puts before a validator's own message; our messages never carry it.
PYDANTIC_PREFIXES: Final = ("Value error, ", "Assertion failed, ")
AMOUNT_HINT: Final = (
    "Amounts are integers in the currency's smallest unit (paise for INR: ₹49.90 is 4990)."
)


# Models whose JSON schema the OpenAPI document must carry (see api.openapi).
REGISTERED: dict[str, type[BaseModel]] = {}


def register(model: type[BaseModel]) -> None:
    """Names ``model`` in the OpenAPI document's schemas. Two different models under one name
    would document one of them for both routes: refused when the routes are built."""
    known = REGISTERED.setdefault(model.__name__, model)
    invariant(
        known is model,
        f"two parameter or object models are named {model.__name__}: give one another name",
    )


def param_name(location: tuple[Any, ...] | list[Any]) -> str | None:
    """Pydantic's ("metadata", "k") becomes Stripe's ``metadata[k]``."""
    parts = [str(part) for part in location]
    if not parts:
        return None
    return parts[0] + "".join(f"[{part}]" for part in parts[1:])


def validation_failure(error: ValidationError) -> BeyondpayError:
    first = error.errors()[0]
    kind = first["type"]
    # Parameter models use no unions, so every part of the location is a parameter path part.
    param = param_name(tuple(first["loc"])) or "body"
    if kind == "extra_forbidden":
        return ParameterUnknownError.for_param(param)
    if kind == "missing":
        return ParameterMissingError.for_param(param)
    if kind in _INTEGER_ERRORS:
        message = f"Invalid integer for parameter: {param}"
        if first["loc"] and "amount" in str(first["loc"][-1]):
            message = f"{message}. {AMOUNT_HINT}"
        return ParameterInvalidIntegerError(message, param=param)
    if kind in _STRING_ERRORS:
        return ParameterInvalidStringError.for_param(param)
    if kind == "string_too_short" and first.get("input") == "":
        return ParameterInvalidEmptyError.for_param(param)
    return InvalidRequestError(f"Invalid {param}: {plain_message(first['msg'])}", param=param)


def plain_message(message: str) -> str:
    """Pydantic's message without the prefix it puts before a validator's (``Value error, ``)."""
    for prefix in PYDANTIC_PREFIXES:
        if message.startswith(prefix):
            return message.removeprefix(prefix)
    return message


def decode_form(raw: bytes | str) -> dict[str, Any]:
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    try:
        decoded = qs_codec.decode(text, _DECODE)
    except (ValueError, IndexError) as exc:
        raise BodyMalformedError(
            "The parameters could not be decoded: nesting deeper than"
            f" {NESTING_DEPTH_MAX} levels, more than {PARAMETERS_MAX} parameters, or a list"
            f" index above {LIST_INDEX_MAX}."
        ) from exc
    return dict(decoded)


def decode_body(content_type: str, raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    if content_type.split(";", 1)[0].strip().lower() == "application/json":
        try:
            decoded = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise BodyMalformedError("The request body could not be parsed as JSON.") from None
        if not isinstance(decoded, dict):
            raise BodyMalformedError("The request body must be a JSON object.")
        return decoded
    try:
        return decode_form(raw)
    except UnicodeDecodeError:
        raise BodyMalformedError("The request body is not valid UTF-8.") from None


def refuse_nul(data: dict[str, Any]) -> None:
    """A NUL character anywhere (a value or a key) is a 400 naming the parameter: PostgreSQL's
    text cannot hold one, and no legitimate parameter needs it. Iterative, since a JSON body
    may nest deeper than Python's recursion limit."""
    pending: list[tuple[tuple[Any, ...], Any]] = [((), data)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise ParameterInvalidStringError.for_param(param_name(path) or "body")
        elif isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in str(key):
                    raise ParameterInvalidStringError.for_param(param_name(path) or "body")
                pending.append(((*path, key), item))
        elif isinstance(value, list):
            pending.extend(((*path, index), item) for index, item in enumerate(value))


def validate(model: type[ParamsT], data: dict[str, Any]) -> ParamsT:
    refuse_nul(data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_failure(exc) from None


def body(model: type[ParamsT]) -> Callable[[Request], Awaitable[ParamsT]]:
    """A dependency: the request body, decoded and validated against ``model``."""
    register(model)

    async def parse(request: Request) -> ParamsT:
        raw = await request.body()
        data = decode_body(request.headers.get("content-type", ""), raw)
        # GET-style parameters in the query string of a POST are accepted, as Stripe does.
        if request.url.query:
            data = {**decode_form(request.url.query), **data}
        parsed = validate(model, data)
        request.state.params = parsed
        return parsed

    parse.__beyondpay_body__ = model  # type: ignore[attr-defined]
    return parse


def query(model: type[ParamsT]) -> Callable[[Request], Awaitable[ParamsT]]:
    """A dependency: the query string, decoded with bracket nesting and validated."""
    register(model)

    async def parse(request: Request) -> ParamsT:
        try:
            data = decode_form(request.url.query) if request.url.query else {}
        except UnicodeDecodeError:
            raise BodyMalformedError("The query string is not valid UTF-8.") from None
        return validate(model, data)

    parse.__beyondpay_query__ = model  # type: ignore[attr-defined]
    return parse
