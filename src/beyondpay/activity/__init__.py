"""What happened on a merchant's account, read over HTTP: its events (``/v1/events``) and its
audit trail (``/v1/audit_events``, the platform's at ``/v1/platform/audit_events``).

The lowest business module: it reads what ``events`` and ``audit`` write and depends on nothing
else above ``api``."""
