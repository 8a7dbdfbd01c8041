"""Feature stores: the payer's, payee's and device's history, read before an assessment and
recorded after it. One protocol, three stores that give the same answers (tests/risk/
test_store.py runs the same cases against each):

- ``PostgresFeatureStore`` (no Redis configured): tables ``risk_feature_*``, one statement to
  read and one to record, in the caller's transaction, so a rolled-back payment leaves no count.
  The service reads the blocklist in the read's statement (``read_with``) and records in the
  statement that stores the assessment (``RECORD_CTES``): two round trips an assessment.
- ``RedisFeatureStore`` (``BEYONDPAY_REDIS_URL`` set): sorted sets and hashes with TTLs, read in
  one pipelined round trip and recorded by one Lua script (atomic). Redis is not in the caller's
  transaction: a payment whose transaction rolls back after its assessment still counted, which
  errs towards seeing more velocity, never less.
- ``MemoryFeatureStore``: :class:`~beyondpay.risk.features.MemoryHistory` behind the protocol,
  for the simulator, benchmarks and tests.

A Redis that fails or is slow (each call bounded by ``REDIS_TIMEOUT_S``) raises
:class:`FeatureStoreUnavailableError`; the service then assesses with an empty history and
challenges the payment (docs/risk.md): it neither blocks everyone nor lets a velocity attack
through unchecked.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.session import driver_connection
from beyondpay.risk.domain import PaymentContext
from beyondpay.risk.features import WINDOW_1H, WINDOW_24H, WINDOW_30D, History, MemoryHistory

REDIS_TIMEOUT_S: Final = 0.25
# How long a payer's payees, devices and last location are remembered without a payment.
REMEMBERED_S: Final = 180 * 86400
MILLISECONDS_PER_SECOND: Final = 1000
# Separates the fields of a payment in a sorted-set member; ids and keys never hold it.
_FIELD_SEPARATOR: Final = "\x1f"


class FeatureStoreUnavailableError(Exception):
    """The store did not answer in time; nothing about the payer is known."""


class FeatureStore(Protocol):
    async def read(self, session: AsyncSession, ctx: PaymentContext) -> History: ...

    async def record(self, session: AsyncSession, ctx: PaymentContext) -> None: ...


class MemoryFeatureStore:
    def __init__(self) -> None:
        self.history = MemoryHistory()

    async def read(self, session: AsyncSession, ctx: PaymentContext) -> History:
        return self.history.read(ctx)

    async def record(self, session: AsyncSession, ctx: PaymentContext) -> None:
        self.history.record(ctx)


# ``{also}``: columns the caller adds to the same round trip (the service: the blocklist and,
# when its cache has none, the scope's rules).
_READ_SQL: Final = """
SELECT agg.count_1h, agg.sum_1h, agg.count_24h, agg.sum_24h, agg.count_30d, agg.sum_30d,
       agg.payees_24h, payer.last_device_id, payer.last_latitude, payer.last_longitude,
       payer.last_located_at,
       EXISTS (SELECT 1 FROM risk_feature_payees AS paid
               WHERE paid.livemode = %(livemode)s AND paid.payee_key = %(payee)s
                 AND paid.payer_key = %(payer)s),
       (SELECT device.first_seen_at FROM risk_feature_devices AS device
        WHERE device.livemode = %(livemode)s AND device.device_id = %(device)s::text),
       (SELECT count(*) FROM risk_feature_payees AS fan
        WHERE fan.livemode = %(livemode)s AND fan.payee_key = %(payee)s
          AND fan.first_paid_at > %(since_24h)s AND fan.first_paid_at <= %(now)s),
       {also}
FROM (
    SELECT count(*) FILTER (WHERE occurred_at > %(since_1h)s) AS count_1h,
           coalesce(sum(amount_minor) FILTER (WHERE occurred_at > %(since_1h)s), 0) AS sum_1h,
           count(*) FILTER (WHERE occurred_at > %(since_24h)s) AS count_24h,
           coalesce(sum(amount_minor) FILTER (WHERE occurred_at > %(since_24h)s), 0) AS sum_24h,
           count(*) AS count_30d,
           coalesce(sum(amount_minor), 0) AS sum_30d,
           count(DISTINCT payee_key) FILTER (WHERE occurred_at > %(since_24h)s) AS payees_24h
    FROM risk_feature_payments
    WHERE livemode = %(livemode)s AND payer_key = %(payer)s
      AND occurred_at > %(since_30d)s AND occurred_at <= %(now)s
) AS agg
LEFT JOIN risk_feature_payers AS payer
    ON payer.livemode = %(livemode)s AND payer.payer_key = %(payer)s
"""

# The payment, the window pruned, the payee's new payer, the payer's last device and place, the
# device's first sighting: common table expressions that record once per row of a CTE named
# ``assessed`` that the statement defines before them (the service: the assessment's INSERT, so
# a payment assessed already records nothing, in the same statement). A payer's row lock
# orders its concurrent records.
RECORD_CTES: Final = """
payment AS (
    INSERT INTO risk_feature_payments
        (livemode, payer_key, occurred_at, amount_minor, payee_key, payment_id)
    SELECT %(livemode)s, %(payer)s, %(now)s, %(amount)s, %(payee)s, %(payment)s FROM assessed
), pruned AS (
    DELETE FROM risk_feature_payments
    WHERE livemode = %(livemode)s AND payer_key = %(payer)s AND occurred_at <= %(since_30d)s
      AND EXISTS (SELECT FROM assessed)
), payee AS (
    INSERT INTO risk_feature_payees (livemode, payee_key, payer_key, first_paid_at)
    SELECT %(livemode)s, %(payee)s, %(payer)s, %(now)s FROM assessed
    ON CONFLICT DO NOTHING
), device AS (
    INSERT INTO risk_feature_devices (livemode, device_id, first_seen_at)
    SELECT %(livemode)s, %(device)s::text, %(now)s FROM assessed
    WHERE %(device)s::text IS NOT NULL
    ON CONFLICT DO NOTHING
), last_seen AS (
    INSERT INTO risk_feature_payers AS payer
        (livemode, payer_key, last_device_id, last_latitude, last_longitude, last_located_at)
    SELECT %(livemode)s, %(payer)s, %(device)s::text, %(latitude)s::float8,
           %(longitude)s::float8,
           CASE WHEN %(latitude)s::float8 IS NULL THEN NULL ELSE %(now)s::timestamptz END
    FROM assessed
    ON CONFLICT (livemode, payer_key) DO UPDATE SET
        last_device_id = coalesce(excluded.last_device_id, payer.last_device_id),
        last_latitude = coalesce(excluded.last_latitude, payer.last_latitude),
        last_longitude = coalesce(excluded.last_longitude, payer.last_longitude),
        last_located_at = coalesce(excluded.last_located_at, payer.last_located_at)
)
"""
_RECORD_SQL: Final = f"WITH assessed AS (SELECT 1), {RECORD_CTES} SELECT 1"


def _located(ctx: PaymentContext) -> bool:
    return ctx.latitude is not None and ctx.longitude is not None


class PostgresFeatureStore:
    async def read(self, session: AsyncSession, ctx: PaymentContext) -> History:
        history, _ = await self.read_with(session, ctx, "NULL", {})
        return history

    async def read_with(
        self, session: AsyncSession, ctx: PaymentContext, columns: str, parameters: dict[str, Any]
    ) -> tuple[History, tuple[Any, ...]]:
        """The history and the values of more columns of the caller's (their SQL and their
        parameters, named apart from this store's), in one statement."""
        now = ctx.occurred_at
        driver = await driver_connection(session)
        cursor = await driver.execute(
            _READ_SQL.format(also=columns),
            {
                **parameters,
                "livemode": ctx.livemode,
                "payer": ctx.payer_key,
                "payee": ctx.payee_key,
                "device": ctx.device_id,
                "now": now,
                "since_1h": now - WINDOW_1H,
                "since_24h": now - WINDOW_24H,
                "since_30d": now - WINDOW_30D,
            },
        )
        row = await cursor.fetchone()
        assert row is not None  # an aggregate always answers one row
        history = History(
            count_1h=row[0],
            sum_1h_minor=int(row[1]),
            count_24h=row[2],
            sum_24h_minor=int(row[3]),
            count_30d=row[4],
            sum_30d_minor=int(row[5]),
            unique_payees_24h=row[6],
            last_device_id=row[7],
            last_latitude=row[8],
            last_longitude=row[9],
            last_located_at=row[10],
            paid_payee_before=bool(row[11]),
            device_first_seen_at=row[12],
            payee_new_payers_24h=row[13],
        )
        return history, tuple(row[14:])

    async def record(self, session: AsyncSession, ctx: PaymentContext) -> None:
        driver = await driver_connection(session)
        await driver.execute(_RECORD_SQL, record_parameters(ctx))


def record_parameters(ctx: PaymentContext) -> dict[str, Any]:
    """The parameters of ``RECORD_CTES``."""
    located = _located(ctx)
    return {
        "livemode": ctx.livemode,
        "payer": ctx.payer_key,
        "payee": ctx.payee_key,
        "payment": ctx.payment_id,
        "amount": ctx.amount_minor,
        "device": ctx.device_id,
        "latitude": ctx.latitude if located else None,
        "longitude": ctx.longitude if located else None,
        "now": ctx.occurred_at,
        "since_30d": ctx.occurred_at - WINDOW_30D,
    }


# KEYS: payments, payees, state, device, payee's payers, payee's new payers.
# ARGV: now_ms, member, payee, payer, device ('' none), latitude, longitude ('' none),
#       30 days ms, remembered ms, 24 h ms.
_RECORD_LUA: Final = """
local now = tonumber(ARGV[1])
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[8]))
redis.call('PEXPIRE', KEYS[1], ARGV[8])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[9])
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[3], 'device', ARGV[5])
  redis.call('SET', KEYS[4], ARGV[1], 'NX', 'PX', ARGV[9])
end
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[3], 'latitude', ARGV[6], 'longitude', ARGV[7], 'at', ARGV[1])
end
if ARGV[5] ~= '' or ARGV[6] ~= '' then
  redis.call('PEXPIRE', KEYS[3], ARGV[9])
end
if redis.call('SADD', KEYS[5], ARGV[4]) == 1 then
  redis.call('ZADD', KEYS[6], now, ARGV[4])
end
redis.call('PEXPIRE', KEYS[5], ARGV[9])
redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now - tonumber(ARGV[10]))
redis.call('PEXPIRE', KEYS[6], ARGV[10])
return 1
"""


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * MILLISECONDS_PER_SECOND)


def _window_ms(window: Any) -> int:
    return int(window.total_seconds() * MILLISECONDS_PER_SECOND)


class RedisFeatureStore:
    def __init__(self, client: Redis, prefix: str) -> None:
        self._client = client
        self._prefix = prefix
        self._record_script = client.register_script(_RECORD_LUA)

    @classmethod
    def from_url(cls, url: str, prefix: str) -> RedisFeatureStore:
        client = Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_S,
            socket_connect_timeout=REDIS_TIMEOUT_S,
            decode_responses=True,
        )
        return cls(client, prefix)

    async def close(self) -> None:
        await self._client.aclose()

    def _key(self, ctx: PaymentContext, *parts: str) -> str:
        mode = "live" if ctx.livemode else "test"
        return ":".join((self._prefix, "risk", mode, *parts))

    def _keys(self, ctx: PaymentContext) -> list[str]:
        return [
            self._key(ctx, "payer", ctx.payer_key, "payments"),
            self._key(ctx, "payer", ctx.payer_key, "payees"),
            self._key(ctx, "payer", ctx.payer_key, "state"),
            self._key(ctx, "device", ctx.device_id or ""),
            self._key(ctx, "payee", ctx.payee_key, "payers"),
            self._key(ctx, "payee", ctx.payee_key, "new_payers"),
        ]

    async def read(self, session: AsyncSession, ctx: PaymentContext) -> History:
        now_ms = _ms(ctx.occurred_at)
        payments, payees, state, device, _, new_payers = self._keys(ctx)
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.zrangebyscore(
                    payments, f"({now_ms - _window_ms(WINDOW_30D)}", now_ms, withscores=True
                )
                pipe.sismember(payees, ctx.payee_key)
                pipe.hmget(state, "device", "latitude", "longitude", "at")
                pipe.get(device)
                pipe.zcount(new_payers, f"({now_ms - _window_ms(WINDOW_24H)}", now_ms)
                answers = await pipe.execute()
        except (RedisError, OSError, TimeoutError) as error:
            raise FeatureStoreUnavailableError(type(error).__name__) from None
        return _history(ctx, now_ms, answers)

    async def record(self, session: AsyncSession, ctx: PaymentContext) -> None:
        located = _located(ctx)
        member = _FIELD_SEPARATOR.join((ctx.payment_id, str(ctx.amount_minor), ctx.payee_key))
        arguments: list[str | int] = [
            _ms(ctx.occurred_at),
            member,
            ctx.payee_key,
            ctx.payer_key,
            ctx.device_id or "",
            repr(ctx.latitude) if located else "",
            repr(ctx.longitude) if located else "",
            _window_ms(WINDOW_30D),
            REMEMBERED_S * MILLISECONDS_PER_SECOND,
            _window_ms(WINDOW_24H),
        ]
        try:
            await self._record_script(keys=self._keys(ctx), args=arguments)
        except (RedisError, OSError, TimeoutError) as error:
            raise FeatureStoreUnavailableError(type(error).__name__) from None


def _history(ctx: PaymentContext, now_ms: int, answers: list[Any]) -> History:
    payments, paid_before, state, device_seen_ms, new_payers = answers
    since_1h = now_ms - _window_ms(WINDOW_1H)
    since_24h = now_ms - _window_ms(WINDOW_24H)
    count = [0, 0, 0]
    total = [0, 0, 0]
    payees_24h: set[str] = set()
    for member, score in payments:
        _, amount_text, payee = member.split(_FIELD_SEPARATOR, 2)
        amount, at_ms = int(amount_text), int(score)
        count[2] += 1
        total[2] += amount
        if at_ms > since_24h:
            count[1] += 1
            total[1] += amount
            payees_24h.add(payee)
            if at_ms > since_1h:
                count[0] += 1
                total[0] += amount
    last_device, latitude, longitude, located_ms = state
    return History(
        count_1h=count[0],
        sum_1h_minor=total[0],
        count_24h=count[1],
        sum_24h_minor=total[1],
        count_30d=count[2],
        sum_30d_minor=total[2],
        unique_payees_24h=len(payees_24h),
        paid_payee_before=bool(paid_before),
        last_device_id=last_device,
        last_latitude=float(latitude) if latitude is not None else None,
        last_longitude=float(longitude) if longitude is not None else None,
        last_located_at=_moment(located_ms),
        device_first_seen_at=_moment(device_seen_ms) if ctx.device_id else None,
        payee_new_payers_24h=int(new_payers),
    )


def _moment(milliseconds: str | None) -> datetime | None:
    if milliseconds is None:
        return None
    return datetime.fromtimestamp(int(milliseconds) / MILLISECONDS_PER_SECOND, tz=UTC)
