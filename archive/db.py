"""Engines for SQLite and PostgreSQL, and bringing a database to the current schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

SQLITE_BUSY_TIMEOUT_MS = 30_000


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
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")


def migrations_dir() -> Path:
    """The Alembic script folder: the repository's ``alembic/`` or the installed copy."""
    package_dir = Path(__file__).resolve().parent
    for candidate in (package_dir / "_migrations", package_dir.parent / "alembic"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("the archive's Alembic migrations are not installed")


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic config for the archive's migrations, bound to ``engine`` when given."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` through the Alembic migrations."""
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database back to ``revision`` through the Alembic migrations."""
    command.downgrade(alembic_config(engine), revision)


def open_archive(url: str) -> Engine:
    """An engine for the archive at ``url``, its schema brought up to date first."""
    engine = make_engine(url)
    upgrade(engine)
    return engine
