"""The OpenAPI document declares every field the server renders.

Every documented ``/v1`` route is called with a 200 answer (tests/api/openapi_examples.py makes
one of each object through the API, in the states that render differently), and each answer is
compared with the route's declared 200 schema field by field (tests/api/openapi_fields.py): a
rendered field the document does not declare, a declared required field not rendered, or a
value of another JSON kind than declared fails, naming the route, the object and the field. A
client generated from ``/openapi.json`` then knows every field it will be sent.
"""

from __future__ import annotations

import re
from typing import Any, Final

import httpx
from fastapi import FastAPI

from beyondpay.db.session import Database
from tests.api.openapi_examples import Recorder, make_examples
from tests.api.openapi_fields import Comparer, documented_routes, route_of
from tests.support import TestMerchant

_ITEM_INDEX: Final = re.compile(r"\[\d+\]")

_COMPONENTS: dict[str, Any] = {
    "Thing": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "count": {"type": "integer"},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "part": {"anyOf": [{"$ref": "#/components/schemas/Part"}, {"type": "null"}]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "extra": {"type": "object", "additionalProperties": True},
            "kind": {"const": "thing", "type": "string"},
        },
        "required": ["id", "count", "note"],
    },
    "Part": {"type": "object", "properties": {"size": {"type": "number"}}, "required": ["size"]},
}
_THING = {"$ref": "#/components/schemas/Thing"}


def test_a_conforming_object_has_no_problems() -> None:
    comparer = Comparer(_COMPONENTS)
    rendered = {
        "id": "t_1",
        "count": 2,
        "note": None,
        "part": {"size": 3},
        "tags": ["a"],
        "extra": {"anything": [1, {"goes": None}]},
        "kind": "thing",
    }
    assert comparer.problems(_THING, rendered, "answer") == []


def test_each_kind_of_mismatch_is_named_with_its_object_and_field() -> None:
    comparer = Comparer(_COMPONENTS)
    rendered = {
        "id": 1,
        "note": "x",
        "part": {"size": "big", "colour": "red"},
        "tags": ["a", None],
        "kind": "other",
        "surprise": True,
    }
    assert sorted(comparer.problems(_THING, rendered, "answer")) == sorted(
        [
            "answer (Thing).count: declared required, not rendered",
            "answer (Thing).id: rendered integer, declared string",
            "answer (Thing).part (Part).size: rendered string, declared number",
            "answer (Thing).part (Part).colour: rendered (string), not declared",
            "answer (Thing).tags[1]: rendered null, declared string",
            "answer (Thing).kind: rendered 'other', declared the constant 'thing'",
            "answer (Thing).surprise: rendered (boolean), not declared",
        ]
    )


def test_a_literal_segment_wins_over_a_parameter() -> None:
    document: dict[str, Any] = {
        "paths": {
            "/v1/customers/{customer}": {"get": {}},
            "/v1/customers/search": {"get": {}},
        }
    }
    routes = documented_routes(document)
    found = route_of(routes, "GET", "/v1/customers/search")
    assert found is not None and found.template == "/v1/customers/search"
    found = route_of(routes, "GET", "/v1/customers/cus_1")
    assert found is not None and found.template == "/v1/customers/{customer}"
    assert route_of(routes, "GET", "/v1/customers/cus_1/payment_methods") is None


async def test_every_route_declares_every_field_it_renders(
    api_app: FastAPI, database: Database, merchant: TestMerchant
) -> None:
    recorder = Recorder()
    transport = httpx.ASGITransport(app=api_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", event_hooks={"response": [recorder]}
    ) as http:
        await make_examples(http, database, merchant)
    document = api_app.openapi()
    routes = documented_routes(document)
    comparer = Comparer(document["components"]["schemas"])
    problems: set[str] = set()
    answered: set[str] = set()
    for example in recorder.examples:
        if example.status != 200 or not example.path.startswith("/v1"):
            continue
        route = route_of(routes, example.method, example.path)
        assert route is not None, f"{example.method} {example.path} is not in the document"
        if route.schema is None:
            problems.add(f"{route}: answers JSON, but the document declares no JSON answer")
            continue
        answered.add(str(route))
        for problem in comparer.problems(route.schema, example.body, "answer"):
            # One line for a field however many list items show it.
            problems.add(f"{route}: {_ITEM_INDEX.sub('[*]', problem)}")
    unanswered = [str(r) for r in routes if r.schema is not None and str(r) not in answered]
    assert not unanswered, (
        "no 200 answer of these routes was compared (add a call to openapi_examples.py):\n"
        + "\n".join(unanswered)
    )
    assert not problems, "\n".join(sorted(problems))
