"""Reading a SQLite archive with the standard library's sqlite3 alone: the read queries
(:mod:`archive.commands.queries`) start at once, without the third of a second SQLAlchemy takes to
import.

Only an archive that needs nothing else is read this way: a file that exists and whose schema
is the current one (:data:`archive.storage.schema.HEAD_REVISION`), named by a plain ``sqlite:///PATH``
URL. Anything else (a missing file, an older schema to migrate, a newer one to refuse,
PostgreSQL, a URL with options) goes through SQLAlchemy, which opens, migrates or refuses it
as it always does (:func:`archive.storage.db.open_existing_archive`). The queries are the same SQL
either way, so the answers are too.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from urllib.parse import quote

from archive.storage.reader import Reader, Row
from archive.storage.schema import HEAD_REVISION

_PREFIX = "sqlite:///"
# As long as a writer may hold SQLite's lock (archive.storage.sqlite.SQLITE_BUSY_TIMEOUT_MS);
# readers of a WAL archive do not wait for writers, but a checkpoint or a journal that is not
# WAL can.
_BUSY_TIMEOUT_S = 30.0


def archive_file(url: str) -> str | None:
    """The SQLite file of ``url`` when it can be read with sqlite3 alone: an existing archive
    at the current schema, named by a URL without options; else None."""
    path = _plain_path(url)
    if path is None or not os.path.isfile(path):
        return None
    try:
        with closing(_connect(path)) as connection:
            revisions = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.Error:  # no archive tables, not a database, locked: the usual way says so
        return None
    return path if revisions == [(HEAD_REVISION,)] else None


class SqliteReader(Reader):
    """The read queries on a sqlite3 connection."""

    dialect = "sqlite"

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def rows(self, sql: str, params: Mapping[str, object] | None = None) -> list[Row]:
        return self._connection.execute(sql, dict(params or {})).fetchall()


@contextmanager
def reading(path: str) -> Iterator[SqliteReader]:
    """A reader of the archive file ``path`` (:func:`archive_file`), its queries in one read
    transaction, which sees one state of the archive."""
    with closing(_connect(path)) as connection:
        connection.execute("BEGIN")
        try:
            yield SqliteReader(connection)
        finally:
            if connection.in_transaction:
                connection.rollback()


def _plain_path(url: str) -> str | None:
    """The path of a ``sqlite:///PATH`` URL, as SQLAlchemy reads it, when nothing in it needs
    SQLAlchemy's reading (a query string, percent-encoding): None for any other URL."""
    if not url.startswith(_PREFIX):
        return None
    path = url[len(_PREFIX) :]
    if not path or path == ":memory:" or "?" in path or "%" in path:
        return None
    return path


def _connect(path: str) -> sqlite3.Connection:
    # mode=rw: never a new file, whatever happens to the path in between; query_only: this
    # connection cannot change the archive. Transactions are begun by reading() itself.
    connection = sqlite3.connect(
        f"file:{quote(path)}?mode=rw",
        uri=True,
        timeout=_BUSY_TIMEOUT_S,
        isolation_level=None,
    )
    connection.execute("PRAGMA query_only = ON")
    return connection
