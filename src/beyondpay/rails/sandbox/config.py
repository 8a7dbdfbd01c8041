"""What the sandbox rails read from the settings: latency, failure rates, the payer's delay.

``rails.service.configure(settings)`` builds it when the API or the worker starts (the
composition root calls it); a process that never called it (a script) builds it from the
environment on first use (``kit.module_settings``).
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.module_settings import ModuleSettings
from beyondpay.kit.settings import Settings
from beyondpay.rails.domain import parse_latency_ms
from beyondpay.rails.protocol import Rail


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    public_url: str
    latency_ms: dict[Rail, tuple[int, int]]
    failure_rate: dict[Rail, float]
    upi_approval_delay_s: float
    random: random.Random
    ring: KeyRing

    @classmethod
    def from_settings(cls, settings: Settings, *, ring: KeyRing | None = None) -> SandboxConfig:
        return cls(
            public_url=settings.public_url_value().rstrip("/"),
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

    async def sleep_latency(self, rail: Rail) -> None:
        low, high = self.latency_ms[rail]
        if high > 0:
            await asyncio.sleep(self.random.uniform(low, high) / 1000)

    def fails_technically(self, rail: Rail) -> bool:
        rate = self.failure_rate[rail]
        return rate > 0 and self.random.random() < rate


CONFIG: ModuleSettings[SandboxConfig] = ModuleSettings(SandboxConfig.from_settings)


def configure(settings: Settings, *, ring: KeyRing | None = None) -> SandboxConfig:
    return CONFIG.set(SandboxConfig.from_settings(settings, ring=ring))
