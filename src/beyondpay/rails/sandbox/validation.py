"""The sandbox bank's penny drop: ₹1 credited by IMPS to the account, and the beneficiary
bank's answer with the holder's name as it has it (``rails.protocol.AccountValidator``).

Every account number validates and its bank holds the name the caller gave, in capitals (as
banks print names), but these magic numbers (any IFSC), documented in docs/settlement.md:

- ``000111111113``: the account is closed (IMPS ``M5``): ``failed``, ``account_closed``;
- ``000111111116``: no such account (``M1``): ``failed``, ``no_account``;
- ``000222222227``: the bank holds another holder's name (``SANDBOX OTHER HOLDER``);
- ``000333333335``: the bank does not answer in time once (``08``, deemed): ``pending``, then
  the rupee credited when asked again with the same request id;
- ``000444444440``: the bank never answers in time: ``pending`` every time;
- ``000555555550``: the bank holds the given names as initials (``ASHA RAO KUMAR`` →
  ``A R KUMAR``), which the caller's match accepts.

The answer is kept by request id (``sandbox_account_validations``), so asking again is the same
penny drop: the rupee is credited once, and a repeat gets the first answer (a pending one is
asked of the bank again). Like the other sandbox rails, it runs in a short transaction of its
own on the caller's idle session; the account number itself is never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.clock import utcnow
from beyondpay.kit.ids import new_id
from beyondpay.rails.models import SandboxAccountValidationRow as Row
from beyondpay.rails.protocol import AccountValidationOutcome, AccountValidationRequest
from beyondpay.rails.sandbox.common import own_transaction

PENNY_DROP_AMOUNT_MINOR: Final = 100  # ₹1
ACCOUNT_CLOSED: Final = "000111111113"
NO_ACCOUNT: Final = "000111111116"
NAME_MISMATCH: Final = "000222222227"
TIMES_OUT_ONCE: Final = "000333333335"
TIMES_OUT: Final = "000444444440"
INITIALS: Final = "000555555550"
OTHER_HOLDER_NAME: Final = "SANDBOX OTHER HOLDER"


@dataclass(frozen=True, slots=True)
class _Answer:
    status: Literal["succeeded", "failed", "pending"]
    code: str
    failure_code: str | None = None
    name_at_bank: str | None = None

    @property
    def amount_minor(self) -> int:
        return PENNY_DROP_AMOUNT_MINOR if self.status == "succeeded" else 0


def _initials(name: str) -> str:
    words = name.upper().split()
    return " ".join([word[0] for word in words[:-1]] + words[-1:])


def sandbox_answer(account_number: str, holder_name: str, attempt: int) -> _Answer:
    """What the sandbox bank answers to the ``attempt``-th asking (1 the first)."""
    if account_number == ACCOUNT_CLOSED:
        return _Answer("failed", "M5", failure_code="account_closed")
    if account_number == NO_ACCOUNT:
        return _Answer("failed", "M1", failure_code="no_account")
    if account_number == TIMES_OUT or (account_number == TIMES_OUT_ONCE and attempt == 1):
        return _Answer("pending", "08")
    if account_number == NAME_MISMATCH:
        return _Answer("succeeded", "00", name_at_bank=OTHER_HOLDER_NAME)
    if account_number == INITIALS:
        return _Answer("succeeded", "00", name_at_bank=_initials(holder_name))
    return _Answer("succeeded", "00", name_at_bank=holder_name.upper())


def _outcome(row: Row) -> AccountValidationOutcome:
    status: Literal["succeeded", "failed", "pending"] = row.status  # type: ignore[assignment]
    return AccountValidationOutcome(
        request_id=row.request_id,
        status=status,
        reference=row.reference,
        code=row.code,
        amount_minor=row.amount_minor,
        name_at_bank=row.name_at_bank,
        failure_code=row.failure_code,
    )


class SandboxAccountValidator:
    async def validate(
        self, session: AsyncSession, request: AccountValidationRequest
    ) -> AccountValidationOutcome:
        number = request.account_number.get_secret_value()
        now = utcnow()
        first = sandbox_answer(number, request.account_holder_name, 1)
        async with own_transaction(session):
            inserted = (
                await session.execute(
                    pg_insert(Row)
                    .values(
                        request_id=request.request_id,
                        reference=f"imps_ref_{new_id('r').partition('_')[2]}",
                        status=first.status,
                        code=first.code,
                        failure_code=first.failure_code,
                        name_at_bank=first.name_at_bank,
                        amount_minor=first.amount_minor,
                        attempts=1,
                        created_at=now,
                        updated_at=now,
                    )
                    .on_conflict_do_nothing(index_elements=["request_id"])
                    .returning(Row.request_id)
                )
            ).first()
            row = (
                await session.execute(
                    select(Row)
                    .where(Row.request_id == request.request_id)
                    .with_for_update()
                    .execution_options(populate_existing=True)
                )
            ).scalar_one()
            if inserted is None and row.status == "pending":
                # A deemed credit asked about again: the bank answers now, or still does not.
                row.attempts += 1
                answer = sandbox_answer(number, request.account_holder_name, row.attempts)
                row.status, row.code = answer.status, answer.code
                row.failure_code, row.name_at_bank = answer.failure_code, answer.name_at_bank
                row.amount_minor, row.updated_at = answer.amount_minor, now
                await session.flush()
            outcome = _outcome(row)
        return outcome
