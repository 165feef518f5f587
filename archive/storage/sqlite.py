"""What differs on SQLite, in one place: how its connections are set up (WAL, foreign keys,
transactions begun by SQLAlchemy), how a writer takes its lock and waits for it, foreign keys
while the schema changes, bulk inserts, new ids (AUTOINCREMENT's high-water mark), and
emptying the write-ahead log. :mod:`archive.storage.db` calls these where a database differs."""

from __future__ import annotations

import functools
import logging
import sqlite3
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Table, bindparam, event, func, select, text
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler

from archive.config import LOCK_NOTICE_S, lock_timeout
from archive.errors import ArchiveBusyError, gave_up_on_lock, waiting_for_lock

logger = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
# A writer waits for the write lock in steps of this long, so that it can say it is waiting.
SQLITE_LOCK_STEP_MS = round(LOCK_NOTICE_S * 1000)


def configure(engine: Engine) -> None:
    """Set up every connection of ``engine`` the way the archive needs SQLite."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin: the module's
        # own implicit BEGIN breaks SAVEPOINTs, which ingest uses to undo one failed file.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # The busy timeout first: switching a new database to WAL takes a lock that another
        # process opening it at the same moment may hold.
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # 64 MiB of page cache instead of 2: the index lookups of a big archive stay in memory.
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A writer takes SQLite's write lock when it begins, not at its first write: otherwise
        # two writers that both read first cannot upgrade, and one fails instead of waiting.
        if connection.get_execution_options().get("archive_writer", False):
            begin_writer(connection)
        else:
            connection.exec_driver_sql("BEGIN")


# Attempts at switching a new database to WAL while other processes open it too.
WAL_SWITCH_ATTEMPTS = 20


def _switch_to_wal(cursor: Any) -> None:
    """``PRAGMA journal_mode=WAL``, tried again when SQLite answers "locked" at once: on a new
    file, two connections that both read its header and then both want the exclusive lock the
    switch takes deadlock, and SQLite fails one without calling the busy handler."""
    for attempt in range(WAL_SWITCH_ATTEMPTS):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == WAL_SWITCH_ATTEMPTS - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


def begin_writer(connection: Connection) -> None:
    """BEGIN IMMEDIATE, waiting for another writer's transaction up to :func:`lock_timeout`
    (saying so after the first second) instead of the busy timeout; raises
    :class:`ArchiveBusyError` when it is over."""
    timeout = lock_timeout()
    start = time.monotonic()
    announced = False
    pragma(connection, f"PRAGMA busy_timeout={SQLITE_LOCK_STEP_MS}")
    try:
        while True:
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as exc:
                if not str(getattr(exc.orig, "sqlite_errorname", "")).startswith("SQLITE_BUSY"):
                    raise
                if time.monotonic() - start >= timeout:
                    raise ArchiveBusyError(gave_up_on_lock(timeout)) from exc
            if not announced:
                logger.warning(waiting_for_lock(timeout))
                announced = True
    finally:
        pragma(connection, f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def pragma(connection: Connection, pragma: str) -> None:
    # Through the driver: SQLAlchemy would begin a transaction first, where this one is ignored.
    cursor = connection.connection.cursor()
    try:
        cursor.execute(pragma)
    finally:
        cursor.close()


# The authorizer's actions by which a statement changes a table or its rows, and which of the
# callback's two arguments names the table.
_TABLE_CHANGES = {
    sqlite3.SQLITE_INSERT: 0,
    sqlite3.SQLITE_UPDATE: 0,
    sqlite3.SQLITE_DELETE: 0,
    sqlite3.SQLITE_CREATE_TABLE: 0,
    sqlite3.SQLITE_DROP_TABLE: 0,
    sqlite3.SQLITE_ALTER_TABLE: 1,
}


@contextmanager
def schema_change(connection: Connection) -> Iterator[Callable[[], None]]:
    """Foreign keys not enforced on ``connection`` while a migration changes the schema (a table
    rebuilt by batch mode would otherwise take its references' rows with it); yields the check
    to run before the commit, which raises when a reference is broken. Begin the transaction
    inside: SQLite ignores the pragma within one.

    The check reads only the tables the migration wrote to, created, altered or dropped, and
    the tables that refer to those: ``PRAGMA foreign_key_check`` over the whole archive reads
    every reference in it (more than 300 s of the upgrade of a 1,000,000-version archive, for a
    migration that changed one index). SQLite's authorizer, which it calls as it prepares each
    statement (setting one makes it prepare cached statements again), names those tables."""
    changed: set[str] = set()

    def note_change(action: int, first: str | None, second: str | None, *_where: Any) -> int:
        position = _TABLE_CHANGES.get(action)
        name = None if position is None else (first, second)[position]
        if name is not None and not name.lower().startswith("sqlite_"):
            changed.add(name.lower())
        return sqlite3.SQLITE_OK

    driver = connection.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    driver.set_authorizer(note_change)
    try:
        pragma(connection, "PRAGMA foreign_keys=OFF")
        yield lambda: _check_foreign_keys(connection, changed)
    finally:
        driver.set_authorizer(None)
        pragma(connection, "PRAGMA foreign_keys=ON")


def _check_foreign_keys(connection: Connection, changed: Collection[str]) -> None:
    """Raise when a row of a table in ``changed`` (lower-case names), or of a table referring to
    one, refers to a row that does not exist."""
    references = connection.exec_driver_sql(
        'SELECT lower(t.name), lower(r."table") FROM sqlite_master AS t'
        " LEFT JOIN pragma_foreign_key_list(t.name) AS r"
        " WHERE t.type = 'table' AND t.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
    ).all()
    tables = {table for table, _ in references if table in changed}
    tables |= {table for table, parent in references if parent in changed}
    for table in sorted(tables):
        broken = connection.exec_driver_sql(
            "SELECT * FROM pragma_foreign_key_check(?)", (table,)
        ).first()
        if broken is not None:
            raise RuntimeError(f"migration broke a foreign key: {tuple(broken)}")


def insert(
    connection: Connection, table: Table, names: Sequence[str], columns: Sequence[Sequence[Any]]
) -> None:
    """Insert rows given column by column (``columns[i]`` the values of ``names[i]``, bound
    values already processed) in one executemany of the driver, of the INSERT that SQLAlchemy
    compiles: the columns zipped into rows in the order of its parameters."""
    statement = _positional_insert(connection.dialect, table, tuple(names))
    ordered = [columns[names.index(name)] for name in statement.positiontup or ()]
    connection.exec_driver_sql(statement.string, list(zip(*ordered, strict=True)))


@functools.cache
def _positional_insert(dialect: Dialect, table: Table, names: tuple[str, ...]) -> SQLCompiler:
    """The INSERT of ``names`` into ``table``, compiled for a dialect with positional
    parameters (its ``positiontup`` says their order)."""
    values = {name: bindparam(name, type_=table.c[name].type) for name in names}
    return table.insert().values(values).compile(dialect=dialect)


_SEQUENCE = text("SELECT seq FROM sqlite_sequence WHERE name = :t")


def first_free_id(session: Session, table: Table, *retired: Any) -> int:
    """One past the highest id ``table`` ever used: AUTOINCREMENT's record (``sqlite_sequence``)
    keeps removed ids retired; ``retired`` columns hold more ids never to hand out again
    (stories merged away)."""
    top = session.scalar(select(func.max(table.c.id))) or 0
    top = max(top, session.scalar(_SEQUENCE, {"t": table.name}) or 0)
    for column in retired:
        top = max(top, session.scalar(select(func.max(column))) or 0)
    return int(top) + 1


def checkpoint(engine: Engine) -> None:
    """Copy the write-ahead log into the database file and empty it. The ingest workers read
    all the time, and a log that some reader is always using is never started afresh by
    SQLite's own checkpoints: it would grow as large as the archive. Waits (busy timeout) for
    the readers of the moment, whose lookups are short."""
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
