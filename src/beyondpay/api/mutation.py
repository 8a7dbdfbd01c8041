"""Mutating requests: one transaction, an audit record, and Stripe's idempotency keys.

A POST with ``Idempotency-Key`` runs like this (in the manner of brandur's "Implementing
Stripe-like Idempotency Keys in Postgres", with PostgreSQL's advisory locks in place of a
``locked_at`` column):

1. ``pg_try_advisory_xact_lock`` on (merchant, mode, key). Not granted: the first request with
   this key is still running → 409, nothing stored.
2. The key's row, if any. Other route or other parameters → 400 ``idempotency_error``. A stored
   response → replayed byte for byte with ``Idempotent-Replayed: true``. A row with no response
   is a request that stopped after a recovery point (its process died) → resumed from there.
3. The use case runs in the same transaction, and the response, the audit record and the key's
   row are written before one commit: a crash before the commit leaves nothing, so the retry
   simply runs again; a crash after leaves the whole answer.
4. A typed error or a bug rolls the work back; the error response (a 500 included) is then
   stored with its audit record, so a retry gets the same answer. The exception: a bug after a
   recovery point stores nothing, so that the retry finishes the committed work.

A use case that must commit part of its work before the rest (it calls a rail, which is never
done inside a transaction) calls ``await mutation.checkpoint("name")``: that commits the work so
far, and the key's row at that recovery point, with or without a key. The key's row then stands
for the request in flight instead of the transaction's advisory lock: a duplicate arriving
within ``RECOVERY_LEASE_S`` of the last checkpoint gets 409, as during step 1 (brandur's
``locked_at``; a session-level advisory lock would stay with whichever pooled connection held
it). If the process dies, a retry after the lease finds the recovery point in
``mutation.recovery_point`` and continues from it; the use case's own recovery (a rail request
id asked again, a reconciliation job) makes continuing safe even if the first is alive after all.

Validation failures, 401, 403, 409 and 429 happen before step 1 and are never stored.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import orjson
from fastapi import Request
from pydantic import BaseModel, SecretBytes, SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from beyondpay.api.auditing import audit, audit_record, route_template
from beyondpay.api.errors import log_unexpected
from beyondpay.audit.service import insert_statement
from beyondpay.db.phases import STARTED
from beyondpay.db.session import driver_connection
from beyondpay.kit.clock import utcnow
from beyondpay.kit.context import set_idempotency_key
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import (
    BeyondpayError,
    IdempotencyConflictError,
    IdempotencyError,
    InternalError,
)
from beyondpay.merchants.domain import PLATFORM_SCOPE, Caller

IDEMPOTENCY_KEY_CHARS_MAX: Final = 255
RECOVERY_STARTED: Final = STARTED
RECOVERY_FINISHED: Final = "finished"
# How long a request past a recovery point is taken to be still running (unless the settings'
# ``rail_answer_wait_s`` says otherwise): longer than any rail call plus the second phase.
RECOVERY_LEASE_S: Final = 30
# Left out of the fingerprint: a fast keyed hash of a 4-digit PIN beside its Argon2 hash would
# undo Argon2 for whoever holds the ring. The same key with another PIN replays the first answer
# (which checked nothing new and counts no try); apps send a new key for each PIN typed.
PIN_PARAMETERS: Final = frozenset({"pin", "old_pin", "new_pin"})
_SECRET_MASK: Final = b'"**********"'  # how pydantic dumps a SecretStr as JSON

_TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(hashtextextended(:name, 0))")
# The hot path speaks to the driver directly: these statements run on every POST, and
# SQLAlchemy's statement building, caching and result processing cost more than the database.
_TRY_LOCK_SQL: Final = "SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))"
_SELECT_KEY_SQL: Final = (
    "SELECT route, method, params_fingerprint, recovery_point, response_status, response_body,"
    " updated_at"
    " FROM idempotency_keys WHERE merchant_id = %s AND livemode = %s AND key = %s"
)
_UPSERT_KEY_SQL: Final = (
    "INSERT INTO idempotency_keys (merchant_id, livemode, key, method, route,"
    " params_fingerprint, recovery_point, response_status, response_body, request_id,"
    " created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (merchant_id, livemode, key) DO UPDATE SET"
    " recovery_point = excluded.recovery_point, response_status = excluded.response_status,"
    " response_body = excluded.response_body, updated_at = excluded.updated_at"
)
# With ``only_unanswered``: a stored answer is left alone.
_UPSERT_UNANSWERED_KEY_SQL: Final = (
    _UPSERT_KEY_SQL + " WHERE idempotency_keys.response_status IS NULL"
)
_SEALED_ANSWER_PREFIX: Final = b"sealed:"


class IdempotencyKeyInvalidError(IdempotencyError):
    code = "idempotency_key_invalid"


@dataclass(slots=True)
class Outcome:
    """What a use case returns: the object rendered as the response, and its status."""

    body: dict[str, Any]
    status: int = 200
    # The body shows a secret (a new API key, a webhook signing secret): the answer kept for
    # idempotent replay is sealed with the key ring, so idempotency_keys never holds it in clear.
    sealed: bool = False


class Mutation:
    """Handed to the use case: where an interrupted request left off, and checkpoints."""

    def __init__(self, session: AsyncSession, stored: _KeyState | None) -> None:
        self.session = session
        self._stored = stored
        self.recovery_point = stored.recovery_point if stored else RECOVERY_STARTED

    async def checkpoint(self, recovery_point: str) -> None:
        """Commit the work so far; a retry after a crash resumes at ``recovery_point``.

        Without an idempotency key the work is committed all the same (the use case is about to
        call a network peer outside any transaction); only its reconciliation can finish it."""
        if self._stored is not None:
            await _upsert_key(self.session, self._stored, recovery_point, None, None)
        await self.session.commit()
        self.recovery_point = recovery_point


@dataclass(slots=True)
class _KeyState:
    caller: Caller
    key: str
    method: str
    route: str
    fingerprint: bytes
    request_id: str
    recovery_point: str = RECOVERY_STARTED
    # Every fingerprint the parameters have under the ring's keys (rotation): any one matches.
    accepted: tuple[bytes, ...] = ()
    lease_s: float = RECOVERY_LEASE_S

    @property
    def scope(self) -> str:
        return self.caller.merchant_id or PLATFORM_SCOPE

    @property
    def lock_name(self) -> str:
        return f"idem:{self.scope}:{self.caller.mode}:{self.key}"


def _revealed(value: Any) -> tuple[Any, bool]:
    """``value`` with every secret (``SecretStr``) replaced by what it holds, and whether any
    was found."""
    if isinstance(value, SecretStr | SecretBytes):
        secret = value.get_secret_value()
        return (secret.decode("utf-8", "replace") if isinstance(secret, bytes) else secret), True
    if isinstance(value, dict):
        pairs = [(key, _revealed(item)) for key, item in value.items() if key not in PIN_PARAMETERS]
        return {key: item for key, (item, _) in pairs}, any(found for _, (_, found) in pairs)
    if isinstance(value, list | tuple):
        items = [_revealed(item) for item in value]
        return [item for item, _ in items], any(found for _, found in items)
    return value, False


def params_fingerprints(
    method: str, route: str, params: BaseModel | None, ring: KeyRing | None = None
) -> list[bytes]:
    """The fingerprint of the route and the parameters as validated, in a canonical order: the
    same parameters sent as form or JSON, in any order, give the same fingerprint. Newest first.

    Parameters without secrets: SHA-256 of their JSON. With secrets (a card number, a VPA, an
    alias; PINs are left out, see ``PIN_PARAMETERS``): an HMAC under the key ring of their JSON
    with the secrets revealed, so that the same key with another secret is told apart (an
    idempotency error, not the first answer replayed), while the stored fingerprint cannot be
    searched for the secret without the ring. One fingerprint per ring key, so a retry after the
    ring rotates still matches."""
    if params is None:
        canonical = orjson.dumps([method, route, None], option=orjson.OPT_SORT_KEYS)
        return [hashlib.sha256(canonical).digest()]
    dumped = params.model_dump(mode="json", exclude_unset=True)
    canonical = orjson.dumps([method, route, dumped], option=orjson.OPT_SORT_KEYS)
    # The second dump, with secrets revealed, only for parameters that hold one (a secret
    # dumps as its mask): most requests have none, and this runs on every POST.
    if ring is not None and _SECRET_MASK in canonical:
        revealed, secret = _revealed(params.model_dump(mode="python", exclude_unset=True))
        if secret:
            canonical = orjson.dumps(
                [method, route, revealed], option=orjson.OPT_SORT_KEYS, default=str
            )
            return ring.fingerprints("idempotency:" + canonical.decode())
    return [hashlib.sha256(canonical).digest()]


def params_fingerprint(
    method: str, route: str, params: BaseModel | None, ring: KeyRing | None = None
) -> bytes:
    """The fingerprint stored with a new key (see :func:`params_fingerprints`)."""
    return params_fingerprints(method, route, params, ring)[0]


def _json_response_headers(key: str | None, replayed: bool) -> dict[str, str]:
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["idempotency-key"] = key
    if replayed:
        headers["idempotent-replayed"] = "true"
    return headers


async def run_mutation(
    request: Request,
    session: AsyncSession,
    caller: Caller,
    params: BaseModel | None,
    execute: Callable[[Mutation], Awaitable[Outcome]],
) -> Response:
    """Runs ``execute`` once per idempotency key and renders its outcome."""
    method = request.method
    route = route_template(request)
    request_id: str = request.state.request_id
    key = request.headers.get("idempotency-key") if method == "POST" else None
    if key is not None:
        key = key.strip()
        if not key or len(key) > IDEMPOTENCY_KEY_CHARS_MAX:
            raise IdempotencyKeyInvalidError(
                f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_CHARS_MAX} characters."
            )
    # Events the use case records name the key (``event.request.idempotency_key``).
    set_idempotency_key(key)
    state: _KeyState | None = None
    if key is not None:
        ring: KeyRing = request.app.state.key_ring
        fingerprints = params_fingerprints(method, route, params, ring)
        state = _KeyState(caller, key, method, route, fingerprints[0], request_id)
        state.accepted = tuple(fingerprints)
        settings = getattr(request.app.state, "settings", None)
        state.lease_s = getattr(settings, "rail_answer_wait_s", RECOVERY_LEASE_S)
        replay = await _claim(session, state)
        if replay is not None:
            status, body = replay
            body = _opened_answer(request, state, body)
            await session.rollback()
            return Response(body, status_code=status, headers=_json_response_headers(key, True))
    mutation = Mutation(session, state)
    try:
        outcome = await execute(mutation)
        body = orjson.dumps(outcome.body)
        stored = body
        if outcome.sealed and state is not None:
            stored = _sealed_answer(request, state, body)
        await _finish_and_commit(
            session, request, caller, state, outcome.status, stored, outcome.body.get("id")
        )
        return Response(
            body, status_code=outcome.status, headers=_json_response_headers(key, False)
        )
    except BeyondpayError as error:
        return await _store_failure(session, request, caller, state, error, key)
    except Exception as exc:
        log_unexpected(method, route, exc)
        if mutation.recovery_point != RECOVERY_STARTED:
            # Work up to a recovery point is committed: a stored 500 would leave it half done
            # for good. The key stays at its recovery point and the retry resumes from there.
            with contextlib.suppress(Exception):
                await session.rollback()
            return _error_response(InternalError(), key)
        return await _store_failure(session, request, caller, state, InternalError(), key)


def _sealed_answer(request: Request, state: _KeyState, body: bytes) -> bytes:
    """A stored answer sealed under the key ring, bound to its key (it cannot be replayed for
    another merchant's key). A JSON body starts with ``{``, so the prefix is unambiguous."""
    ring: KeyRing = request.app.state.key_ring
    return _SEALED_ANSWER_PREFIX + ring.seal(body, context=state.lock_name).encode()


def _opened_answer(request: Request, state: _KeyState, stored: bytes) -> bytes:
    if not stored.startswith(_SEALED_ANSWER_PREFIX):
        return stored
    ring: KeyRing = request.app.state.key_ring
    return ring.open(stored[len(_SEALED_ANSWER_PREFIX) :].decode(), context=state.lock_name)


async def _claim(session: AsyncSession, state: _KeyState) -> tuple[int, bytes] | None:
    """Steps 1 and 2: the lock, then the stored row. A stored response to replay, or None to
    execute (``state.recovery_point`` says where to start)."""
    driver = await driver_connection(session)
    # Two statements, not one: under READ COMMITTED each statement takes its snapshot when it
    # starts, so the row is read after the lock is granted and sees whatever the lock's previous
    # holder committed. (Not pipelined: psycopg's pipeline costs more CPU than the round trip
    # it saves, measured with bench/api.py.)
    granted = await (await driver.execute(_TRY_LOCK_SQL, (state.lock_name,))).fetchone()
    if not granted or not granted[0]:
        raise IdempotencyConflictError()
    found = await driver.execute(_SELECT_KEY_SQL, (state.scope, state.caller.livemode, state.key))
    row = await found.fetchone()
    if row is None:
        return None
    route, method, fingerprint, recovery_point, status, body, updated_at = row
    if route != state.route or method != state.method:
        raise IdempotencyError(
            "Keys for idempotent requests can only be used for the same endpoint they were"
            f" first used for ({method} {route})."
        )
    if bytes(fingerprint) not in (state.accepted or (state.fingerprint,)):
        raise IdempotencyError()
    if status is not None and body is not None:
        return status, bytes(body)
    if (utcnow() - updated_at).total_seconds() < state.lease_s:
        raise IdempotencyConflictError()  # past a recovery point and, as far as we know, running
    state.recovery_point = recovery_point
    return None


async def _upsert_key(
    session: AsyncSession,
    state: _KeyState,
    recovery_point: str,
    status: int | None,
    body: bytes | None,
    *,
    only_unanswered: bool = False,
) -> None:
    """Writes the key's row at ``recovery_point``; with ``only_unanswered`` a stored answer
    (a duplicate's, written while our lock was released) is left alone."""
    driver = await driver_connection(session)
    await driver.execute(
        _UPSERT_UNANSWERED_KEY_SQL if only_unanswered else _UPSERT_KEY_SQL,
        _key_parameters(state, recovery_point, status, body),
    )


def _key_parameters(
    state: _KeyState, recovery_point: str, status: int | None, body: bytes | None
) -> tuple[Any, ...]:
    now = utcnow()
    return (
        state.scope,
        state.caller.livemode,
        state.key,
        state.method,
        state.route,
        state.fingerprint,
        recovery_point,
        status,
        body,
        state.request_id,
        now,
        now,
    )


async def _finish_and_commit(
    session: AsyncSession,
    request: Request,
    caller: Caller,
    state: _KeyState | None,
    status: int,
    body: bytes,
    object_id: Any,
) -> None:
    """Step 3's end: the audit record and the key's answer in one statement, then the commit
    (a failure of either raises here, before any response is sent)."""
    # Work the use case left in the session unflushed belongs in this transaction; the
    # driver's commit below would not see it.
    if session.new or session.dirty or session.deleted:
        await session.flush()
    driver = await driver_connection(session)
    audit_sql, audit_parameters = insert_statement(audit_record(request, caller, status, object_id))
    if state is None:
        await driver.execute(audit_sql, audit_parameters)
    else:
        key_parameters = _key_parameters(state, RECOVERY_FINISHED, status, body)
        await driver.execute(
            f"WITH audit AS ({audit_sql}) {_UPSERT_KEY_SQL}", audit_parameters + key_parameters
        )
    await driver.commit()
    request.state.audited = True
    # Ends the session's transaction; the driver has committed already, so this sends nothing.
    await session.commit()


async def _store_failure(
    session: AsyncSession,
    request: Request,
    caller: Caller,
    state: _KeyState | None,
    error: BeyondpayError,
    key: str | None,
) -> Response:
    body = orjson.dumps(error.to_dict())
    try:
        await session.rollback()
        if state is not None:
            # The lock went with the rollback; take it again before writing the answer. If a
            # duplicate ran in between, its answer stands (ours left no effect).
            granted = (await session.execute(_TRY_LOCK, {"name": state.lock_name})).scalar_one()
            if granted:
                await _upsert_key(
                    session, state, RECOVERY_FINISHED, error.status, body, only_unanswered=True
                )
        await audit(session, request, caller, error.status, error_code=error.code)
        await session.commit()
    except Exception as exc:  # the connection itself failed: the answer cannot be stored
        log_unexpected(request.method, route_template(request), exc)
        with contextlib.suppress(Exception):
            await session.rollback()
    return _error_response(error, key, body)


def _error_response(error: BeyondpayError, key: str | None, body: bytes | None = None) -> Response:
    headers = _json_response_headers(key, False)
    headers.update(error.headers or {})
    content = body if body is not None else orjson.dumps(error.to_dict())
    return Response(content, status_code=error.status, headers=headers)
