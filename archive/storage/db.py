"""Engines for SQLite and PostgreSQL, and bringing a database to the current schema."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import (
    Column,
    ColumnDefault,
    Connection,
    Engine,
    Table,
    create_engine,
    inspect,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import SelectBase

from archive.config import (
    check_database_url,
    display_url,
    lock_timeout,
    sqlite_file,
)
from archive.errors import NoArchiveError
from archive.storage import postgresql, sqlite
from archive.storage.reader import Reader, Row
from archive.storage.schema import HEAD_REVISION

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

# Alembic is imported only to migrate (half a second): commands that read an up-to-date archive
# never load it.

logger = logging.getLogger(__name__)


def make_engine(url: str) -> Engine:
    """An engine for ``url``, set up the way the archive needs it on each dialect. Raises
    :class:`archive.config.DatabaseURLError` for a URL of another database or driver."""
    check_database_url(url)
    lock_timeout()  # a bad $ARCHIVE_LOCK_TIMEOUT is an error now, not at the first write
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        # psycopg 3 is the driver we install; the bare scheme would ask for psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed)
        sqlite.configure(engine)
        return engine
    return create_engine(parsed, pool_pre_ping=True)


@contextmanager
def writing(engine: Engine) -> Iterator[Session]:
    """A session in a transaction that holds the archive's writer lock until it ends.

    Linking reads what is stored and then writes what it decided, so two writers working at
    once could each miss the other's new version and split one story in two. Writers therefore
    take turns, one transaction at a time: SQLite's write lock (BEGIN IMMEDIATE) or, on
    PostgreSQL, a transaction-level advisory lock; readers never wait. A writer waits for the
    lock up to :func:`lock_timeout`, logs a warning once it has waited a second
    (``LOCK_NOTICE_S``), and raises
    :class:`archive.errors.ArchiveBusyError` when the time is over.
    Parsing and fingerprinting, most of the work, stay parallel. Commits on success, rolls
    back on any exception.
    """
    with Session(engine.execution_options(archive_writer=True)) as session, session.begin():
        if engine.dialect.name == "postgresql":
            postgresql.take_writer_lock(session)
        else:
            session.connection()  # BEGIN IMMEDIATE now: the lock is held from here on
        yield session


def migrations_dir() -> Path:
    """The Alembic script folder: the repository's ``alembic/`` or the installed copy."""
    package_dir = Path(__file__).resolve().parent.parent  # archive/, above archive/storage/
    for candidate in (package_dir / "_migrations", package_dir.parent / "alembic"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("the archive's Alembic migrations are not installed")


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic config for the archive's migrations, bound to ``engine`` when given."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


class SchemaTooNewError(ValueError):
    """The database was migrated by a newer version of the archive than this one."""


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` through the Alembic migrations, one process at a
    time (see :func:`_migrating`)."""
    from alembic import command

    with _migrating(engine) as config:
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database back to ``revision`` through the Alembic migrations."""
    from alembic import command

    with _migrating(engine) as config:
        command.downgrade(config, revision)


def ensure_schema(engine: Engine) -> None:
    """Bring the archive to the current schema unless it is there already (one read, no lock:
    the usual case). Raises :class:`SchemaTooNewError` for a database a newer version of the
    archive migrated."""
    # The usual case without loading Alembic: the one revision, the newest there is.
    if _schema_revisions(engine) == {HEAD_REVISION}:
        return
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    heads = set(script.get_heads())
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    if current == heads:
        return
    unknown = sorted(r for r in current if _unknown_revision(script, r))
    if unknown:
        raise SchemaTooNewError(
            f"the archive is at schema revision {', '.join(unknown)}, newer than this program "
            f"knows ({', '.join(sorted(heads))}); upgrade news-archive"
        )
    upgrade(engine)


def _unknown_revision(script: ScriptDirectory, revision: str) -> bool:
    from alembic.util import CommandError

    try:
        return script.get_revision(revision) is None
    except CommandError:
        return True


@contextmanager
def _migrating(engine: Engine) -> Iterator[Config]:
    """An Alembic config whose migrations run on :func:`migration_connection`."""
    with migration_connection(engine) as connection:
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        yield config


@contextmanager
def migration_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in one transaction that holds the migration lock, for the migrations to
    run in, so that processes opening a new database at once migrate it one after the other
    (the later ones then find it up to date): on SQLite the write lock (BEGIN IMMEDIATE),
    on PostgreSQL an advisory lock. On SQLite, foreign keys are not enforced while the schema
    changes and are checked before the commit (:func:`archive.storage.sqlite.schema_change`)."""
    on_sqlite = engine.dialect.name == "sqlite"
    with (
        engine.execution_options(archive_writer=True).connect() as connection,
        sqlite.schema_change(connection) if on_sqlite else nullcontext() as check,
        connection.begin(),
    ):
        if not on_sqlite:
            postgresql.take_migration_lock(connection)
        yield connection
        if check is not None:
            check()


# Attempts at bringing a schema up to date while other processes open the same new archive.
SCHEMA_ATTEMPTS = 5


def open_archive(url: str) -> Engine:
    """An engine for the archive at ``url``, its schema brought up to date first. Several
    processes opening one new SQLite archive at once can meet in ways SQLite resolves by
    failing one of them at once ("database is locked", no busy wait): that one tries again,
    and finds the schema another made."""
    engine = make_engine(url)
    for attempt in range(SCHEMA_ATTEMPTS):
        try:
            ensure_schema(engine)
            break
        except OperationalError as exc:
            busy = str(getattr(exc.orig, "sqlite_errorname", "")).startswith("SQLITE_BUSY")
            if not busy or attempt == SCHEMA_ATTEMPTS - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    return engine


def open_existing_archive(url: str) -> Engine:
    """An engine for the archive at ``url``, which must already exist: unlike
    :func:`open_archive`, never creates a database, a file or the tables (a typo in a path must
    not leave an empty archive behind). An archive at an older schema is brought up to date.
    Raises :class:`NoArchiveError` when there is no archive there."""
    database = sqlite_file(url)
    if database is not None and not os.path.exists(database):
        raise NoArchiveError(f"no archive at {database}: no such file")
    engine = make_engine(url)
    try:
        revision = _schema_revision(engine)
    except BaseException:
        engine.dispose()
        raise
    if revision is None:
        engine.dispose()
        raise NoArchiveError(
            f"no archive at {database or display_url(url)}: the database has no archive tables"
        )
    if revision != HEAD_REVISION:
        try:
            ensure_schema(engine)  # one process at a time; a newer schema is an error
        except BaseException:
            engine.dispose()
            raise
    return engine


def _schema_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at; None when it has no archive tables at all."""
    revisions = _schema_revisions(engine)
    return None if revisions is None else min(revisions, default=None)


def _schema_revisions(engine: Engine) -> set[str] | None:
    """The Alembic revisions the database is at (one, unless a branch was left unmerged); None
    when it has no archive tables at all. One read, without loading Alembic."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
        return set(rows)


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table``, in bulk; columns they leave
    out get their Python-side defaults, as an INSERT statement would give them."""
    if not rows:
        return
    names = list(rows[0])
    defaults = [
        column
        for column in table.columns
        if column.name not in rows[0] and isinstance(column.default, ColumnDefault)
    ]
    insert_tuples(
        connection,
        table,
        names + [column.name for column in defaults],
        [
            (*(row[name] for name in names), *(_default_of(column, row) for column in defaults))
            for row in rows
        ],
    )


def insert_tuples(
    connection: Connection, table: Table, names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert ``rows``, tuples of the columns ``names``, into ``table``, in bulk.

    SQLAlchemy's executemany works the parameters out row by row in Python (a third of a
    writer's locked time on SQLite), and psycopg runs it as one pipelined statement per row
    (70% of it on PostgreSQL, with ~80 index keys per version). So the values pass through
    their column types' bind processors here, column by column, and then go to the driver as
    they are: PostgreSQL takes them through ``COPY ... FROM STDIN``, SQLite in one executemany
    of the INSERT that SQLAlchemy compiles.
    """
    if not rows:
        return
    postgres = connection.dialect.name == "postgresql"
    if postgres and len(rows) < postgresql.COPY_FROM_ROWS:
        connection.execute(table.insert(), [dict(zip(names, row, strict=True)) for row in rows])
        return
    processors = [table.c[name].type.bind_processor(connection.dialect) for name in names]
    columns = [
        values if process is None else list(map(process, values))
        for values, process in zip(zip(*rows, strict=True), processors, strict=True)
    ]
    if postgres:
        postgresql.copy_rows(connection, table, names, list(zip(*columns, strict=True)))
        return
    sqlite.insert(connection, table, names, columns)


@dataclass(frozen=True)
class _DriverStatement:
    """A read statement compiled for one database, with its types' conversions."""

    sql: str
    positions: tuple[str, ...] | None  # the parameters' order; None for named parameters
    converters: tuple[tuple[str, Callable[[Any], Any]], ...]  # parameters that need one
    columns: tuple[Callable[[Any], Any] | None, ...] | None  # None when no column needs one


# (statement, dialect name) -> its compiled form; statements hash by identity, and the key
# keeps each one alive
_DRIVER_STATEMENTS: dict[tuple[SelectBase, str], _DriverStatement] = {}


def fetch_rows(
    connection: Connection,
    statement: SelectBase,
    parameters: Mapping[str, Any],
) -> list[tuple[Any, ...]]:
    """The rows of a prebuilt read ``statement``, run by the driver on ``connection``'s own
    cursor: for the few statements a lookup runs for every new version, where SQLAlchemy's
    work per execution (an execution context, a result object) costs 0.05-0.3 ms, as much as
    SQLite takes to run some of them. The statement is compiled once per database, and its
    parameters and columns still go through their types (the one TypeDecorator that stores
    the SimHash signed turns it back unsigned here too)."""
    key = (statement, connection.dialect.name)
    prepared = _DRIVER_STATEMENTS.get(key)
    if prepared is None:
        prepared = _DRIVER_STATEMENTS[key] = _driver_statement(statement, connection)
    values = parameters
    if prepared.converters:
        values = dict(parameters)
        for name, convert in prepared.converters:
            values[name] = convert(values[name])
    if connection.dialect.name == "postgresql":
        cursor = postgresql.raw_cursor(connection)
    else:
        cursor = connection.connection.cursor()
    try:
        if prepared.positions is None:
            cursor.execute(prepared.sql, values)
        else:
            cursor.execute(prepared.sql, tuple(values[name] for name in prepared.positions))
        rows = cursor.fetchall()
    finally:
        cursor.close()
    if prepared.columns is None:
        return cast(list[tuple[Any, ...]], rows)  # both drivers return rows as tuples
    return [
        tuple(
            value if convert is None or value is None else convert(value)
            for value, convert in zip(row, prepared.columns, strict=True)
        )
        for row in rows
    ]


def _driver_statement(statement: SelectBase, connection: Connection) -> _DriverStatement:
    dialect = connection.dialect
    compiled = statement.compile(dialect=dialect)
    if any(bind.expanding for bind in compiled.binds.values()):
        raise ValueError("fetch_rows takes no expanding IN parameters: bind each value")
    converters = []
    for name, bind in compiled.binds.items():
        convert = bind.type.bind_processor(dialect)
        if convert is not None:
            converters.append((name, convert))
    columns = tuple(
        column.type.result_processor(dialect, None) for column in statement.selected_columns
    )
    sql = compiled.string
    positions = tuple(compiled.positiontup or ()) if dialect.positional else None
    if dialect.name == "postgresql":
        sql, positions = postgresql.numbered_parameters(sql)
    return _DriverStatement(
        sql,
        positions,
        tuple(converters),
        columns if any(convert is not None for convert in columns) else None,
    )


def _default_of(column: Column[Any], row: Mapping[str, Any]) -> Any:
    """The value ``column``'s Python-side default gives ``row``."""
    default = cast(ColumnDefault, column.default)
    if default.is_callable:
        return default.arg(_RowContext(row))
    return default.arg


class _RowContext:
    """What a context-sensitive column default reads of an INSERT: its row's values."""

    def __init__(self, row: Mapping[str, Any]) -> None:
        self._row = row

    def get_current_parameters(self, isolate_multiinsert_groups: bool = True) -> Mapping[str, Any]:
        return self._row


class ConnectionReader(Reader):
    """The read queries (:mod:`archive.commands.queries`) on a SQLAlchemy connection."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.dialect = connection.dialect.name

    def rows(self, sql: str, params: Mapping[str, object] | None = None) -> list[Row]:
        return [tuple(row) for row in self._connection.execute(text(sql), dict(params or {}))]


def checkpoint(engine: Engine) -> None:
    """SQLite: empty the write-ahead log (:func:`archive.storage.sqlite.checkpoint`). Nothing
    to do on PostgreSQL."""
    if engine.dialect.name == "sqlite":
        sqlite.checkpoint(engine)
