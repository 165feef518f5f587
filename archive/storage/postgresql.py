"""What differs on PostgreSQL, in one place: the advisory locks writers and migrations take,
bulk inserts through COPY, lookup statements sent with ``$n`` placeholders, new ids from the
columns' sequences, where new index keys go and when they are written, and the full-text rows
written with them.
:mod:`archive.storage.db` calls these where a database differs. (Full-text search has its two
forms side by side in :mod:`archive.commands.search`, which must not load SQLAlchemy on
SQLite.)"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from archive.config import LOCK_NOTICE_S, lock_timeout
from archive.errors import ArchiveBusyError, gave_up_on_lock, waiting_for_lock

logger = logging.getLogger(__name__)

# The key of the advisory lock that writers hold for a transaction ("arch" in ASCII)...
WRITER_LOCK_KEY = 0x61726368
# ... and of the one a migration holds ("schm").
MIGRATION_LOCK_KEY = 0x7363686D
# Fewer rows than this go through a plain INSERT: a COPY costs a round trip of its own.
COPY_FROM_ROWS = 50


# New index keys go straight into match_keys here, not through match_keys_recent as on SQLite
# (archive.linking.store.insert_keys): emptying that table after each move leaves dead rows
# until a vacuum, and the server's buffers take random inserts well. 20,000 documents: 138
# documents/s through the small table (20,156 bytes a version), 220 without (15,799).
STAGES_INDEX_KEYS = False

# A batch's index keys are written after it commits, out of the writer lock
# (archive.linking.store.hold_keys): they were most of the time a writer held the lock (6.5 of
# 15.1 s in a 10,000-document run), and several writers insert them into the server at once.
DEFERS_INDEX_KEYS = True


def take_writer_lock(session: Session) -> None:
    """Take the writers' advisory lock for the session's transaction, waiting up to
    :func:`archive.config.lock_timeout` (and saying so once it has waited ``LOCK_NOTICE_S``);
    :class:`ArchiveBusyError` after."""
    if session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": WRITER_LOCK_KEY}):
        return
    timeout = lock_timeout()
    if _wait_for_lock(session, min(LOCK_NOTICE_S, timeout)):
        return
    logger.warning(waiting_for_lock(timeout))
    if not _wait_for_lock(session, timeout - LOCK_NOTICE_S):
        raise ArchiveBusyError(gave_up_on_lock(timeout))


def _wait_for_lock(session: Session, seconds: float) -> bool:
    """Wait up to ``seconds`` for the writers' lock; whether the transaction holds it now. The
    wait is a savepoint's, so that giving up leaves the transaction usable."""
    # 0 would mean no limit to PostgreSQL: one millisecond is as good as none
    limit = {"value": f"{max(1, round(seconds * 1000))}ms"}
    try:
        with session.begin_nested():
            session.execute(text("SELECT set_config('lock_timeout', :value, true)"), limit)
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITER_LOCK_KEY})
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_not_available
            return False
        raise
    session.execute(text("SELECT set_config('lock_timeout', '0', true)"))
    return True


# The full-text vectors of versions (migration 0013): computed by the server as it inserts
# them, so written after a batch commits, with its held index keys, out of the writer lock.
# FOR KEY SHARE: a version that a removal deletes meanwhile is either kept until this commits
# or, deleted first, left out (else its row would break the foreign key).
_SEARCH_ROWS = text(
    """
    INSERT INTO versions_fts (version_id, document)
    SELECT id, to_tsvector('simple', title || ' ' || body) FROM versions
    WHERE id BETWEEN :first AND :last
    FOR KEY SHARE
    ON CONFLICT (version_id) DO NOTHING
    """
)


def write_search_rows(connection: Connection, first: int, last: int) -> None:
    """Write the full-text rows (``versions_fts``) of the versions with ids from ``first`` to
    ``last``: those of one batch, which its writer stored; versions removed since have none,
    versions that have one already (a batch written twice) keep it."""
    connection.execute(_SEARCH_ROWS, {"first": first, "last": last})


# A placeholder of SQLAlchemy's psycopg dialect (``%(name)s``) or an escaped percent sign.
_PLACEHOLDER_RE = re.compile(r"%%|%\((\w+)\)s")


def numbered_parameters(sql: str) -> tuple[str, tuple[str, ...]]:
    """``sql`` as compiled for psycopg, with PostgreSQL's own ``$1, $2, ...`` for its named
    placeholders, and the names in that order (for :func:`raw_cursor`)."""
    names: dict[str, int] = {}

    def numbered(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "%"
        return f"${names.setdefault(name, len(names) + 1)}"

    return _PLACEHOLDER_RE.sub(numbered, sql), tuple(names)


def raw_cursor(connection: Connection) -> Any:
    """A cursor that sends its statements as they are, with ``$n`` placeholders
    (:func:`numbered_parameters`). psycopg rewrites a statement with named placeholders for
    every execution when it has more than 50 parameters (it caches smaller ones): for the
    ranked lookup, one parameter per key (~90), that was 0.28 of the 0.73 ms of client CPU a
    lookup statement took (docs/performance.md)."""
    from psycopg import RawCursor  # PostgreSQL only

    driver = connection.connection.driver_connection
    if driver is None:
        raise RuntimeError("the connection has been closed")
    return RawCursor(driver)


def take_migration_lock(connection: Connection) -> None:
    """Take the migrations' advisory lock for the connection's transaction."""
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


def copy_rows(
    connection: Connection, table: Table, names: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """``COPY`` ``rows`` into ``table`` on the connection's psycopg connection; its errors are
    raised as SQLAlchemy's, as those of a statement would be (so that a batch that fails is
    undone and retried record by record)."""
    from psycopg import sql  # PostgreSQL only

    dbapi = connection.connection.dbapi_connection
    if dbapi is None:
        raise RuntimeError("the connection has been closed")
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    try:
        with dbapi.cursor() as cursor, cursor.copy(copy_sql) as copy:  # type: ignore[attr-defined]
            for row in rows:
                copy.write_row(row)
    except connection.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(
            copy_sql.as_string(),
            None,
            exc,
            connection.dialect.loaded_dbapi.Error,
            dialect=connection.dialect,
        ) from exc


def reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    """``count`` new ids from the sequence of ``table``'s id column, highest first (so that
    ``pop()`` hands them out in order)."""
    return list(
        session.scalars(
            text(
                "SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                "FROM generate_series(1, :n) ORDER BY 1 DESC"
            ),
            {"table": table.name, "n": count},
        )
    )


def give_back_ids(session: Session, table: Table, lowest_unused: int) -> None:
    """Set ``table``'s id sequence back so that ``lowest_unused`` is the next id handed out."""
    session.execute(
        text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :next, false)"),
        {"table": table.name, "next": lowest_unused},
    )
