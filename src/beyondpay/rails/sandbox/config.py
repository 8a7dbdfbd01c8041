"""What the sandbox rails read from the settings: latency, failure rates, the payer's delay.

``rails.service.configure(settings)`` is called when the API or the worker starts; a process
that never called it (a script) is configured from the environment on first use.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.settings import Settings, get_settings
from beyondpay.rails.domain import parse_latency_ms
from beyondpay.rails.protocol import Rail


@dataclass(slots=True)
class SandboxConfig:
    public_url: str
    latency_ms: dict[Rail, tuple[int, int]]
    failure_rate: dict[Rail, float]
    upi_approval_delay_s: float
    random: random.Random
    ring: KeyRing

    async def sleep_latency(self, rail: Rail) -> None:
        low, high = self.latency_ms[rail]
        if high > 0:
            await asyncio.sleep(self.random.uniform(low, high) / 1000)

    def fails_technically(self, rail: Rail) -> bool:
        rate = self.failure_rate[rail]
        return rate > 0 and self.random.random() < rate


_current: SandboxConfig | None = None


def configure(settings: Settings, *, ring: KeyRing | None = None) -> SandboxConfig:
    global _current  # noqa: PLW0603 -- one configuration per process, set at start-up
    _current = SandboxConfig(
        public_url=settings.public_url.rstrip("/"),
        latency_ms={
            Rail.card: parse_latency_ms(settings.sandbox_card_latency_ms),
            Rail.upi: parse_latency_ms(settings.sandbox_upi_latency_ms),
            Rail.netbanking: parse_latency_ms(settings.sandbox_netbanking_latency_ms),
        },
        failure_rate={
            Rail.card: settings.sandbox_card_failure_rate,
            Rail.upi: settings.sandbox_upi_failure_rate,
            Rail.netbanking: settings.sandbox_netbanking_failure_rate,
        },
        upi_approval_delay_s=settings.sandbox_upi_approval_delay_s,
        random=random.Random(settings.sandbox_random_seed),  # noqa: S311 -- simulation, not secrets
        ring=ring if ring is not None else settings.key_ring(),
    )
    return _current


def current() -> SandboxConfig:
    return _current if _current is not None else configure(get_settings())
