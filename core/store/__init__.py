"""The system of record: every post, analysis, incident, lead and delivery lives here first."""

from wagewatch.core.store import models
from wagewatch.core.store.db import Database, upgrade

__all__ = ["Database", "models", "upgrade"]
