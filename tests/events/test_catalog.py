"""Every event type the source records is in the catalog that webhook endpoints subscribe from."""

from __future__ import annotations

import ast
from pathlib import Path

import beyondpay
from beyondpay.events.catalog import EVENT_TYPES

SOURCE = Path(beyondpay.__file__).parent


# A module's own helper that records an event of the type it is given (``_record(session, row,
# "charge.succeeded")``): its calls must name the type as a literal, as ``record`` calls do.
RECORDING_HELPER = "_record"


def _helper_types(tree: ast.AST, path: Path) -> set[str]:
    found: set[str] = set()
    helpers = [
        function
        for function in ast.walk(tree)
        if isinstance(function, ast.AsyncFunctionDef | ast.FunctionDef)
        and function.name == RECORDING_HELPER
        and any(argument.arg == "type" for argument in function.args.args)
    ]
    if not helpers:  # a ``_record`` that records no event (the ledger's) is not one
        return found
    for call in ast.walk(tree):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
            continue
        if call.func.id != RECORDING_HELPER:
            continue
        values = [kw.value for kw in call.keywords if kw.arg == "type"] + call.args[2:3]
        for value in values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found.add(value.value)
            else:
                found.add(f"<not a literal in {path.name}:{call.lineno}>")
    return found


def _delegates(tree: ast.AST, call: ast.Call) -> bool:
    """``record(type=type)`` inside the module's recording helper, which passes its argument."""
    for function in ast.walk(tree):
        if (
            isinstance(function, ast.AsyncFunctionDef | ast.FunctionDef)
            and function.name == RECORDING_HELPER
            and any(node is call for node in ast.walk(function))
        ):
            return True
    return False


def _recorded_types() -> set[str]:
    """The ``type=`` of every ``….record(...)`` call, resolving module-level string constants."""
    found: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        found |= _helper_types(tree, path)
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
                elif isinstance(value, ast.Name) and _delegates(tree, call):
                    continue
                else:
                    found.add(f"<not a literal in {path.name}:{call.lineno}>")
    return found


def test_every_recorded_type_is_in_the_catalog() -> None:
    recorded = _recorded_types()
    assert "customer.created" in recorded  # the scan finds the calls
    assert "charge.succeeded" in recorded  # and the calls of recording helpers
    assert recorded <= EVENT_TYPES, sorted(recorded - EVENT_TYPES)
