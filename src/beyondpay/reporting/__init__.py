"""Reporting (Stripe's ``/v1/reporting``): report types and report runs computed by a job, each
run's result a File. Other modules add report types with ``service.register_report_type``
(the payouts part's ``payouts.itemized.1``)."""
