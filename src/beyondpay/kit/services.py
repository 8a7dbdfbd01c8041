"""Reachability checks of the optional services (Redis, NATS), for doctor and the test fixtures."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Final

from beyondpay.kit.crypto import KeyRingError
from beyondpay.kit.settings import Settings

SERVICE_TIMEOUT_S: Final = 2.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def check_redis(url: str | None) -> Check:
    if url is None:
        return Check("redis", True, "not configured: in-process rate-limit counters")
    import redis

    client = redis.Redis.from_url(
        url, socket_connect_timeout=SERVICE_TIMEOUT_S, socket_timeout=SERVICE_TIMEOUT_S
    )
    try:
        info = client.info("server")
        return Check("redis", True, f"Redis {info.get('redis_version', '?')}")
    except Exception as exc:
        return Check("redis", False, f"unreachable ({type(exc).__name__})")
    finally:
        client.close()


async def check_nats(url: str | None) -> Check:
    if url is None:
        return Check("nats", True, "not configured: in-process event bus")
    import nats

    async def quiet(_error: Exception) -> None:
        """nats-py logs every refused attempt with a traceback; the check reports it once."""

    try:
        # nats-py keeps retrying a refused first connect; the outer timeout ends that.
        async with asyncio.timeout(SERVICE_TIMEOUT_S):
            connection = await nats.connect(
                url,
                connect_timeout=SERVICE_TIMEOUT_S,
                max_reconnect_attempts=0,
                allow_reconnect=False,
                error_cb=quiet,
            )
    except Exception as exc:
        return Check("nats", False, f"unreachable ({type(exc).__name__})")
    try:
        jetstream = connection.jetstream()
        account = await jetstream.account_info()
        return Check("nats", True, f"JetStream, {account.streams} streams")
    except Exception as exc:
        return Check("nats", False, f"connected, but JetStream unavailable ({type(exc).__name__})")
    finally:
        await connection.close()


def check_key_ring(settings: Settings) -> Check:
    """The key ring loads; a configured (production) database needs a configured ring, since
    the development ring lives in the data dir beside it and is lost with the machine."""
    configured = settings.ring_configured()
    if not configured and not settings.dev_ring_path().exists():
        # Checking never creates one: a new ring here would not be the server's.
        return Check(
            "key ring",
            False,
            f"none: BEYONDPAY_SECRET_KEYS unset and no development ring at "
            f"{settings.dev_ring_path()}",
        )
    try:
        ring = settings.key_ring()
    except (OSError, KeyRingError) as exc:
        return Check("key ring", False, f"cannot load: {exc}")
    if not configured and settings.database_url is not None:
        return Check(
            "key ring",
            False,
            "development ring in the data dir: set BEYONDPAY_SECRET_KEYS or _FILE",
        )
    return Check("key ring", True, f"current key {ring.current_id}")
