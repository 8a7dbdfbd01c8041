"""PSP addresses use cases, one service per noun, and what other parts of the PSP ask of them.
Never commits: the request or job owns the transaction, and every change records its event in it
(``events.py``).

- ``vpa_service`` (``vpas.py``): a payer's VPAs, and finding a VPA of this PSP by its text.
- ``alias_service`` (``aliases.py``): private aliases standing for a payer's VPA.
- ``beneficiary_service`` (``beneficiaries.py``): the payees a payer saved.
- ``payee_service`` (``payees.py``): who a payer pays, from what they typed, scanned or saved.
- ``merchant_vpa_service`` (``merchant_vpas.py``): merchants' VPAs and their QR codes.

Other parts of the PSP (transfers) reach addresses only through this module, and mostly
through ``address_service``: ``resolve_payee`` is the only place an alias is mapped to the VPA
behind it, and ``consume_alias`` marks an alias used when a payment through it succeeds, in the
payment's transaction.
"""

from __future__ import annotations

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.crypto import KeyRing
from beyondpay.psp.addresses.aliases import alias_service, open_alias
from beyondpay.psp.addresses.beneficiaries import beneficiary_service
from beyondpay.psp.addresses.common import configure, current_handle
from beyondpay.psp.addresses.domain import Payee
from beyondpay.psp.addresses.merchant_vpas import merchant_vpa_service
from beyondpay.psp.addresses.models import AliasRow, BeneficiaryRow, VpaRow
from beyondpay.psp.addresses.payees import payee_service
from beyondpay.psp.addresses.vpas import open_vpa, vpa_service

__all__ = [
    "AliasRow",
    "BeneficiaryRow",
    "Payee",
    "VpaRow",
    "address_service",
    "alias_service",
    "beneficiary_service",
    "configure",
    "current_handle",
    "merchant_vpa_service",
    "open_alias",
    "open_vpa",
    "payee_service",
    "vpa_service",
]


class AddressService:
    """What other parts of the PSP ask of addresses, each answered by its noun's service."""

    async def resolve_payee(
        self,
        session: AsyncSession,
        ring: KeyRing,
        payer_id: str,
        *,
        vpa: SecretStr | None = None,
        alias: SecretStr | None = None,
        mobile: SecretStr | None = None,
        beneficiary: str | None = None,
    ) -> Payee:
        """See :meth:`~beyondpay.psp.addresses.payees.PayeeService.resolve`."""
        return await payee_service.resolve(
            session, ring, payer_id, vpa=vpa, alias=alias, mobile=mobile, beneficiary=beneficiary
        )

    async def payee_of_vpa(self, session: AsyncSession, vpa_id: str) -> Payee:
        return await payee_service.of_vpa(session, vpa_id)

    async def resolve_alias_for_merchant(
        self, session: AsyncSession, ring: KeyRing, merchant_id: str, alias: SecretStr
    ) -> Payee:
        return await payee_service.of_alias_for_merchant(session, ring, merchant_id, alias)

    async def primary_vpa(self, session: AsyncSession, payer_id: str) -> VpaRow | None:
        return await vpa_service.primary(session, payer_id)

    async def owner_of_vpa(
        self, session: AsyncSession, ring: KeyRing, vpa: SecretStr
    ) -> VpaRow | None:
        """See :meth:`~beyondpay.psp.addresses.vpas.VpaService.find_active`."""
        return await vpa_service.find_active(session, ring, vpa)

    async def payer_vpa(
        self, session: AsyncSession, ring: KeyRing, payer_id: str, vpa: SecretStr
    ) -> VpaRow | None:
        """``vpa`` if it is one of ``payer_id``'s active VPAs, else None."""
        row = await vpa_service.find_active(session, ring, vpa)
        return row if row is not None and row.payer_id == payer_id else None

    async def merchant_vpa_of_account(
        self, session: AsyncSession, account_ref: str
    ) -> VpaRow | None:
        """See :meth:`~beyondpay.psp.addresses.merchant_vpas.MerchantVpaService.of_account`."""
        return await merchant_vpa_service.of_account(session, account_ref)

    async def consume_alias(
        self,
        session: AsyncSession,
        alias_id: str,
        payer_id: str | None,
        *,
        merchant_id: str | None = None,
    ) -> None:
        """See :meth:`~beyondpay.psp.addresses.aliases.AliasService.consume`."""
        await alias_service.consume(session, alias_id, payer_id, merchant_id=merchant_id)


address_service = AddressService()
