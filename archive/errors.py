"""Failures of the archive's surroundings (the database server gone, a full disk, a read-only
file, another writer holding the lock), told apart from failures of one input record and from
bugs, with the one-line reason a command prints for them.

A record the database refuses fails alone (``ingest_errors``); a failure of the surroundings
stops the run instead, since every record after it would fail the same way: what was
committed stays, and running the same command again resumes.
"""

from __future__ import annotations

import errno
import sqlite3
from typing import Any

from archive.config import LOCK_TIMEOUT_ENV

# SQLAlchemy's errors are imported when there is an error to tell: an archive read with sqlite3
# alone (archive.storage.sqlite_read) never loads SQLAlchemy.

# SQLite result codes (sqlite3.Error.sqlite_errorname, extended codes start with these)
_SQLITE_REASONS = (
    ("SQLITE_FULL", "the disk is full (or the database reached its size limit)"),
    ("SQLITE_READONLY", "the archive is read-only"),
    ("SQLITE_BUSY", "the archive is locked by another writer"),
    ("SQLITE_LOCKED", "the archive is locked by another writer"),
    ("SQLITE_IOERR", "cannot read or write the archive file"),
    ("SQLITE_CANTOPEN", "cannot open the archive file"),
    ("SQLITE_PERM", "cannot write the archive file"),
    ("SQLITE_CORRUPT", "the archive file is damaged"),
    ("SQLITE_NOTADB", "the archive file is not an SQLite database"),
)
# PostgreSQL SQLSTATEs (classes of two characters, or whole codes)
_POSTGRES_REASONS = (
    ("08", "lost the connection to the database server"),
    ("57", "the database server shut down or refused the connection"),
    ("53", "the database server ran out of resources (disk, memory or connections)"),
    ("58", "the database server failed to read or write its files"),
    ("25006", "the database is read-only"),
    ("55P03", "the archive is locked by another writer"),
)
_OS_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EROFS: "the archive is on a read-only file system",
    errno.EACCES: "no permission to write the archive",
    errno.EPERM: "no permission to write the archive",
    errno.EDQUOT: "the disk quota is exhausted",
}


class ArchiveBusyError(RuntimeError):
    """The archive's write lock stayed taken by another writer past the lock timeout."""


class NoArchiveError(LookupError):
    """There is no archive where a command that reads one was pointed; ``str()`` says why."""


def environment_failure(exc: BaseException) -> str | None:
    """The one-line reason when ``exc`` is a failure of the surroundings, else None (a bad
    record, or a bug, which should be seen whole). The exceptions ``exc`` was raised from
    count too: a disk found full in a savepoint surfaces as the failure to roll it back."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        reason = _reason(current)
        if reason is not None:
            return reason
        current = current.__cause__ or current.__context__
    return None


def _reason(exc: BaseException) -> str | None:
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, ArchiveBusyError):
        return str(exc)
    if isinstance(exc, DBAPIError):
        what = _database_reason(exc.orig, invalidated=exc.connection_invalidated)
        return None if what is None else f"{what}: {first_line(exc.orig or exc)}"
    # a query read with sqlite3 itself (archive.storage.sqlite_read)
    if isinstance(exc, sqlite3.Error):
        what = _database_reason(exc, invalidated=False)
        return None if what is None else f"{what}: {first_line(exc)}"
    if isinstance(exc, OSError) and exc.errno in _OS_REASONS:
        return f"{_OS_REASONS[exc.errno]}: {exc.strerror or exc}"
    return None


def first_line(exc: object) -> str:
    """The first line of an error's message (a driver's message can go on with the SQL)."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else exc.__class__.__name__


def _database_reason(orig: Any, *, invalidated: bool) -> str | None:
    name = getattr(orig, "sqlite_errorname", None)
    if isinstance(name, str):
        return next((what for code, what in _SQLITE_REASONS if name.startswith(code)), None)
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(sqlstate, str):
        return next((what for code, what in _POSTGRES_REASONS if sqlstate.startswith(code)), None)
    module = type(orig).__module__ or ""
    if invalidated or (module.startswith("psycopg") and type(orig).__name__ == "OperationalError"):
        # psycopg's own errors carry no SQLSTATE: the connection broke or could not be made
        return _POSTGRES_REASONS[0][1]
    return None


def waiting_for_lock(timeout: float) -> str:
    """What a writer says while it waits for another one's lock."""
    return (
        "the archive is locked by another writer (an ingest, relink or remove); waiting for "
        f"it to finish, up to {timeout:g} s (${LOCK_TIMEOUT_ENV})"
    )


def gave_up_on_lock(timeout: float) -> str:
    """What a writer says when it stops waiting (:class:`ArchiveBusyError`)."""
    return (
        f"the archive stayed locked by another writer for {timeout:g} s (${LOCK_TIMEOUT_ENV}); "
        "gave up waiting"
    )
