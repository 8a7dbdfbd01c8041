"""Subscriptions and dunning: the pure rules first (``domain.py``: statuses, billing periods,
trials, anchors, prorations; ``dunning.py``: the retry schedule on India's rails). The service,
routes and jobs build on them and on invoices.
"""
