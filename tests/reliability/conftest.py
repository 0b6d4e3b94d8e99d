"""The alert tests' store (a migrated SQLite copy with the clock frozen), shared with these tests."""

from tests.alerts.conftest import _migrated_template, store  # noqa: F401 - fixtures
