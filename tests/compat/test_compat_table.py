"""docs/api.md's compatibility table is what tests/compat/compat_table.py generates from the
pinned SDK and our OpenAPI document (regenerate it with
``python -m tests.compat.compat_table --write``)."""

from __future__ import annotations

from tests.compat.compat_table import (
    DOCS,
    END,
    START,
    document,
    replaced,
    stripe_operations,
    table,
)


def test_the_sdk_is_read_whole() -> None:
    """The generator sees Stripe's operations with their parameters (a parser that found
    nothing would make every table look complete)."""
    operations = {(o.method, o.path): o for o in stripe_operations()}
    assert len(operations) > 400
    create = operations[("post", "/v1/payment_intents")]
    assert {"amount", "currency", "customer", "metadata"} <= create.parameters
    assert "idempotency_key" not in create.parameters
    assert ("get", "/v1/customers/search") in operations


def test_the_table_in_docs_is_current() -> None:
    text = DOCS.read_text()
    assert START in text and END in text
    expected = replaced(text, table(document()))
    assert text == expected, (
        "docs/api.md's compatibility table is stale: run "
        "`python -m tests.compat.compat_table --write`"
    )
