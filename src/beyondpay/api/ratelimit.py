"""Rate limits per API key and per client IP, with the ``limits`` library's moving windows.

Counters live in Redis when ``BEYONDPAY_REDIS_URL`` is set, so that every API process shares
them, and in this process otherwise. ``authorize`` checks the client's IP before it reads the
key, so a flood of unauthenticated or bad-key requests is refused without a database query each,
and the key right after authentication. A refused request is a 429 ``rate_limit`` error with
``Retry-After``; it is raised before any idempotency key is looked at, so it is never stored.

Limits protect the service; no payment's correctness depends on them. So when Redis fails or is
slow, the request is served (fail open): each call to Redis is bounded by ``STORAGE_TIMEOUT_S``,
the failure is counted and logged (once when it starts, then at most once per
``FAILURE_LOG_INTERVAL_S``), and Redis is left alone for ``STORAGE_RETRY_AFTER_S`` before one
request probes it again. A dead Redis therefore costs one timeout per period, not one per request.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Final, TypeVar

import limits
from limits import RateLimitItem
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from prometheus_client import Counter
from redis.asyncio import BlockingConnectionPool

from beyondpay.kit.clock import get_clock
from beyondpay.kit.errors import RateLimitError
from beyondpay.kit.logging import get_logger
from beyondpay.kit.settings import Settings
from beyondpay.merchants.domain import Caller

# A healthy Redis answers in about a millisecond; this bounds what a sick one adds to a request.
STORAGE_TIMEOUT_S: Final = 0.1
STORAGE_RETRY_AFTER_S: Final = 5.0
FAILURE_LOG_INTERVAL_S: Final = 60.0
# Requests of one process waiting on Redis at once; beyond that they wait for a connection,
# within the same timeout.
REDIS_CONNECTIONS_MAX: Final = 128
RETRY_AFTER_S_MIN: Final = 1
# A host given IPv6 usually holds a whole /64: count it as one client, or it could rotate
# through addresses past the limit.
IPV6_PREFIX_BITS: Final = 64
IDENTIFIER_CHARS_MAX: Final = 64

FAIL_OPEN = Counter(
    "beyondpay_rate_limit_fail_open_total",
    "Rate-limit checks skipped, the request served, because the counter storage failed"
    " (timeout, error) or is being left alone after a failure (resting)",
    ["reason"],
)
REFUSED = Counter(
    "beyondpay_rate_limit_refused_total", "Requests refused with 429 rate_limit", ["limit"]
)

_log = get_logger(__name__)
_Result = TypeVar("_Result")


def parse_rates(text: str) -> tuple[RateLimitItem, ...]:
    """``100/second``, ``1000 per minute;20000/hour``, or empty for no limit."""
    return tuple(limits.parse_many(text)) if text.strip() else ()


@dataclass(frozen=True, slots=True)
class Rates:
    live_per_key: tuple[RateLimitItem, ...]
    test_per_key: tuple[RateLimitItem, ...]
    per_ip: tuple[RateLimitItem, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> Rates:
        return cls(
            live_per_key=parse_rates(settings.rate_limit_live_per_key),
            test_per_key=parse_rates(settings.rate_limit_test_per_key),
            per_ip=parse_rates(settings.rate_limit_per_ip),
        )


def ip_identifier(address: str) -> str:
    """The counter a client address counts against: the address for IPv4, its /64 for IPv6."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:IDENTIFIER_CHARS_MAX]  # not an IP (a test client's name, a socket)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/{IPV6_PREFIX_BITS}", strict=False))
    return str(ip)


class RateLimiter:
    """What ``authorize`` calls: ``check_ip`` and ``check_key`` return, or raise a 429."""

    def __init__(
        self,
        storage: Storage,
        rates: Rates,
        *,
        remote: bool = False,
        close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._storage = storage
        self._strategy = MovingWindowRateLimiter(storage)
        self._rates = rates
        self._remote = remote
        self._close = close
        self._failing = False
        self._retry_at = 0.0
        self._logged_at = 0.0

    async def check_ip(self, address: str | None) -> None:
        if address is None or not self._rates.per_ip:
            return
        await self._check(
            self._rates.per_ip,
            ("ip", ip_identifier(address)),
            "Too many requests from this IP address. Retry later with exponential backoff.",
        )

    async def check_key(self, caller: Caller) -> None:
        rates = self._rates.live_per_key if caller.livemode else self._rates.test_per_key
        if not rates:
            return
        await self._check(
            rates,
            ("key", caller.key_id),
            "Too many requests with this API key. Retry later with exponential backoff.",
        )

    async def close(self) -> None:
        if self._close is not None:
            await self._close()
        if isinstance(self._storage, MemoryStorage) and self._storage.timer is not None:
            self._storage.timer.cancel()

    async def _check(
        self, rates: Sequence[RateLimitItem], identifiers: tuple[str, str], message: str
    ) -> None:
        for rate in rates:
            allowed = await self._guarded(partial(self._strategy.hit, rate, *identifiers))
            if allowed is False:
                REFUSED.labels(identifiers[0]).inc()
                retry_after_s = await self._retry_after_s(rate, identifiers)
                raise RateLimitError(message, headers={"Retry-After": str(retry_after_s)})

    async def _retry_after_s(self, rate: RateLimitItem, identifiers: tuple[str, str]) -> int:
        """Whole seconds until the oldest request in the window leaves it, at least one."""
        stats = await self._guarded(partial(self._strategy.get_window_stats, rate, *identifiers))
        if stats is None:
            return max(RETRY_AFTER_S_MIN, rate.get_expiry())
        return max(RETRY_AFTER_S_MIN, math.ceil(stats.reset_time - time.time()))

    async def _guarded(self, call: Callable[[], Awaitable[_Result]]) -> _Result | None:
        """The storage's answer, or None when it failed or is resting (the request is served)."""
        if not self._remote:
            return await call()
        if not self._storage_usable():
            FAIL_OPEN.labels("resting").inc()
            return None
        try:
            async with asyncio.timeout(STORAGE_TIMEOUT_S):
                result = await call()
        except TimeoutError:
            self._storage_failed("timeout", "TimeoutError")
            return None
        except Exception as exc:  # fail open: no fault of the counter storage refuses a request
            cause = getattr(exc, "storage_error", None) or exc
            self._storage_failed("error", type(cause).__name__)
            return None
        if self._failing:
            self._failing = False
            _log.info("rate_limit_storage_recovered")
        return result

    def _storage_usable(self) -> bool:
        if not self._failing:
            return True
        now = get_clock().monotonic()
        if now < self._retry_at:
            return False
        # This request probes the storage; the others are served unchecked until it answers.
        self._retry_at = now + STORAGE_RETRY_AFTER_S
        return True

    def _storage_failed(self, reason: str, error_type: str) -> None:
        FAIL_OPEN.labels(reason).inc()
        now = get_clock().monotonic()
        self._retry_at = now + STORAGE_RETRY_AFTER_S
        if not self._failing or now - self._logged_at >= FAILURE_LOG_INTERVAL_S:
            # Only the error's type: its message names the server, and the URL may hold a
            # password.
            _log.warning(
                "rate_limit_storage_unavailable",
                reason=reason,
                error_type=error_type,
                requests_served_unchecked=True,
                retry_after_s=STORAGE_RETRY_AFTER_S,
            )
            self._logged_at = now
        self._failing = True


def _limits_uri(url: str) -> str:
    """``limits`` names its asyncio Redis schemes ``async+redis`` and ``async+rediss``."""
    scheme, _, rest = url.partition("://")
    if scheme == "unix":
        return f"async+redis+unix://{rest}"
    return f"async+{scheme}://{rest}"


def create_rate_limiter(settings: Settings) -> RateLimiter | None:
    """The limiter the settings ask for: None when limits are off."""
    if not settings.rate_limits_enabled:
        return None
    rates = Rates.from_settings(settings)
    url = settings.redis_url_value()
    if url is None:
        return RateLimiter(MemoryStorage(), rates)
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=REDIS_CONNECTIONS_MAX,
        timeout=STORAGE_TIMEOUT_S,
        socket_timeout=STORAGE_TIMEOUT_S,
        socket_connect_timeout=STORAGE_TIMEOUT_S,
    )
    options: dict[str, Any] = {"connection_pool": pool}
    storage = RedisStorage(
        _limits_uri(url),
        implementation="redispy",
        key_prefix=f"{settings.redis_key_prefix}:rate_limit",
        wrap_exceptions=True,
        **options,
    )
    return RateLimiter(storage, rates, remote=True, close=pool.aclose)
