"""Typed errors of tax rates and tax ids."""

from __future__ import annotations

from beyondpay.kit.errors import InvalidRequestError


class TaxIdInvalidError(InvalidRequestError):
    """A tax id's value that is not one of its type (Stripe's ``tax_id_invalid``): a GSTIN
    whose length, characters, state code, PAN, entity number or check character is wrong; the
    message says which."""

    code = "tax_id_invalid"


class TaxIdExistsError(InvalidRequestError):
    """The owner (the merchant, or the customer) already has this tax id."""

    code = "resource_already_exists"


class TaxIdsLimitError(InvalidRequestError):
    code = "tax_ids_limit_reached"


class TaxIdOwnerUnsupportedError(InvalidRequestError):
    """``owner[type]`` ``account`` or ``application``: there are no connected accounts here."""

    code = "tax_id_owner_unsupported"


class TaxRateInactiveError(InvalidRequestError):
    """An archived tax rate named for a new use (Stripe: inactive rates work only where they
    are set already)."""

    code = "tax_rate_inactive"
