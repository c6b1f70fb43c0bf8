"""Persistence: Pony entities and opening/upgrading the database."""

from .database import (
    MIGRATIONS,
    SCHEMA_VERSION,
    SchemaTooNew,
    WriteConflict,
    open_database,
    write_retrying,
)
from .models import SERVER_COLORS, as_utc, least_used_color, utcnow

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SERVER_COLORS",
    "SchemaTooNew",
    "WriteConflict",
    "as_utc",
    "least_used_color",
    "open_database",
    "utcnow",
    "write_retrying",
]
