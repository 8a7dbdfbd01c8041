"""``beyondpay listen``: forwards a merchant's events to an app on the developer's machine.

Like ``stripe listen``, it is an API client: it reads ``GET /v1/events?after_sequence=N`` of any
beyondpay deployment with the merchant's key, and POSTs each event to ``--forward-to``, signed
with a signing secret made for this session (both ``Stripe-Signature`` and Standard Webhooks
headers), so the local app verifies it exactly as it verifies a webhook delivery.

Reading by ``sequence`` never misses an event and never sees one twice (docs/api.md, "Events").
A forward is tried once: a failure is printed and the next event follows, as with
``stripe listen``; the events stay readable through the API.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import httpx

from beyondpay.kit.clock import unix_now, utcnow
from beyondpay.webhooks.signing import signature_headers

DEFAULT_API_URL: Final = "http://127.0.0.1:8000"
POLL_INTERVAL_S: Final = 1.0  # between reads of an empty page
EVENTS_PAGE_MAX: Final = 100  # the API's own page limit
API_TIMEOUT_S: Final = 30.0
API_CONNECT_TIMEOUT_S: Final = 5.0
FORWARD_TIMEOUT_S: Final = 15.0  # a webhook delivery's timeout
FORWARD_CONNECT_TIMEOUT_S: Final = 5.0
LIVE_KEY_PREFIXES: Final = ("sk_live_", "rk_live_")
ALL_EVENTS: Final = "*"
EVENT_TYPE_CHARS_MAX: Final = 100

Echo = Callable[[str], None]


class ListenError(Exception):
    """A reason to stop that the user must act on (a refused key, a bad option). Names no key."""


@dataclass(frozen=True)
class ListenOptions:
    api_key: str
    forward_to: str
    signing_secret: str
    api_url: str = DEFAULT_API_URL
    event_types: tuple[str, ...] = (ALL_EVENTS,)
    from_sequence: int | None = None  # None: only events numbered after the start
    max_events: int | None = None  # stop after forwarding this many (for tests)
    poll_interval_s: float = POLL_INTERVAL_S


def is_live_key(api_key: str) -> bool:
    return api_key.startswith(LIVE_KEY_PREFIXES)


def parse_event_types(text: str) -> tuple[str, ...]:
    """``customer.created,customer.*``: exact types, or a group with ``*`` as the last part."""
    types = tuple(part.strip() for part in text.split(",") if part.strip())
    if not types:
        raise ListenError("--events names at least one event type (or * for all)")
    for event_type in types:
        prefix = event_type.removesuffix(ALL_EVENTS)
        if len(event_type) > EVENT_TYPE_CHARS_MAX or ALL_EVENTS in prefix:
            raise ListenError(f"--events: {event_type!r} is not an event type")
        if prefix != event_type and prefix and not prefix.endswith("."):
            raise ListenError(
                f"--events: {event_type!r}: a * stands only for the last part (customer.*)"
            )
    return types


def event_type_matches(patterns: tuple[str, ...], event_type: str) -> bool:
    for pattern in patterns:
        if pattern.endswith(ALL_EVENTS):
            if event_type.startswith(pattern.removesuffix(ALL_EVENTS)):
                return True
        elif pattern == event_type:
            return True
    return False


def validate_forward_url(url: str) -> None:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise ListenError("--forward-to is not a URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ListenError("--forward-to is an http:// or https:// URL with a host")


async def _events_page(api: httpx.AsyncClient, params: dict[str, Any]) -> tuple[list[Any], bool]:
    """One page of ``GET /v1/events``; a refusal (4xx) stops the session with its message."""
    response = await api.get("/v1/events", params=params)
    if response.status_code >= httpx.codes.BAD_REQUEST:
        raise ListenError(f"the API answered {response.status_code}: {_error_message(response)}")
    try:
        page = response.json()
    except ValueError:
        page = None
    if not isinstance(page, dict) or not isinstance(page.get("data"), list):
        raise ListenError("the API's answer is not a list of events: is --api-url a beyondpay?")
    return page["data"], bool(page.get("has_more"))


def _error_message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
        return str(error.get("message") or error.get("code") or response.reason_phrase)
    except (ValueError, AttributeError):
        return response.reason_phrase


async def _newest_sequence(api: httpx.AsyncClient) -> int:
    """The last number given so far: from the newest events, then read on by number, since the
    newest by creation may still be unnumbered or not hold the highest number."""
    events, _ = await _events_page(api, {"limit": EVENTS_PAGE_MAX})
    cursor = max((e["sequence"] for e in events if isinstance(e.get("sequence"), int)), default=0)
    while True:
        events, has_more = await _events_page(
            api, {"after_sequence": cursor, "limit": EVENTS_PAGE_MAX}
        )
        if events:
            cursor = int(events[-1]["sequence"])
        if not has_more:
            return cursor


async def _forward(
    forwarder: httpx.AsyncClient, options: ListenOptions, event: dict[str, Any]
) -> str:
    """POSTs one event, signed; returns the status code, or why there is none."""
    body = json.dumps(event, separators=(",", ":")).encode()
    headers = signature_headers([options.signing_secret], event["id"], unix_now(), body)
    headers["Content-Type"] = "application/json"
    try:
        response = await forwarder.post(options.forward_to, content=body, headers=headers)
    except httpx.HTTPError as error:
        return f"failed ({type(error).__name__}), not retried"
    return f"[{response.status_code}]"


async def listen(options: ListenOptions, echo: Echo) -> int:
    """Forwards events until cancelled (or ``max_events`` forwards); returns how many."""
    api = httpx.AsyncClient(
        base_url=options.api_url,
        headers={"Authorization": f"Bearer {options.api_key}"},
        timeout=httpx.Timeout(API_TIMEOUT_S, connect=API_CONNECT_TIMEOUT_S),
        follow_redirects=False,
    )
    # A forward goes straight to the local app: no proxy from the environment, no redirect
    # (a webhook delivery follows none either), and never the API key.
    forwarder = httpx.AsyncClient(
        timeout=httpx.Timeout(FORWARD_TIMEOUT_S, connect=FORWARD_CONNECT_TIMEOUT_S),
        follow_redirects=False,
        trust_env=False,
    )
    async with api, forwarder:
        cursor = options.from_sequence
        if cursor is None:
            cursor = await _newest_sequence(api)
        echo(
            f"Ready! Your webhook signing secret is {options.signing_secret} (^C to quit)\n"
            f"Forwarding events after sequence {cursor} from {options.api_url}"
            f" to {options.forward_to}"
        )
        return await _forward_from(api, forwarder, options, cursor, echo)


async def _forward_from(
    api: httpx.AsyncClient,
    forwarder: httpx.AsyncClient,
    options: ListenOptions,
    cursor: int,
    echo: Echo,
) -> int:
    forwarded = 0
    while options.max_events is None or forwarded < options.max_events:
        try:
            events, has_more = await _events_page(
                api, {"after_sequence": cursor, "limit": EVENTS_PAGE_MAX}
            )
        except httpx.HTTPError as error:
            # The API restarting or the network away: keep the cursor and read again.
            echo(f"{_now()}  the API is unreachable ({type(error).__name__}); retrying")
            await asyncio.sleep(options.poll_interval_s)
            continue
        for event in events:
            cursor = int(event["sequence"])
            if not event_type_matches(options.event_types, str(event["type"])):
                continue
            outcome = await _forward(forwarder, options, event)
            echo(f"{_now()}  {event['type']}  {event['id']}  --> {outcome}")
            forwarded += 1
            if options.max_events is not None and forwarded >= options.max_events:
                return forwarded
        if not has_more:
            await asyncio.sleep(options.poll_interval_s)
    return forwarded


def _now() -> str:
    return utcnow().strftime("%Y-%m-%d %H:%M:%S")
