"""Every event type the source records is in the catalog that webhook endpoints subscribe from."""

from __future__ import annotations

import ast
from pathlib import Path

import beyondpay
from beyondpay.events.catalog import EVENT_TYPES

SOURCE = Path(beyondpay.__file__).parent


def _recorded_types() -> set[str]:
    """The ``type=`` of every ``….record(...)`` call, resolving module-level string constants."""
    found: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.AnnAssign | ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            for target in ([node.target] if isinstance(node, ast.AnnAssign) else node.targets)
            if isinstance(target, ast.Name)
        }
        for call in ast.walk(tree):
            if not (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "record"
            ):
                continue
            for keyword in call.keywords:
                if keyword.arg != "type":
                    continue
                value = keyword.value
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    found.add(value.value)
                elif isinstance(value, ast.Name) and value.id in constants:
                    found.add(constants[value.id])
                else:
                    found.add(f"<not a literal in {path.name}:{call.lineno}>")
    return found


def test_every_recorded_type_is_in_the_catalog() -> None:
    recorded = _recorded_types()
    assert "customer.created" in recorded  # the scan finds the calls
    assert recorded <= EVENT_TYPES, sorted(recorded - EVENT_TYPES)
