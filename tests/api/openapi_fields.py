"""Compares a rendered JSON object with the schema the OpenAPI document declares for it.

Every key the server rendered must be declared (an object with ``properties`` and no
``additionalProperties`` admits no other key), every declared required key must be rendered,
and each value must be of the declared JSON kind (string, integer, number, boolean, object,
array, null), ``const`` or ``enum`` included. ``$ref`` is resolved; of ``anyOf`` / ``oneOf``
branches the one that fits is taken (a nullable field is an ``anyOf`` with ``null``), and when
none fits, the problems of the nearest branch are reported. Nested objects and list items are
compared all the way down; an object declared open (``dict[str, Any]``) takes anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

REF_PREFIX: Final = "#/components/schemas/"
_PATH_PARAMETER: Final = re.compile(r"\{[^}/]+\}")


def json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def _kind_fits(declared: str, actual: str) -> bool:
    return declared == actual or (declared == "number" and actual == "integer")


@dataclass(frozen=True)
class Comparer:
    """Compares values with schemas of one OpenAPI document (its components resolve refs)."""

    components: dict[str, Any]

    def resolve(self, schema: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """The schema behind ``$ref`` (followed to the end) and the last component's name."""
        name = None
        while "$ref" in schema:
            reference = str(schema["$ref"])
            if not reference.startswith(REF_PREFIX):
                raise ValueError(f"a reference outside the components: {reference}")
            name = reference.removeprefix(REF_PREFIX)
            schema = self.components[name]
        return schema, name

    def problems(self, schema: dict[str, Any], value: Any, where: str) -> list[str]:
        """What is wrong with ``value`` under ``schema``; ``where`` names it in the messages."""
        schema, name = self.resolve(schema)
        if name is not None:
            where = f"{where} ({name})"
        for combinator in ("anyOf", "oneOf"):
            if combinator in schema:
                return self._branches(schema[combinator], value, where)
        found = [
            problem
            for branch in schema.get("allOf", ())
            for problem in self.problems(branch, value, where)
        ]
        if "const" in schema and value != schema["const"]:
            found.append(f"{where}: rendered {value!r}, declared the constant {schema['const']!r}")
        if "enum" in schema and value not in schema["enum"]:
            found.append(f"{where}: rendered {value!r}, declared one of {schema['enum']!r}")
        declared = schema.get("type")
        if declared is None and "properties" in schema:
            declared = "object"
        if declared is None:
            return found  # ``Any``: every value fits
        kinds = declared if isinstance(declared, list) else [declared]
        actual = json_kind(value)
        if not any(_kind_fits(kind, actual) for kind in kinds):
            return [*found, f"{where}: rendered {actual}, declared {' or '.join(kinds)}"]
        if actual == "object":
            found.extend(self._object(schema, value, where))
        elif actual == "array" and "items" in schema:
            for index, item in enumerate(value):
                found.extend(self.problems(schema["items"], item, f"{where}[{index}]"))
        return found

    def _fits_kind(self, schema: dict[str, Any], value: Any) -> bool:
        """Whether ``schema`` admits values of ``value``'s JSON kind at all."""
        schema, _ = self.resolve(schema)
        branches = schema.get("anyOf") or schema.get("oneOf")
        if branches:
            return any(self._fits_kind(branch, value) for branch in branches)
        declared = schema.get("type")
        if declared is None:
            return "properties" not in schema or isinstance(value, dict)
        kinds = declared if isinstance(declared, list) else [declared]
        return any(_kind_fits(kind, json_kind(value)) for kind in kinds)

    def _branches(self, branches: list[dict[str, Any]], value: Any, where: str) -> list[str]:
        """No problem if a branch fits; otherwise the problems of the nearest branch of the
        value's kind (an object's undeclared field, not "declared null")."""
        same_kind = [branch for branch in branches if self._fits_kind(branch, value)]
        nearest: list[str] | None = None
        for branch in same_kind or branches:
            found = self.problems(branch, value, where)
            if not found:
                return []
            if nearest is None or len(found) < len(nearest):
                nearest = found
        return nearest or []

    def _object(self, schema: dict[str, Any], value: dict[str, Any], where: str) -> list[str]:
        properties: dict[str, Any] | None = schema.get("properties")
        additional = schema.get("additionalProperties")
        found: list[str] = []
        if properties is None:
            if isinstance(additional, dict):
                for key, item in value.items():
                    found.extend(self.problems(additional, item, f"{where}[{key!r}]"))
            return found
        for key in schema.get("required", ()):
            if key not in value:
                found.append(f"{where}.{key}: declared required, not rendered")
        for key, item in value.items():
            if key in properties:
                found.extend(self.problems(properties[key], item, f"{where}.{key}"))
            elif isinstance(additional, dict):
                found.extend(self.problems(additional, item, f"{where}.{key}"))
            elif additional is not True:
                found.append(f"{where}.{key}: rendered ({json_kind(item)}), not declared")
        return found


@dataclass(frozen=True)
class DocumentedRoute:
    method: str  # GET, POST, DELETE
    template: str  # /v1/customers/{customer}
    schema: dict[str, Any] | None  # the 200 answer's JSON schema; None when not JSON

    @property
    def pattern(self) -> re.Pattern[str]:
        literals = (re.escape(part) for part in _PATH_PARAMETER.split(self.template))
        return re.compile("^" + "[^/]+".join(literals) + "$")

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


def documented_routes(document: dict[str, Any], prefix: str = "/v1") -> list[DocumentedRoute]:
    routes = []
    for template, item in document["paths"].items():
        if not template.startswith(prefix):
            continue
        for method, operation in item.items():
            content = operation.get("responses", {}).get("200", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            routes.append(DocumentedRoute(method.upper(), template, schema))
    return routes


def route_of(routes: list[DocumentedRoute], method: str, path: str) -> DocumentedRoute | None:
    """The route that answers ``method path``; a literal segment wins over a parameter
    (``/v1/customers/search`` is not ``/v1/customers/{customer}``), as in the app's order."""
    matches = [route for route in routes if route.method == method and route.pattern.match(path)]
    matches.sort(key=lambda route: route.template.count("{"))
    return matches[0] if matches else None
