"""The typed errors of bank accounts: each a stable ``code``, its status, naming the parameter."""

from __future__ import annotations

from beyondpay.kit.errors import InvalidRequestError


class BankAccountCountryUnsupportedError(InvalidRequestError):
    code = "country_unsupported"


class BankAccountCurrencyUnsupportedError(InvalidRequestError):
    code = "currency_unsupported"


class DefaultBankAccountDeleteError(InvalidRequestError):
    """Stripe refuses to delete the default external account of a currency."""

    code = "bank_account_default_delete"


class DefaultBankAccountUnsetError(InvalidRequestError):
    """A currency's default is changed by making another account the default, as Stripe's."""

    code = "bank_account_default_unset"


class BankAccountExistsError(InvalidRequestError):
    """The merchant has this account already (same IFSC and number), as Stripe refuses it."""

    code = "bank_account_exists"
