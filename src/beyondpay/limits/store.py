"""Counter stores: what each subject spent in each window of each cap.

One protocol, two implementations, chosen by ``BEYONDPAY_REDIS_URL``:

- ``PostgresCounterStore``: rows of ``limit_counters`` locked (in key order, so two payments
  never deadlock) in the caller's transaction; a payment whose transaction rolls back counted
  nothing. The service's reservation locks and reads them in one statement (``lock``) and adds
  the payment in the statement that writes its decision (``ADD_CTE``).
- ``RedisCounterStore``: one hash per counter, checked and incremented by one Lua script, so
  every matching cap is counted or none is, with no round trip between check and increment; each
  key expires with its window. Redis runs outside the caller's transaction: a payment that
  rolls back after its reservation stays counted until it is released (errs on the side of
  refusing, never of letting a cap be passed).

Both raise ``CounterStoreUnavailableError`` when they cannot answer; the service turns that into
a refusal (fail closed).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.session import driver_connection
from beyondpay.limits.domain import COUNTER_GRACE_S, Increment

# A healthy Redis answers in about a millisecond; a payment waits no longer than this for it.
REDIS_TIMEOUT_S: Final = 0.5
REDIS_CONNECTIONS_MAX: Final = 256
# Lua's "no cap" marker for an amount or count a policy leaves unlimited.
UNLIMITED: Final = -1


class CounterStoreUnavailableError(Exception):
    """The counters could not be read or written: the decision must be a refusal."""


@dataclass(frozen=True, slots=True)
class Exceeded:
    """The first cap (in key order) the payment does not fit under."""

    policy_id: str
    amount_exceeded: bool


class CounterStore(Protocol):
    name: str

    async def reserve(
        self, session: AsyncSession, scope: str, increments: Sequence[Increment]
    ) -> Exceeded | None:
        """Adds the amount and one payment to every counter, or to none if one would pass its
        cap (then that cap is returned)."""
        ...

    async def peek(
        self, session: AsyncSession, scope: str, increments: Sequence[Increment]
    ) -> Exceeded | None:
        """As ``reserve`` but counts nothing: whether the payment would fit now."""
        ...

    async def release(
        self, session: AsyncSession, scope: str, keys: Sequence[str], amount_minor: int
    ) -> None:
        """Takes the amount and one payment back off each counter (never below zero)."""
        ...

    async def close(self) -> None: ...


def _first_exceeded(
    increments: Sequence[Increment], spent: dict[str, tuple[int, int]]
) -> Exceeded | None:
    for increment in increments:
        amount, count = spent.get(increment.key, (0, 0))
        limit = increment.amount_minor_max
        if limit is not None and amount + increment.amount_minor > limit:
            return Exceeded(increment.policy_id, amount_exceeded=True)
        if increment.count_max is not None and count + 1 > increment.count_max:
            return Exceeded(increment.policy_id, amount_exceeded=False)
    return None


_CREATE_SQL: Final = (
    "INSERT INTO limit_counters (key, amount_minor, count, expires_at)"
    " SELECT key, 0, 0, expires_at FROM unnest(%s::text[], %s::timestamptz[])"
    " AS given(key, expires_at) ORDER BY key ON CONFLICT (key) DO NOTHING"
)
_LOCK_SQL: Final = (
    "SELECT key, amount_minor, count FROM limit_counters WHERE key = ANY(%s)"
    " ORDER BY key FOR UPDATE"
)
_READ_SQL: Final = "SELECT key, amount_minor, count FROM limit_counters WHERE key = ANY(%s)"
# Creates the missing counters and locks all of them, in key order, and reads what they hold:
# one statement (the update changes nothing; ON CONFLICT DO UPDATE is what locks and returns
# a row that exists).
_CREATE_AND_LOCK_SQL: Final = (
    "INSERT INTO limit_counters AS counter (key, amount_minor, count, expires_at)"
    " SELECT key, 0, 0, expires_at FROM unnest(%s::text[], %s::timestamptz[])"
    " AS given(key, expires_at) ORDER BY key"
    " ON CONFLICT (key) DO UPDATE SET expires_at = counter.expires_at"
    " RETURNING key, amount_minor, count"
)
# Adds the payment to counters locked by ``_CREATE_AND_LOCK_SQL``, once per row of a CTE named
# ``decided`` that the statement defines before it (the service: the reservation's decision
# row, so a payment decided already adds nothing). Parameters ``add_amount``, ``add_keys``.
ADD_CTE: Final = """
added AS (
    UPDATE limit_counters SET amount_minor = amount_minor + %(add_amount)s, count = count + 1
    WHERE key = ANY(%(add_keys)s::text[]) AND EXISTS (SELECT FROM decided)
)"""
_ADD_SQL: Final = (
    "UPDATE limit_counters SET amount_minor = amount_minor + %s, count = count + 1"
    " WHERE key = ANY(%s)"
)
_TAKE_BACK_SQL: Final = (
    "UPDATE limit_counters SET amount_minor = greatest(amount_minor - %s, 0),"
    " count = greatest(count - 1, 0) WHERE key = ANY(%s)"
)


class PostgresCounterStore:
    name = "postgresql"

    async def reserve(
        self, session: AsyncSession, scope: str, increments: Sequence[Increment]
    ) -> Exceeded | None:
        if not increments:
            return None
        keys = [increment.key for increment in increments]
        driver = await driver_connection(session)
        await driver.execute(_CREATE_SQL, (keys, [i.expires_at for i in increments]))
        rows = await (await driver.execute(_LOCK_SQL, (keys,))).fetchall()
        exceeded = _first_exceeded(increments, {row[0]: (row[1], row[2]) for row in rows})
        if exceeded is None:
            await driver.execute(_ADD_SQL, (increments[0].amount_minor, keys))
        return exceeded

    async def lock(self, session: AsyncSession, increments: Sequence[Increment]) -> Exceeded | None:
        """Locks the payment's counters (created if missing) until the caller's transaction
        ends and says which cap, if any, it does not fit under; counts nothing: the caller adds
        the payment with ``ADD_CTE`` in the statement that writes its decision."""
        if not increments:
            return None
        keys = [increment.key for increment in increments]
        driver = await driver_connection(session)
        cursor = await driver.execute(
            _CREATE_AND_LOCK_SQL, (keys, [increment.expires_at for increment in increments])
        )
        rows = await cursor.fetchall()
        return _first_exceeded(increments, {row[0]: (row[1], row[2]) for row in rows})

    async def peek(
        self, session: AsyncSession, scope: str, increments: Sequence[Increment]
    ) -> Exceeded | None:
        if not increments:
            return None
        driver = await driver_connection(session)
        rows = await (await driver.execute(_READ_SQL, ([i.key for i in increments],))).fetchall()
        return _first_exceeded(increments, {row[0]: (row[1], row[2]) for row in rows})

    async def release(
        self, session: AsyncSession, scope: str, keys: Sequence[str], amount_minor: int
    ) -> None:
        if not keys:
            return
        ordered = sorted(keys)
        driver = await driver_connection(session)
        await driver.execute(_LOCK_SQL, (ordered,))
        await driver.execute(_TAKE_BACK_SQL, (amount_minor, ordered))

    async def close(self) -> None:
        return None


# KEYS: the counters. ARGV: the amount, then per key its amount cap, count cap (-1 = none) and
# expiry (unix ms). Checks every key first, then increments all: all or nothing.
_RESERVE_LUA: Final = """
local amount = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local base = 2 + (i - 1) * 3
  local amount_max = tonumber(ARGV[base])
  local count_max = tonumber(ARGV[base + 1])
  local spent = redis.call('HMGET', key, 'amount', 'count')
  local so_far = tonumber(spent[1]) or 0
  local count = tonumber(spent[2]) or 0
  if amount_max >= 0 and so_far + amount > amount_max then return {i, 1} end
  if count_max >= 0 and count + 1 > count_max then return {i, 0} end
end
if ARGV[#ARGV] == 'peek' then return {0, 0} end
for i, key in ipairs(KEYS) do
  local base = 2 + (i - 1) * 3
  redis.call('HINCRBY', key, 'amount', amount)
  redis.call('HINCRBY', key, 'count', 1)
  redis.call('PEXPIREAT', key, tonumber(ARGV[base + 2]))
end
return {0, 0}
"""
# KEYS: the counters; ARGV[1]: the amount to take back. Never below zero; a key that expired
# meanwhile is left absent.
_RELEASE_LUA: Final = """
local amount = tonumber(ARGV[1])
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    local spent = redis.call('HMGET', key, 'amount', 'count')
    local so_far = tonumber(spent[1]) or 0
    local count = tonumber(spent[2]) or 0
    redis.call('HSET', key, 'amount', math.max(so_far - amount, 0), 'count', math.max(count - 1, 0))
  end
end
return 0
"""


def _expiry_ms(increment: Increment) -> int:
    """When Redis drops the counter: at the end of its window, and never before now plus the
    grace (Redis expires on its wall clock; a late payment's window may be over already)."""
    window_end_ms = int(increment.expires_at.timestamp() * 1000)
    return max(window_end_ms, int((time.time() + COUNTER_GRACE_S) * 1000))


class RedisCounterStore:
    name = "redis"

    def __init__(self, url: str, *, key_prefix: str = "beyondpay:") -> None:
        self._client: Redis = Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_S,
            socket_connect_timeout=REDIS_TIMEOUT_S,
            max_connections=REDIS_CONNECTIONS_MAX,
        )
        # BEYONDPAY_REDIS_KEY_PREFIX is given without a separator ("beyondpay").
        self.key_prefix = key_prefix.rstrip(":") + ":"
        self._reserve = self._client.register_script(_RESERVE_LUA)
        self._release = self._client.register_script(_RELEASE_LUA)

    def _key(self, scope: str, key: str) -> str:
        # The scope in braces is the Redis Cluster hash tag: one payment's counters share a slot,
        # which a multi-key script requires.
        return f"{self.key_prefix}limits:{{{scope}}}:{key}"

    async def _run(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            async with asyncio.timeout(REDIS_TIMEOUT_S):
                return await script(keys=keys, args=args)
        except (RedisError, OSError, TimeoutError) as error:
            raise CounterStoreUnavailableError(type(error).__name__) from error

    async def _check(
        self, scope: str, increments: Sequence[Increment], *, count: bool
    ) -> Exceeded | None:
        if not increments:
            return None
        keys = [self._key(scope, increment.key) for increment in increments]
        args: list[Any] = [increments[0].amount_minor]
        for increment in increments:
            args += [
                UNLIMITED if increment.amount_minor_max is None else increment.amount_minor_max,
                UNLIMITED if increment.count_max is None else increment.count_max,
                _expiry_ms(increment),
            ]
        args.append("reserve" if count else "peek")
        index, amount_exceeded = await self._run(self._reserve, keys, args)
        if int(index) == 0:
            return None
        return Exceeded(increments[int(index) - 1].policy_id, amount_exceeded=bool(amount_exceeded))

    async def reserve(
        self, session: AsyncSession, scope: str, increments: Sequence[Increment]
    ) -> Exceeded | None:
        return await self._check(scope, increments, count=True)

    async def peek(
        self, session: AsyncSession, scope: str, increments: Sequence[Increment]
    ) -> Exceeded | None:
        return await self._check(scope, increments, count=False)

    async def release(
        self, session: AsyncSession, scope: str, keys: Sequence[str], amount_minor: int
    ) -> None:
        if keys:
            await self._run(self._release, [self._key(scope, key) for key in keys], [amount_minor])

    async def close(self) -> None:
        await self._client.aclose()
