"""Relink recomputes links and stories from stored text alone, keeping story ids stable; it
holds the writer lock only for short transactions, and an interrupted one changes nothing a
reader sees."""

from __future__ import annotations

import os
import select as select_module
import shutil
import signal
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from archive.cli import main
from archive.commands import relink as relink_module
from archive.commands.ingest import ingest
from archive.commands.relink import relink
from archive.commands.remove import remove_version
from archive.linking import store
from archive.storage.db import open_archive
from archive.storage.models import StoryMerge, Version, VersionLink
from archive.text import align

from .conftest import REPO, SAMPLES, _postgres_admin_url
from .rows import INDEX_POSTINGS
from .story_corpus import write_story_corpus
from .test_concurrency import archive_command
from .test_linking_stage import decisions
from .test_reliability import writer_lock_held


def assignment(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        rows = session.execute(select(Version.source_path, Version.story_id))
        return {path: story for path, story in rows}


def links(engine: Engine) -> set[tuple[int, int, str]]:
    with Session(engine) as session:
        rows = session.execute(
            select(VersionLink.version_id, VersionLink.linked_version_id, VersionLink.method)
        )
        return {(a, b, m) for a, b, m in rows}


def copied_samples(tmp_path: Path) -> Path:
    folder = tmp_path / "samples"
    shutil.copytree(SAMPLES, folder)
    return folder


def test_relink_with_unchanged_settings_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    ingest([str(copied_samples(tmp_path))], engine)
    before, before_links = assignment(engine), links(engine)
    report = relink(engine)
    assert assignment(engine) == before
    assert links(engine) == before_links
    assert report.versions_moved == 0
    assert report.stories_before == report.stories_after


def test_relink_reads_no_files(engine: Engine, tmp_path: Path) -> None:
    folder = copied_samples(tmp_path)
    ingest([str(folder)], engine)
    before = assignment(engine)
    shutil.rmtree(folder)
    relink(engine)
    assert assignment(engine) == before


def test_stricter_threshold_splits_and_looser_one_joins_again(
    engine: Engine, tmp_path: Path
) -> None:
    folder = copied_samples(tmp_path)
    seed = str(folder / "002_224e29597f2f497a.txt")
    spun = str(folder / "000_0413e7c0cc1f7413.txt")  # the seed's spun rewrite, same story
    typo_copy = folder / "typo-copy.txt"  # a near, not exact, copy of the seed
    text = Path(seed).read_text(encoding="utf-8")
    typo_copy.write_text(text.replace("unspecified", "unspecifed"), encoding="utf-8")
    ingest([str(folder)], engine)
    near_copy = str(typo_copy)
    original_story = assignment(engine)[seed]
    assert assignment(engine)[near_copy] == assignment(engine)[spun] == original_story

    relink(engine, threshold=1.0, rewrites=False)  # only copies with the same body stay linked
    split = assignment(engine)
    assert len({split[seed], split[near_copy], split[spun]}) == 3
    assert original_story in (split[seed], split[near_copy], split[spun])  # one keeps the id
    wire, feed = str(folder / "island-times-crawl.warc.gz#2"), str(folder / "regional-feed.jsonl#1")
    assert split[wire] == split[feed]  # exact copies are linked at any threshold

    relink(engine)
    joined = assignment(engine)
    assert joined[seed] == joined[near_copy] == joined[spun] == original_story
    with Session(engine) as session:
        for moved_story in {split[seed], split[near_copy], split[spun]} - {original_story}:
            assert store.resolve_story_id(session, moved_story) == original_story
            assert session.get(StoryMerge, moved_story) is not None


def test_relink_command_reports_what_it_did(db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["ingest", "-q", str(copied_samples(tmp_path)), "--db", db_url])
    result = runner.invoke(main, ["relink", "--db", db_url, "--threshold", "0.99"])
    assert result.exit_code == 0, result.output
    assert "versions relinked" in result.output


# What a relink writes: the links, evidence and stories readers see, and the candidate index.
LINKING = {
    "stories": "id, title, canonical_version_id, first_seen_at, last_seen_at",
    "versions": "id, story_id, matched_version_id, match_distance, match_similarity, "
    "match_method, match_sentences",
    "version_links": "version_id, linked_version_id, distance, similarity, method, sentences",
    "story_merges": "merged_story_id, story_id, version_id",
}
INDEX = {
    "versions": "id, simhash, body_sha256",
    INDEX_POSTINGS: '"key", version_id',
    "version_words": "version_id, words",
}


def rows(engine: Engine, tables: dict[str, str]) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as connection:
        return {
            table: sorted(tuple(r) for r in connection.execute(text(f"SELECT {cols} FROM {table}")))
            for table, cols in tables.items()
        }


def stale_index(engine: Engine) -> None:
    """Index rows unlike those the stored texts give, as after a change of the fingerprint: a
    relink rewrites them, chunk by chunk, under the writer lock."""
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM match_keys WHERE version_id % 3 = 0"))
        connection.execute(text("DELETE FROM match_keys_recent WHERE version_id % 3 = 0"))
        connection.execute(text("DELETE FROM version_words WHERE version_id % 5 = 0"))
        connection.execute(
            text("UPDATE versions SET body_sha256 = 'stale', simhash = 5 WHERE id % 4 = 0")
        )


@contextmanager
def copied(engine: Engine, tmp_path: Path) -> Iterator[Engine]:
    """Another archive with the same rows as ``engine``'s (and the same ingest times)."""
    if engine.dialect.name == "sqlite":
        target = tmp_path / f"copy-{uuid.uuid4().hex[:8]}.db"
        with sqlite3.connect(str(engine.url.database)) as source, sqlite3.connect(target) as copy:
            source.backup(copy)
        other = open_archive(f"sqlite:///{target}")
        try:
            yield other
        finally:
            other.dispose()
        return
    name = f"{engine.url.database}_copy"
    engine.dispose()  # a template database has no connections
    admin = create_engine(make_url(_postgres_admin_url()), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{engine.url.database}"'))
    other = open_archive(engine.url.set(database=name).render_as_string(hide_password=False))
    try:
        yield other
    finally:
        other.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def corpus(engine: Engine, tmp_path: Path, parts: int = 1) -> list[Path]:
    """The story corpus, its first part ingested."""
    folders = write_story_corpus(tmp_path / "corpus", parts)
    ingest([str(folders[0])], engine)
    return folders


SPLIT = {"threshold": 1.0, "rewrites": False}  # settings that move versions between stories


def test_every_compared_version_is_stored_with_its_words_and_a_removed_one_takes_them(
    engine: Engine, tmp_path: Path
) -> None:
    corpus(engine, tmp_path)
    with engine.connect() as connection:
        versions = connection.execute(text("SELECT id, body, body_status FROM versions")).all()
        words = dict(connection.execute(text("SELECT version_id, words FROM version_words")).all())
    assert set(words) == {v.id for v in versions if v.body_status in ("article", "compilation")}
    for version in versions:
        if version.id in words:
            assert words[version.id] == align.packed_words(align.distinct_words(version.body))
    removed = max(words)
    remove_version(engine, removed)
    with engine.connect() as connection:
        left = connection.execute(text("SELECT version_id FROM version_words")).scalars().all()
    assert removed not in left and len(left) == len(words) - 1


def test_versions_archived_without_their_words_link_new_ones_as_with_them(
    engine: Engine, tmp_path: Path
) -> None:
    # An archive from before version_words: its versions are compared by their bodies.
    _, second = corpus(engine, tmp_path, parts=2)
    with copied(engine, tmp_path) as older:
        with older.begin() as connection:
            connection.execute(text("DELETE FROM version_words"))
        for archive in (engine, older):
            ingest([str(second)], archive)
        assert rows(older, LINKING) == rows(engine, LINKING)
        assert rows(engine, LINKING)["version_links"]  # the second part links to the first


def test_a_relink_writes_the_words_an_older_archive_lacks_and_leaves_its_keys(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus(engine, tmp_path)
    index = rows(engine, INDEX)
    assert index["version_words"]
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM version_words"))
    rewritten_keys = []
    monkeypatch.setattr(store, "insert_keys", lambda _c, versions: rewritten_keys.extend(versions))
    relink(engine)
    assert rows(engine, INDEX) == index
    assert rewritten_keys == []  # keys are rewritten only where they changed


@pytest.mark.parametrize("chunk", [1, 3])
def test_a_relink_in_chunks_ends_as_one_transaction_does(
    engine: Engine, tmp_path: Path, chunk: int
) -> None:
    corpus(engine, tmp_path)
    index = rows(engine, INDEX)
    stale_index(engine)
    with copied(engine, tmp_path) as whole:
        for settings in (SPLIT, {}):
            in_chunks = relink(engine, chunk=chunk, **settings)
            at_once = relink(whole, chunk=None, **settings)
            assert rows(engine, LINKING) == rows(whole, LINKING)
            assert rows(engine, INDEX) == rows(whole, INDEX) == index
            assert in_chunks.versions_moved == at_once.versions_moved > 0
            assert in_chunks.links == at_once.links


def test_an_interrupted_relink_changes_nothing_readers_see_and_a_new_one_finishes(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus(engine, tmp_path)
    stale_index(engine)
    before, stale = rows(engine, LINKING), rows(engine, INDEX)
    with copied(engine, tmp_path) as uninterrupted:
        relink(uninterrupted, **SPLIT)
        relinked = []

        def stop_at_the_ninth() -> None:
            assert rows(engine, LINKING) == before  # what readers see meanwhile
            relinked.append(1)
            if len(relinked) == 9:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            relink(engine, chunk=2, on_version=stop_at_the_ninth, **SPLIT)
        assert rows(engine, LINKING) == before
        assert rows(engine, INDEX) != stale  # the first chunks' index rows are rewritten

        def stop(*_: object) -> int:
            raise KeyboardInterrupt

        monkeypatch.setattr(relink_module, "_assign_stories", stop)  # in the last transaction
        with pytest.raises(KeyboardInterrupt):
            relink(engine, chunk=2, **SPLIT)
        assert rows(engine, LINKING) == before
        monkeypatch.undo()

        relink(engine, chunk=2, **SPLIT)
        assert rows(engine, LINKING) == rows(uninterrupted, LINKING) != before
        assert rows(engine, INDEX) == rows(uninterrupted, INDEX)


def test_a_lock_held_too_long_stops_a_relink_with_one_line_and_it_runs_again(
    engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus(engine, tmp_path)
    before = rows(engine, LINKING)
    monkeypatch.setenv("ARCHIVE_LOCK_TIMEOUT", "1")
    command = ["relink", "--db", db_url, "--threshold", "1", "--no-rewrites", "-q"]
    with writer_lock_held(db_url, None):
        result = CliRunner().invoke(main, command)
    assert result.exit_code == 1, result.output
    [line] = result.output.splitlines()
    assert line == (
        "Error: relink stopped: the archive stayed locked by another writer for 1 s "
        "($ARCHIVE_LOCK_TIMEOUT); gave up waiting. Links and stories are as they were; run "
        "archive relink again to relink."
    )
    assert rows(engine, LINKING) == before
    again = CliRunner().invoke(main, command)
    assert again.exit_code == 0, again.output
    assert rows(engine, LINKING) != before


def test_sigterm_stops_a_relink_at_once_with_exit_143_and_changes_nothing(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    corpus(engine, tmp_path)
    before = rows(engine, LINKING)
    command = ["relink", "--db", db_url, "--threshold", "1", "--no-rewrites", "-q"]
    with writer_lock_held(db_url, None):  # the relink waits for it at its last transaction
        process = subprocess.Popen(
            archive_command(*command),
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO), "ARCHIVE_LOCK_TIMEOUT": "120"},
        )
        assert process.stderr is not None
        deadline = time.monotonic() + 60
        waiting = ""
        while "waiting" not in waiting and time.monotonic() < deadline:
            if select_module.select([process.stderr], [], [], 1)[0]:
                waiting += process.stderr.readline()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    assert "locked by another writer" in waiting
    assert process.returncode == 143, stderr
    assert stderr == (
        "Interrupted. Links and stories are as they were; run archive relink again to relink.\n"
    )
    assert rows(engine, LINKING) == before


def test_an_ingest_while_a_relink_runs_waits_little_and_is_relinked_with_the_rest(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    folders = corpus(engine, tmp_path, parts=2)
    stale_index(engine)  # so that the relink's chunks take the writer lock too
    other: list[subprocess.Popen[str]] = []
    relinked: list[int] = []

    def alongside() -> None:
        """Another process ingests the other part with a lock timeout of one second while the
        relink goes on; the relink waits for it to end before its own end."""
        relinked.append(1)
        if not other:
            command = archive_command("ingest", str(folders[1]), "-q", "--db", db_url)
            environment = {**os.environ, "PYTHONPATH": str(REPO), "ARCHIVE_LOCK_TIMEOUT": "1"}
            other.append(
                subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=environment)
            )
        elif len(relinked) < 8:
            time.sleep(0.3)
        elif len(relinked) == 8:
            other[0].wait(timeout=120)

    report = relink(engine, chunk=2, on_version=alongside, **SPLIT)
    _, stderr = other[0].communicate(timeout=120)
    assert other[0].returncode == 0, stderr
    serial = open_archive(f"sqlite:///{tmp_path / 'serial.db'}")
    ingest([str(folders[0])], serial)
    ingest([str(folders[1])], serial)
    expected = relink(serial, **SPLIT)
    assert report.versions == expected.versions == len(relinked)
    assert decisions(engine) == decisions(serial)
    serial.dispose()


def test_a_version_removed_while_a_relink_runs_takes_its_links_along(
    engine: Engine, tmp_path: Path
) -> None:
    corpus(engine, tmp_path)
    with Session(engine) as session:
        linked = session.scalars(select(VersionLink.linked_version_id)).first()
    assert linked is not None
    relinked = []

    def remove_after_it() -> None:
        relinked.append(1)
        if len(relinked) == linked + 3:
            remove_version(engine, linked)

    relink(engine, chunk=2, on_version=remove_after_it)
    with Session(engine) as session:
        story_of = dict(session.execute(select(Version.id, Version.story_id)).all())
        links = session.execute(select(VersionLink.version_id, VersionLink.linked_version_id))
        matched = session.scalars(select(Version.matched_version_id)).all()
    assert linked not in story_of and linked not in matched
    assert all(story_of[a] == story_of[b] for a, b in links)  # links never leave a story
