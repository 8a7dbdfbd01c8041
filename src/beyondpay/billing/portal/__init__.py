"""The billing customer portal: Stripe's portal configurations and sessions
(``/v1/billing_portal/…``), and what the customer does in the hosted portal a session opens
(``visits``; the page is ``web/portal.py``). The top part of billing: its subscription and
invoice sections reach the parts below through the seams of ``sections``.
"""
