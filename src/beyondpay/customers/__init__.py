"""Customers: the people and businesses a merchant charges."""
