"""Alembic environment: one migration tree for SQLite and PostgreSQL (batch mode)."""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy import Connection, Engine
from sqlalchemy.types import TypeDecorator

from archive.config import database_url
from archive.storage.db import make_engine, migration_connection
from archive.storage.models import Base

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata

# Database objects the migrations create beside the models (0005, 0013): views, the SQLite FTS5
# table with its shadow tables (versions_fts_data, ...) and PostgreSQL's full-text table
# versions_fts with its index (before 0013, an expression index on versions). They are
# not in the metadata, so autogenerate and `alembic check` must not offer to drop them.
_NOT_IN_MODELS = {
    "story_summary",
    "version_matches",
    "site_copies",
    "ix_versions_fts",
    "ix_versions_fts_document",
}
_NOT_IN_MODELS_PREFIX = "versions_fts"


def _include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    if type_ in {"table", "index"} and name is not None:
        return name not in _NOT_IN_MODELS and not name.startswith(_NOT_IN_MODELS_PREFIX)
    return True


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Write the archive's column types as their plain SQL types: a migration must not import
    application code that may change after it was written."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def _engine() -> Engine:
    given = config.attributes.get("engine")
    if given is not None:
        return given
    return make_engine(database_url(context.get_x_argument(as_dictionary=True).get("db")))


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(context.get_x_argument(as_dictionary=True).get("db")),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        include_name=_include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    # archive.storage.db runs the migrations on a connection of its own, in a transaction that
    # holds the migration lock; alembic's command line opens one here.
    given = config.attributes.get("connection")
    if given is not None:
        _run_migrations(given)
        return
    with migration_connection(_engine()) as connection:
        _run_migrations(connection)


def _run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=_render_item,
        include_name=_include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
