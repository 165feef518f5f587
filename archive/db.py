"""Engines for SQLite and PostgreSQL, and bringing a database to the current schema."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from archive.config import display_url, sqlite_file

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported only to migrate (half a second): commands that read an up-to-date archive
# never load it.

SQLITE_BUSY_TIMEOUT_MS = 30_000
# The key of the PostgreSQL advisory lock that writers hold for a transaction ("arch" in ASCII).
WRITER_LOCK_KEY = 0x61726368


def make_engine(url: str) -> Engine:
    """An engine for ``url``, set up the way the archive needs it on each dialect."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        # psycopg 3 is the driver we install; the bare scheme would ask for psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed)
        _configure_sqlite(engine)
        return engine
    return create_engine(parsed, pool_pre_ping=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin: the module's
        # own implicit BEGIN breaks SAVEPOINTs, which ingest uses to undo one failed file.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # 64 MiB of page cache instead of 2: the index lookups of a big archive stay in memory.
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A writer takes SQLite's write lock when it begins, not at its first write: otherwise
        # two writers that both read first cannot upgrade, and one fails instead of waiting.
        writer = connection.get_execution_options().get("archive_writer", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")


@contextmanager
def writing(engine: Engine) -> Iterator[Session]:
    """A session in a transaction that holds the archive's writer lock until it ends.

    Linking reads what is stored and then writes what it decided, so two writers working at
    once could each miss the other's new version and split one story in two. Writers therefore
    take turns, one transaction at a time: SQLite's write lock (BEGIN IMMEDIATE, waiting up to
    the busy timeout) or, on PostgreSQL, a transaction-level advisory lock; readers never wait.
    Parsing and fingerprinting, most of the work, stay parallel. Commits on success, rolls
    back on any exception.
    """
    with Session(engine.execution_options(archive_writer=True)) as session, session.begin():
        if engine.dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITER_LOCK_KEY})
        else:
            session.connection()  # BEGIN IMMEDIATE now: the lock is held from here on
        yield session


def migrations_dir() -> Path:
    """The Alembic script folder: the repository's ``alembic/`` or the installed copy."""
    package_dir = Path(__file__).resolve().parent
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


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` through the Alembic migrations."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database back to ``revision`` through the Alembic migrations."""
    from alembic import command

    command.downgrade(alembic_config(engine), revision)


def open_archive(url: str) -> Engine:
    """An engine for the archive at ``url``, its schema brought up to date first."""
    engine = make_engine(url)
    upgrade(engine)
    return engine


class NoArchiveError(LookupError):
    """There is no archive where a command that reads one was pointed; ``str()`` says why."""


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
    if revision != head_revision():
        upgrade(engine)
    return engine


def head_revision() -> str:
    """The newest revision of the migrations, read from their files without loading Alembic."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (migrations_dir() / "versions").glob("*.py"):
        source = script.read_text(encoding="utf-8")
        if found := _REVISION.search(source):
            revisions.add(found.group(1))
        for line in _PARENT.findall(source):  # None, "0005" or a merge's ("0006", "0007")
            parents.update(re.findall(r'"([^"]+)"', line))
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


_REVISION = re.compile(r'^revision(?:: [^=]+)? = "([^"]+)"', re.MULTILINE)
_PARENT = re.compile(r"^down_revision\b.*$", re.MULTILINE)


def _schema_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at; None when it has no archive tables at all."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
