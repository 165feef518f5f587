"""The SQL views and full-text structures of migration 0005, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, inspect, text

from archive.commands.ingest import ingest
from archive.commands.queries import archive_stats
from archive.commands.search import search_statement, search_terms, search_versions
from archive.storage.db import downgrade, make_engine, open_archive, upgrade
from archive.storage.models import Story, Version
from archive.storage.sqlite_read import SqliteReader

from .conftest import SAMPLES
from .module_db import BOTH_DATABASES, module_database
from .rows import NOW, version_rows

VIEWS = {"story_summary", "version_matches", "site_copies"}


def rows(engine: Engine, sql: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(text(sql))]


@pytest.fixture(scope="module", params=BOTH_DATABASES)
def archive(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """The samples ingested once per database for this module's read-only tests."""
    with module_database(request.param, tmp_path_factory.mktemp("views")) as (engine, _):
        assert ingest([str(SAMPLES)], engine).failed == 0
        yield engine


def test_story_summary_has_a_row_per_story_with_counts_sites_and_canonical_title(
    archive: Engine,
) -> None:
    summary = {r["story_id"]: r for r in rows(archive, "SELECT * FROM story_summary")}
    stories = rows(archive, "SELECT id, title FROM stories")
    assert set(summary) == {s["id"] for s in stories}
    seed = summary[1]
    assert (seed["versions"], seed["site_count"], seed["sites"]) == (3, 1, "The Meridian Post")
    assert seed["title"].startswith("North Korea’s Kim sets forth steps")
    assert seed["canonical_source_path"].endswith("meridian-kim-russia.html")
    ferries = next(r for r in summary.values() if r["title"].startswith("Cove Line"))
    assert (ferries["site_count"], ferries["sites"]) == (2, "Cove Gazette, Island Times")
    assert sum(r["versions"] for r in summary.values()) == len(
        rows(archive, "SELECT id FROM versions")
    )


def test_version_matches_gives_each_version_its_story_and_the_matched_versions_source(
    archive: Engine,
) -> None:
    matches = {
        Path(r["source_path"]).name: r for r in rows(archive, "SELECT * FROM version_matches")
    }
    assert len(matches) == len(rows(archive, "SELECT id FROM versions"))
    rewrite = matches["002_224e29597f2f497a.txt"]
    assert rewrite["match_method"] == "rewrite" and rewrite["story_id"] == 1
    assert Path(rewrite["matched_source_path"]).name == "000_0413e7c0cc1f7413.txt"
    assert 0 < rewrite["match_similarity"] < 1 and rewrite["match_sentences"] > 0.5
    assert matches["meridian-kim-russia.html"]["is_canonical"] == 1
    assert sum(r["is_canonical"] for r in matches.values()) == len(
        rows(archive, "SELECT id FROM stories")
    )
    ferry_copy = matches["regional-feed.jsonl#1"]
    assert (ferry_copy["match_method"], ferry_copy["matched_site"]) == ("exact", "Island Times")


def test_site_copies_counts_links_from_the_later_site_to_the_earlier_per_method(
    archive: Engine,
) -> None:
    copies = rows(
        archive,
        "SELECT site, source_site, links, exact, near, rewrite, stories FROM site_copies "
        "WHERE site IS NOT NULL AND source_site IS NOT NULL",
    )
    # Island Times (10:30) carried the Cove Gazette's ferry story (08:00) word for word; the
    # link runs the other way in ingest order, from the JSONL record to the WARC record.
    assert copies == [
        {
            "site": "Island Times",
            "source_site": "Cove Gazette",
            "links": 1,
            "exact": 1,
            "near": 0,
            "rewrite": 0,
            "stories": 1,
        }
    ]
    everything = rows(archive, "SELECT links, exact, near, rewrite FROM site_copies")
    links = rows(archive, "SELECT method FROM version_links")
    assert sum(r["links"] for r in everything) == len(links)
    assert sum(r["exact"] + r["near"] + r["rewrite"] for r in everything) == len(links)


def test_versions_stored_before_the_migration_are_searchable_after_it(
    bare_engine: Engine,
) -> None:
    # stored by this program, then taken back to the schema before search existed (0004)
    upgrade(bare_engine)
    assert ingest([str(SAMPLES)], bare_engine).failed == 0
    downgrade(bare_engine, "0004")
    upgrade(bare_engine)
    hits = search_versions(bare_engine, "portwell barrier")
    assert len(hits) == 3
    assert {h.story_id for h in search_versions(bare_engine, "Pyongyang")} == {1}


def test_downgrade_removes_views_search_structures_and_removal_log(bare_engine: Engine) -> None:
    upgrade(bare_engine)
    downgrade(bare_engine, "0004")
    inspector = inspect(bare_engine)
    assert not VIEWS & set(inspector.get_view_names())
    tables = set(inspector.get_table_names())
    assert "version_removals" not in tables
    assert not [t for t in tables if t.startswith("versions_fts")]
    assert "ix_versions_fts" not in {i["name"] for i in inspector.get_indexes("versions")}
    if bare_engine.dialect.name == "sqlite":
        with bare_engine.connect() as conn:
            triggers = conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'"
            ).all()
        assert triggers == []
    upgrade(bare_engine)
    inspector = inspect(bare_engine)
    assert set(inspector.get_view_names()) >= VIEWS
    assert "version_removals" in inspector.get_table_names()


def test_the_search_index_follows_edits_of_a_version(db_url: str) -> None:
    engine = open_archive(db_url)
    try:
        assert ingest([str(SAMPLES / "harbour-barrier.txt")], engine).failed == 0
        with engine.begin() as conn:
            conn.execute(text("UPDATE versions SET title = 'Quokka sighting'"))
        assert len(search_versions(engine, "quokka")) == 1
        assert search_versions(engine, "decade floods") == []  # the old title's words
        assert len(search_versions(engine, "councillors")) == 1  # the body is still indexed
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_search_uses_the_full_text_index(postgres_url: str) -> None:
    engine = open_archive(postgres_url)
    try:
        statement, params = search_statement("postgresql", search_terms("portwell barrier"), 20)
        with engine.connect() as conn:
            # a fresh, empty table is cheaper to scan: forbid that to see the index is usable
            conn.exec_driver_sql("SET enable_seqscan = off")
            plan = conn.execute(text(f"EXPLAIN {statement}"), params).scalars().all()
        assert any("ix_versions_fts_document" in line for line in plan), plan
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgresql_search_moves_to_its_own_table_with_the_versions_stored_before(
    postgres_url: str,
) -> None:
    """Migration 0013 writes the vectors of the versions already stored into ``versions_fts``
    (before it, an expression index on ``versions`` held them); its downgrade brings that
    index back."""
    engine = make_engine(postgres_url)
    try:
        upgrade(engine, "0012_unindexed_batches")
        with engine.begin() as conn:
            story = {"id": 1, "title": "t", "first_seen_at": NOW, "last_seen_at": NOW}
            conn.execute(insert(Story), [story])
            body = "Quokkas were sighted at the Portwell harbour barrier."
            conn.execute(insert(Version), version_rows([1], title="Quokka sighting", body=body))
        upgrade(engine)
        assert [hit.version_id for hit in search_versions(engine, "quokkas harbour")] == [1]
        downgrade(engine, "0012_unindexed_batches")
        inspector = inspect(engine)
        assert "versions_fts" not in inspector.get_table_names()
        assert "ix_versions_fts" in {i["name"] for i in inspector.get_indexes("versions")}
    finally:
        engine.dispose()


def test_the_sqlite_archive_reads_as_plain_sqlite(sqlite_url: str, tmp_path: Path) -> None:
    # What Datasette and the sqlite3 shell see: views and the FTS table are ordinary SQL there.
    open_archive(sqlite_url).dispose()
    with closing(sqlite3.connect(tmp_path / "archive.db")) as conn:
        for view in sorted(VIEWS):
            conn.execute(f"SELECT * FROM {view}").fetchall()
        conn.execute("SELECT rowid FROM versions_fts WHERE versions_fts MATCH 'x'").fetchall()


@pytest.fixture
def sqlite_samples(sqlite_url: str, tmp_path: Path) -> Path:
    """The file of a SQLite archive holding the samples, to read with the sqlite3 module."""
    engine = open_archive(sqlite_url)
    try:
        assert ingest([str(SAMPLES)], engine).failed == 0
    finally:
        engine.dispose()
    return tmp_path / "archive.db"


def test_story_counts_and_archive_stats_read_the_index_not_the_version_rows(
    sqlite_samples: Path,
) -> None:
    """``story_summary`` and ``archive stats`` count versions, sites and match methods: on
    SQLite every read of ``versions`` they make is an index lookup or a scan of a covering
    index, never of the rows, whose bodies make them large (migration 0014)."""
    with closing(sqlite3.connect(sqlite_samples)) as conn:
        statements = ["SELECT * FROM story_summary ORDER BY versions DESC LIMIT 10"]
        conn.set_trace_callback(statements.append)
        archive_stats(SqliteReader(conn), top=5)
        conn.set_trace_callback(None)
        selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        assert len(selects) >= 4  # the view, then the totals, the methods, the biggest stories
        views = " ".join(
            sql for (sql,) in conn.execute("SELECT sql FROM sqlite_master WHERE type = 'view'")
        )
        for statement in selects:
            # the plan names the table by the alias a statement or a view gives it
            names = {
                "versions",
                *re.findall(r"\bversions\s+(?:AS\s+)?(\w+)", f"{statement} {views}"),
            }
            plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {statement}")]
            table_scans = [
                line
                for line in plan
                if line.split()[:1] == ["SCAN"]
                and line.split()[1] in names
                and "COVERING INDEX" not in line
            ]
            assert table_scans == [], (statement, plan)


def test_a_story_summary_query_on_sqlite_reads_the_versions_of_only_the_stories_it_returns(
    sqlite_samples: Path,
) -> None:
    """A story's counts are worked out from its own index entries, where its row is read: a
    query for one story, or for a page of stories (what Datasette shows first), reads no
    other story's versions (migration 0015). Before, every query grouped all versions."""
    with closing(sqlite3.connect(sqlite_samples)) as conn:
        for statement, scanned in [
            ("SELECT * FROM story_summary WHERE story_id = 1", []),
            ("SELECT * FROM story_summary LIMIT 5", ["s"]),  # stories, up to the limit
        ]:
            plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {statement}")]
            # a scan of a table or index; "SCAN (subquery-N)" reads one story's sites
            scans = [line.split()[1] for line in plan if line.startswith("SCAN ")]
            assert [name for name in scans if not name.startswith("(")] == scanned, plan
            searches = [line for line in plan if line.startswith("SEARCH v ")]
            assert searches and all("(story_id=?" in line for line in searches), plan
