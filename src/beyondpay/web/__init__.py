"""Pages a person's browser opens (the hosted receipt now; the dashboard, checkout and the payer
app as they come): server-rendered Jinja2 templates, every asset served by the platform itself
(no CDN), no script, and a strict Content-Security-Policy on every page."""
