"""Shared building blocks: money, ids, clock, errors, invariants. Imports nothing of beyondpay."""
