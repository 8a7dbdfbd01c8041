"""PSP banking routes under ``/v1/psp/bank_accounts``: discover, link, primary, unlink, the UPI
PIN and balance inquiry. Called with a payer's session.

A counted refusal (a wrong PIN or debit card) is the mutation's answer, not an exception, so
that the try it counted commits (``answered=``; see ``banking.errors``). Discovery is a POST: it
asks the banks (NPCI's ReqListAccount), which open the sandbox accounts on first discovery, so
it writes and must be idempotent.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import Path, Request

from beyondpay.api.lists import list_object, list_of
from beyondpay.api.mutation import Outcome
from beyondpay.api.routing import Body, Listed, Query, Router
from beyondpay.kit.clock import unix_now
from beyondpay.psp.banking.errors import CountedRefusalError
from beyondpay.psp.banking.models import BankAccountRow
from beyondpay.psp.banking.schemas import (
    BalanceParams,
    BankAccountListParams,
    DiscoverParams,
    LinkParams,
    PinChangeParams,
    PinSetParams,
    PspBankAccount,
    PspBankAccountBalance,
    PspDiscoveredBankAccount,
    balance_object,
    bank_account_object,
    discovered_object,
)
from beyondpay.psp.banking.service import BALANCE_CURRENCY, bank_account_service
from beyondpay.psp.identity.auth import Payer, PayerCall

router = Router(prefix="/v1/psp/bank_accounts", tags=["psp"])

BankAccountId = Annotated[
    str, Path(max_length=255, description="The linked bank account's id (`pba_…`).")
]
DiscoveredList = list_of(PspDiscoveredBankAccount)


# The 402s of counted refusals: each a `card_error`, as Stripe answers a declined card.
PIN_REFUSED: Final = (
    "A `card_error`: a wrong UPI PIN (`incorrect_pin`, decline_code ZM) or a locked one"
    " (`pin_tries_exceeded`, Z6); the try is counted."
)
CARD_REFUSED: Final = (
    "A `card_error`: a wrong debit card (`card_verification_failed`) or a bank's card checks"
    " locked after too many (`card_tries_exceeded`); the try is counted."
)
COUNTED: Final = (CountedRefusalError,)


async def _rendered(payer: PayerCall, row: BankAccountRow) -> dict[str, Any]:
    return bank_account_object(row, await bank_account_service.pin_state(payer.session, row))


@router.post("/discover", returns=DiscoveredList)
async def discover_bank_accounts(
    request: Request, payer: Payer, _: Body[DiscoverParams]
) -> Outcome:
    """Discover your accounts at the banks by your registered mobile number."""
    found = await bank_account_service.discover(payer.session, payer.ring, payer.id)
    data = [discovered_object(item.info, linked=item.linked, pin=item.pin) for item in found]
    return Outcome(list_object(request.url.path, data, has_more=False))


@router.post("", returns=PspBankAccount, responses={402: CARD_REFUSED}, answered=COUNTED)
async def link_bank_account(payer: Payer, params: Body[LinkParams]) -> Outcome:
    """Link a discovered bank account, verified with its debit card."""
    row = await bank_account_service.link(payer.session, payer.ring, payer.id, params)
    return Outcome(await _rendered(payer, row))


@router.get("", returns=PspBankAccount)
async def list_bank_accounts(payer: Payer, _: Query[BankAccountListParams]) -> Listed:
    """List your linked bank accounts."""
    rows = await bank_account_service.list(payer.session, payer.id)
    pins = await bank_account_service.pin_states(payer.session, [row.account_ref for row in rows])
    return Listed([bank_account_object(row, pins[row.account_ref]) for row in rows])


@router.get("/{bank_account}", returns=PspBankAccount)
async def retrieve_bank_account(bank_account: BankAccountId, payer: Payer) -> dict[str, Any]:
    """Retrieve a linked bank account."""
    row = await bank_account_service.get(payer.session, payer.id, bank_account)
    return await _rendered(payer, row)


@router.post("/{bank_account}/primary", returns=PspBankAccount)
async def make_primary(bank_account: BankAccountId, payer: Payer) -> Outcome:
    """Make a linked bank account your primary one."""
    row = await bank_account_service.make_primary(payer.session, payer.id, bank_account)
    return Outcome(await _rendered(payer, row))


@router.delete("/{bank_account}", returns=PspBankAccount)
async def unlink_bank_account(bank_account: BankAccountId, payer: Payer) -> Outcome:
    """Unlink a bank account."""
    row = await bank_account_service.unlink(payer.session, payer.id, bank_account)
    return Outcome(await _rendered(payer, row))


@router.post(
    "/{bank_account}/pin", returns=PspBankAccount, responses={402: CARD_REFUSED}, answered=COUNTED
)
async def set_pin(bank_account: BankAccountId, payer: Payer, params: Body[PinSetParams]) -> Outcome:
    """Set the UPI PIN (first time, forgotten or locked) with the debit card."""
    row = await bank_account_service.set_pin(
        payer.session, payer.ring, payer.id, bank_account, params
    )
    return Outcome(await _rendered(payer, row))


@router.post(
    "/{bank_account}/pin/change",
    returns=PspBankAccount,
    responses={402: PIN_REFUSED},
    answered=COUNTED,
)
async def change_pin(
    bank_account: BankAccountId, payer: Payer, params: Body[PinChangeParams]
) -> Outcome:
    """Change the UPI PIN with the current one."""
    row = await bank_account_service.change_pin(
        payer.session, payer.ring, payer.id, bank_account, params
    )
    return Outcome(await _rendered(payer, row))


@router.post(
    "/{bank_account}/balance",
    returns=PspBankAccountBalance,
    responses={402: PIN_REFUSED},
    answered=COUNTED,
)
async def inquire_balance(
    bank_account: BankAccountId, payer: Payer, params: Body[BalanceParams]
) -> Outcome:
    """Ask the bank for the account's balance, with the UPI PIN."""
    row, available = await bank_account_service.balance(
        payer.session, payer.ring, payer.id, bank_account, params.pin
    )
    answer = balance_object(row.id, available, BALANCE_CURRENCY, unix_now())
    # Kept for an idempotent replay sealed: a balance is the payer's own business.
    return Outcome(answer, sealed=True)
