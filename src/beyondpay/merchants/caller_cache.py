"""A short-lived, per-process cache of API key → caller, so that a busy key is not read from
the database on every request.

An entry lives ``CALLER_CACHE_TTL_S`` at most. A change to a key or a merchant made through this
process (revoking or rolling a key, suspending a merchant: any ORM update of ``ApiKeyRow`` or
``MerchantRow``) empties the cache when it commits, so it is seen by the next request here at
once; another process sees it within ``CALLER_CACHE_TTL_S``. A key's expiry is checked on every
use, cached or not. Only keys that authenticated are cached: an unknown key is read every time.

A generation number closes the race between a request that read a key just before a change
committed and stores it just after: the store is dropped, since the generation moved on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, object_session

from beyondpay.kit.crypto import KeyRing
from beyondpay.merchants.domain import Caller
from beyondpay.merchants.models import ApiKeyRow, MerchantRow

CALLER_CACHE_TTL_S: Final = 1.0
CALLER_CACHE_ENTRIES_MAX: Final = 10_000
_FORGET_ON_COMMIT: Final = "beyondpay.forget_callers"
_WATCHED: Final = (ApiKeyRow, MerchantRow)


@dataclass(frozen=True, slots=True)
class CachedCaller:
    caller: Caller
    expires_at: datetime | None
    cached_at_s: float  # time.monotonic(): the injectable clock may be frozen in tests


class CallerCache:
    def __init__(self) -> None:
        self._entries: dict[tuple[KeyRing, str], CachedCaller] = {}
        self.generation = 0

    def get(self, ring: KeyRing, text: str) -> CachedCaller | None:
        entry = self._entries.get((ring, text))
        if entry is None:
            return None
        if time.monotonic() - entry.cached_at_s >= CALLER_CACHE_TTL_S:
            self._entries.pop((ring, text), None)
            return None
        return entry

    def put(
        self,
        ring: KeyRing,
        text: str,
        caller: Caller,
        expires_at: datetime | None,
        generation: int,
    ) -> None:
        """Stores the caller read at ``generation``, unless a change committed since."""
        if generation != self.generation:
            return
        if len(self._entries) >= CALLER_CACHE_ENTRIES_MAX:
            self._entries.clear()
        self._entries[(ring, text)] = CachedCaller(caller, expires_at, time.monotonic())

    def forget_all(self) -> None:
        self._entries.clear()
        self.generation += 1


callers = CallerCache()


def _mark(session: Session | None) -> None:
    callers.forget_all()  # at once, and again at the commit that makes the change visible
    if session is not None:
        session.info[_FORGET_ON_COMMIT] = True


@event.listens_for(ApiKeyRow, "after_update")
@event.listens_for(ApiKeyRow, "after_delete")
@event.listens_for(MerchantRow, "after_update")
@event.listens_for(MerchantRow, "after_delete")
def _row_changed(_mapper: Any, _connection: Any, target: Any) -> None:
    _mark(object_session(target))


@event.listens_for(Session, "do_orm_execute")
def _statement_changes(state: ORMExecuteState) -> None:
    """``session.execute(update(ApiKeyRow)…)`` changes rows without a flush."""
    if not (state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    if mapper is not None and mapper.class_ in _WATCHED:
        _mark(state.session)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.info.pop(_FORGET_ON_COMMIT, False):
        callers.forget_all()


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_FORGET_ON_COMMIT, None)
