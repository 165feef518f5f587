"""The Alembic migrations build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect

from archive.storage.db import alembic_config, downgrade, upgrade
from archive.storage.models import Base

ARCHIVE_TABLES = {
    "stories",
    "versions",
    "version_links",
    "story_merges",
    "match_keys",
    "match_keys_recent",
    "version_words",
    "ingest_runs",
    "ingest_errors",
}


def test_fresh_database_upgrades_to_head_with_every_table(bare_engine: Engine) -> None:
    upgrade(bare_engine)
    tables = set(inspect(bare_engine).get_table_names())
    assert tables >= ARCHIVE_TABLES
    assert set(Base.metadata.tables) <= tables


def test_models_and_migrations_agree(bare_engine: Engine) -> None:
    upgrade(bare_engine)
    # `alembic check` raises when autogenerate would write a migration.
    command.check(alembic_config(bare_engine))


def test_downgrade_to_base_removes_the_schema_and_upgrade_rebuilds_it(bare_engine: Engine) -> None:
    upgrade(bare_engine)
    downgrade(bare_engine, "base")
    assert not ARCHIVE_TABLES & set(inspect(bare_engine).get_table_names())
    upgrade(bare_engine)
    assert set(inspect(bare_engine).get_table_names()) >= ARCHIVE_TABLES


def test_upgrading_an_up_to_date_database_changes_nothing(bare_engine: Engine) -> None:
    upgrade(bare_engine)
    before = set(inspect(bare_engine).get_table_names())
    upgrade(bare_engine)
    assert set(inspect(bare_engine).get_table_names()) == before
