"""The sandbox UPI switch: ``rails.protocol.Switch`` over the sandbox banks (``accounts``,
``banks``), push payments (``push``) and the UPI connector's collects (``upi``)."""

from __future__ import annotations

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.crypto import KeyRing
from beyondpay.rails.protocol import BankAccountInfo, IntentPayee, PushRequest, Rail, RailOutcome
from beyondpay.rails.sandbox import accounts, banks, push
from beyondpay.rails.sandbox.common import own_transaction
from beyondpay.rails.sandbox.upi import SandboxUpiConnector


class SandboxSwitch:
    async def discover_accounts(
        self, session: AsyncSession, ring: KeyRing, mobile: SecretStr, holder_name: str
    ) -> list[BankAccountInfo]:
        return await accounts.discover_accounts(session, ring, mobile, holder_name)

    def verify_debit_card(
        self,
        ring: KeyRing,
        mobile: SecretStr,
        bank: str,
        last6: SecretStr,
        expiry_month: int,
        expiry_year: int,
    ) -> bool:
        return accounts.verify_debit_card(ring, mobile, bank, last6, expiry_month, expiry_year)

    async def account_balance(self, session: AsyncSession, account_ref: str) -> int:
        return await accounts.account_balance(session, account_ref)

    async def open_account(
        self,
        session: AsyncSession,
        ring: KeyRing,
        bank: str,
        holder: SecretStr,
        *,
        opening_balance_minor: int = banks.OPENING_BALANCE_MINOR_DEFAULT,
    ) -> str:
        return await banks.open_payer_account(
            session, ring, bank, holder, opening_balance_minor=opening_balance_minor
        )

    async def intent_payee(
        self, session: AsyncSession, vpa: str, reference: str | None
    ) -> IntentPayee | None:
        return await push.intent_payee(session, vpa, reference)

    async def push(self, session: AsyncSession, request: PushRequest) -> RailOutcome:
        return await push.upi_push(session, request)

    async def push_status(self, session: AsyncSession, reference: str) -> RailOutcome:
        return await push.upi_push_status(session, reference)

    async def answer_collect(
        self,
        session: AsyncSession,
        reference: str,
        *,
        approve: bool,
        payer_account_ref: str | None = None,
    ) -> RailOutcome:
        """Approve pays the collect from ``payer_account_ref`` (a ``BankAccountInfo.account_ref``),
        decline refuses it (ZA). The switch answers in a transaction of its own (the caller must
        not be in one): the collect reaches its final state and every outcome handler hears it
        there, as from the rail's callback; after expiry the answer is U69, and a second answer
        changes nothing (the current outcome is returned)."""
        connector = SandboxUpiConnector()
        await connector.config.sleep_latency(Rail.upi)
        async with own_transaction(session):
            return await connector.answer(
                session, reference, approve=approve, payer_account_ref=payer_account_ref
            )
