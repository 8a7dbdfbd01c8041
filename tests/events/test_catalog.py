"""Every event type is named once, in its module's ``events.py``, and is in the catalog that
webhook endpoints subscribe from; the source records no type by a string literal."""

from __future__ import annotations

import ast
import importlib
from enum import StrEnum
from pathlib import Path

import beyondpay
from beyondpay.events.catalog import EVENT_TYPES

SOURCE = Path(beyondpay.__file__).parent


def _event_modules() -> list[Path]:
    """Each business module's ``events.py`` (``beyondpay/events/`` is the plumbing itself)."""
    return sorted(
        path
        for path in SOURCE.rglob("events.py")
        if path.parent != SOURCE / "events" and path.parent != SOURCE / "api"
    )


def _declared() -> dict[str, dict[str, str]]:
    """Enum class name → member name → event type, from every module's ``events.py``."""
    declared: dict[str, dict[str, str]] = {}
    for path in _event_modules():
        name = ".".join(path.relative_to(SOURCE.parent).with_suffix("").parts)
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, StrEnum)
                and value is not StrEnum
                and value.__module__ == name
            ):
                declared[value.__name__] = {member.name: member.value for member in value}
    return declared


def _type_arguments(tree: ast.AST) -> list[ast.expr]:
    """The type given to every ``….record(..., type=…)`` call and to a module's recording
    helper ``record(session, row, <type>)``."""
    found: list[ast.expr] = []
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call):
            continue
        name = call.func.attr if isinstance(call.func, ast.Attribute) else None
        name = name or (call.func.id if isinstance(call.func, ast.Name) else None)
        if name not in {"record", "_record"}:
            continue
        found.extend(keyword.value for keyword in call.keywords if keyword.arg == "type")
        if len(call.args) >= 3 and not any(keyword.arg == "type" for keyword in call.keywords):
            found.append(call.args[2])
    return found


def test_every_declared_type_is_in_the_catalog() -> None:
    declared = _declared()
    assert "CustomerEvent" in declared  # the scan finds the modules' events.py
    types = {value for members in declared.values() for value in members.values()}
    assert types <= EVENT_TYPES, sorted(types - EVENT_TYPES)


def test_no_type_is_recorded_by_a_literal_and_every_member_exists() -> None:
    declared = _declared()
    problems: list[str] = []
    for path in SOURCE.rglob("*.py"):
        for argument in _type_arguments(ast.parse(path.read_text())):
            where = f"{path.relative_to(SOURCE)}:{argument.lineno}"
            if isinstance(argument, ast.Constant):
                problems.append(f"{where}: the literal {argument.value!r}; name it in events.py")
            elif (
                isinstance(argument, ast.Attribute)
                and isinstance(argument.value, ast.Name)
                and argument.value.id in declared
                and argument.attr not in declared[argument.value.id]
            ):
                problems.append(f"{where}: {argument.value.id}.{argument.attr} is not declared")
    assert not problems, "\n".join(problems)


def test_every_catalog_type_is_declared_by_its_module() -> None:
    declared = _declared()
    types = {value for members in declared.values() for value in members.values()}
    assert types >= EVENT_TYPES, sorted(EVENT_TYPES - types)
