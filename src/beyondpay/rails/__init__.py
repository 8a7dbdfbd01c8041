"""Sandbox and real rails behind one connector protocol (``rails.protocol``)."""
