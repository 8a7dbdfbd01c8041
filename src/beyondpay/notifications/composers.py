"""Who composes a message of each kind but receipts: the owner of what the message is about,
registered by the composition root (``app.wire_modules``), never imported from here.

Notifications sit below the modules whose objects their messages carry (billing's invoices and
credit notes), so an outbox row keeps only a reference (``kind``, ``subject_id``) and the
message is rebuilt from it when the job sends it, in the job's short claiming transaction: the
outbox stays small (no PDF in a row), and a resend after a crash rebuilds the same message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.invariants import invariant
from beyondpay.notifications.domain import Kind
from beyondpay.notifications.messages import ComposedEmail


@dataclass(frozen=True, slots=True)
class Addressed:
    """The outbox row a composer is asked for: whose, in which mode, about what, to whom."""

    notification_id: str
    merchant_id: str
    livemode: bool
    kind: Kind
    subject_id: str
    recipient: str


Composer = Callable[[AsyncSession, Addressed], Awaitable[ComposedEmail]]
_composers: dict[Kind, Composer] = {}


def register_composer(kind: Kind, composer: Composer) -> None:
    """``composer`` builds every message of ``kind`` (one per kind: registering again replaces
    it). It runs in the sending job's transaction and must not call the network."""
    invariant(kind != Kind.receipt, "receipts are composed by notifications themselves")
    _composers[kind] = composer


def registered_composer(kind: Kind) -> Composer | None:
    return _composers.get(kind)


def composer_for(kind: Kind) -> Composer:
    composer = _composers.get(kind)
    invariant(composer is not None, f"a composer is registered for {kind} messages")
    assert composer is not None
    return composer
