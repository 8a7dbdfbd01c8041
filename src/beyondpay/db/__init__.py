"""PostgreSQL only: engine, sessions and units of work, the embedded server, migrations, jobs."""
