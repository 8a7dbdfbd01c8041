"""Configuration: every ``BEYONDPAY_*`` environment variable, in one place.

docs/configuration.md documents each field; a test keeps the two in step.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Final

import limits
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from beyondpay.kit.crypto import KeyRing, load_or_create_dev_ring

DATABASE_POOL_SIZE_DEFAULT: Final = 10
DATABASE_CONNECT_TIMEOUT_S: Final = 3
IDEMPOTENCY_RETENTION_S_DEFAULT: Final = 24 * 3600
# Stripe's basic limits (per second, live and test); per IP, enough for several busy keys.
RATE_LIMIT_LIVE_PER_KEY_DEFAULT: Final = "100/second"
RATE_LIMIT_TEST_PER_KEY_DEFAULT: Final = "25/second"
RATE_LIMIT_PER_IP_DEFAULT: Final = "500/second"
EMAIL_FROM_DEFAULT: Final = "receipts@beyondpay.localhost"
# Where a browser on this machine reaches a server listening on every interface.
_LOOPBACK_FOR_UNSPECIFIED: Final = {
    "": "127.0.0.1",
    "0.0.0.0": "127.0.0.1",  # noqa: S104 -- read, not bound: mapped to loopback
    "::": "::1",
}
SANDBOX_UPI_APPROVAL_DELAY_S_DEFAULT: Final = 2.0
# A sandbox rail's latency: "min-max" milliseconds, or one number; at most a minute.
_LATENCY_RANGE: Final = r"^\d{1,5}(-\d{1,5})?$"


DATA_DIR_NAME: Final = ".beyondpay"
DEV_RING_FILE: Final = "secret_keys"


def find_data_dir(start: Path | None = None) -> Path | None:
    """The nearest ``.beyondpay/`` folder in ``start`` (default: the working directory) or a
    folder above it, as git finds ``.git/``: every command run anywhere in a project uses the
    data ``beyondpay serve`` keeps at its root."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / DATA_DIR_NAME).is_dir():
            return folder / DATA_DIR_NAME
    return None


def default_data_dir() -> Path:
    """``BEYONDPAY_DATA_DIR`` unset: the nearest ``.beyondpay/``, else ``./.beyondpay``."""
    return find_data_dir() or Path.cwd().resolve() / DATA_DIR_NAME


class LogFormat(StrEnum):
    json = "json"
    console = "console"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BEYONDPAY_", env_file=None, extra="ignore")

    database_url: SecretStr | None = Field(
        default=None,
        description="PostgreSQL URL. Unset: an embedded PostgreSQL is started under the data dir.",
    )
    database_pool_size: int = Field(default=DATABASE_POOL_SIZE_DEFAULT, ge=1, le=200)
    database_pool_max_overflow: int = Field(default=10, ge=0, le=200)
    database_pool_timeout_s: float = Field(default=10.0, gt=0, le=300)
    redis_url: SecretStr | None = Field(default=None, description="Redis URL for rate limits.")
    redis_key_prefix: str = Field(
        default="beyondpay",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="Prefix of every Redis key, so deployments can share one Redis.",
    )
    rate_limits_enabled: bool = Field(default=True, description="`false` turns rate limits off.")
    rate_limit_live_per_key: str = Field(
        default=RATE_LIMIT_LIVE_PER_KEY_DEFAULT, description="Requests each live key may make."
    )
    rate_limit_test_per_key: str = Field(
        default=RATE_LIMIT_TEST_PER_KEY_DEFAULT, description="Requests each test key may make."
    )
    rate_limit_per_ip: str = Field(
        default=RATE_LIMIT_PER_IP_DEFAULT, description="Requests each client IP may make."
    )
    nats_url: str | None = Field(default=None, description="NATS URL; enables JetStream events.")
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Embedded data and dev keys; unset: the nearest .beyondpay/ up from here.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = Field(default="info", pattern="^(debug|info|warning|error|critical)$")
    log_format: LogFormat = LogFormat.console
    secret_keys: SecretStr | None = Field(
        default=None,
        description="Key ring: comma-separated `id:base64key` entries, newest first.",
    )
    secret_keys_file: Path | None = Field(
        default=None, description="File holding the key ring in the same format."
    )
    idempotency_retention_s: int = Field(
        default=IDEMPOTENCY_RETENTION_S_DEFAULT,
        ge=3600,
        le=30 * 86400,
        description="How long a stored idempotent response is replayed before it is pruned.",
    )
    webhooks_allow_private_test_urls: bool = Field(
        default=True,
        description="Test-mode webhook endpoints may be on loopback and private networks.",
    )
    webhooks_delivery_timeout_s: float = Field(
        default=15.0,
        ge=1.0,
        le=30.0,
        description="Time a webhook endpoint has to answer a delivery, DNS and connect included.",
    )
    payments_fee_bps: int = Field(
        default=200,
        ge=0,
        le=10_000,
        description="Platform fee on each captured payment, in basis points (200 = 2 %).",
    )
    payments_fee_fixed_minor: int = Field(
        default=0,
        ge=0,
        le=1_000_000,
        description="Fixed platform fee on each captured payment, in the currency's minor units.",
    )
    payments_available_after_s: int = Field(
        default=2 * 86400,
        ge=0,
        le=90 * 86400,
        description="Seconds before a captured payment moves from pending to available balance.",
    )
    payout_account_cooling_period_h: int = Field(
        default=24,
        ge=0,
        le=30 * 24,
        description=(
            "Hours payouts are held after a payout bank account is added or a currency's"
            " default account changes (the takeover guard)."
        ),
    )
    disputes_fee_minor: int = Field(
        default=1_500_00,
        ge=0,
        le=1_000_000,
        description="Fee taken with each disputed amount, in the charge currency's minor units.",
    )
    disputes_fee_returned_when_won: bool = Field(
        default=True, description="A won dispute returns its fee with the disputed amount."
    )
    rail_answer_wait_s: int = Field(
        default=30,
        ge=1,
        le=3_600,
        description=(
            "How long an operation asked of a rail may go unanswered before its request is"
            " taken to have died between its phases: a retry with the same Idempotency-Key"
            " then resumes it, and the reconciliation job asks the rail again. Longer than any"
            " rail call."
        ),
    )
    run_worker_in_api: bool = Field(
        default=True, description="`serve` runs the background worker in the API process."
    )
    public_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s/]+(/[^\s]*)?$",
        description="Base URL payers' browsers reach this server at; unset: host and port.",
    )
    sandbox_card_latency_ms: str = Field(
        default="0", pattern=_LATENCY_RANGE, description="Sandbox card network latency: min-max ms."
    )
    sandbox_upi_latency_ms: str = Field(
        default="0", pattern=_LATENCY_RANGE, description="Sandbox UPI switch latency: min-max ms."
    )
    sandbox_netbanking_latency_ms: str = Field(
        default="0", pattern=_LATENCY_RANGE, description="Sandbox net banking latency: min-max ms."
    )
    sandbox_card_failure_rate: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Share of card authorizations failing technically."
    )
    sandbox_upi_failure_rate: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Share of UPI payments failing technically."
    )
    sandbox_netbanking_failure_rate: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Share of net banking payments with the bank down."
    )
    sandbox_upi_approval_delay_s: float = Field(
        default=SANDBOX_UPI_APPROVAL_DELAY_S_DEFAULT,
        ge=0.0,
        le=3600.0,
        description="Seconds the sandbox UPI payer takes to answer a collect or pay an intent.",
    )
    sandbox_random_seed: int | None = Field(
        default=None, description="Seed of the sandbox rails' random draws (latency, failures)."
    )
    # The PSP's limits (NPCI's public figures by default; psp/transfers/domain.py says why).
    psp_p2p_daily_limit_minor: int = Field(
        default=1_00_000_00, ge=1, le=10**12, description="P2P amount a payer may pay per IST day."
    )
    psp_transaction_limit_minor: int = Field(
        default=1_00_000_00, ge=1, le=10**12, description="The most one PSP payment may move."
    )
    psp_p2p_daily_count_max: int = Field(
        default=20, ge=1, le=10_000, description="P2P payments a payer may make per IST day."
    )
    psp_new_device_cooling_s: int = Field(
        default=86_400, ge=0, le=30 * 86_400, description="How long a newly bound device is new."
    )
    psp_new_device_limit_minor: int = Field(
        default=5_000_00, ge=1, le=10**12, description="What a new device may pay in all per day."
    )
    psp_sandbox: bool = Field(
        default=True,
        description="The PSP sends OTPs to the sandbox SMS sink (no live SMS sender exists yet).",
    )
    psp_rp_id: str = Field(
        default="localhost",
        min_length=1,
        max_length=253,
        pattern=r"^[a-z0-9.-]+$",
        description="WebAuthn relying party id of PSP passkeys (the payer app's domain).",
    )
    psp_origin: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s/]+$",
        description="Origin passkey ceremonies come from; unset: from the public URL.",
    )
    psp_handle: str = Field(
        default="beyondpay",
        pattern=r"^[a-z][a-z0-9]{1,31}$",
        description="The PSP's UPI handle: payers' VPAs are username@<handle>.",
    )
    risk_model_path: Path | None = Field(
        default=None,
        description="A model file written by `beyondpay risk train`; unset: the packaged one.",
    )
    risk_model_decides_in_test_mode: bool = Field(
        default=False,
        description="Let the model's score alone challenge or block test-mode payments.",
    )
    smtp_url: SecretStr | None = Field(
        default=None,
        description=(
            "SMTP server live-mode email is sent through: smtp://user:password@host:587"
            " (STARTTLS when offered) or smtps://… (TLS from the start). Unset: test-mode email"
            " goes to the in-process sink and live-mode email is not sent."
        ),
    )
    email_from: str = Field(
        default=EMAIL_FROM_DEFAULT,
        min_length=3,
        max_length=320,
        pattern=r"^[^\s@<>]+@[^\s@<>]+$",
        description="The From address of email the platform sends (receipts).",
    )

    @field_validator("rate_limit_live_per_key", "rate_limit_test_per_key", "rate_limit_per_ip")
    @classmethod
    def _rate_limit_parses(cls, value: str) -> str:
        """``100/second``, ``1000 per minute``, several joined by ``;``, or empty for none."""
        if value.strip():
            limits.parse_many(value)  # ValueError names the string that does not parse
        return value.strip()

    def database_url_value(self) -> str | None:
        return self.database_url.get_secret_value() if self.database_url else None

    def redis_url_value(self) -> str | None:
        return self.redis_url.get_secret_value() if self.redis_url else None

    def smtp_url_value(self) -> str | None:
        return self.smtp_url.get_secret_value() if self.smtp_url else None

    def local_url(self) -> str:
        """``http://<host>:<port>``: where a client on this machine reaches ``beyondpay serve``
        as configured (a server listening on every interface is reached on loopback)."""
        host = _LOOPBACK_FOR_UNSPECIFIED.get(self.host, self.host)
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"  # an IPv6 address in a URL
        return f"http://{host}:{self.port}"

    def public_url_value(self) -> str:
        """``public_url``, else :meth:`local_url`, so that the sandbox's pages follow a
        non-default port without a second setting."""
        return self.public_url if self.public_url is not None else self.local_url()

    def psp_origin_value(self) -> str:
        """The WebAuthn origin: ``psp_origin``, else the public URL's origin when one is set,
        else ``http://localhost:<port>`` (where a browser may use the ``localhost`` RP id)."""
        if self.psp_origin is not None:
            return self.psp_origin
        if self.public_url is not None:
            scheme, _, rest = self.public_url.partition("://")
            return f"{scheme}://{rest.split('/', 1)[0]}"
        return f"http://localhost:{self.port}"

    def key_ring(self) -> KeyRing:
        """The configured ring, else the development ring kept in the data dir."""
        if self.secret_keys is not None:
            return KeyRing.parse(self.secret_keys.get_secret_value())
        if self.secret_keys_file is not None:
            return KeyRing.parse(self.secret_keys_file.read_text())
        return load_or_create_dev_ring(self.dev_ring_path())

    def dev_ring_path(self) -> Path:
        return self.data_dir / DEV_RING_FILE

    def uses_data_dir(self) -> bool:
        """Whether the database or the key ring lives in the data dir (nothing configured)."""
        return self.database_url is None or not self.ring_configured()

    def ring_configured(self) -> bool:
        return self.secret_keys is not None or self.secret_keys_file is not None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
