"""Issue 19, "Reliability, second round": one bad input never stops a run, every message is
clean, ids and paths stay stable. Each test failed before its fix; most run on SQLite and
PostgreSQL (the ``engine`` and ``db_url`` fixtures)."""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.orm import Session

from archive.cli import main
from archive.commands import ingest as ingest_module
from archive.commands.ingest import ingest
from archive.commands.remove import remove_version
from archive.commands.search import search_versions
from archive.linking import store
from archive.sources import htmlpage, textdump
from archive.sources.article import BodyStatus
from archive.sources.parse import _parsed as parse_records
from archive.sources.parse import parse_bytes, parse_file, read_records
from archive.sources.records import ParsedRecord, ParseFailure
from archive.storage import db as db_module
from archive.storage import storable as storable_module
from archive.storage.db import (
    alembic_config,
    downgrade,
    make_engine,
    open_archive,
    upgrade,
)
from archive.storage.models import IngestError, IngestRun, Version
from archive.storage.postgresql import WRITER_LOCK_KEY
from archive.storage.storable import storable

from .conftest import REPO
from .rows import index_postings
from .test_hostile_input import article_text, warc_bytes

# Stories with nothing in common, for tests that need one story per file.
TOPICS = [
    (
        "Harbour ferry service suspended after engine fault",
        "The morning ferry between Kestle and the outer islands was cancelled after engineers "
        "found a cracked cylinder head. Passengers were offered seats on a chartered launch, "
        "and the operator said repairs would take at least a fortnight.",
    ),
    (
        "Library wins grant to digitise wartime letters",
        "Volunteers at the county library will scan four thousand letters written by soldiers "
        "and nurses, thanks to a heritage lottery award. Archivists hope relatives will help "
        "identify faces in photographs tucked inside the envelopes.",
    ),
    (
        "Striker signs three-year contract with promoted club",
        "The forward, who scored nineteen league goals last season, completed a medical on "
        "Friday. His manager praised his pace and finishing, while supporters queued outside "
        "the stadium shop for replica shirts bearing his name.",
    ),
    (
        "Bakery chain recalls loaves over undeclared sesame",
        "Shoppers with allergies were urged to check wrappers after a labelling error at a "
        "regional bakery. Trading standards officers said no illnesses had been reported, and "
        "refunds are available at any branch without a receipt.",
    ),
    (
        "Astronomers spot comet brightening near Jupiter",
        "Observers using backyard telescopes noticed the icy visitor flaring overnight. "
        "Researchers at the university observatory believe sunlight is boiling volatile gases "
        "from its nucleus, and predict it may become visible through binoculars.",
    ),
    (
        "Vineyard harvest early after record summer heat",
        "Growers on the southern slopes began picking grapes three weeks ahead of schedule. "
        "Winemakers expect strong sugar levels but lower acidity, and several estates hired "
        "extra seasonal workers to bring the crop in before autumn storms.",
    ),
]


def topic_text(n: int) -> str:
    title, body = TOPICS[n]
    return f"{title}\n\n{body}\n"


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head() or ""


def stored_paths(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return sorted(session.scalars(select(Version.source_path)))


def errors_of(engine: Engine) -> dict[str, str]:
    with Session(engine) as session:
        return dict(session.execute(select(IngestError.source_path, IngestError.error)).all())


# 1. Error text that cannot be stored aborts the run


def test_storable_escapes_surrogates_and_drops_nul() -> None:
    assert storable("plain") == "plain"
    assert storable(os.fsdecode(b"caf\xe9.txt")) == "caf\\xe9.txt"
    assert storable("a\x00b\ud800c") == "ab\\ud800c"


def link_to_non_utf8_target(tmp_path: Path) -> tuple[Path, Path]:
    outside = tmp_path / "outside"
    folder = tmp_path / "in"
    outside.mkdir()
    folder.mkdir()
    target = os.path.join(os.fsencode(outside), b"caf\xe9.txt")
    with open(target, "w") as out:
        out.write(article_text(1))
    os.symlink(target, os.path.join(os.fsencode(folder), b"a_link.txt"))
    (folder / "good.txt").write_text(article_text(2))
    return folder, outside


def test_a_link_to_a_non_utf8_name_is_one_failure_and_the_run_goes_on(
    engine: Engine, tmp_path: Path
) -> None:
    folder, outside = link_to_non_utf8_target(tmp_path)
    report = ingest([str(folder)], engine, workers=1)
    assert stored_paths(engine) == [str(folder / "good.txt")]
    assert errors_of(engine) == {
        str(folder / "a_link.txt"): "symbolic link to a file outside the given paths "
        f"({outside}/caf\\xe9.txt), not read"
    }
    assert report.failed == 1
    with Session(engine) as session:
        assert session.get_one(IngestRun, report.run_id).status == "finished"


def test_a_non_utf8_path_given_is_stored_in_the_run(engine: Engine, tmp_path: Path) -> None:
    raw = os.path.join(os.fsencode(tmp_path), b"\xe9t\xe9.txt")
    with open(raw, "w") as out:
        out.write(article_text(3))
    report = ingest([os.fsdecode(raw)], engine, workers=1)
    assert report.versions_stored == 1
    with Session(engine) as session:
        assert session.get_one(IngestRun, report.run_id).paths == f"{tmp_path}/\\xe9t\\xe9.txt"


def test_a_nul_in_an_error_message_loses_no_record(engine: Engine, tmp_path: Path) -> None:
    crawl = tmp_path / "crawl.warc"
    crawl.write_bytes(
        warc_bytes([4], compress=False) + b"GARB\x00AGE" + warc_bytes([5], compress=False)
    )
    good = tmp_path / "good.txt"
    good.write_text(article_text(6))
    report = ingest([str(crawl), str(good)], engine, workers=1)
    assert stored_paths(engine) == sorted([f"{crawl}#1", str(good)])
    [error] = errors_of(engine).values()
    assert "GARBAGE" in error and "\x00" not in error
    assert report.failed == 1


def test_an_error_the_database_refuses_is_logged_in_ascii_and_loses_nothing(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # as before the fix: the text goes to the database as it is
    for module in (storable_module, ingest_module):
        monkeypatch.setattr(module, "storable", lambda text: text)
    folder, outside = link_to_non_utf8_target(tmp_path)
    report = ingest([str(folder)], engine, workers=1)
    assert stored_paths(engine) == [str(folder / "good.txt")]
    [error] = errors_of(engine).values()
    assert f"({outside}/caf\\udce9.txt)" in error
    assert report.failed == 1


# 2. File names that look like rich markup


def test_names_that_look_like_markup_are_printed_as_they_are(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "a"
    (folder / "[").mkdir(parents=True)
    (folder / "[" / "oops].txt").write_bytes(b"")
    (folder / "[bold]x.txt").write_bytes(b"")
    (folder / "good [red].txt").write_text(article_text(7))
    result = CliRunner().invoke(main, ["ingest", str(folder), "--db", db_url])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 1, result.output
    assert f"Error: {folder}/[/oops].txt: empty file" in result.output
    assert f"Error: {folder}/[bold]x.txt: empty file" in result.output
    assert "3 files seen: 1 version stored" in result.output


# 14. One file under three spellings


def test_a_file_given_under_three_spellings_is_one_source(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ru").mkdir()
    (tmp_path / "ru" / "story.txt").write_text(article_text(8))
    first = ingest(["ru"], engine, workers=1)
    again = [ingest([spelling], engine, workers=1) for spelling in ("./ru", str(tmp_path / "ru"))]
    also = ingest(["ru/../ru/story.txt", "."], engine, workers=1)
    assert first.versions_stored == 1
    assert [r.duplicates_skipped for r in [*again, also]] == [1, 1, 2]
    assert stored_paths(engine) == ["ru/story.txt"]
    monkeypatch.chdir(tmp_path / "ru")  # from inside the folder: the name relative to it
    assert ingest(["."], engine, workers=1).versions_stored == 1
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # from elsewhere: the absolute path
    assert ingest([str(tmp_path / "ru")], engine, workers=1).versions_stored == 1
    assert stored_paths(engine) == sorted(
        ["ru/story.txt", "story.txt", str(tmp_path / "ru/story.txt")]
    )


# 7. JSONL with CR-only line ends


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
@pytest.mark.parametrize("newline", ["\r", "\r\n", "\n"])
def test_jsonl_lines_end_in_cr_lf_or_crlf(newline: str, encoding: str) -> None:
    lines = [json.dumps({"title": f"Story {n}", "text": article_text(n)}) for n in (9, 10, 11)]
    data = (newline.join(lines) + newline).encode(encoding)
    results = list(parse_bytes(data, "feed.jsonl"))
    assert [r.source_path for r in results if isinstance(r, ParsedRecord)] == [
        "feed.jsonl#0",
        "feed.jsonl#1",
        "feed.jsonl#2",
    ], results
    # the same line hashes the same whatever ends it
    plain = list(parse_bytes(("\n".join(lines)).encode(encoding), "feed.jsonl"))
    assert [r.content_sha256 for r in results] == [r.content_sha256 for r in plain]


def test_json_file_of_objects_on_cr_lines() -> None:
    lines = [json.dumps({"text": article_text(n)}) for n in (12, 13)]
    results = list(parse_bytes("\r".join(lines).encode(), "feed.json"))
    assert [r.source_path for r in results if isinstance(r, ParsedRecord)] == [
        "feed.json#0",
        "feed.json#1",
    ], results


# 12 (URLs) and 13. Unsupported URLs, and an '@' left unencoded in a password


@pytest.mark.parametrize(
    "url", ["mysql://u@127.0.0.1/db", "postgresql+psycopg2://u@127.0.0.1/db", "oracle://x"]
)
@pytest.mark.parametrize("command", ["ingest", "stats"])
def test_an_unsupported_url_is_a_one_line_error_naming_the_supported_ones(
    url: str, command: str, tmp_path: Path
) -> None:
    args = [command, str(tmp_path)] if command == "ingest" else [command]
    result = CliRunner().invoke(main, [*args, "--db", url])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception
    [line] = result.output.splitlines()
    assert "unsupported database" in line
    assert "sqlite:///PATH or postgresql+psycopg://" in line


def test_an_unencoded_at_in_the_password_leaks_none_of_it(tmp_path: Path) -> None:
    url = "postgresql+psycopg://u:S3cret@PW!@127.0.0.1:1/db"
    for args in (["stats"], ["ingest", str(tmp_path)]):
        result = CliRunner().invoke(main, [*args, "--db", url])
        assert result.exit_code == 1
        [line] = result.output.splitlines()
        assert "S3cret" not in line and "PW!" not in line, line
        assert "percent-encode" in line and "%40" in line


# 9. Several processes opening a brand-new database at once

_OPEN_AT_ONCE = """
import sys, time
from archive.storage.db import open_archive
from archive.commands.queries import archive_stats
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # all start together
print(archive_stats(open_archive(sys.argv[1])).versions)
"""


def test_processes_opening_a_new_database_at_once_all_succeed(db_url: str) -> None:
    start_at = time.time() + 4  # after every process has imported the archive
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _OPEN_AT_ONCE, db_url, str(start_at)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        for _ in range(8)
    ]
    outcomes = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0] * 8, [err for _, err in outcomes if err]
    assert [out.strip() for out, _ in outcomes] == ["0"] * 8


def test_a_database_of_a_newer_version_is_a_one_line_error(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099_future'"))
    for args in (["stats"], ["ingest", str(tmp_path)]):
        result = CliRunner().invoke(main, [*args, "--db", db_url])
        assert result.exit_code == 1
        [line] = result.output.splitlines()
        assert line.endswith(
            "the archive is at schema revision 0099_future, newer than this program knows "
            f"({head_revision()}); upgrade news-archive"
        ), line


# 3. Paths over PostgreSQL's index row limit


def test_a_path_of_3000_bytes_is_ingested_and_found_again(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path
    while len(str(folder).encode()) < 3000:
        folder = folder / ("d" * 200)
    folder.mkdir(parents=True)
    path = folder / ("é" * 100 + ".txt")  # multi-byte characters: the limit is in bytes
    path.write_text(article_text(14))
    first = ingest([str(path)], engine, workers=1)
    assert (first.versions_stored, first.failed) == (1, 0), first.failures
    assert ingest([str(path)], engine, workers=1).duplicates_skipped == 1
    assert stored_paths(engine) == [str(path)]
    with Session(engine) as session:
        version = session.scalars(select(Version)).one()
        assert version.source_path_sha256 == hashlib.sha256(str(path).encode()).hexdigest()


# 11. Ids never handed out twice


def ids(engine: Engine) -> list[tuple[int, int]]:
    with Session(engine) as session:
        return sorted((v, s) for v, s in session.execute(select(Version.id, Version.story_id)))


def test_an_id_is_never_handed_out_again_after_a_removal(engine: Engine, tmp_path: Path) -> None:
    for n in (0, 1, 2):
        (tmp_path / f"{n}.txt").write_text(topic_text(n))
    ingest([str(tmp_path)], engine, workers=1)
    assert ids(engine) == [(1, 1), (2, 2), (3, 3)]
    remove_version(engine, 3)  # the highest version and story ids
    (tmp_path / "3.txt").write_text(topic_text(3))
    ingest([str(tmp_path / "3.txt")], engine, workers=1)
    assert ids(engine) == [(1, 1), (2, 2), (4, 4)]
    remove_version(engine, 4)
    remove_version(engine, 2)
    (tmp_path / "4.txt").write_text(topic_text(4))
    ingest([str(tmp_path / "4.txt")], engine, workers=1)
    assert ids(engine) == [(1, 1), (5, 5)]


def test_the_migration_keeps_every_row_and_retires_removed_ids(
    engine: Engine, tmp_path: Path
) -> None:
    for n in (0, 1, 2):
        (tmp_path / f"{n}.txt").write_text(topic_text(n))
    (tmp_path / "copy.txt").write_text(topic_text(0))
    ingest([str(tmp_path)], engine, workers=1)
    remove_version(engine, 4)  # the copy: the highest version id, its story stays
    remove_version(engine, 3)  # the highest story id goes with its only version
    before = archive_rows(engine)
    downgrade(engine, "0006")  # an archive of before the fix, where removed ids were free
    assert archive_rows(engine, hashes=False) == before
    upgrade(engine)
    assert archive_rows(engine) == before
    assert [hit.version_id for hit in search_versions(engine, "ferry")] == [1]
    (tmp_path / "3.txt").write_text(topic_text(3))
    ingest([str(tmp_path / "3.txt")], engine, workers=1)
    assert ids(engine)[-1] == (5, 4)  # not version 4 nor story 3 again


def archive_rows(engine: Engine, *, hashes: bool = True) -> dict[str, list[tuple[object, ...]]]:
    tables = {
        "versions": "id, story_id, source_path, content_sha256, title, body",
        "stories": "id, title, canonical_version_id",
        "version_links": "version_id, linked_version_id, method",
        "version_removals": "version_id, story_id",
        "story_summary": "story_id, versions, sites",
    }
    with engine.connect() as connection:
        rows = {
            table: sorted(
                tuple(r) for r in connection.execute(text(f"SELECT {columns} FROM {table}"))
            )
            for table, columns in tables.items()
        }
        rows["index postings"] = list(index_postings(engine))
        if hashes:
            assert all(
                stored == hashlib.sha256(path.encode()).hexdigest()
                for path, stored in connection.execute(
                    text("SELECT source_path, source_path_sha256 FROM versions")
                )
            )
    return rows


# 10. Waiting for the write lock, and giving up


@contextmanager
def writer_lock_held(db_url: str, seconds: float | None) -> Iterator[None]:
    """Another writer holds the archive's write lock for ``seconds`` from now (None: until the
    block ends)."""
    engine = make_engine(db_url)
    if engine.dialect.name == "sqlite":
        # another program's writer, say the sqlite3 shell: BEGIN IMMEDIATE, then nothing
        raw = sqlite3.connect(
            str(engine.url.database), isolation_level=None, check_same_thread=False
        )
        raw.execute("BEGIN IMMEDIATE")
        release, close = (lambda: raw.execute("ROLLBACK")), raw.close
    else:
        connection = engine.connect()
        connection.begin()
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITER_LOCK_KEY})
        release, close = connection.rollback, connection.close
    timer = threading.Timer(seconds, release) if seconds is not None else None
    if timer is not None:
        timer.start()
    try:
        yield
    finally:
        if timer is not None:
            timer.join()
        else:
            release()
        close()
        engine.dispose()


@pytest.mark.parametrize(("held", "says_so"), [(2.5, True), (0.3, False)])
def test_a_writer_waits_for_the_lock_and_says_so_after_its_first_second(
    engine: Engine,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    held: float,
    says_so: bool,
) -> None:
    """A shorter wait is no news: several processes ingesting into one archive wait a moment
    for each other's write steps at nearly every batch."""
    (tmp_path / "a.txt").write_text(topic_text(0))
    monkeypatch.setenv("ARCHIVE_LOCK_TIMEOUT", "20")
    with writer_lock_held(db_url, held):
        started = time.monotonic()
        report = ingest([str(tmp_path)], engine, workers=1)
        assert time.monotonic() - started >= held - 0.05
    assert report.versions_stored == 1
    said = "the archive is locked by another writer" in caplog.text
    assert said == says_so
    assert ("up to 20 s ($ARCHIVE_LOCK_TIMEOUT)" in caplog.text) == says_so


def test_a_lock_held_too_long_is_a_one_line_error_and_the_run_resumes(
    engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.txt").write_text(topic_text(0))
    (tmp_path / "b.txt").write_text(topic_text(1))
    monkeypatch.setenv("ARCHIVE_LOCK_TIMEOUT", "20")
    first = ingest([str(tmp_path / "a.txt")], engine, workers=1)
    monkeypatch.setenv("ARCHIVE_LOCK_TIMEOUT", "1")
    with writer_lock_held(db_url, 3):
        result = CliRunner().invoke(main, ["ingest", str(tmp_path), "--db", db_url, "-q"])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception
    [line] = result.output.splitlines()
    assert line == (
        "Error: ingest stopped: the archive stayed locked by another writer for 1 s "
        "($ARCHIVE_LOCK_TIMEOUT); gave up waiting. What was committed is kept. Run the same "
        "command again to resume: what is archived already is skipped."
    )
    again = CliRunner().invoke(main, ["ingest", str(tmp_path), "--db", db_url, "-q"])
    assert again.exit_code == 0, again.output
    assert stored_paths(engine) == [str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]
    with Session(engine) as session:
        statuses = dict(session.execute(select(IngestRun.id, IngestRun.status)).all())
    # the run that gave up never started: the lock was held before its first write
    assert list(statuses.values()) == ["finished", "finished"] and first.run_id in statuses


# 12. The database failing under a run: read-only, full, gone


def test_a_read_only_archive_is_a_one_line_error(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text(topic_text(0))
    if engine.dialect.name == "sqlite":
        url = f"sqlite:///file:{engine.url.database}?mode=ro&uri=true"
        expected = "the archive is read-only: attempt to write a readonly database"
    else:
        with engine.connect() as connection:
            connection.execute(
                text(
                    f'ALTER DATABASE "{engine.url.database}" SET default_transaction_read_only = on'
                )
            )
            connection.commit()
        url = db_url
        expected = "the database is read-only: cannot execute INSERT in a read-only transaction"
    result = CliRunner().invoke(main, ["ingest", str(tmp_path), "--db", url, "-q"])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception
    [line] = result.output.splitlines()
    assert line.startswith(f"Error: ingest stopped: {expected}."), line
    assert CliRunner().invoke(main, ["stats", "--db", url]).exit_code == 0  # reading works


def test_a_full_disk_stops_the_run_marked_failed_and_resumable(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    letters = random.Random(19)
    for n in range(40):  # made-up words: nothing links, so nothing is slow
        words = ["".join(letters.choices("bdfgklmnprstvz", k=7)) for _ in range(1200)]
        sentences = [" ".join(words[i : i + 12]).capitalize() + "." for i in range(0, 1200, 12)]
        (folder / f"{n:02}.txt").write_text(f"Ledger {n}\n\n" + " ".join(sentences) + "\n")

    def small_disk(url: str) -> Engine:
        engine = open_archive(url)
        engine.dispose()
        pages = {"max": 0}

        @event.listens_for(engine, "connect")
        def _limit(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            if not pages["max"]:
                pages["max"] = cursor.execute("PRAGMA page_count").fetchone()[0] + 150
            cursor.execute(f"PRAGMA max_page_count = {pages['max']}")
            cursor.close()

        return engine

    monkeypatch.setattr(db_module, "open_archive", small_disk)  # what Archive opens with
    result = CliRunner().invoke(
        main, ["ingest", str(folder), "--db", sqlite_url, "-q", "--batch-size", "5"]
    )
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    [line] = result.output.splitlines()
    assert line.startswith(
        "Error: ingest stopped: the disk is full (or the database reached its size limit): "
        "database or disk is full."
    ), line
    monkeypatch.undo()
    engine = open_archive(sqlite_url)
    with Session(engine) as session:
        [run] = session.scalars(select(IngestRun)).all()
        errors = session.scalars(select(IngestError.error)).all()
    assert run.status == "failed" and 0 < run.versions_stored < 40
    assert errors == []  # no record was blamed for the disk
    resumed = ingest([str(folder)], engine, workers=1)
    assert resumed.duplicates_skipped == run.versions_stored
    assert len(stored_paths(engine)) == 40


@pytest.mark.postgres
def test_a_lost_database_connection_stops_the_run_with_one_line(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(6):
        (tmp_path / f"{n}.txt").write_text(topic_text(n))
    flush = store.BatchWriter.flush
    calls = {"n": 0}

    def flush_then_lose_the_server(writer: store.BatchWriter) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # the server drops this connection in the second batch
            writer._session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        flush(writer)

    monkeypatch.setattr(store.BatchWriter, "flush", flush_then_lose_the_server)
    args = ["ingest", str(tmp_path), "--db", postgres_url, "-q", "--batch-size", "2"]
    result = CliRunner().invoke(main, [*args, "--workers", "1"])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception
    [line] = result.output.splitlines()
    assert line.startswith(
        "Error: ingest stopped: the database server shut down or refused the connection: "
        "terminating connection due to administrator command."
    ), line
    monkeypatch.undo()
    engine = open_archive(postgres_url)
    with Session(engine) as session:
        [run] = session.scalars(select(IngestRun)).all()
    assert (run.status, run.versions_stored) == ("failed", 2)
    assert ingest([str(tmp_path)], engine, workers=1).versions_stored == 4
    engine.dispose()


# 4. Containers streamed in bounded chunks, failures capped, gzip bombs refused


def containers(folder: Path) -> list[Path]:
    """One container file of each kind, with good and bad records."""
    folder.mkdir(exist_ok=True)
    lines = [json.dumps({"title": TOPICS[n % 6][0], "text": topic_text(n % 6)}) for n in range(7)]
    feed = folder / "feed.jsonl"
    feed.write_text("\n".join([*lines[:3], "{oops", *lines[3:]]) + "\n")
    (folder / "feed.jsonl.gz").write_bytes(gzip.compress(feed.read_bytes()))
    (folder / "feed.json").write_text("\r".join(lines))  # objects on lines, in a .json
    records = [{"text": topic_text(n % 6)} for n in range(5)] + [{"title": "no body"}, []]
    (folder / "array.json").write_text(json.dumps(records))
    (folder / "array.json.gz").write_bytes(gzip.compress(json.dumps(records).encode()))
    (folder / "array-utf16.json").write_bytes(json.dumps(records).encode("utf-16"))
    (folder / "crawl.warc.gz").write_bytes(warc_bytes([1, 2, 3], compress=True))
    (folder / "crawl.warc").write_bytes(warc_bytes([4, 5], compress=False))
    (folder / "crawl.txt").write_bytes(warc_bytes([6], compress=False))  # a WARC by its bytes
    cut = warc_bytes([7, 8], compress=True)
    (folder / "cut.warc.gz").write_bytes(cut[:-300])
    (folder / "empty.jsonl").write_bytes(b"")
    (folder / "one.json").write_text(json.dumps({"text": topic_text(0)}))  # not a container
    (folder / "list.txt").write_text("[Review] not JSON at all\n\n" + topic_text(1))
    return sorted(folder.iterdir())


def test_records_read_in_pieces_parse_as_the_whole_file_does(tmp_path: Path) -> None:
    streamed = 0
    for path in containers(tmp_path / "in"):
        records = read_records(str(path))
        whole = list(parse_file(path))
        if records is None:
            assert path.name in {"one.json", "list.txt"}, path
            continue
        streamed += 1
        assert list(parse_records(records)) == whole, path
    assert streamed == 11


def test_a_container_is_written_in_batches_of_the_batch_size(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [json.dumps({"title": f"Ledger {n}", "text": ledger(n)}) for n in range(120)]
    (tmp_path / "feed.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "array.json").write_text(json.dumps([json.loads(line) for line in lines]))
    (tmp_path / "crawl.warc").write_bytes(warc_bytes(list(range(60)), compress=False))
    sizes: list[int] = []
    write_batch = ingest_module.write_batch

    def counting(engine: Engine, batch: list[Any], *args: Any) -> Any:
        sizes.append(sum(len(prepared.records) for prepared in batch))
        return write_batch(engine, batch, *args)

    monkeypatch.setattr(ingest_module, "write_batch", counting)
    report = ingest([str(tmp_path)], engine, workers=2, batch_size=25)
    assert report.files_seen == 3
    assert report.versions_stored == 120 + 120 + 60
    assert max(sizes) <= 25, sizes
    with Session(engine) as session:
        run = session.get_one(IngestRun, report.run_id)
        assert (run.files_seen, run.versions_stored) == (3, 300)


def ledger(n: int) -> str:
    letters = random.Random(n)
    words = ["".join(letters.choices("bdfgklmnprstvz", k=7)) for _ in range(36)]
    return " ".join(" ".join(words[i : i + 12]).capitalize() + "." for i in range(0, 36, 12))


def test_failures_past_100_in_one_file_are_one_row_with_their_count(
    engine: Engine, tmp_path: Path
) -> None:
    feed = tmp_path / "feed.jsonl"
    good = [json.dumps({"text": topic_text(n)}) for n in (0, 1)]
    feed.write_text("\n".join([good[0], *(["{}"] * 250), good[1]]) + "\n")
    report = ingest([str(feed)], engine, workers=2, batch_size=40)
    assert (report.versions_stored, report.failed) == (2, 250)
    with Session(engine) as session:
        rows = session.execute(select(IngestError.source_path, IngestError.error)).all()
        run = session.get_one(IngestRun, report.run_id)
    assert len(rows) == 101
    assert [path for path, _ in rows[:100]] == [f"{feed}#{n}" for n in range(1, 101)]
    assert rows[100] == (
        str(feed),
        "150 more records of this file failed (250 in all); only the first 100 are recorded "
        "one by one",
    )
    assert (run.failed, run.versions_stored, run.files_seen) == (250, 2, 1)


def test_a_gzip_container_that_expands_over_100_times_is_cut_off() -> None:
    bomb = gzip.compress(b"{}\n" * 1_000_000, 9)  # 3 MB from about 3 KB
    results = list(parse_bytes(bomb, "bomb.jsonl.gz"))
    assert len(results) < 400_000  # stopped at 1 MB: the first third
    assert results[-1].source_path == "bomb.jsonl.gz"
    assert "gzip file expands to over 1 MB, more than 100 times its" in results[-1].error
    text = "\n".join(json.dumps({"text": topic_text(n % 6)}) for n in range(3000))
    assert len(gzip.compress(text.encode())) * 100 < len(text)  # over 100 times, but small
    ordinary = list(parse_bytes(gzip.compress(text.encode()), "feed.jsonl.gz"))
    assert len(ordinary) == 3000 and all(isinstance(r, ParsedRecord) for r in ordinary)


_MEMORY = """
import json, resource, sys, time
from archive.storage.db import open_archive
from archive.commands.ingest import ingest
engine = open_archive(sys.argv[1])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.monotonic()
report = ingest(sys.argv[2:], engine, workers=2)
print(json.dumps({
    "grown_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024,
    "children_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    "seconds": time.monotonic() - started, "failed": report.failed,
    "stored": report.versions_stored,
}))
"""


def test_memory_stays_bounded_on_300_000_bad_lines(tmp_path: Path) -> None:
    """300,000 lines that are not articles and 2 that are: before, every record of a file was
    held (and fingerprinted) at once and each failure was a row (2,000,000 lines took 5.8 GB)."""
    feed = tmp_path / "feed.jsonl"
    good = [json.dumps({"text": topic_text(n)}).encode() for n in (2, 3)]
    with feed.open("wb") as out:
        out.write(good[0] + b"\n")
        for _ in range(30):
            out.write(b'{"id": 1}\n' * 10_000)
        out.write(good[1] + b"\n")
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    done = subprocess.run(
        [sys.executable, "-c", _MEMORY, url, str(feed)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    result = json.loads(done.stdout)
    assert (result["stored"], result["failed"]) == (2, 300_000), result
    assert result["grown_mb"] < 150, result
    assert result["children_mb"] < 400, result
    engine = open_archive(url)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(IngestError)) == 101
    engine.dispose()


# 6. A WARC record whose Content-Length is short


def with_content_length_off(data: bytes, record: int, delta: int) -> bytes:
    """``data`` (an uncompressed WARC) with record ``record``'s Content-Length off by
    ``delta``."""
    start = [m.start() for m in re.finditer(rb"WARC/1\.0\r\n", data)][record]
    length = re.compile(rb"Content-Length: (\d+)\r\n").search(data, start)
    assert length is not None
    return (
        data[: length.start(1)] + str(int(length.group(1)) + delta).encode() + data[length.end(1) :]
    )


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("record", [1, 2])
def test_a_warc_record_100_bytes_short_is_reported_not_stored_cut(
    record: int, compress: bool
) -> None:
    data = with_content_length_off(warc_bytes([24, 25], compress=False), record, -100)
    if compress:  # one gzip member per record, as WARC writers do
        starts = [m.start() for m in re.finditer(rb"WARC/1\.0\r\n", data)] + [len(data)]
        data = b"".join(gzip.compress(data[a:b]) for a, b in itertools.pairwise(starts))
    name = "crawl.warc.gz" if compress else "crawl.warc"
    results = {r.source_path: r for r in parse_bytes(data, name)}
    assert set(results) == {f"{name}#1", f"{name}#2"}
    cut = results.pop(f"{name}#{record}")
    assert isinstance(cut, ParseFailure), cut
    assert "does not end where its Content-Length says" in cut.error
    [whole] = results.values()
    assert isinstance(whole, ParsedRecord)
    assert whole.article.body.endswith("before the autumn rains arrive.")


def test_a_warc_record_with_a_short_content_length_is_an_error_row(
    engine: Engine, tmp_path: Path
) -> None:
    crawl = tmp_path / "crawl.warc"
    crawl.write_bytes(with_content_length_off(warc_bytes([26, 27], compress=False), 1, -100))
    report = ingest([str(crawl)], engine, workers=1)
    assert (report.versions_stored, report.failed, report.exit_code) == (1, 1, 1)
    assert stored_paths(engine) == [f"{crawl}#2"]
    assert "does not end where its Content-Length says" in errors_of(engine)[f"{crawl}#1"]


# 5. Pathological HTML, and texts of millions of lines

# Peak memory from /proc's VmHWM, this program's own: getrusage's ru_maxrss survives exec on
# Linux, so a child of a big pytest process would report pytest's size.
_PARSE_TIMED = """
import json, re, sys, time
from archive.sources.parse import parse_file
started = time.monotonic()
results = list(parse_file(sys.argv[1]))
with open("/proc/self/status", encoding="ascii") as status:
    peak_kb = int(re.search(r"VmHWM:\\s+(\\d+)", status.read()).group(1))
print(json.dumps({
    "seconds": time.monotonic() - started,
    "rss_mb": peak_kb / 1024,
    "status": [getattr(getattr(r, "article", None), "body_status", None) for r in results],
    "errors": [getattr(r, "error", None) for r in results],
}))
"""


@pytest.mark.parametrize(
    ("unit", "status"), [("<p>x", "boilerplate-only"), ("<p>", None), ("x\n", "boilerplate-only")]
)
def test_a_page_of_a_million_tags_or_lines_is_read_in_seconds(
    unit: str, status: str | None, tmp_path: Path
) -> None:
    """4.9 MB of "<p>x" took 68 s and 1.9 GB, of "<p>" 48 s and 800 MB, 2,400,000 lines of "x"
    23 s; each is now read by tags (or lines) alone, kept as page text when it has any."""
    page = tmp_path / ("page.txt" if unit == "x\n" else "page.html")
    head = "" if unit == "x\n" else "<html><head><title>A &amp; B</title></head><body>"
    page.write_text(head + unit * (4_800_000 // len(unit)))
    done = subprocess.run(
        [sys.executable, "-c", _PARSE_TIMED, str(page)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    result = json.loads(done.stdout)
    assert result["seconds"] < 20 and result["rss_mb"] < 500, result
    if status is None:
        assert result["errors"] == ["no article text found in this html file"], result
    else:
        assert result["status"] == [status], result


def test_a_page_over_the_tag_limit_is_page_text_by_tags(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paragraphs = "".join(f"<p>Paragraph {n} of the live blog, with words.</p>" for n in range(30))
    page = f"<html><head><title>Live: the &amp; blog</title></head><body>{paragraphs}</body></html>"
    monkeypatch.setattr(htmlpage, "MAX_TAGS", 40)
    monkeypatch.setattr(htmlpage.trafilatura, "bare_extraction", None)  # never called
    article = htmlpage.extract_html(page, url="https://news.example/live")
    assert article.body_status == BodyStatus.PAGE_TEXT
    assert article.title == "Live: the & blog"
    assert article.body.split("\n\n")[:2] == [
        "Paragraph 0 of the live blog, with words.",
        "Paragraph 1 of the live blog, with words.",
    ]
    assert article.url == "https://news.example/live"


def test_a_text_of_more_lines_than_any_article_is_page_text() -> None:
    lines = [f"Line {n} of a very long listing" for n in range(textdump.MAX_TEXT_LINES + 1)]
    article = textdump.extract_text("\n".join(lines))
    assert article.body_status == BodyStatus.PAGE_TEXT
    assert article.body == "\n\n".join(lines)


# 8. SIGTERM stops like Ctrl-C; SIGKILL leaves no process behind


def descendants(pid: int) -> set[int]:
    """The processes under ``pid`` (from /proc): forkserver, workers, resource tracker."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def running(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def start_long_ingest(tmp_path: Path, url: str) -> tuple[subprocess.Popen[str], set[int]]:
    """A real `archive ingest` with two workers, one record a batch, its first batch
    committed; with the processes it started."""
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(json.dumps({"text": ledger(n)}) for n in range(3000)) + "\n")
    open_archive(url).dispose()
    options = ["-q", "--workers", "2", "--batch-size", "1", "--db", url]
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from archive.cli import main; main()",
            "ingest",
            str(feed),
            *options,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    engine = make_engine(url)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until the first batch is committed
        with Session(engine) as session:
            if session.scalar(select(func.count()).select_from(Version)):
                break
        time.sleep(0.05)
    engine.dispose()
    started = descendants(process.pid)
    assert len(running(started)) >= 3, started  # forkserver, two workers (resource tracker)
    return process, started


def test_sigterm_stops_after_the_batch_with_exit_143_and_no_process_left(
    sqlite_url: str, tmp_path: Path
) -> None:
    process, started = start_long_ingest(tmp_path, sqlite_url)
    process.send_signal(signal.SIGTERM)
    with killed_at_the_end(started):
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert "Run the same command again to resume" in stderr and "Traceback" not in stderr
    engine = open_archive(sqlite_url)
    with Session(engine) as session:
        run = session.scalars(select(IngestRun)).one()
        stored = session.scalar(select(func.count()).select_from(Version))
    engine.dispose()
    assert run.status == "interrupted" and run.finished_at is not None
    assert 0 < stored < 3000 and run.versions_stored == stored
    assert running(started) == set()


def test_the_workers_exit_by_themselves_when_the_ingest_is_killed(
    sqlite_url: str, tmp_path: Path
) -> None:
    process, started = start_long_ingest(tmp_path, sqlite_url)
    process.kill()
    with killed_at_the_end(started):
        process.wait(timeout=60)
        deadline = time.monotonic() + 10
        while running(started) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert running(started) == set()


@contextmanager
def killed_at_the_end(pids: set[int]) -> Iterator[None]:
    """Whatever the test finds, no process of it outlives it."""
    try:
        yield
    finally:
        for pid in running(pids):
            os.kill(pid, signal.SIGKILL)


def test_the_bounds_script_measures_an_input(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "hostile_bounds.py"), "--only", '"<p>"'],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    header, _, row = done.stdout.splitlines()
    assert header.startswith("| input | size | time | memory (tree) |")
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[0] == '4.8 MB of "<p>"' and cells[5:] == ["1", "0 of 0", "1", "no"], row
