"""One beyondpay API process for fault tests, killed with SIGKILL between the phases of a request.

    python -m tests.payments.fault_server <database url> <port>

Settings come from the environment (the test's key ring in ``BEYONDPAY_SECRET_KEYS``,
``BEYONDPAY_SANDBOX_CARD_LATENCY_MS``, ``BEYONDPAY_RAIL_ANSWER_WAIT_S``, …); no background worker
runs in it,
so only the test decides when reconciliation happens.
"""

from __future__ import annotations

import sys

import uvicorn

from beyondpay.app import create_app
from beyondpay.kit.settings import Settings


def main() -> None:
    database_url, port = sys.argv[1], int(sys.argv[2])
    settings = Settings(rate_limits_enabled=False)
    app = create_app(settings, database_url, run_worker=False)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
