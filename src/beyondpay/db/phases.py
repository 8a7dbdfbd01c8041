"""Atomic phases: how a use case that calls a network peer commits before the call.

No transaction or row lock of ours is held across a call to a rail, a bank or any other peer.
A use case does its first phase in the caller's transaction and ends it with
``await phases.checkpoint("<what was asked>:<request id>")``: the work so far commits, with a
recovery point naming what the peer was asked. It then calls the peer outside any transaction
(the session is idle) and applies the answer in a second short transaction, which the request
or job commits as usual. A process killed between the phases is finished by the retry with the
same ``Idempotency-Key`` (which finds ``phases.recovery_point``) or by the module's
reconciliation job, and the peer's request id makes asking again harmless.

The API's ``Mutation`` is one implementation (it keeps the recovery point with the idempotency
key); :class:`JobPhases` is the one for background jobs, whose work is idempotent by itself.
"""

from __future__ import annotations

from typing import Final, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

STARTED: Final = "started"


class Phases(Protocol):
    recovery_point: str

    async def checkpoint(self, recovery_point: str) -> None:
        """Commit the work so far; a retry resumes at ``recovery_point``."""
        ...


class JobPhases:
    """A job's phases: a checkpoint commits; a job run again starts over (its work is
    idempotent: the records of the first phase say what was asked)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.recovery_point = STARTED

    async def checkpoint(self, recovery_point: str) -> None:
        await self.session.commit()
        self.recovery_point = recovery_point
