"""The settings notifications run on: where live email goes, who it is from, and the key ring
(a receipt shows the merchant's GSTIN, sealed in its KYC documents). One shape with every
module's settings (``kit.module_settings``)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.module_settings import ModuleSettings
from beyondpay.kit.settings import Settings
from beyondpay.notifications.senders import EmailSender, SinkSender, SmtpSender


def _checked_smtp_url(url: str | None) -> str | None:
    """``smtp://`` or ``smtps://`` with a host. Checked here rather than by pydantic, whose
    message would repeat the URL, password included."""
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(
                "BEYONDPAY_SMTP_URL must be smtp://[user:password@]host[:port] or smtps://…"
            )
    return url


@dataclass(frozen=True, slots=True)
class NotificationsConfig:
    smtp_url: str | None
    email_from: str
    ring: KeyRing

    @classmethod
    def from_settings(
        cls, settings: Settings, *, ring: KeyRing | None = None
    ) -> NotificationsConfig:
        return cls(
            smtp_url=_checked_smtp_url(settings.smtp_url_value()),
            email_from=settings.email_from,
            ring=ring if ring is not None else settings.key_ring(),
        )

    def __repr__(self) -> str:
        return f"NotificationsConfig(smtp={'set' if self.smtp_url else 'unset'})"

    def email_sender(self, livemode: bool) -> EmailSender | None:
        """Test mode: the sink, always. Live mode: the configured server, or None."""
        if not livemode:
            return SinkSender()
        return SmtpSender(self.smtp_url) if self.smtp_url else None


CONFIG: ModuleSettings[NotificationsConfig] = ModuleSettings(NotificationsConfig.from_settings)


def configure(settings: Settings, *, ring: KeyRing | None = None) -> NotificationsConfig:
    """The composition root (``app.configure_modules``) calls it when the API or worker starts."""
    return CONFIG.set(NotificationsConfig.from_settings(settings, ring=ring))
