"""The events about merchants as accounts (Stripe's names). Connected accounts' events are on
their platform's stream (``merchants.connected``)."""

from __future__ import annotations

from enum import StrEnum


class AccountEvent(StrEnum):
    updated = "account.updated"
