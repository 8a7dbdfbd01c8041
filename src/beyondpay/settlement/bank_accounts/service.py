"""Bank account use cases, on the caller's own account and mode, or on a connected account its
platform acts on (Connect). Never commits but through ``phases``.

A bank account is made in three phases, no lock of ours held while the bank answers
(docs/settlement.md, "Bank accounts"):

1. The currency's hold row is locked (upserted: the takeover guard's ``payouts_held_until``
   pushed to now plus the cooling period), so the accounts of one currency change their default
   one at a time; the account is written ``new`` with its number sealed, its event recorded, and
   a validation job deferred (the recovery: it runs the penny drop if this request dies before
   it); then ``phases.checkpoint("bank_account:<id>")`` commits.
2. The penny drop is asked outside any transaction, with the account's id as request id.
3. The account is locked again and the answer applied (:func:`_apply`): the holder's name
   matched → ``verified``, not → ``verification_failed``, no rupee credited → ``errored``, no
   answer (deemed) → still ``new``, and the job asks again later with the same request id.

Every create, update and delete is in the audit trail (the API's mutations write it), and the
account number never reaches an event, an error or a log: it is a ``SecretStr`` until sealed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final, Protocol

from pydantic import SecretStr
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db import jobs
from beyondpay.db.pagination import scoped, scoped_page
from beyondpay.db.phases import Phases
from beyondpay.events.service import previous_attributes
from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import ParameterMissingError, ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.kit.params import merge_metadata
from beyondpay.merchants.connected import connected_account_service
from beyondpay.merchants.domain import Caller
from beyondpay.merchants.kyc import check_account_number, check_holder_name, check_ifsc
from beyondpay.rails.protocol import (
    AccountValidationOutcome,
    AccountValidationRequest,
    BankAccountDestination,
)
from beyondpay.rails.service import account_validator_for
from beyondpay.settlement.bank_accounts import events
from beyondpay.settlement.bank_accounts.domain import (
    VALIDATION_ATTEMPTS_MAX,
    VALIDATION_RETRY_DELAYS_S,
    BankAccountStatus,
    bank_name,
    held_until,
    names_match,
    status_after,
)
from beyondpay.settlement.bank_accounts.errors import (
    BankAccountCountryUnsupportedError,
    BankAccountCurrencyUnsupportedError,
    BankAccountExistsError,
    DefaultBankAccountDeleteError,
    DefaultBankAccountUnsetError,
)
from beyondpay.settlement.bank_accounts.events import BankAccountEvent
from beyondpay.settlement.bank_accounts.models import BankAccountRow, PayoutAccountHoldRow
from beyondpay.settlement.bank_accounts.schemas import (
    ExternalAccountCreateParams,
    ExternalAccountListParams,
    ExternalAccountUpdateParams,
    ExternalBankAccountParams,
    bank_account_object,
)
from beyondpay.settlement.bank_accounts.settings import CONFIG

COUNTRY: Final = "IN"
CURRENCY: Final = "inr"
RECOVERY_PREFIX: Final = "bank_account:"
FINGERPRINT_CHARS: Final = 16  # Stripe's fingerprints are 16 characters
_PARAM: Final = "external_account"


class Owner(Protocol):
    """Whose payouts: a merchant in one mode (a ``Caller`` is one)."""

    @property
    def merchant(self) -> str: ...

    @property
    def livemode(self) -> bool: ...


def _seal_context(bank_account_id: str) -> str:
    return f"settlement.bank_account:{bank_account_id}"


def _fingerprint(ring: KeyRing, ifsc: str, number: str) -> str:
    return ring.fingerprint(f"bank_account:{ifsc}:{number}").hex()[:FINGERPRINT_CHARS]


async def account_caller(session: AsyncSession, caller: Caller, account: str) -> Caller:
    """The caller acting on ``{account}``: the caller's own account, or (Connect) a connected
    account of the caller's, acted as by the platform; 404 naming ``account`` otherwise."""
    return await connected_account_service.for_account(session, caller, account)


def _checked(params: ExternalBankAccountParams) -> tuple[str, str, str]:
    """The account number, the IFSC and the holder's name, normalised; 400 naming the
    parameter otherwise (KYC's checks, so that one account is one account everywhere)."""
    if params.country.upper() != COUNTRY:
        raise BankAccountCountryUnsupportedError(
            "Only bank accounts in India (country IN) can receive payouts.",
            param=f"{_PARAM}[country]",
        )
    if params.currency is not None and params.currency.lower() != CURRENCY:
        raise BankAccountCurrencyUnsupportedError(
            "A bank account in India receives payouts in inr.", param=f"{_PARAM}[currency]"
        )
    for field in ("routing_number", "account_holder_name"):
        if not getattr(params, field):
            raise ParameterMissingError.for_param(f"{_PARAM}[{field}]")
    number = check_account_number(
        params.account_number.get_secret_value(), f"{_PARAM}[account_number]"
    )
    ifsc = check_ifsc(str(params.routing_number), f"{_PARAM}[routing_number]")
    name = check_holder_name(str(params.account_holder_name), f"{_PARAM}[account_holder_name]")
    return number, ifsc, name


async def _hold_payouts(session: AsyncSession, merchant_id: str, livemode: bool) -> datetime:
    """Payouts wait the cooling period from now (never less than an earlier hold), and the
    currency's hold row stays locked to the end of the transaction: the accounts of one
    currency change their default one transaction at a time."""
    now = utcnow()
    until = held_until(now, CONFIG.current().cooling_period_h)
    statement = (
        pg_insert(PayoutAccountHoldRow)
        .values(
            merchant_id=merchant_id,
            livemode=livemode,
            currency=CURRENCY,
            held_until=until,
            updated_at=now,
        )
        .on_conflict_do_update(
            index_elements=["merchant_id", "livemode", "currency"],
            set_={
                "held_until": func.greatest(PayoutAccountHoldRow.held_until, until),
                "updated_at": now,
            },
        )
        .returning(PayoutAccountHoldRow.held_until)
    )
    held: datetime = (await session.execute(statement)).scalar_one()
    return held


async def _unset_default(session: AsyncSession, merchant_id: str, livemode: bool) -> None:
    """The currency's current default is no longer one (the hold row is locked)."""
    current = (
        (
            await session.execute(
                scoped(
                    BankAccountRow,
                    merchant_id,
                    livemode,
                    BankAccountRow.currency == CURRENCY,
                    BankAccountRow.default_for_currency.is_(True),
                    BankAccountRow.deleted_at.is_(None),
                )
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        )
        .scalars()
        .all()
    )
    for row in current:
        before = bank_account_object(row)
        row.default_for_currency = False
        row.updated_at = utcnow()
        await session.flush()
        after = bank_account_object(row)
        await events.record(
            session,
            row,
            BankAccountEvent.updated,
            object=after,
            previous_attributes=previous_attributes(before, after),
        )


async def _has_default(session: AsyncSession, merchant_id: str, livemode: bool) -> bool:
    found = await session.execute(
        select(BankAccountRow.id).where(
            BankAccountRow.merchant_id == merchant_id,
            BankAccountRow.livemode == livemode,
            BankAccountRow.currency == CURRENCY,
            BankAccountRow.default_for_currency.is_(True),
            BankAccountRow.deleted_at.is_(None),
        )
    )
    return found.first() is not None


async def _refuse_duplicate(session: AsyncSession, caller: Caller, fingerprint: str) -> None:
    """One account once per merchant and mode (the hold row is locked: two creates of the
    same account wait for each other, and the second is refused)."""
    found = await session.execute(
        scoped(
            BankAccountRow,
            caller.merchant,
            caller.livemode,
            BankAccountRow.fingerprint == fingerprint,
            BankAccountRow.deleted_at.is_(None),
        ).with_only_columns(BankAccountRow.id)
    )
    if found.first() is not None:
        raise BankAccountExistsError(
            "A bank account with that routing number and account number already exists for"
            " this account.",
            param="external_account[account_number]",
        )


def _request(row: BankAccountRow, number: SecretStr) -> AccountValidationRequest:
    return AccountValidationRequest(
        request_id=row.id,
        merchant_id=row.merchant_id,
        livemode=row.livemode,
        account_number=number,
        ifsc=row.routing_number,
        account_holder_name=row.account_holder_name,
    )


async def _defer_validation(session: AsyncSession, row: BankAccountRow) -> None:
    """The penny drop asked again later (and, for a request that dies between its phases, the
    one that finishes it): a job, deferred in this transaction."""
    from beyondpay.settlement.bank_accounts.tasks import validate_bank_account

    delay_index = min(max(row.validation_attempts - 1, 0), len(VALIDATION_RETRY_DELAYS_S) - 1)
    await jobs.defer(
        session,
        validate_bank_account,
        schedule_in_s=VALIDATION_RETRY_DELAYS_S[delay_index],
        bank_account_id=row.id,
        attempt=row.validation_attempts,
    )


async def _locked(session: AsyncSession, bank_account_id: str) -> BankAccountRow:
    row: BankAccountRow = (
        await session.execute(
            select(BankAccountRow)
            .where(BankAccountRow.id == bank_account_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    return row


async def _apply(
    session: AsyncSession,
    row: BankAccountRow,
    outcome: AccountValidationOutcome,
    attempt: int,
    *,
    retry_queued: bool,
) -> None:
    """The penny drop's answer about a locked account; an account no longer ``new`` (a repeat,
    a concurrent job) or deleted ignores it. No answer: asked again by a job (``retry_queued``:
    the one deferred with the account already is it)."""
    if row.status != BankAccountStatus.new or row.deleted_at is not None:
        return
    status = status_after(outcome.status, row.account_holder_name, outcome.name_at_bank)
    failure_code: str | None = outcome.failure_code
    if status is None:
        if retry_queued or row.validation_attempts != attempt:
            return  # a job asks again (or a later try is under way and will)
        if row.validation_attempts < VALIDATION_ATTEMPTS_MAX:
            await _defer_validation(session, row)
            return
        status, failure_code = BankAccountStatus.errored, "bank_timeout"
    elif status is BankAccountStatus.verification_failed:
        failure_code = "name_mismatch"
    before = bank_account_object(row)
    row.status = status.value
    row.name_at_bank = outcome.name_at_bank
    row.validation_failure_code = failure_code
    row.updated_at = utcnow()
    await session.flush()
    after = bank_account_object(row)
    await events.record(
        session,
        row,
        BankAccountEvent.updated,
        object=after,
        previous_attributes=previous_attributes(before, after),
    )


async def _penny_drop(
    session: AsyncSession,
    phases: Phases,
    request: AccountValidationRequest,
    attempt: int,
    *,
    retry_queued: bool = False,
) -> BankAccountRow:
    """Phases 2 and 3: commit, ask the bank outside any transaction, apply its answer."""
    await phases.checkpoint(f"{RECOVERY_PREFIX}{request.request_id}")
    validator = account_validator_for(request.livemode)
    invariant(validator is not None, "a penny drop is asked only where a bank validates")
    assert validator is not None
    outcome = await validator.validate(session, request)
    invariant(outcome.request_id == request.request_id, "the bank answered the request asked")
    row = await _locked(session, request.request_id)
    await _apply(session, row, outcome, attempt, retry_queued=retry_queued)
    return row


class BankAccountService:
    async def create(
        self,
        session: AsyncSession,
        caller: Caller,
        account: str,
        params: ExternalAccountCreateParams,
        phases: Phases,
    ) -> BankAccountRow:
        caller = await account_caller(session, caller, account)
        if phases.recovery_point.startswith(RECOVERY_PREFIX):
            # A retry of a request that died after its first phase: the same account, finished
            # by the penny drop the job would otherwise ask.
            made = phases.recovery_point.removeprefix(RECOVERY_PREFIX)
            return await self.validate(session, made, phases)
        number, ifsc, name = _checked(params.external_account)
        ring = CONFIG.current().ring
        await _hold_payouts(session, caller.merchant, caller.livemode)
        fingerprint = _fingerprint(ring, ifsc, number)
        await _refuse_duplicate(session, caller, fingerprint)
        make_default = params.default_for_currency is True or not await _has_default(
            session, caller.merchant, caller.livemode
        )
        if make_default:
            await _unset_default(session, caller.merchant, caller.livemode)
        now = utcnow()
        row = BankAccountRow(
            id=new_id("ba"),
            merchant_id=caller.merchant,
            livemode=caller.livemode,
            account_holder_name=name,
            account_holder_type=params.external_account.account_holder_type,
            routing_number=ifsc,
            bank_name=bank_name(ifsc),
            country=COUNTRY,
            currency=CURRENCY,
            last4=number[-4:],
            fingerprint=fingerprint,
            account_number_sealed="",
            status=BankAccountStatus.new.value,
            default_for_currency=make_default,
            metadata_=merge_metadata(
                {}, params.metadata if isinstance(params.metadata, dict) else None
            ),
            name_at_bank=None,
            validation_failure_code=None,
            validation_attempts=0,
            created_at=now,
            updated_at=now,
            deleted_at=None,
        )
        row.account_number_sealed = ring.seal(number.encode(), _seal_context(row.id))
        session.add(row)
        await session.flush()
        await events.record(session, row, BankAccountEvent.created)
        if account_validator_for(caller.livemode) is None:
            return row  # no bank to ask (live mode for now): the account stays new
        row.validation_attempts = 1
        await session.flush()
        await _defer_validation(session, row)
        request = _request(row, SecretStr(number))
        return await _penny_drop(session, phases, request, 1, retry_queued=True)

    async def validate(
        self, session: AsyncSession, bank_account_id: str, phases: Phases
    ) -> BankAccountRow:
        """The penny drop of an account still ``new`` (the job's, and a resumed request's):
        asked again with the same request id, so the bank credits its rupee once."""
        row = await _locked(session, bank_account_id)
        if (
            row.status != BankAccountStatus.new
            or row.deleted_at is not None
            or account_validator_for(row.livemode) is None
        ):
            return row
        row.validation_attempts += 1
        row.updated_at = utcnow()
        await session.flush()
        ring = CONFIG.current().ring
        number = ring.open(row.account_number_sealed, _seal_context(row.id)).decode()
        request = _request(row, SecretStr(number))
        return await _penny_drop(session, phases, request, row.validation_attempts)

    async def get(
        self,
        session: AsyncSession,
        caller: Caller,
        account: str,
        bank_account_id: str,
        *,
        for_update: bool = False,
    ) -> BankAccountRow:
        """The caller's account (not deleted); 404 naming ``account`` or ``id`` otherwise."""
        caller = await account_caller(session, caller, account)
        statement = scoped(
            BankAccountRow,
            caller.merchant,
            caller.livemode,
            BankAccountRow.id == bank_account_id,
            BankAccountRow.deleted_at.is_(None),
        )
        if for_update:
            statement = statement.with_for_update().execution_options(populate_existing=True)
        row: BankAccountRow | None = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object("external account", bank_account_id)
        return row

    async def update(
        self,
        session: AsyncSession,
        caller: Caller,
        account: str,
        bank_account_id: str,
        params: ExternalAccountUpdateParams,
    ) -> BankAccountRow:
        caller = await account_caller(session, caller, account)
        sent = params.model_fields_set
        make_default = "default_for_currency" in sent and params.default_for_currency is True
        if "default_for_currency" in sent and params.default_for_currency is not True:
            await self.get(session, caller, account, bank_account_id)  # 404 first
            raise DefaultBankAccountUnsetError(
                "You cannot unset the default for a currency: make another bank account its"
                " default with default_for_currency=true instead.",
                param="default_for_currency",
            )
        name = None
        if "account_holder_name" in sent:
            name = check_holder_name(params.account_holder_name or "", "account_holder_name")
        row = await self.get(session, caller, account, bank_account_id)
        if make_default and not row.default_for_currency:
            # The hold row first, then the accounts: the one order every change takes.
            await _hold_payouts(session, caller.merchant, caller.livemode)
            await _unset_default(session, caller.merchant, caller.livemode)
        row = await self.get(session, caller, account, bank_account_id, for_update=True)
        before = bank_account_object(row)
        if make_default:
            row.default_for_currency = True
        if name is not None:
            row.account_holder_name = name
            if row.name_at_bank is not None and row.status in (
                BankAccountStatus.verified,
                BankAccountStatus.verification_failed,
            ):
                # The bank already told us its name: the new one is matched against it.
                matched = names_match(name, row.name_at_bank)
                row.status = (
                    BankAccountStatus.verified if matched else BankAccountStatus.verification_failed
                ).value
                row.validation_failure_code = None if matched else "name_mismatch"
        if "account_holder_type" in sent:
            row.account_holder_type = params.account_holder_type
        if "metadata" in sent:
            metadata = params.metadata if isinstance(params.metadata, dict) else {}
            row.metadata_ = merge_metadata(row.metadata_, metadata)
        row.updated_at = utcnow()
        await session.flush()
        after = bank_account_object(row)
        previous = previous_attributes(before, after)
        if previous:
            await events.record(
                session, row, BankAccountEvent.updated, object=after, previous_attributes=previous
            )
        return row

    async def delete(
        self, session: AsyncSession, caller: Caller, account: str, bank_account_id: str
    ) -> BankAccountRow:
        caller = await account_caller(session, caller, account)
        row = await self.get(session, caller, account, bank_account_id, for_update=True)
        if row.default_for_currency:
            raise DefaultBankAccountDeleteError(
                "You cannot delete the default external account for a currency. Make another"
                " external account the default using the default_for_currency param, and then"
                " delete this one.",
                param="id",
            )
        await events.record(session, row, BankAccountEvent.deleted)
        await session.execute(
            update(BankAccountRow).where(BankAccountRow.id == row.id).values(deleted_at=utcnow())
        )
        row.deleted_at = utcnow()
        return row

    async def list(
        self, session: AsyncSession, caller: Caller, account: str, params: ExternalAccountListParams
    ) -> tuple[Sequence[BankAccountRow], bool]:
        caller = await account_caller(session, caller, account)
        conditions: list[Any] = [BankAccountRow.deleted_at.is_(None)]
        if params.object == "card":
            conditions.append(BankAccountRow.id.is_(None))  # a merchant has no cards to pay to
        return await scoped_page(
            session,
            BankAccountRow,
            caller.merchant,
            caller.livemode,
            params,
            *conditions,
            object_name="external account",
        )

    async def payouts_held_until(
        self, session: AsyncSession, merchant: Owner, currency: str
    ) -> datetime | None:
        """Until when payouts of ``merchant`` in ``currency`` must wait because the payout
        account was added or changed (the takeover guard); None when they need not."""
        held = (
            await session.execute(
                select(PayoutAccountHoldRow.held_until).where(
                    PayoutAccountHoldRow.merchant_id == merchant.merchant,
                    PayoutAccountHoldRow.livemode == merchant.livemode,
                    PayoutAccountHoldRow.currency == currency.lower(),
                )
            )
        ).scalar_one_or_none()
        return held if held is not None and held > utcnow() else None

    async def payout_account(
        self, session: AsyncSession, merchant: Owner, currency: str
    ) -> BankAccountRow | None:
        """The currency's default account, where payouts go (payouts check its status)."""
        row: BankAccountRow | None = (
            await session.execute(
                scoped(
                    BankAccountRow,
                    merchant.merchant,
                    merchant.livemode,
                    BankAccountRow.currency == currency.lower(),
                    BankAccountRow.default_for_currency.is_(True),
                    BankAccountRow.deleted_at.is_(None),
                )
            )
        ).scalar_one_or_none()
        return row

    async def payout_destination(
        self, session: AsyncSession, merchant: Owner, bank_account_id: str
    ) -> BankAccountDestination | None:
        """Where a payout to ``bank_account_id`` goes, its number opened for the rail (a
        ``SecretStr``: never logged); None when the account is gone (deleted)."""
        row: BankAccountRow | None = (
            await session.execute(
                scoped(
                    BankAccountRow,
                    merchant.merchant,
                    merchant.livemode,
                    BankAccountRow.id == bank_account_id,
                    BankAccountRow.deleted_at.is_(None),
                )
            )
        ).scalar_one_or_none()
        if row is None:
            return None
        number = CONFIG.current().ring.open(row.account_number_sealed, _seal_context(row.id))
        return BankAccountDestination(SecretStr(number.decode()), row.routing_number)


bank_account_service = BankAccountService()
