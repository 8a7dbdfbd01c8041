"""The payment methods' service below the API."""

from __future__ import annotations

import pytest

from beyondpay.db.session import Database
from tests.support import make_merchant, ring_for_tests


async def test_a_fingerprint_key_is_remembered_only_once_committed(database: Database) -> None:
    """A key made in a transaction that rolls back is forgotten with it: the next transaction
    makes the merchant's real key, which is then remembered (the same bytes every time)."""
    from beyondpay.payment_methods.service import _fingerprint_key

    ring = ring_for_tests()
    merchant = await make_merchant(database)
    with pytest.raises(RuntimeError):
        async with database.unit_of_work() as session:
            lost = await _fingerprint_key(session, ring, merchant.id)
            raise RuntimeError("rolled back")
    async with database.unit_of_work() as session:
        made = await _fingerprint_key(session, ring, merchant.id)
    async with database.unit_of_work() as session:
        remembered = await _fingerprint_key(session, ring, merchant.id)
    assert lost != made == remembered
