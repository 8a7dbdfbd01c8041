"""Who carries a message: one protocol per channel, and the email senders.

Email goes through SMTP with ``aiosmtplib``: to the server ``BEYONDPAY_SMTP_URL`` names in live
mode, and in test mode (always) to the sink, an SMTP server (``aiosmtpd``) on loopback inside
this process, one per event loop, that keeps what it receives so the job can record it for
``GET /v1/notifications/sandbox/emails``. Test-mode email never leaves the platform. A sender
is called outside any database transaction.
"""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Final, Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib
from aiosmtpd.smtp import SMTP as SmtpServer
from aiosmtpd.smtp import Envelope, Session

from beyondpay.notifications.domain import SEND_TIMEOUT_S

SINK_HOST: Final = "127.0.0.1"
# The sink keeps the newest messages only: the job reads each right after sending it.
SINK_MESSAGES_MAX: Final = 1_000
SMTP_PORT_DEFAULT: Final = 587
SMTPS_PORT_DEFAULT: Final = 465


@dataclass(frozen=True, slots=True)
class ReceivedAttachment:
    """An attachment as the sink received it: described, not kept (its digest identifies it;
    a deterministic document, rendered again, gives the same one)."""

    filename: str
    content_type: str
    size_bytes: int
    sha256: str

    def as_json(self) -> dict[str, str | int]:
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
        }


@dataclass(frozen=True, slots=True)
class ReceivedEmail:
    """A message as an SMTP server received it."""

    message_id: str
    envelope_from: str
    recipients: list[str]
    subject: str
    text_body: str
    html_body: str | None
    attachments: tuple[ReceivedAttachment, ...] = ()


@dataclass(frozen=True, slots=True)
class SentEmail:
    """A message the server accepted, and the sink's copy when the sink took it."""

    message_id: str
    sandbox_copy: ReceivedEmail | None = None


class EmailSender(Protocol):
    async def send(self, message: EmailMessage) -> SentEmail:
        """Hands ``message`` (with its Message-ID) to the server; raises when it is refused or
        unreachable (``aiosmtplib.SMTPException``, ``OSError``, ``TimeoutError``)."""
        ...


class SmtpSender:
    """A real SMTP server: ``smtp://user:password@host:port`` (STARTTLS when the server offers
    it) or ``smtps://…`` (TLS from the first byte)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._implicit_tls = parts.scheme == "smtps"
        self._host = parts.hostname or ""
        self._port = parts.port or (SMTPS_PORT_DEFAULT if self._implicit_tls else SMTP_PORT_DEFAULT)
        self._username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None

    def __repr__(self) -> str:
        return f"SmtpSender(host={self._host!r}, port={self._port})"  # never the password

    async def send(self, message: EmailMessage) -> SentEmail:
        await aiosmtplib.send(
            message,
            hostname=self._host,
            port=self._port,
            username=self._username,
            password=self._password,
            use_tls=self._implicit_tls,
            start_tls=None if not self._implicit_tls else False,
            timeout=SEND_TIMEOUT_S,
        )
        return SentEmail(message_id=str(message["Message-ID"]))


def _bodies(parsed: EmailMessage) -> tuple[str, str | None]:
    text = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    return (
        str(text.get_content()) if text is not None else "",
        str(html.get_content()) if html is not None else None,
    )


def _attachments(parsed: EmailMessage) -> tuple[ReceivedAttachment, ...]:
    received = []
    for part in parsed.iter_attachments():
        data = part.get_payload(decode=True)
        content = data if isinstance(data, bytes) else b""
        received.append(
            ReceivedAttachment(
                filename=str(part.get_filename() or ""),
                content_type=part.get_content_type(),
                size_bytes=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
            )
        )
    return tuple(received)


class _SinkHandler:
    """aiosmtpd's handler: keeps each message by its Message-ID."""

    def __init__(self) -> None:
        self.received: OrderedDict[str, ReceivedEmail] = OrderedDict()

    async def handle_DATA(self, server: SmtpServer, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        # policy.default parses into an EmailMessage (the compat32 default would not).
        parsed = message_from_bytes(content, policy=policy.default)
        message_id = str(parsed["Message-ID"] or "")
        text, html = _bodies(parsed)
        self.received[message_id] = ReceivedEmail(
            message_id=message_id,
            envelope_from=str(envelope.mail_from or ""),
            recipients=[str(each) for each in envelope.rcpt_tos],
            subject=str(parsed["Subject"] or ""),
            text_body=text,
            html_body=html,
            attachments=_attachments(parsed),
        )
        while len(self.received) > SINK_MESSAGES_MAX:
            self.received.popitem(last=False)
        return "250 Message accepted for delivery"


@dataclass
class _Sink:
    server: asyncio.Server
    port: int
    handler: _SinkHandler


_sinks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Sink] = weakref.WeakKeyDictionary()
_sink_starting: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


async def _sink() -> _Sink:
    loop = asyncio.get_running_loop()
    lock = _sink_starting.setdefault(loop, asyncio.Lock())
    async with lock:
        sink = _sinks.get(loop)
        if sink is None:
            handler = _SinkHandler()
            server = await loop.create_server(
                lambda: SmtpServer(handler, hostname="beyondpay-sink", ident="beyondpay sink"),
                host=SINK_HOST,
                port=0,
            )
            port = int(server.sockets[0].getsockname()[1])
            sink = _sinks[loop] = _Sink(server, port, handler)
    return sink


class SinkSender:
    """The test-mode sender: real SMTP, to the sink of this event loop."""

    async def send(self, message: EmailMessage) -> SentEmail:
        sink = await _sink()
        await aiosmtplib.send(
            message,
            hostname=SINK_HOST,
            port=sink.port,
            use_tls=False,
            start_tls=False,
            timeout=SEND_TIMEOUT_S,
        )
        message_id = str(message["Message-ID"])
        return SentEmail(message_id=message_id, sandbox_copy=sink.handler.received.get(message_id))


async def close_sink() -> None:
    """Stops this event loop's sink (a worker stopping)."""
    sink = _sinks.pop(asyncio.get_running_loop(), None)
    if sink is not None:
        sink.server.close()
        await sink.server.wait_closed()
