"""Tax rate and tax id use cases, always within the caller's (merchant, mode). Never commits.

Tax rates are Stripe's: made, read, archived (``active=false``), relabelled; their percentage
and inclusiveness never change, so an invoice that applied a rate can always be explained by it.
Tax ids belong to a customer or to the merchant itself (``owner[type]=self``); an ``in_gst`` is
checked as a GSTIN when it is added (a 400 naming ``value`` saying what is wrong), other types by
their shape. Each change records its event in the same transaction.

What later parts of billing call (invoices, credit notes, subscriptions):

- :meth:`TaxRateService.get_many`: the rates an invoice line names, in order, each the caller's.
- :func:`supplier_gst`: the merchant's GSTIN and its state: the one an invoice names, else the
  merchant's oldest ``in_gst`` tax id.
- :func:`customer_gst`: a customer's GSTIN (their oldest ``in_gst``) and the place of supply.
- :func:`invoice_gst`: both together, and whether the supply is within a state (CGST + SGST)
  or across states (IGST); None when the merchant has no GSTIN (no GST is charged).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.tax.domain import (
    IN_GST,
    INDIA,
    GstinInvalidError,
    GstKind,
    SupplyBasis,
    TaxIdValueError,
    address_place,
    check_tax_id_value,
    gstin_state,
    place_of_supply,
    rate_basis_points_of,
    tax_id_country,
)
from beyondpay.billing.tax.errors import (
    TaxIdExistsError,
    TaxIdInvalidError,
    TaxIdOwnerUnsupportedError,
    TaxIdsLimitError,
    TaxRateInactiveError,
)
from beyondpay.billing.tax.events import TaxRateEvent, record_tax_id, record_tax_rate
from beyondpay.billing.tax.models import TaxIdRow, TaxRateRow
from beyondpay.billing.tax.schemas import (
    CustomerTaxIdCreateParams,
    CustomerTaxIdListParams,
    TaxIdCreateParams,
    TaxIdListParams,
    TaxIdOwnerParams,
    TaxRateCreateParams,
    TaxRateListParams,
    TaxRateUpdateParams,
    tax_rate_object,
)
from beyondpay.billing.tax.states import state_code_of
from beyondpay.customers.schemas import customer_object
from beyondpay.customers.service import customer_service
from beyondpay.db.pagination import ListParams, created_conditions, scoped, scoped_page
from beyondpay.events.service import previous_attributes
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import InvalidRequestError, ParameterMissingError, ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.kit.params import merge_metadata
from beyondpay.merchants.domain import Caller

# As Stripe's account tax ids: at most 100 per owner (the merchant, or one customer).
TAX_IDS_PER_OWNER_MAX: Final = 100
# The rates one call may name (an invoice line's tax_rates, an invoice's default_tax_rates).
TAX_RATES_PER_CALL_MAX: Final = 10
OWNER_SELF: Final = "self"
OWNER_CUSTOMER: Final = "customer"
# No registry is asked: the checksum is all that is verified (Stripe's status for such types).
VERIFICATION_UNAVAILABLE: Final = "unavailable"
_LOCK: Final = text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))")
# What an update may change ("" unsets the optional ones); percentage and inclusive never change.
_TAX_RATE_FIELDS: Final = frozenset(
    {"active", "display_name", "country", "state", "jurisdiction", "description", "tax_type"}
)
_TAX_RATE_FIELDS_REQUIRED: Final = frozenset({"active", "display_name"})


def _check_region(country: str | None, state: str | None) -> None:
    """An Indian rate's ``state`` is one of India's ISO 3166-2 codes (current or superseded)."""
    if country == INDIA and state is not None and state_code_of(state) is None:
        raise InvalidRequestError(
            f"Invalid state: {state} is not an ISO 3166-2 code of an Indian state or union"
            " territory (KA, MH, DL, …).",
            param="state",
        )


class TaxRateService:
    async def create(
        self, session: AsyncSession, caller: Caller, params: TaxRateCreateParams
    ) -> TaxRateRow:
        _check_region(params.country, params.state)
        row = TaxRateRow(
            id=new_id("txr"),
            merchant_id=caller.merchant,
            livemode=caller.livemode,
            display_name=params.display_name,
            rate_basis_points=rate_basis_points_of(params.percentage),
            inclusive=params.inclusive,
            active=params.active,
            country=params.country,
            state=params.state,
            jurisdiction=params.jurisdiction,
            description=params.description,
            tax_type=params.tax_type,
            metadata_=merge_metadata(
                {}, params.metadata if isinstance(params.metadata, dict) else None
            ),
            created_at=utcnow(),
        )
        session.add(row)
        await session.flush()
        await record_tax_rate(session, row, TaxRateEvent.created)
        return row

    async def get(
        self,
        session: AsyncSession,
        caller: Caller,
        tax_rate_id: str,
        *,
        for_update: bool = False,
        param: str = "id",
    ) -> TaxRateRow:
        statement = scoped(
            TaxRateRow, caller.merchant, caller.livemode, TaxRateRow.id == tax_rate_id
        )
        if for_update:
            statement = statement.with_for_update()
        row: TaxRateRow | None = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object("tax_rate", tax_rate_id, param=param)
        return row

    async def update(
        self, session: AsyncSession, caller: Caller, tax_rate_id: str, params: TaxRateUpdateParams
    ) -> TaxRateRow:
        row = await self.get(session, caller, tax_rate_id, for_update=True)
        before = tax_rate_object(row)
        for field in _TAX_RATE_FIELDS & params.model_fields_set:
            value = getattr(params, field)
            if value is None and field in _TAX_RATE_FIELDS_REQUIRED:
                continue  # a JSON null for what cannot be unset changes nothing
            setattr(row, field, value)
        if "metadata" in params.model_fields_set:
            metadata = params.metadata if isinstance(params.metadata, dict) else {}
            row.metadata_ = merge_metadata(row.metadata_, metadata)
        _check_region(row.country, row.state)
        await session.flush()
        previous = previous_attributes(before, tax_rate_object(row))
        if previous:  # as Stripe, an update that changes nothing announces nothing
            await record_tax_rate(session, row, TaxRateEvent.updated, previous_attributes=previous)
        return row

    async def list(
        self, session: AsyncSession, caller: Caller, params: TaxRateListParams
    ) -> tuple[Sequence[TaxRateRow], bool]:
        conditions: list[Any] = created_conditions(TaxRateRow.created_at, params.created)
        if params.active is not None:
            conditions.append(TaxRateRow.active == params.active)
        if params.inclusive is not None:
            conditions.append(TaxRateRow.inclusive == params.inclusive)
        return await scoped_page(
            session,
            TaxRateRow,
            caller.merchant,
            caller.livemode,
            params,
            *conditions,
            object_name="tax_rate",
        )

    async def get_many(
        self,
        session: AsyncSession,
        caller: Caller,
        ids: Sequence[str],
        *,
        param: str,
        require_active: bool = True,
    ) -> Sequence[TaxRateRow]:
        """The caller's tax rates ``ids``, in that order (a repeated id once). An id that is not
        the caller's is a 404 naming ``param`` (``default_tax_rates``, ``tax_rates``); an
        archived rate is refused when ``require_active`` (a new use), and accepted when a rate
        already set is applied again (a subscription's renewal keeps its rates, as Stripe's)."""
        wanted = list(dict.fromkeys(ids))
        if len(wanted) > TAX_RATES_PER_CALL_MAX:
            raise InvalidRequestError(
                f"At most {TAX_RATES_PER_CALL_MAX} tax rates may be applied at once.", param=param
            )
        rows = await session.execute(
            scoped(TaxRateRow, caller.merchant, caller.livemode, TaxRateRow.id.in_(wanted))
        )
        found: dict[str, TaxRateRow] = {row.id: row for row in rows.scalars()}
        for tax_rate_id in wanted:
            row = found.get(tax_rate_id)
            if row is None:
                raise ResourceMissingError.for_object("tax_rate", tax_rate_id, param=param)
            if require_active and not row.active:
                raise TaxRateInactiveError(
                    f"The tax rate {tax_rate_id} is archived (active=false): it applies only"
                    " where it was set already.",
                    param=param,
                )
        return [found[tax_rate_id] for tax_rate_id in wanted]


@dataclass(frozen=True, slots=True)
class Owner:
    """Whose tax ids: the merchant itself (``customer_id`` None), or one of its customers."""

    customer_id: str | None = None

    @property
    def type(self) -> str:
        return OWNER_SELF if self.customer_id is None else OWNER_CUSTOMER


async def _customer(
    session: AsyncSession, caller: Caller, customer_id: str, *, param: str
) -> dict[str, Any]:
    """The customer as the API renders it: a 404 naming ``param`` unless it is the caller's and
    not deleted."""
    missing = ResourceMissingError.for_object("customer", customer_id, param=param)
    try:
        customer = customer_object(await customer_service.get(session, caller, customer_id))
    except ResourceMissingError:
        raise missing from None
    if customer.get("deleted"):
        raise missing
    return customer


def _checked_value(type: str, value: str) -> str:
    try:
        return check_tax_id_value(type, value)
    except GstinInvalidError as error:
        raise TaxIdInvalidError(f"Invalid value for in_gst: {error}", param="value") from None
    except TaxIdValueError as error:
        raise TaxIdInvalidError(f"Invalid value for {type}: {error}", param="value") from None


class TaxIdService:
    async def owner_of(
        self, session: AsyncSession, caller: Caller, params: TaxIdOwnerParams | None
    ) -> Owner:
        """``owner[…]`` as an :class:`Owner`: ``self`` when absent, as Stripe's default."""
        if params is None or params.type == OWNER_SELF:
            return Owner()
        if params.type != OWNER_CUSTOMER:
            raise TaxIdOwnerUnsupportedError(
                f"owner[type]={params.type} is for Stripe Connect, which is not here: a tax id's"
                " owner is self or customer.",
                param="owner[type]",
            )
        if params.customer_account is not None:
            raise TaxIdOwnerUnsupportedError(
                "There are no customer accounts here: name the customer with owner[customer].",
                param="owner[customer_account]",
            )
        if params.customer is None:
            raise ParameterMissingError.for_param("owner[customer]")
        return await self.customer_owner(session, caller, params.customer, param="owner[customer]")

    async def customer_owner(
        self, session: AsyncSession, caller: Caller, customer_id: str, *, param: str
    ) -> Owner:
        """The customer as an owner of tax ids: a 404 naming ``param`` unless it is the caller's
        and not deleted."""
        customer = await _customer(session, caller, customer_id, param=param)
        return Owner(customer["id"])

    async def create(
        self, session: AsyncSession, caller: Caller, params: TaxIdCreateParams
    ) -> TaxIdRow:
        owner = await self.owner_of(session, caller, params.owner)
        return await self.add(session, caller, owner, type=params.type, value=params.value)

    async def create_for_customer(
        self,
        session: AsyncSession,
        caller: Caller,
        customer_id: str,
        params: CustomerTaxIdCreateParams,
    ) -> TaxIdRow:
        owner = await self.customer_owner(session, caller, customer_id, param="customer")
        return await self.add(session, caller, owner, type=params.type, value=params.value)

    async def add(
        self, session: AsyncSession, caller: Caller, owner: Owner, *, type: str, value: str
    ) -> TaxIdRow:
        """A tax id of ``type`` for ``owner``: its value checked (400 naming ``value``), not one
        the owner has already (400 ``resource_already_exists``), within the owner's limit."""
        checked = _checked_value(type, value)
        # One owner's additions one after the other, so that the count and the duplicate
        # check hold under concurrent requests (the unique index is the last word).
        lock = f"tax_ids:{caller.merchant}:{caller.livemode}:{owner.customer_id or OWNER_SELF}"
        await session.execute(_LOCK, {"name": lock})
        owned = self._owned(caller, owner)
        counted = await session.execute(select(func.count()).select_from(owned.subquery()))
        if counted.scalar_one() >= TAX_IDS_PER_OWNER_MAX:
            raise TaxIdsLimitError(
                f"An owner can have at most {TAX_IDS_PER_OWNER_MAX} tax ids.", param="value"
            )
        same = owned.where(TaxIdRow.type == type, TaxIdRow.value == checked)
        if (await session.execute(same)).first() is not None:
            raise TaxIdExistsError(
                f"This {type} tax id is already the {owner.type}'s.", param="value"
            )
        row = TaxIdRow(
            id=new_id("txi"),
            merchant_id=caller.merchant,
            livemode=caller.livemode,
            owner_type=owner.type,
            customer_id=owner.customer_id,
            type=type,
            value=checked,
            country=tax_id_country(type, checked),
            verification_status=VERIFICATION_UNAVAILABLE,
            created_at=utcnow(),
        )
        session.add(row)
        await session.flush()
        await record_tax_id(session, row, deleted=False)
        return row

    def _owned(self, caller: Caller, owner: Owner) -> Any:
        """The owner's tax ids that are not deleted."""
        return scoped(
            TaxIdRow,
            caller.merchant,
            caller.livemode,
            TaxIdRow.deleted_at.is_(None),
            TaxIdRow.owner_type == owner.type,
            TaxIdRow.customer_id == owner.customer_id
            if owner.customer_id is not None
            else TaxIdRow.customer_id.is_(None),
        )

    async def get(
        self,
        session: AsyncSession,
        caller: Caller,
        tax_id: str,
        *,
        customer_id: str | None = None,
        for_update: bool = False,
    ) -> TaxIdRow:
        """A tax id that is not deleted; with ``customer_id``, only that customer's (the routes
        under ``/v1/customers/{customer}``)."""
        statement = scoped(
            TaxIdRow,
            caller.merchant,
            caller.livemode,
            TaxIdRow.id == tax_id,
            TaxIdRow.deleted_at.is_(None),
        )
        if customer_id is not None:
            statement = statement.where(TaxIdRow.customer_id == customer_id)
        if for_update:
            statement = statement.with_for_update()
        row: TaxIdRow | None = (await session.execute(statement)).scalar_one_or_none()
        if row is not None and row.customer_id is not None and customer_id is None:
            # A deleted customer's tax ids went with it, as Stripe's do.
            try:
                await _customer(session, caller, row.customer_id, param="id")
            except ResourceMissingError:
                row = None
        if row is None:
            raise ResourceMissingError.for_object("tax_id", tax_id)
        return row

    async def get_of_customer(
        self, session: AsyncSession, caller: Caller, customer_id: str, tax_id: str
    ) -> TaxIdRow:
        """A customer's tax id: 404 naming ``customer`` unless the customer is the caller's and
        not deleted, then 404 unless the tax id is that customer's."""
        await self.customer_owner(session, caller, customer_id, param="customer")
        return await self.get(session, caller, tax_id, customer_id=customer_id)

    async def delete(
        self, session: AsyncSession, caller: Caller, tax_id: str, *, customer_id: str | None = None
    ) -> TaxIdRow:
        """Deleted: no longer shown nor used for new invoices (what finalized invoices printed
        stays printed). The event carries the tax id as it was."""
        if customer_id is not None:
            await self.customer_owner(session, caller, customer_id, param="customer")
        row = await self.get(session, caller, tax_id, customer_id=customer_id, for_update=True)
        await record_tax_id(session, row, deleted=True)
        row.deleted_at = utcnow()
        await session.flush()
        return row

    async def list(
        self, session: AsyncSession, caller: Caller, params: TaxIdListParams
    ) -> tuple[Sequence[TaxIdRow], bool]:
        """An owner's tax ids, newest first: the merchant's own, or ``owner[customer]``'s."""
        owner = await self.owner_of(session, caller, params.owner)
        return await self._page(session, caller, params, owner)

    async def list_of_customer(
        self,
        session: AsyncSession,
        caller: Caller,
        customer_id: str,
        params: CustomerTaxIdListParams,
    ) -> tuple[Sequence[TaxIdRow], bool]:
        owner = await self.customer_owner(session, caller, customer_id, param="customer")
        return await self._page(session, caller, params, owner)

    async def _page(
        self, session: AsyncSession, caller: Caller, params: ListParams, owner: Owner
    ) -> tuple[Sequence[TaxIdRow], bool]:
        filters: list[Any] = [
            TaxIdRow.deleted_at.is_(None),
            TaxIdRow.owner_type == owner.type,
            *created_conditions(TaxIdRow.created_at, params.created),
        ]
        if owner.customer_id is not None:
            filters.append(TaxIdRow.customer_id == owner.customer_id)
        return await scoped_page(
            session,
            TaxIdRow,
            caller.merchant,
            caller.livemode,
            params,
            *filters,
            object_name="tax_id",
        )

    async def oldest_gstin(self, session: AsyncSession, caller: Caller, owner: Owner) -> str | None:
        """The owner's oldest ``in_gst`` value, if any."""
        statement = (
            self._owned(caller, owner)
            .where(TaxIdRow.type == IN_GST)
            .order_by(TaxIdRow.created_at, TaxIdRow.id)
            .limit(1)
        )
        row: TaxIdRow | None = (await session.execute(statement)).scalar_one_or_none()
        return row.value if row is not None else None


tax_rate_service = TaxRateService()
tax_id_service = TaxIdService()


# ---- what later parts of billing call ---------------------------------------------------------


class GstParty(NamedTuple):
    """The merchant's GSTIN and the state it is registered in (both None: not registered)."""

    gstin: str | None
    state_code: str | None


class CustomerGst(NamedTuple):
    """A customer's GSTIN (None: unregistered, a B2C supply) and the place of supply (None:
    nothing tells it, and no supplier state was given to fall back on)."""

    gstin: str | None
    place_of_supply: str | None
    basis: SupplyBasis | None


@dataclass(frozen=True, slots=True)
class InvoiceGst:
    """What an invoice needs to charge GST: who supplies (the merchant's GSTIN and state), to
    whom (the customer's GSTIN, if registered), where (the place of supply and what decided
    it), and so which tax: CGST + SGST (or UTGST) within a state, IGST across states."""

    supplier_gstin: str
    supplier_state: str
    customer_gstin: str | None
    place_of_supply: str
    basis: SupplyBasis
    kind: GstKind


async def supplier_gst(
    session: AsyncSession,
    caller: Caller,
    *,
    tax_id: str | None = None,
    param: str = "account_tax_ids",
) -> GstParty:
    """The merchant's GSTIN: the ``in_gst`` tax id ``tax_id`` (an invoice's
    ``account_tax_ids``; a 404 naming ``param`` unless it is the merchant's own ``in_gst``),
    else its oldest ``in_gst``, else none. A merchant registered in several states has one
    GSTIN in each; an invoice names the one it is issued under."""
    if tax_id is not None:
        try:
            row = await tax_id_service.get(session, caller, tax_id)
        except ResourceMissingError:
            row = None
        if row is None or row.owner_type != OWNER_SELF or row.type != IN_GST:
            raise ResourceMissingError.for_object("tax_id", tax_id, param=param)
        return GstParty(row.value, gstin_state(row.value))
    gstin = await tax_id_service.oldest_gstin(session, caller, Owner())
    return GstParty(gstin, gstin_state(gstin) if gstin is not None else None)


async def customer_gst(
    session: AsyncSession,
    caller: Caller,
    customer_id: str,
    *,
    supplier_state: str | None = None,
    param: str = "customer",
) -> CustomerGst:
    """A customer's GSTIN (their oldest ``in_gst``) and the place of supply: the GSTIN's state;
    else their shipping address's, then their address's (96 outside India); else
    ``supplier_state`` when given (``domain.place_of_supply`` gives the rule). A 404 naming
    ``param`` unless the customer is the caller's and not deleted."""
    customer = await _customer(session, caller, customer_id, param=param)
    gstin = await tax_id_service.oldest_gstin(session, caller, Owner(customer_id))
    shipping = customer["shipping"]["address"] if customer["shipping"] else None
    if supplier_state is not None:
        place = place_of_supply(
            supplier_state=supplier_state,
            customer_gstin=gstin,
            shipping_address=shipping,
            address=customer["address"],
        )
        return CustomerGst(gstin, place.state_code, place.basis)
    if gstin is not None:
        return CustomerGst(gstin, gstin_state(gstin), SupplyBasis.gstin)
    for basis, address in (
        (SupplyBasis.shipping, shipping),
        (SupplyBasis.address, customer["address"]),
    ):
        found = address_place(address)
        if found is not None:
            return CustomerGst(None, found, basis)
    return CustomerGst(None, None, None)


async def invoice_gst(
    session: AsyncSession,
    caller: Caller,
    customer_id: str,
    *,
    account_tax_id: str | None = None,
) -> InvoiceGst | None:
    """The GST of an invoice to ``customer_id``: None when the merchant has no GSTIN (an
    unregistered supplier charges no GST)."""
    supplier = await supplier_gst(session, caller, tax_id=account_tax_id)
    if supplier.gstin is None or supplier.state_code is None:
        return None
    customer = await customer_gst(session, caller, customer_id, supplier_state=supplier.state_code)
    invariant(customer.place_of_supply is not None and customer.basis is not None, "a place")
    assert customer.place_of_supply is not None and customer.basis is not None  # for mypy
    kind = (
        GstKind.intra_state
        if customer.place_of_supply == supplier.state_code
        else GstKind.inter_state
    )
    return InvoiceGst(
        supplier_gstin=supplier.gstin,
        supplier_state=supplier.state_code,
        customer_gstin=customer.gstin,
        place_of_supply=customer.place_of_supply,
        basis=customer.basis,
        kind=kind,
    )
