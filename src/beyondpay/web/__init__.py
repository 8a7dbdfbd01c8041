"""Pages a person's browser opens (the hosted receipt and the hosted invoice now; the dashboard,
checkout and the payer app as they come): server-rendered Jinja2 templates, every asset served
by the platform itself (no CDN), no script, a strict Content-Security-Policy on every page, and
a CSRF token on every form (``csrf``)."""
