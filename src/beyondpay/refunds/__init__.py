"""Refunds of captured charges: full, partial, several; never more than captured."""
