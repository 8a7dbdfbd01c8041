"""Invariant checks that survive ``python -O``.

The ``assert`` statement is stripped under ``-O``; the invariants of money must never be, so they
are plain function calls that raise. A broken invariant is a bug: let it crash and alert, never
catch it to carry on.
"""

from typing import NoReturn

__all__ = ["InvariantError", "invariant", "unreachable"]


class InvariantError(AssertionError):
    """A property that must always hold did not: a bug, not bad input."""


def invariant(condition: bool, message: str) -> None:
    """Raise ``InvariantError(message)`` unless ``condition`` holds; ``message`` says why."""
    if not condition:
        raise InvariantError(message)


def unreachable(message: str) -> NoReturn:
    """Mark a branch that the surrounding logic rules out (for example an exhausted enum match)."""
    raise InvariantError(f"unreachable: {message}")
