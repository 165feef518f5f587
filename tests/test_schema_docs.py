"""Every SQL example in docs/schema.md and the README runs on SQLite and PostgreSQL, and the
answers are what the bundled samples imply."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect

from archive.commands.ingest import ingest
from archive.storage.models import Base, to_unsigned64

from .conftest import REPO, SAMPLES

SCHEMA_DOC = REPO / "docs" / "schema.md"
_SQL_BLOCK = re.compile(r"```sql\n(.*?)```", re.S)
# A block whose first line says so runs on that database only.
_ONLY = {"-- SQLite only": "sqlite", "-- PostgreSQL only": "postgresql"}


def sql_blocks(path: Path) -> list[str]:
    return [block.strip() for block in _SQL_BLOCK.findall(path.read_text(encoding="utf-8"))]


def runs_on(block: str) -> set[str]:
    first_line = block.splitlines()[0].strip()
    return {_ONLY[first_line]} if first_line in _ONLY else {"sqlite", "postgresql"}


def block_with(blocks: list[str], fragment: str) -> str:
    [found] = [b for b in blocks if fragment in b]
    return found


def run(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    """``sql`` exactly as a user would paste it: through the driver, with no parameters (so
    a ``%`` in a LIKE pattern stays a ``%``)."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        if engine.dialect.name == "postgresql":
            # the docs ask for this before comparing times with bare dates
            cursor.execute("SET TIME ZONE 'UTC'")
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        connection.close()


def test_the_schema_doc_has_at_least_ten_queries_for_each_database() -> None:
    blocks = sql_blocks(SCHEMA_DOC)
    for dialect in ("sqlite", "postgresql"):
        assert sum(dialect in runs_on(b) for b in blocks) >= 10


def test_the_schema_doc_describes_every_table_column_and_view(engine: Engine) -> None:
    doc = SCHEMA_DOC.read_text(encoding="utf-8")
    inspector = inspect(engine)
    for table in Base.metadata.tables.values():
        assert f"### `{table.name}`" in doc
        for column in table.columns:
            assert f"`{column.name}`" in doc, f"{table.name}.{column.name}"
    for view in inspector.get_view_names():
        assert f"### `{view}`" in doc
        for reflected in inspector.get_columns(view):
            assert f"`{reflected['name']}`" in doc, f"{view}.{reflected['name']}"


def test_every_sql_example_runs_and_answers_as_the_samples_imply(engine: Engine) -> None:
    assert ingest([str(SAMPLES)], engine).failed == 0
    dialect = engine.dialect.name
    readme_blocks = sql_blocks(REPO / "README.md")
    blocks = [b for b in sql_blocks(SCHEMA_DOC) if dialect in runs_on(b)]
    results = {}
    for block in blocks + [b for b in readme_blocks if dialect in runs_on(b)]:
        results[block] = run(engine, block)

    most_sites = results[block_with(blocks, "FROM story_summary\nORDER BY site_count DESC")]
    assert most_sites[0][1:4] == (
        "Cove Line adds winter ferry sailings",
        2,
        "Cove Gazette, Island Times",
    )

    seed = results[block_with(blocks, "LIKE '%meridian-kim-russia.html'")]
    assert sorted(Path(row[1]).name for row in seed) == [
        "000_0413e7c0cc1f7413.txt",
        "002_224e29597f2f497a.txt",
        "meridian-kim-russia.html",
    ]

    spring = results[block_with(blocks, "first_seen_at >= '2024-03-01'")]
    assert [row[1] for row in spring] == [
        "Portwell votes for tidal barrier to end harbour flooding",
        "Fishermen vow legal fight over Portwell barrier",
        "Portwell to close three branch libraries as budget gap widens - update",
    ]

    copies = results[block_with(blocks, "FROM site_copies")]
    assert copies == [("Island Times", "Cove Gazette", 1, 1, 0, 0, 1)]

    rewrites = results[block_with(blocks, "AS rewrites_of")]
    assert sum(row[2] for row in rewrites) == 1  # the seed pair: 002 rewrites 000

    exact = results[block_with(blocks, "HAVING count(*) > 1")]
    assert sorted(Path(row[3].split("#")[0]).name for row in exact) == [
        "meridian-kim-russia.html",
        "regional-feed.jsonl",
    ]

    found = block_with(blocks, "MATCH 'portwell barrier'" if dialect == "sqlite" else "@@")
    assert {row[2] for row in results[found]} == {
        "Harbour council approves £40m tidal barrier after decade of floods",
        "Portwell votes for tidal barrier to end harbour flooding",
        "Fishermen vow legal fight over Portwell barrier",
    }

    simhashes = results[block_with(blocks, "AS simhash_hex")]
    assert any(row[1] < 0 for row in simhashes)  # the samples do need the unsigned mapping
    for row in simhashes:
        assert row[2] == format(to_unsigned64(row[1]), "016x")
        if dialect == "postgresql":
            assert row[3] == to_unsigned64(row[1])
