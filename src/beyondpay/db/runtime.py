"""Which PostgreSQL to use: the configured one, or the embedded server under the data dir."""

from __future__ import annotations

from dataclasses import dataclass

from beyondpay.db.embedded import EmbeddedPostgres
from beyondpay.kit.settings import Settings


@dataclass
class DatabaseTarget:
    url: str
    embedded: EmbeddedPostgres | None

    def close(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()


def open_database(settings: Settings) -> DatabaseTarget:
    configured = settings.database_url_value()
    if configured is not None:
        return DatabaseTarget(configured, None)
    embedded = EmbeddedPostgres(settings.data_dir)
    return DatabaseTarget(embedded.start(), embedded)
