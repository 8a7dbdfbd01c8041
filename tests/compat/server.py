"""Serving the app on loopback for clients that speak real HTTP (the official SDKs)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Final

import stripe
import uvicorn

from beyondpay.db.session import Database
from beyondpay.kit.settings import Settings
from tests.support import TestMerchant, make_merchant

SERVER_START_TIMEOUT_S: Final = 30.0
SERVER_STOP_TIMEOUT_S: Final = 10.0
# A test's HTTP client waits this long for the in-process server: on a loaded 2-core CI machine
# (Chromium starting beside it, the other worker creating its database) a first request took
# longer than httpx's default 5 s.
CLIENT_TIMEOUT_S: Final = 30.0


@contextlib.contextmanager
def serving(
    settings: Settings, database_url: str, *, run_worker: bool = False, public: bool = False
) -> Iterator[str]:
    """Runs the app on a free loopback port (with the background worker in it, if asked);
    yields its base URL. ``public``: the links the app renders (``BEYONDPAY_PUBLIC_URL``: a
    receipt's, a 3-D Secure page's) point at this server."""
    from beyondpay.app import create_app

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    if public:
        settings = settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    app = create_app(settings, database_url, run_worker=run_worker)
    config = uvicorn.Config(
        app, lifespan="on", log_level="warning", access_log=False, loop="asyncio"
    )
    server = uvicorn.Server(config)
    # Signal handlers can only be installed on the main thread; the test runner owns those.
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="compat-server", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the compat server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(SERVER_STOP_TIMEOUT_S)
        listener.close()


async def new_merchant(database_url: str, **options: object) -> TestMerchant:
    database = Database(database_url, pool_size=1, max_overflow=0)
    try:
        return await make_merchant(database, **options)  # type: ignore[arg-type]
    finally:
        await database.dispose()


def sdk_client(server_url: str, key: str) -> stripe.StripeClient:
    """The official client, pointed at us, without retries (each test sees the first answer)."""
    return stripe.StripeClient(key, base_addresses={"api": server_url}, max_network_retries=0)
