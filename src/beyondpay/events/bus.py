"""The event bus the relay publishes committed events to.

Two buses: :class:`InProcessBus` (the default; subscribers in the same process get each message)
and :class:`JetStreamBus` (when ``BEYONDPAY_NATS_URL`` is set). Both de-duplicate by message id:
the relay publishes an event again, with the same id, if it crashed after the bus acknowledged
it but before it marked the event published, and that repeat must not reach consumers twice.
JetStream drops a repeated ``Nats-Msg-Id`` within the stream's duplicate window; the in-process
bus remembers the last ``IN_PROCESS_DEDUPLICATION_WINDOW_MESSAGES`` ids.

A subject is ``beyondpay.<mode>.<merchant>.<type>``; the type's dots are subject tokens, so a
consumer can subscribe to ``beyondpay.live.*.customer.>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from beyondpay.kit.logging import get_logger

SUBJECT_PREFIX: Final = "beyondpay"
STREAM_NAME: Final = "BEYONDPAY_EVENTS"
# JetStream drops a message whose Nats-Msg-Id it saw within this window. It must outlast the
# relay's longest gap between publishing an event and republishing it after a crash: a worker's
# restart plus its stalled-job timeout, with a wide margin.
DUPLICATE_WINDOW_S: Final = 2 * 60 * 60
IN_PROCESS_DEDUPLICATION_WINDOW_MESSAGES: Final = 10_000
NATS_CONNECT_TIMEOUT_S: Final = 5.0
NATS_PUBLISH_TIMEOUT_S: Final = 5.0
NATS_RECONNECT_ATTEMPTS_MAX: Final = 10

_log = get_logger(__name__)


def event_subject(livemode: bool, merchant_id: str, event_type: str, *, prefix: str) -> str:
    return f"{prefix}.{'live' if livemode else 'test'}.{merchant_id}.{event_type}"


@dataclass(frozen=True)
class BusMessage:
    subject: str
    message_id: str
    payload: bytes


class Bus(Protocol):
    subject_prefix: str  # the first token of every subject the relay publishes to

    async def publish(self, subject: str, message_id: str, payload: bytes) -> None:
        """Returns once the bus has the message (for JetStream: stored and acknowledged)."""

    async def publish_batch(self, messages: Sequence[BusMessage]) -> None:
        """Publishes the messages in order and returns once the bus has them all; raises if it
        may be missing any (the caller publishes the batch again, under the same ids)."""

    async def close(self) -> None: ...


Subscriber = Callable[[BusMessage], Awaitable[None] | None]


class InProcessBus:
    """Hands each message to every subscriber, in publishing order, once per message id."""

    def __init__(
        self,
        *,
        subject_prefix: str = SUBJECT_PREFIX,
        deduplication_window_messages: int = IN_PROCESS_DEDUPLICATION_WINDOW_MESSAGES,
    ) -> None:
        self.subject_prefix = subject_prefix
        self._subscribers: list[Subscriber] = []
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._window = deduplication_window_messages

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Adds ``subscriber``; returns a function that removes it."""
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):  # gone already: the bus was closed
                self._subscribers.remove(subscriber)

        return unsubscribe

    async def publish(self, subject: str, message_id: str, payload: bytes) -> None:
        # Like JetStream's window, an id is remembered from its first publish, not its last.
        if message_id in self._seen:
            return
        self._seen[message_id] = None
        if len(self._seen) > self._window:
            self._seen.popitem(last=False)
        message = BusMessage(subject, message_id, payload)
        for subscriber in list(self._subscribers):
            result = subscriber(message)
            if inspect.isawaitable(result):
                await result

    async def publish_batch(self, messages: Sequence[BusMessage]) -> None:
        for message in messages:
            await self.publish(message.subject, message.message_id, message.payload)

    async def close(self) -> None:
        self._subscribers.clear()


class JetStreamBus:
    """Publishes to a JetStream stream (created if absent), with ``Nats-Msg-Id`` = message id.

    Connects on first publish. A connection belongs to the event loop that opened it, so a
    publish from another loop (a test, a restarted worker loop) connects anew.
    """

    def __init__(
        self,
        url: str,
        *,
        stream: str = STREAM_NAME,
        subject_prefix: str = SUBJECT_PREFIX,
        duplicate_window_s: float = DUPLICATE_WINDOW_S,
    ) -> None:
        self._url = url
        self.stream = stream
        self.subject_prefix = subject_prefix
        self._duplicate_window_s = duplicate_window_s
        self._connection: Any = None
        self._jetstream: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connecting = asyncio.Lock()

    async def _ready(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._jetstream is not None and self._loop is loop and self._connection.is_connected:
            return self._jetstream
        if self._loop is not loop:
            # The lock and connection of another loop cannot be used (or closed) from this one.
            self._connecting = asyncio.Lock()
            self._connection = self._jetstream = None
            self._loop = loop
        async with self._connecting:
            if self._jetstream is not None and self._connection.is_connected:
                return self._jetstream
            import nats
            from nats.js.api import StreamConfig
            from nats.js.errors import NotFoundError

            if self._connection is not None:
                await self._connection.close()
            connection = await nats.connect(
                self._url,
                connect_timeout=NATS_CONNECT_TIMEOUT_S,
                max_reconnect_attempts=NATS_RECONNECT_ATTEMPTS_MAX,
            )
            jetstream = connection.jetstream(timeout=NATS_PUBLISH_TIMEOUT_S)
            try:
                await jetstream.stream_info(self.stream)
            except NotFoundError:
                await jetstream.add_stream(
                    StreamConfig(
                        name=self.stream,
                        subjects=[f"{self.subject_prefix}.>"],
                        duplicate_window=self._duplicate_window_s,
                    )
                )
                _log.info("nats_stream_created", stream=self.stream)
            self._connection, self._jetstream = connection, jetstream
            return jetstream

    async def publish(self, subject: str, message_id: str, payload: bytes) -> None:
        jetstream = await self._ready()
        await jetstream.publish(
            subject,
            payload,
            timeout=NATS_PUBLISH_TIMEOUT_S,
            stream=self.stream,
            headers={"Nats-Msg-Id": message_id},
        )

    async def publish_batch(self, messages: Sequence[BusMessage]) -> None:
        """Pipelined: every message is sent before the first acknowledgement is awaited. One
        connection delivers them to the server in order, so the stream stores them in order;
        if one fails, the caller's repeat of the batch appends it after the others."""
        jetstream = await self._ready()
        acknowledgements = [
            await jetstream.publish_async(
                message.subject,
                message.payload,
                wait_stall=NATS_PUBLISH_TIMEOUT_S,
                stream=self.stream,
                headers={"Nats-Msg-Id": message.message_id},
            )
            for message in messages
        ]
        async with asyncio.timeout(NATS_PUBLISH_TIMEOUT_S):
            await asyncio.gather(*acknowledgements)

    async def close(self) -> None:
        connection, self._connection, self._jetstream = self._connection, None, None
        if connection is not None and self._loop is asyncio.get_running_loop():
            await connection.close()
