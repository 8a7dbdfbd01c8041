"""The append-only audit trail of authenticated mutating requests.

It sits beside ``merchants``, below ``api``, rather than among the business modules as DESIGN.md
first listed it: the API layer appends a record in the same transaction as every mutation, so
the module it writes through must be importable from ``api``.
"""
