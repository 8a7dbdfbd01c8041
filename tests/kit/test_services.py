"""Reachability checks of Redis and NATS, on the real services when configured."""

from __future__ import annotations

from beyondpay.kit.services import check_nats, check_redis


def test_redis_check_on_the_real_server(redis_url: str) -> None:
    check = check_redis(redis_url)
    assert check.ok, check.detail
    assert check.detail.startswith("Redis ")


async def test_nats_check_sees_jetstream(nats_url: str) -> None:
    check = await check_nats(nats_url)
    assert check.ok, check.detail
    assert "JetStream" in check.detail


def test_unconfigured_services_fall_back_in_process() -> None:
    assert check_redis(None).ok
    assert "in-process" in check_redis(None).detail


async def test_unreachable_services_are_reported() -> None:
    assert not check_redis("redis://127.0.0.1:1/0").ok
    nats = await check_nats("nats://127.0.0.1:1")
    assert not nats.ok
    assert "unreachable" in nats.detail
