import subprocess
import sys

import pytest

from beyondpay.kit.invariants import InvariantError, invariant, unreachable


def test_invariant_passes_when_condition_holds() -> None:
    invariant(True, "never raised")


def test_invariant_raises_with_its_message() -> None:
    with pytest.raises(InvariantError, match="debits must equal credits"):
        invariant(False, "debits must equal credits")


def test_invariant_error_is_an_assertion_error() -> None:
    assert issubclass(InvariantError, AssertionError)


def test_unreachable_always_raises() -> None:
    with pytest.raises(InvariantError, match="no such state"):
        unreachable("no such state")


def test_invariant_survives_python_optimize_flag() -> None:
    code = (
        "from beyondpay.kit.invariants import InvariantError, invariant\n"
        "assert False, 'asserts are stripped under -O'\n"
        "try:\n"
        "    invariant(False, 'kept')\n"
        "except InvariantError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-O", "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "kept"
