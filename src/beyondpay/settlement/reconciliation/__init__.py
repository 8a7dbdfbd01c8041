"""Reconciliation: the rails' settlement files matched, line by line, to the platform's records;
every break an exception an operator resolves (docs/settlement.md, "Reconciliation")."""
