"""Limits and controls: policies as data, evaluated before every money movement."""
