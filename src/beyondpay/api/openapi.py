"""The OpenAPI document: parameters we parse ourselves, errors every route can answer.

Routes read their parameters through ``api.params`` (qs-codec and Pydantic), not FastAPI's
own body and query handling, so :func:`operation` describes them: the body as both
``application/x-www-form-urlencoded`` and JSON, query parameters as ``deepObject`` (brackets).
:func:`install_openapi` adds the models' schemas, the error envelope and, on every ``/v1``
operation, each error status the platform may answer with.
"""

from __future__ import annotations

from types import UnionType
from typing import Any, Final

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from beyondpay.api.params import REGISTERED, register

REF: Final = "#/components/schemas/{model}"

_ERROR_STATUSES: Final = {
    "400": "Invalid request: a parameter is missing, unknown or malformed (`param` names it).",
    "401": "No API key, or an invalid, revoked or expired one.",
    "403": "The key may not call this route (scope, key kind, account status, IP allowlist).",
    "404": "No such object in the caller's merchant and mode, or no such route.",
    "413": "The request body exceeds 1 MiB.",
    "429": "Too many requests: retry after `Retry-After` seconds.",
    "503": "Overloaded (no database connection came free in time): retry after `Retry-After`.",
}
_MUTATION_STATUSES: Final = {
    "409": "Another request with this idempotency key is still running.",
}


class ErrorDetail(BaseModel):
    type: str
    code: str
    message: str
    param: str | None = None
    decline_code: str | None = None


class ErrorEnvelope(BaseModel):
    error: ErrorDetail


def _schema(model: type[BaseModel]) -> dict[str, str]:
    register(model)
    return {"$ref": REF.format(model=model.__name__)}


def operation(
    *,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    returns: type[BaseModel] | UnionType | None = None,
    access: str,
) -> dict[str, Any]:
    """Keyword arguments for a route decorator documenting what ``api.params`` parses.
    ``returns`` is the 200 body's model, or a union of models (``Customer | DeletedCustomer``)
    where the object may come back in more than one shape."""
    extra: dict[str, Any] = {"x-beyondpay-access": access}
    if body is not None:
        schema = _schema(body)
        extra["requestBody"] = {
            "required": False,
            "content": {
                "application/x-www-form-urlencoded": {"schema": schema},
                "application/json": {"schema": schema},
            },
        }
    if query is not None:
        register(query)
        properties = query.model_json_schema(ref_template=REF)["properties"]
        extra["parameters"] = [
            {
                "name": name,
                "in": "query",
                "required": False,
                "style": "deepObject",
                "explode": True,
                "schema": prop,
            }
            for name, prop in properties.items()
        ]
    kwargs: dict[str, Any] = {"openapi_extra": extra}
    if returns is not None:
        kwargs["responses"] = {200: {"model": returns}}
    return kwargs


def install_openapi(app: FastAPI) -> None:
    def build() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        models: list[type[BaseModel]] = [*REGISTERED.values(), ErrorEnvelope]
        for model in models:
            schema = model.model_json_schema(ref_template=REF)
            schemas.update(schema.pop("$defs", {}))
            schemas[model.__name__] = schema
        envelope = {"application/json": {"schema": {"$ref": REF.format(model="ErrorEnvelope")}}}
        for path, item in document.get("paths", {}).items():
            for method, op in item.items():
                if not path.startswith("/v1"):
                    continue
                responses = op.setdefault("responses", {})
                responses.pop("422", None)  # FastAPI's default; we answer 400
                statuses = dict(_ERROR_STATUSES)
                if method in ("post", "delete"):
                    statuses.update(_MUTATION_STATUSES)
                for status, description in statuses.items():
                    responses.setdefault(status, {"description": description, "content": envelope})
                responses.setdefault(
                    "500",
                    {
                        "description": "A bug; the body names only the request id.",
                        "content": envelope,
                    },
                )
        document.setdefault("components", {})["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer"},
            "basic": {"type": "http", "scheme": "basic"},
            # What a PSP route marks ``security`` with (api.routing): a payer's session.
            "payer_session": {
                "type": "http",
                "scheme": "bearer",
                "description": "A payer's session access token (`pst_…`).",
            },
        }
        document["security"] = [{"bearer": []}, {"basic": []}]
        app.openapi_schema = document
        return document

    app.openapi = build  # type: ignore[method-assign]
