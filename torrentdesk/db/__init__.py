"""Persistence: Pony entities and opening/upgrading the database."""

from .database import MIGRATIONS, SCHEMA_VERSION, SchemaTooNew, open_database
from .models import as_utc, utcnow

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SchemaTooNew", "as_utc", "open_database", "utcnow"]
