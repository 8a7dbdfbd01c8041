"""Per-process caches of what every payment reads and a merchant rarely writes: a scope's risk
rules, its limit policies (``risk.service``, ``limits.service``).

Read on every payment, written a few times a day: a cached copy saves a statement (and its
parsing) on every payment. How fresh it stays:

- **this process**: a write through the owning service drops the scope's entry at once and
  again when its transaction commits, so the next payment after the commit reads the new value
  (and a load that ran while the write was uncommitted is not kept);
- **other processes** (``beyondpay serve --workers N``, other machines): an entry is used for at
  most ``ttl_s`` after it was read, then read again. That is the staleness bound for a change
  made elsewhere (docs/risk.md). A short time-to-live costs one statement per scope per
  process per ``ttl_s``, needs no listener connection, and cannot miss a notification.

Entries are kept per database engine (tests run many databases with the same scope ids in one
process; an engine that is garbage-collected takes its entries with it).
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from typing import Any, Final, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

SCOPES_CACHED_MAX: Final = 10_000  # per engine; the oldest entry leaves first

Value = TypeVar("Value")
_Key = tuple[str, bool]


class ScopeCache(Generic[Value]):
    """``get``/``put`` a value per (scope, livemode); ``invalidate`` on every write."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._engines: weakref.WeakKeyDictionary[Any, dict[_Key, tuple[float, Value]]] = (
            weakref.WeakKeyDictionary()
        )
        # Bumped by every invalidation: a load that began before it is not stored.
        self.generation = 0

    def get(self, session: AsyncSession, scope: str, livemode: bool) -> Value | None:
        bind = session.sync_session.bind
        entries = self._engines.get(bind) if bind is not None else None
        if entries is None:
            return None
        found = entries.get((scope, livemode))
        if found is None or self._clock() - found[0] >= self.ttl_s:
            return None
        return found[1]

    def put(
        self,
        session: AsyncSession,
        scope: str,
        livemode: bool,
        value: Value,
        *,
        generation: int,
        read_at: float,
    ) -> None:
        """Keeps ``value`` (read at ``read_at`` by this cache's clock) unless something was
        invalidated since the load began (``generation``)."""
        bind = session.sync_session.bind
        if generation != self.generation or bind is None:
            return
        entries = self._engines.get(bind)
        if entries is None:
            entries = self._engines.setdefault(bind, {})
        entries.pop((scope, livemode), None)
        if len(entries) >= SCOPES_CACHED_MAX:
            del entries[next(iter(entries))]
        entries[(scope, livemode)] = (read_at, value)

    def now(self) -> float:
        return self._clock()

    def invalidate(self, scope: str, livemode: bool) -> None:
        self.generation += 1
        for entries in list(self._engines.values()):
            entries.pop((scope, livemode), None)

    def invalidate_on_commit(self, session: AsyncSession, scope: str, livemode: bool) -> None:
        """Drops the entry now and once ``session``'s transaction commits: between the two, a
        payment in this process may have read (and kept) what was there before the write."""
        self.invalidate(scope, livemode)

        def committed(_session: Any) -> None:
            self.invalidate(scope, livemode)

        event.listen(session.sync_session, "after_commit", committed, once=True)
