"""NUL characters, which PostgreSQL's text cannot hold, are refused at the edge with a 4xx
naming the parameter, never a 500 (found by schemathesis)."""

from __future__ import annotations

import httpx
import orjson

from tests.support import TestMerchant

FORM = {"content-type": "application/x-www-form-urlencoded"}
JSON = {"content-type": "application/json"}


async def test_in_a_path(client: httpx.AsyncClient, merchant: TestMerchant) -> None:
    for method, url in [
        ("GET", "/v1/customers/%00"),
        ("POST", "/v1/customers/cus_%00x"),
        ("DELETE", "/v1/customers/%00"),
        ("POST", "/v1/api_keys/%00/revoke"),
    ]:
        response = await client.request(method, url, headers=merchant.auth())
        assert response.status_code == 404, (url, response.text)
        assert response.json()["error"]["code"] == "route_not_found"
        assert response.headers["request-id"]


async def test_in_parameters(client: httpx.AsyncClient, merchant: TestMerchant) -> None:
    cases = [
        (
            "/v1/customers",
            {"content": orjson.dumps({"name": "A\x00"}), "headers": {**merchant.auth(), **JSON}},
            "name",
        ),
        (
            "/v1/customers",
            {"content": "metadata[order]=4%002", "headers": {**merchant.auth(), **FORM}},
            "metadata[order]",
        ),
        (
            "/v1/customers",
            {"content": "metadata[or%00der]=42", "headers": {**merchant.auth(), **FORM}},
            "metadata",
        ),
        (
            "/v1/customers",
            {"content": "expand[0]=%00", "headers": {**merchant.auth(), **FORM}},
            "expand[0]",
        ),
    ]
    for url, options, param in cases:
        response = await client.post(url, **options)  # type: ignore[arg-type]
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "parameter_invalid_string"
        assert error["param"] == param
    listed = await client.get("/v1/customers?email=%00", headers=merchant.auth())
    assert listed.status_code == 400
    assert listed.json()["error"]["param"] == "email"
    assert (await client.get("/v1/customers", headers=merchant.auth())).json()["data"] == []


async def test_a_deeply_nested_body_is_a_400(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    depth = 2_000
    body = '{"metadata":' + "[" * depth + "]" * depth + "}"
    response = await client.post(
        "/v1/customers",
        content=body,
        headers={**merchant.auth(), "content-type": "application/json"},
    )
    assert response.status_code == 400, response.text
