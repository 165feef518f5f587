"""A SQLite archive at the current schema is read with the standard library's sqlite3 alone
(archive/storage/sqlite_read.py), anything else through SQLAlchemy; the same SQL runs both ways
(archive/queries.py), and every read command prints the same either way."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.api import Archive
from archive.cli import main
from archive.commands.ingest import ingest
from archive.commands.remove import remove_version
from archive.linking import store
from archive.linking.match import Verdict, fingerprint
from archive.sources.article import Article
from archive.sources.records import ParsedRecord
from archive.storage import sqlite_read
from archive.storage.db import downgrade, open_archive
from archive.storage.models import Version
from archive.storage.sqlite_read import archive_file

from .conftest import SAMPLES
from .module_db import module_database

# Every read command on the samples, with the options that change its query.
READS = [
    ["stories"],
    ["stories", "--limit", "0", "--json"],
    ["stories", "--min-versions", "2", "--csv"],
    ["stories", "--site", "TIMES", "--title", "ferry"],
    ["stories", "--site", "100%_"],  # LIKE's wildcards are matched literally
    ["stories", "--since", "2024-03-13", "--until", "2024-09-02", "--tsv"],
    ["stories", "--until", "2024-03-12"],
    ["stats"],
    ["stats", "--json"],
    ["stats", "--top", "2"],
    ["stats", "--csv"],
    ["stats", "--tsv"],
    ["search", "barrier"],
    ["search", "portw*", "--json"],
    ["search", "nosuchwordanywhere"],
    ["diff", "1", "2"],
    ["diff", "1", "2", "--json"],
    ["diff", "1", "9999"],
    ["show", "9999"],
]
WIDTHS = [None, 80]  # piped, and a terminal 80 columns wide


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The samples in a SQLite archive, one version removed and two stories merged by a
    version linked to both (so that a merged story id is shown too); yields its URL."""
    with module_database("sqlite", tmp_path_factory.mktemp("reads")) as (engine, url):
        assert ingest([str(SAMPLES)], engine).failed == 0
        remove_version(engine, 3)
        with Session(engine) as session, session.begin():
            first, last = session.execute(select(func.min(Version.id), func.max(Version.id))).one()
            linked = {v: session.get_one(Version, v).story_id for v in (first, last)}
            assert len(set(linked.values())) == 2
            writer = store.BatchWriter(session, run_id=None, now=datetime.now(UTC))
            article = Article(title="Both stories", body="A version linked to two stories.")
            record = ParsedRecord("bridge.txt", "text", "0" * 64, article)
            verdicts = [Verdict(v, s, 2, 0.9, "near", 1.0) for v, s in linked.items()]
            assert writer.add(record, fingerprint(article), verdicts).merged_stories == 1
            writer.flush()
        yield url


def run(args: list[str], width: int | None) -> Result:
    env = {"TTY_COMPATIBLE": "1", "COLUMNS": str(width)} if width else {"TTY_COMPATIBLE": "0"}
    return CliRunner().invoke(main, args, env=env)


def both_ways(
    monkeypatch: pytest.MonkeyPatch, url: str, args: list[str], width: int | None
) -> tuple[Result, Result]:
    """``archive --db URL ARGS`` read with sqlite3, then through SQLAlchemy."""
    opened: list[str] = []
    reading = sqlite_read.reading

    def counted(path: str) -> object:
        opened.append(path)
        return reading(path)

    with monkeypatch.context() as patch:
        patch.setattr(sqlite_read, "reading", counted)
        fast = run(["--db", url, *args], width)
    assert opened, "the fast path was not taken"
    with monkeypatch.context() as patch:
        patch.setattr(sqlite_read, "archive_file", lambda url: None)
        patch.setattr(sqlite_read, "reading", None)  # not called: SQLAlchemy reads
        usual = run(["--db", url, *args], width)
    return fast, usual


@pytest.mark.parametrize("width", WIDTHS, ids=["piped", "80-columns"])
@pytest.mark.parametrize("args", READS, ids=" ".join)
def test_every_read_prints_the_same_read_with_sqlite3_or_sqlalchemy(
    monkeypatch: pytest.MonkeyPatch, samples: str, args: list[str], width: int | None
) -> None:
    fast, usual = both_ways(monkeypatch, samples, args, width)
    assert "Traceback" not in fast.output + usual.output
    assert (fast.exit_code, fast.stdout, fast.stderr) == (
        usual.exit_code,
        usual.stdout,
        usual.stderr,
    )


def story_ids(url: str) -> list[int]:
    """Every story id the archive answers to: its stories, and the ids merged into them."""
    path = archive_file(url)
    assert path is not None
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT id FROM stories UNION SELECT merged_story_id FROM story_merges ORDER BY 1"
        ).fetchall()
    return [row[0] for row in rows]


@pytest.mark.parametrize("output", [[], ["--json"], ["--csv"]], ids=["table", "json", "csv"])
def test_show_prints_every_story_the_same_both_ways(
    monkeypatch: pytest.MonkeyPatch, samples: str, output: list[str]
) -> None:
    ids = story_ids(samples)
    assert len(ids) > 5
    assert run(["--db", samples, "stats", "--json"], None).stdout.count('"merged_story_ids": 1')
    for story_id in ids:
        fast, usual = both_ways(monkeypatch, samples, ["show", str(story_id), *output], 100)
        assert fast.exit_code == usual.exit_code == 0
        assert fast.stdout == usual.stdout


def test_the_api_answers_the_same_both_ways(monkeypatch: pytest.MonkeyPatch, samples: str) -> None:
    def answers(archive: Archive) -> list[object]:
        return [
            archive.stories(limit=None),
            archive.stories(since="2024-03-13", until="2024-09-02", site="island"),
            [archive.story(story_id) for story_id in story_ids(samples)],
            archive.versions(limit=None),
            archive.versions(story_id=1, site="MERIDIAN"),
            archive.versions(source=str(SAMPLES / "harbour-barrier.txt")),
            archive.stats(),
            archive.search("portwell barrier"),
            archive.diff(1, 2),
            archive.linked_stories(),
        ]

    with Archive(samples, create=False) as archive:
        assert archive._file is not None
        fast = answers(archive)
    with monkeypatch.context() as patch:
        patch.setattr(sqlite_read, "archive_file", lambda url: None)
        with Archive(samples, create=False) as archive:
            assert archive._file is None
            usual = answers(archive)
    assert fast == usual
    # times come back as aware UTC datetimes both ways, not as SQLite's text
    stories = fast[0]
    assert isinstance(stories, list) and stories[0].first_seen_at.utcoffset() is not None


def test_an_archive_read_with_sqlite3_writes_and_gives_its_engine_too(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    open_archive(url).dispose()
    with Archive(url) as archive:
        assert archive._file is not None and archive._engine is None
        added = archive.add({"title": "A title", "body": "Some words of a body.", "url": "u"})
        assert added.status == "stored"
        assert [s.title for s in archive.stories()] == ["A title"]
        assert archive.engine.dialect.name == "sqlite"


def test_only_an_existing_archive_at_the_current_schema_is_read_with_sqlite3(
    tmp_path: Path,
) -> None:
    path = tmp_path / "archive.db"
    url = f"sqlite:///{path}"
    assert archive_file(url) is None  # no such file, and none is made
    assert not path.exists()
    path.write_bytes(b"not a database")
    assert archive_file(url) is None
    path.unlink()
    sqlite3.connect(path).close()  # an empty SQLite file: no archive tables
    assert archive_file(url) is None
    path.unlink()
    engine = open_archive(url)
    try:
        assert archive_file(url) == str(path)
        assert archive_file(f"sqlite:///{path}?mode=ro") is None  # options: SQLAlchemy's
        assert archive_file(url.replace("archive.db", "archive%2Edb")) is None
        assert archive_file("sqlite://") is None
        assert archive_file("postgresql+psycopg://user@host/archive") is None
        downgrade(engine, "0008_match_keys_without_rowid")  # to be migrated first
        assert archive_file(url) is None
        with sqlite3.connect(path) as connection:  # newer than this program: refused there
            connection.execute("UPDATE alembic_version SET version_num = '9999_future'")
        assert archive_file(url) is None
    finally:
        engine.dispose()


def test_a_relative_path_is_read_where_sqlalchemy_would_read_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "a folder é"
    folder.mkdir()
    open_archive(f"sqlite:///{folder.name}/news.db").dispose()
    assert archive_file(f"sqlite:///{folder.name}/news.db") == f"{folder.name}/news.db"
    result = run(["--db", f"{folder.name}/news.db", "stats", "--json"], None)
    assert result.exit_code == 0 and '"stories": 0' in result.stdout


def test_a_bad_lock_timeout_is_one_line_before_anything_is_read_or_written(
    samples: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHIVE_LOCK_TIMEOUT", "soon")
    for args in (["stories"], ["remove", "1"]):
        result = run(["--db", samples, *args], None)
        assert result.exit_code == 1
        assert result.stderr.splitlines() == [
            f"Error: cannot open the archive at {samples}: ARCHIVE_LOCK_TIMEOUT must be a "
            "number of seconds, not 'soon'"
        ]


def test_a_failure_of_the_file_while_sqlite3_reads_is_one_line(
    samples: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(self: object, sql: str, params: object = None) -> list[object]:
        error = sqlite3.OperationalError("disk I/O error")
        error.sqlite_errorname = "SQLITE_IOERR_READ"
        raise error

    monkeypatch.setattr(sqlite_read.SqliteReader, "rows", failing)
    result = run(["--db", samples, "stories"], None)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error: stories stopped: cannot read or write the archive file: disk I/O error."
    ]
