"""Where the archive database is: one rule shared by the CLI, the library and Alembic."""

from __future__ import annotations

import os

from sqlalchemy.engine import make_url

DEFAULT_DATABASE_URL = "sqlite:///archive.db"
DATABASE_URL_ENV = "ARCHIVE_DB"


def database_url(explicit: str | None = None) -> str:
    """The database URL: ``explicit`` (``--db``), else ``$ARCHIVE_DB``, else ``archive.db`` here."""
    if explicit:
        return explicit
    return os.environ.get(DATABASE_URL_ENV) or DEFAULT_DATABASE_URL


def display_url(url: str) -> str:
    """The URL with any password masked, fit for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"
