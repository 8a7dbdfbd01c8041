import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from beyondpay.kit.clock import FrozenClock, use_clock
from beyondpay.kit.ids import (
    ID_BODY_CHARS,
    derived_id,
    id_timestamp_ms,
    is_valid_id,
    new_id,
    new_uuid7,
    split_id,
)

TIMESTAMP_MS_MAX = 2**48 - 1


def test_id_shape() -> None:
    id_ = new_id("cus")
    prefix, body = split_id(id_)
    assert prefix == "cus"
    assert len(body) == ID_BODY_CHARS
    assert body.isascii()
    assert body.isalnum()
    assert is_valid_id(id_, "cus")
    assert not is_valid_id(id_, "pi")


@pytest.mark.parametrize("now_ms", [0, 1, 1_704_164_645_678, TIMESTAMP_MS_MAX])
def test_timestamp_decodes_back(now_ms: int) -> None:
    id_ = new_id("evt", now_ms=now_ms)
    assert id_timestamp_ms(id_) == now_ms
    assert len(split_id(id_)[1]) == ID_BODY_CHARS


def test_ids_sort_by_time() -> None:
    times_ms = [0, 1, 61, 62, 3_843, 3_844, *range(1_700_000_000_000, 1_700_000_100_000, 997)]
    times_ms.append(TIMESTAMP_MS_MAX)
    generated = [new_id("txn", now_ms=now_ms) for now_ms in times_ms]
    assert sorted(generated) == generated


def test_ids_are_unique_within_one_millisecond() -> None:
    ids = {new_id("pi", now_ms=1_700_000_000_000) for _ in range(10_000)}
    assert len(ids) == 10_000


def test_default_time_comes_from_the_clock() -> None:
    start = datetime(2024, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)
    with use_clock(FrozenClock(start)):
        assert id_timestamp_ms(new_id("cus")) == 1_704_164_645_678


@pytest.mark.parametrize("prefix", ["", "Cus", "1cus", "cus_", "c-s", "a" * 17, "cüs", "cus ", "_"])
def test_bad_prefix_is_rejected(prefix: str) -> None:
    with pytest.raises(ValueError):
        new_id(prefix)


@pytest.mark.parametrize("now_ms", [-1, TIMESTAMP_MS_MAX + 1])
def test_out_of_range_time_is_rejected(now_ms: int) -> None:
    with pytest.raises(ValueError):
        new_id("cus", now_ms=now_ms)


def test_a_derived_id_is_the_same_for_the_same_name_and_moment() -> None:
    at_ms = 1_704_164_645_678
    first = derived_id("ch", "m1:test:SBX123", at_ms=at_ms)
    assert first == derived_id("ch", "m1:test:SBX123", at_ms=at_ms)
    assert is_valid_id(first, "ch") and id_timestamp_ms(first) == at_ms
    others = {
        derived_id("ch", "m1:test:SBX124", at_ms=at_ms),
        derived_id("pi", "m1:test:SBX123", at_ms=at_ms),
        derived_id("ch", "m1:test:SBX123", at_ms=at_ms + 1),
    }
    assert first not in others and len(others) == 3
    # Ordered by time among ids minted at random, as a list pages them.
    assert new_id("ch", now_ms=at_ms - 1) < first < new_id("ch", now_ms=at_ms + 1)


@pytest.mark.parametrize("prefix", ["", "Cus", "cus_"])
def test_a_derived_id_refuses_a_bad_prefix(prefix: str) -> None:
    with pytest.raises(ValueError):
        derived_id(prefix, "name", at_ms=0)


def test_longest_prefix_is_accepted() -> None:
    assert is_valid_id(new_id("a" * 16), "a" * 16)


@pytest.mark.parametrize(
    "id_",
    [
        "",
        "cus",
        "cus_",
        "cus_" + "0" * (ID_BODY_CHARS - 1),
        "cus_" + "0" * (ID_BODY_CHARS + 1),
        "cus_" + "-" * ID_BODY_CHARS,
        "Cus_" + "0" * ID_BODY_CHARS,
        "cus_" + "z" * ID_BODY_CHARS,  # decodes to more than 128 bits
    ],
)
def test_malformed_ids(id_: str) -> None:
    assert not is_valid_id(id_, "cus")
    with pytest.raises(ValueError):
        split_id(id_)


def test_is_valid_id_never_raises_on_non_strings() -> None:
    not_a_string: Any = None
    assert not is_valid_id(not_a_string, "cus")


def test_uuid7_version_and_variant() -> None:
    key = new_uuid7()
    assert key.version == 7
    assert key.variant == uuid.RFC_4122


def test_uuid7_carries_the_timestamp() -> None:
    key = new_uuid7(now_ms=1_704_164_645_678)
    assert key.int >> 80 == 1_704_164_645_678
    assert key.version == 7
    assert key.variant == uuid.RFC_4122


def test_uuid7_orders_by_time() -> None:
    keys = [new_uuid7(now_ms=now_ms) for now_ms in range(1_700_000_000_000, 1_700_000_000_500)]
    assert sorted(keys) == keys


def test_uuid7_is_monotonic_within_a_process_even_on_a_frozen_clock() -> None:
    with use_clock(FrozenClock(datetime(2030, 1, 1, tzinfo=UTC))):
        keys = [new_uuid7() for _ in range(5_000)]
    assert sorted(keys) == keys
    assert len(set(keys)) == len(keys)
    assert all(key.version == 7 and key.variant == uuid.RFC_4122 for key in keys)
