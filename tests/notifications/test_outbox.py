"""The outbox's sending: a job run twice (in turn or at once) sends once, a refused send is
retried, live mode without SMTP is given up, and the SMTP sender speaks to a real server."""

from __future__ import annotations

import asyncio
import socket
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SmtpServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from sqlalchemy import select

from beyondpay.db.session import Database
from beyondpay.notifications import outbox
from beyondpay.notifications.domain import SEND_ATTEMPTS_MAX, Kind
from beyondpay.notifications.models import NotificationRow
from beyondpay.notifications.senders import EmailSender, SentEmail, SinkSender, SmtpSender
from beyondpay.notifications.service import notification_service
from beyondpay.notifications.settings import NotificationsConfig
from tests.notifications.support import queued_sends, sandbox_emails
from tests.payments.support import pay
from tests.support import TestMerchant


class CountingSender:
    """The sink, slowly, counting what it is asked to send (or failing first, if told)."""

    def __init__(self, *, delay_s: float = 0.0, failures: int = 0) -> None:
        self.sent: list[str] = []
        self.delay_s = delay_s
        self.failures = failures

    async def send(self, message: EmailMessage) -> SentEmail:
        await asyncio.sleep(self.delay_s)
        if self.failures:
            self.failures -= 1
            raise ConnectionRefusedError("the server is away")
        self.sent.append(str(message["Message-ID"]))
        return await SinkSender().send(message)


@pytest.fixture
def sender(monkeypatch: pytest.MonkeyPatch) -> CountingSender:
    counting = CountingSender(delay_s=0.2)

    def email_sender(self: NotificationsConfig, livemode: bool) -> EmailSender | None:
        return counting if not livemode else None

    monkeypatch.setattr(NotificationsConfig, "email_sender", email_sender)
    return counting


async def _row(database: Database, notification_id: str) -> NotificationRow:
    async with database.unit_of_work() as session:
        statement = select(NotificationRow).where(NotificationRow.id == notification_id)
        row: NotificationRow = (await session.execute(statement)).scalar_one()
        return row


async def _paid_receipt(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> str:
    await pay(client, merchant, payment_method="pm_card_visa", receipt_email="asha@example.com")
    [notification_id] = await queued_sends(database)
    return notification_id


async def test_a_job_run_twice_in_turn_or_at_once_sends_once(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database, sender: CountingSender
) -> None:
    notification_id = await _paid_receipt(client, merchant, database)
    results = await asyncio.gather(
        outbox.send_notification(database, notification_id),
        outbox.send_notification(database, notification_id),
        return_exceptions=True,
    )
    # One run sent; the other found it under the first one's lease and asks to be retried.
    assert sum(result is None for result in results) == 1
    assert [type(result) for result in results if result is not None] == [
        outbox.NotificationBusyError
    ]
    await outbox.send_notification(database, notification_id)  # the retry: already sent
    await outbox.send_notification(database, notification_id)
    assert len(sender.sent) == 1
    row = await _row(database, notification_id)
    assert row.status == "sent" and row.attempts == 1
    assert row.message_id == sender.sent[0] and row.sent_at is not None
    assert len(await sandbox_emails(client, merchant)) == 1


async def test_a_refused_send_is_retried_under_the_same_message_id(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database, sender: CountingSender
) -> None:
    sender.failures = 1
    notification_id = await _paid_receipt(client, merchant, database)
    with pytest.raises(outbox.NotificationNotSentError):
        await outbox.send_notification(database, notification_id)
    row = await _row(database, notification_id)
    assert (row.status, row.attempts, row.last_error) == ("queued", 1, "ConnectionRefusedError")
    await outbox.send_notification(database, notification_id)
    row = await _row(database, notification_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    assert sender.sent == [row.message_id]


async def test_a_message_is_given_up_after_its_last_attempt(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database, sender: CountingSender
) -> None:
    sender.delay_s, sender.failures = 0.0, SEND_ATTEMPTS_MAX
    notification_id = await _paid_receipt(client, merchant, database)
    for _ in range(SEND_ATTEMPTS_MAX - 1):
        with pytest.raises(outbox.NotificationNotSentError):
            await outbox.send_notification(database, notification_id)
    await outbox.send_notification(database, notification_id)  # the last: no retry asked
    row = await _row(database, notification_id)
    assert (row.status, row.attempts) == ("failed", SEND_ATTEMPTS_MAX)
    await outbox.send_notification(database, notification_id)
    assert sender.sent == []


async def test_live_mode_without_smtp_is_not_sent(
    merchant: TestMerchant, database: Database, sender: CountingSender
) -> None:
    async with database.unit_of_work() as session:
        row = await notification_service.queue_email(
            session,
            merchant_id=merchant.id,
            livemode=True,
            kind=Kind.receipt,
            subject_id="ch_unsent",
            recipient="asha@example.com",
        )
    await outbox.send_notification(database, row.id)
    stored = await _row(database, row.id)
    assert (stored.status, stored.last_error) == ("failed", "smtp_not_configured")
    assert sender.sent == []


class _Authenticator:
    def __call__(
        self, server: SmtpServer, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"merchant@x.in",
            b"p@ss word",
        )
        return AuthResult(success=ok)


class _Keeper:
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: SmtpServer, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_the_smtp_sender_logs_in_and_hands_over_the_message() -> None:
    keeper = _Keeper()
    with socket.socket() as probe:  # aiosmtpd's readiness check cannot use port 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(
        keeper,
        hostname="127.0.0.1",
        port=port,
        authenticator=_Authenticator(),
        auth_require_tls=False,
        auth_required=True,
    )
    controller.start()
    try:
        smtp = SmtpSender(f"smtp://merchant%40x.in:p%40ss%20word@127.0.0.1:{port}")
        assert "word" not in repr(smtp)
        message = EmailMessage()
        message["From"], message["To"] = "receipts@example.com", "asha@example.com"
        message["Subject"], message["Message-ID"] = "Hello", "<ntf_1@example.com>"
        message.set_content("Paid.")
        sent = await smtp.send(message)
        assert sent == SentEmail(message_id="<ntf_1@example.com>")
        [envelope] = keeper.envelopes
        assert envelope.rcpt_tos == ["asha@example.com"]
        # auth_required: the server took the message only after the login above succeeded.
    finally:
        controller.stop()


def test_a_malformed_smtp_url_is_refused_without_repeating_it() -> None:
    from beyondpay.kit.settings import Settings
    from tests.support import ring_for_tests

    with pytest.raises(ValueError, match="BEYONDPAY_SMTP_URL") as refused:
        NotificationsConfig.from_settings(
            Settings(smtp_url="smpt://user:hunter2@mail.example.com"), ring=ring_for_tests()
        )
    assert "hunter2" not in str(refused.value)
    configured = NotificationsConfig.from_settings(
        Settings(smtp_url="smtps://user:hunter2@mail.example.com"), ring=ring_for_tests()
    )
    assert "hunter2" not in repr(configured)
    assert "hunter2" not in repr(configured.email_sender(True))
