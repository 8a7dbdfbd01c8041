"""Merchants, KYC review and API keys, through the service on real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock
from beyondpay.kit.crypto import KeyRingError
from beyondpay.kit.errors import AuthenticationError, BeyondpayError, ParameterMissingError
from beyondpay.merchants.domain import Caller, KeyKind, MerchantStatus
from beyondpay.merchants.errors import (
    AccountHolderNameInvalidError,
    ApiKeyExpiredError,
    ApiKeyUnexpectedStateError,
    BankAccountNumberInvalidError,
    GstinInvalidError,
    GstinPanMismatchError,
    IfscInvalidError,
    KycDocumentUnexpectedStateError,
    LastApiKeyError,
    PanInvalidError,
    ScopeInvalidError,
    ScopeNotGrantableError,
)
from beyondpay.merchants.kyc import KycKind, KycStatus, checked_details, gstin_check_character
from beyondpay.merchants.models import KycDocumentRow
from beyondpay.merchants.service import (
    api_key_service,
    checked_scopes,
    kyc_service,
    merchant_service,
)
from tests.support import ring_for_tests

PAN = "AAPFU0939F"
GSTIN = "27AAPFU0939F1ZV"  # a published, valid GSTIN embedding PAN
ACCOUNT_NUMBER = "000123456789012"
BANK = {"account_number": ACCOUNT_NUMBER, "ifsc": "HDFC0001234", "account_holder_name": "Acme"}


def test_gstin_check_character_of_published_numbers() -> None:
    for gstin in (GSTIN, "29AAGCB7383J1Z4", "07AACCM9910C1ZP", "33AAACH7409R1Z8"):
        assert gstin_check_character(gstin[:14]) == gstin[14]


@pytest.mark.parametrize(
    ("kind", "sent", "error", "param"),
    [
        (KycKind.pan, {"number": "AAPF0939FU"}, PanInvalidError, "pan[number]"),
        (KycKind.pan, {"number": "AAPFU0939"}, PanInvalidError, "pan[number]"),
        (KycKind.pan, {}, ParameterMissingError, "pan[number]"),
        (KycKind.gst, {"number": "27AAPFU0939F1ZW"}, GstinInvalidError, "gst[number]"),
        (KycKind.gst, {"number": "27AAPFU0939F1Z"}, GstinInvalidError, "gst[number]"),
        (KycKind.gst, {"number": "00AAPFU0939F1ZV"}, GstinInvalidError, "gst[number]"),
        (
            KycKind.bank_account,
            {**BANK, "ifsc": "HDFC1001234"},
            IfscInvalidError,
            "bank_account[ifsc]",
        ),
        (
            KycKind.bank_account,
            {**BANK, "account_number": "12345678"},
            BankAccountNumberInvalidError,
            "bank_account[account_number]",
        ),
        (
            KycKind.bank_account,
            {**BANK, "account_number": "1234567890123456789"},
            BankAccountNumberInvalidError,
            "bank_account[account_number]",
        ),
        (
            KycKind.bank_account,
            {**BANK, "account_holder_name": "x" * 141},
            AccountHolderNameInvalidError,
            "bank_account[account_holder_name]",
        ),
    ],
)
def test_malformed_details_are_refused_naming_the_param(
    kind: KycKind, sent: dict[str, str], error: type[BeyondpayError], param: str
) -> None:
    with pytest.raises(error) as raised:
        checked_details(kind, sent)
    assert raised.value.param == param
    assert raised.value.status == 400
    for value in sent.values():
        assert value not in raised.value.message


def test_details_are_normalized() -> None:
    assert checked_details(KycKind.pan, {"number": " aapfu 0939f "}) == {"number": PAN}
    bank = checked_details(KycKind.bank_account, {**BANK, "ifsc": "hdfc0001234"})
    assert bank["ifsc"] == "HDFC0001234"


async def _merchant(database: Database) -> str:
    async with database.unit_of_work() as session:
        created = await merchant_service.create(session, ring_for_tests(), name="Acme")
    return created.id


async def _submit(database: Database, merchant_id: str, kind: KycKind, sent: dict[str, str]) -> str:
    async with database.unit_of_work() as session:
        view = await kyc_service.submit(session, ring_for_tests(), merchant_id, kind, sent)
    return view.id


async def _status(database: Database, merchant_id: str) -> MerchantStatus:
    async with database.unit_of_work() as session:
        return (await merchant_service.account(session, merchant_id)).status


async def test_kyc_lifecycle_activates_on_pan_and_bank_account(database: Database) -> None:
    merchant_id = await _merchant(database)
    pan = await _submit(database, merchant_id, KycKind.pan, {"number": PAN})
    bank = await _submit(database, merchant_id, KycKind.bank_account, BANK)
    async with database.unit_of_work() as session:
        rejected = await kyc_service.reject(session, bank, "The name does not match the PAN.")
        await kyc_service.approve(session, pan)
    assert rejected.status is KycStatus.rejected
    assert rejected.rejection_reason == "The name does not match the PAN."
    assert await _status(database, merchant_id) is MerchantStatus.pending_kyc

    async with database.unit_of_work() as session:
        with pytest.raises(KycDocumentUnexpectedStateError):
            await kyc_service.approve(session, bank)

    again = await _submit(database, merchant_id, KycKind.bank_account, BANK)
    async with database.unit_of_work() as session:
        approved = await kyc_service.approve(session, again)
        account = await merchant_service.account(session, merchant_id)
    masked = {"last4": "9012", "ifsc": "HDFC0001234", "account_holder_name": "Acme"}
    assert approved.details == masked
    assert account.status is MerchantStatus.active
    assert account.kyc_approved == {KycKind.pan, KycKind.bank_account}


async def test_details_are_sealed_to_their_document(database: Database) -> None:
    merchant_id = await _merchant(database)
    document_id = await _submit(database, merchant_id, KycKind.bank_account, BANK)
    other_id = await _submit(database, merchant_id, KycKind.pan, {"number": PAN})
    async with database.unit_of_work() as session:
        row = await session.get(KycDocumentRow, document_id)
        assert row is not None
        assert ACCOUNT_NUMBER not in row.details_sealed
        assert ACCOUNT_NUMBER not in orjson.dumps(row.details_masked).decode()
        ring = ring_for_tests()
        opened = orjson.loads(ring.open(row.details_sealed, context=document_id))
        assert opened["account_number"] == ACCOUNT_NUMBER
        with pytest.raises(KeyRingError):
            ring.open(row.details_sealed, context=other_id)


async def _document_statuses(session: AsyncSession) -> dict[str, str]:
    rows = await session.execute(select(KycDocumentRow.id, KycDocumentRow.status))
    return {document_id: status for document_id, status in rows}


async def test_a_new_document_supersedes_the_pending_one_and_later_the_approved_one(
    database: Database,
) -> None:
    merchant_id = await _merchant(database)
    first = await _submit(database, merchant_id, KycKind.pan, {"number": PAN})
    second = await _submit(database, merchant_id, KycKind.pan, {"number": PAN})
    async with database.unit_of_work() as session:
        await kyc_service.approve(session, second)
    third = await _submit(database, merchant_id, KycKind.pan, {"number": PAN})
    async with database.unit_of_work() as session:
        statuses = await _document_statuses(session)
    # The approved PAN stays in force while its replacement awaits review.
    assert statuses == {first: "superseded", second: "approved", third: "pending_review"}
    async with database.unit_of_work() as session:
        await kyc_service.approve(session, third)
        statuses = await _document_statuses(session)
    assert statuses[second] == "superseded"
    assert statuses[third] == "approved"


async def test_a_gstin_must_embed_the_pan_on_file(database: Database) -> None:
    merchant_id = await _merchant(database)
    await _submit(database, merchant_id, KycKind.pan, {"number": "ABCDE1234F"})
    with pytest.raises(GstinPanMismatchError) as raised:
        await _submit(database, merchant_id, KycKind.gst, {"number": GSTIN})
    assert raised.value.param == "gst[number]"
    await _submit(database, merchant_id, KycKind.pan, {"number": PAN})
    await _submit(database, merchant_id, KycKind.gst, {"number": GSTIN})


async def test_suspension_and_reactivation(database: Database) -> None:
    merchant_id = await _merchant(database)
    async with database.unit_of_work() as session:
        suspended = await merchant_service.suspend(session, merchant_id, "Chargebacks")
    assert (suspended.status, suspended.status_reason) == (MerchantStatus.suspended, "Chargebacks")
    async with database.unit_of_work() as session:
        back = await merchant_service.reactivate(session, merchant_id)
    # No approved KYC: back to pending, not to active.
    assert (back.status, back.status_reason) == (MerchantStatus.pending_kyc, None)


def _caller(merchant_id: str, livemode: bool = False) -> Caller:
    return Caller("key_x", KeyKind.secret, livemode, merchant_id, MerchantStatus.active)


def test_scopes_are_checked() -> None:
    assert checked_scopes(["customers:read", "ledger:write"]) == ["customers:read", "ledger:write"]
    with pytest.raises(ScopeInvalidError) as unknown:
        checked_scopes(["customers:read", "customers:delete"])
    assert unknown.value.param == "scopes[1]"
    with pytest.raises(ScopeNotGrantableError) as secret_only:
        checked_scopes(["api_keys:write"])
    assert secret_only.value.param == "scopes[0]"


async def test_roll_keeps_the_old_key_working_until_the_overlap_ends(database: Database) -> None:
    ring = ring_for_tests()
    clock = FrozenClock(datetime(2026, 11, 22, 10, 0, tzinfo=UTC))
    with use_clock(clock):
        async with database.unit_of_work() as session:
            created = await merchant_service.create(session, ring, name="Acme")
        old = next(key for key in created.keys if key.kind is KeyKind.secret and not key.livemode)
        async with database.unit_of_work() as session:
            new, previous = await api_key_service.roll(
                session, ring, _caller(created.id), old.id, 3600
            )
        assert previous.rolled_to == new.key.id
        assert previous.expires_at == clock.now() + timedelta(seconds=3600)
        assert new.key.kind is KeyKind.secret and new.secret.startswith("sk_test_")

        clock.advance(3599)
        async with database.unit_of_work() as session:
            assert (await api_key_service.authenticate(session, ring, old.secret)).key_id == old.id
            with pytest.raises(ApiKeyUnexpectedStateError):
                await api_key_service.roll(session, ring, _caller(created.id), old.id, 0)
        clock.advance(1)
        async with database.unit_of_work() as session:
            with pytest.raises(ApiKeyExpiredError):
                await api_key_service.authenticate(session, ring, old.secret)
            assert (await api_key_service.authenticate(session, ring, new.secret)).kind is (
                KeyKind.secret
            )


async def test_revoke_stops_a_key_but_never_the_last_secret_key(database: Database) -> None:
    ring = ring_for_tests()
    async with database.unit_of_work() as session:
        created = await merchant_service.create(session, ring, name="Acme")
    secret = next(key for key in created.keys if key.kind is KeyKind.secret and not key.livemode)
    caller = _caller(created.id)
    async with database.unit_of_work() as session:
        with pytest.raises(LastApiKeyError):
            await api_key_service.revoke(session, caller, secret.id)
        restricted = await api_key_service.create_restricted(
            session, ring, caller, scopes=["customers:read"]
        )
    async with database.unit_of_work() as session:
        revoked = await api_key_service.revoke(session, caller, restricted.key.id)
    assert revoked.revoked_at is not None
    async with database.unit_of_work() as session:
        with pytest.raises(AuthenticationError):
            await api_key_service.authenticate(session, ring, restricted.secret)
