"""Reporting's typed errors: each a stable ``code`` in Stripe's envelope."""

from __future__ import annotations

from beyondpay.kit.errors import InvalidRequestError


class ReportTypeUnknownError(InvalidRequestError):
    code = "report_type_invalid"
    default_message = "No such report type."


class ReportParameterInvalidError(InvalidRequestError):
    code = "report_parameter_invalid"
    default_message = "A report parameter is invalid."
