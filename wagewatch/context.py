"""The objects a command needs, created once per process on first use."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from wagewatch.core.config import AppConfig, load_config
from wagewatch.core.store import Database


@dataclass
class AppContext:
    config_dir: str | None = None

    @cached_property
    def config(self) -> AppConfig:
        return load_config(self.config_dir)

    @cached_property
    def db(self) -> Database:
        """The store, migrated to the newest schema on first use."""
        database = Database(self.config.settings.database_url)
        database.upgrade()
        return database
