"""Webhook endpoints: where a merchant's events are sent, the secrets that sign them, and the
guard that keeps deliveries off private networks."""
