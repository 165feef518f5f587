"""The Alembic migrations build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, event, func, inspect, select

from archive.commands.ingest import ingest
from archive.storage.db import (
    alembic_config,
    downgrade,
    migration_connection,
    open_archive,
    upgrade,
)
from archive.storage.models import Base, Story, VersionLink

from .conftest import SAMPLES

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


# -- SQLite: foreign keys while the schema changes ------------------------------------------


@pytest.fixture
def sample_archive(sqlite_url: str) -> Iterator[Engine]:
    """A SQLite archive holding the bundled sample: stories, versions, links, index keys."""
    engine = open_archive(sqlite_url)
    assert ingest([str(SAMPLES)], engine).failed == 0
    yield engine
    engine.dispose()


def _tables_checked(engine: Engine) -> list[str]:
    """The tables whose foreign keys the statements run on ``engine`` from now on check."""
    checked: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def note(_conn: Connection, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "foreign_key_check" in statement:
            checked.append(parameters[0])

    return checked


def _counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        stories = connection.scalar(select(func.count()).select_from(Story))
        links = connection.scalar(select(func.count()).select_from(VersionLink))
    return stories or 0, links or 0


def test_a_sqlite_migration_that_leaves_references_dangling_is_rolled_back(
    sample_archive: Engine,
) -> None:
    before = _counts(sample_archive)
    assert before[0] > 0 and before[1] > 0, "the sample links versions into stories"
    with (
        pytest.raises(RuntimeError, match="broke a foreign key"),
        migration_connection(sample_archive) as connection,
    ):
        connection.exec_driver_sql("DELETE FROM stories")
    assert _counts(sample_archive) == before


def test_a_sqlite_table_rebuilt_without_some_of_its_rows_is_caught_by_the_tables_referring_to_it(
    sample_archive: Engine,
) -> None:
    checked = _tables_checked(sample_archive)
    with (
        pytest.raises(RuntimeError, match="broke a foreign key"),
        migration_connection(sample_archive) as connection,
    ):
        # What batch mode does to rebuild a table, losing the run the versions came from.
        definition = connection.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE name = 'ingest_runs'"
        ).scalar_one()
        connection.exec_driver_sql(definition.replace("ingest_runs", "_alembic_tmp_runs", 1))
        connection.exec_driver_sql("INSERT INTO _alembic_tmp_runs SELECT * FROM ingest_runs")
        connection.exec_driver_sql("DELETE FROM _alembic_tmp_runs")
        connection.exec_driver_sql("DROP TABLE ingest_runs")
        connection.exec_driver_sql("ALTER TABLE _alembic_tmp_runs RENAME TO ingest_runs")
    assert "versions" in checked and "ingest_errors" in checked
    with sample_archive.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM ingest_runs").scalar_one() == 1


def test_a_sqlite_migration_checks_only_the_tables_it_changed_and_those_referring_to_them(
    sample_archive: Engine,
) -> None:
    checked = _tables_checked(sample_archive)
    with migration_connection(sample_archive) as connection:
        connection.exec_driver_sql("CREATE INDEX ix_test_titles ON versions (title)")
    assert checked == [], "a new index moves no row"
    with migration_connection(sample_archive) as connection:
        connection.exec_driver_sql("UPDATE version_links SET distance = distance")
    assert checked == ["version_links"]
    checked.clear()
    with migration_connection(sample_archive) as connection:
        connection.exec_driver_sql("UPDATE versions SET title = title")
    referring = {
        table
        for table in inspect(sample_archive).get_table_names()
        for key in inspect(sample_archive).get_foreign_keys(table)
        if key["referred_table"] == "versions"
    }
    assert {"version_links", "match_keys", "version_words"} <= referring
    # ...and the full-text tables its triggers write to
    assert referring | {"versions"} <= set(checked)
    assert not {"ingest_runs", "ingest_errors"} & set(checked)
