"""Index keys written after their batch commits (PostgreSQL: out of the writer lock): lookups
see the archive before the oldest batch whose keys are held, the writer's recheck knows the
versions after it, and the decisions are those of keys written with their batch."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, text

from archive.commands.ingest import ingest, prepare_file
from archive.commands.relink import relink
from archive.commands.remove import remove_version
from archive.commands.search import search_versions
from archive.linking import candidates, match, store
from archive.linking.method import Method
from archive.sources.article import Article
from archive.storage import postgresql
from archive.storage.db import open_archive
from archive.storage.models import INDEX_TABLES, UnindexedBatch, Version

from .conftest import SAMPLES
from .story_corpus import write_story_corpus
from .test_ingest import SEED_COPY
from .test_linking_stage import _version_id, decisions


@pytest.fixture
def deferring(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """``engine`` with index keys written after each batch commits, on SQLite too (where
    ingest writes them with the batch)."""
    monkeypatch.setattr(store, "defers_index_keys", lambda connection: True)
    yield engine


class _Stopped:
    """Stands in for :func:`store.write_held_keys`: the writers of the batches numbered in
    ``stop_at`` (1 first) stop before writing their keys, the others write them."""

    def __init__(self, *stop_at: int) -> None:
        self.stop_at = set(stop_at)
        self.batches = 0
        self.write = store.write_held_keys

    def __call__(self, engine: Engine, held: store.HeldKeys) -> None:
        self.batches += 1
        if self.batches not in self.stop_at:
            self.write(engine, held)


def _held_batches(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(UnindexedBatch)) or 0


def _index(engine: Engine) -> set[tuple[int, str]]:
    """The candidate index as (key, source path) pairs."""
    with engine.connect() as connection:
        paths = {v: path for v, path in connection.execute(select(Version.id, Version.source_path))}
        return {
            (key, paths[version_id])
            for table in INDEX_TABLES
            for key, version_id in connection.execute(select(table.c.key, table.c.version_id))
        }


@pytest.mark.parametrize("defer", [True, False])
def test_keys_written_after_the_commit_give_the_index_and_decisions_of_keys_written_with_it(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, defer: bool
) -> None:
    """On either database, with either way of writing keys, from two workers in batches of
    two: the same index and the same decisions as one file at a time with keys written
    with their batch, and no batch left held."""
    corpus = [str(p) for p in write_story_corpus(tmp_path / "corpus")]
    monkeypatch.setattr(postgresql, "DEFERS_INDEX_KEYS", False)
    reference = open_archive(f"sqlite:///{tmp_path / 'reference.db'}")
    ingest(corpus, reference, workers=1, batch_size=1)
    if defer:
        monkeypatch.setattr(store, "defers_index_keys", lambda connection: True)
    engine = open_archive(db_url)
    try:
        report = ingest(corpus, engine, workers=2, batch_size=2)
        assert report.failed == 0
        assert decisions(engine) == decisions(reference)
        assert _index(engine) == _index(reference)
        assert _held_batches(engine) == 0
    finally:
        engine.dispose()
        reference.dispose()


def test_keys_a_writer_left_unwritten_are_written_by_the_next_batch_and_change_no_decision(
    deferring: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer that stops between its batch's commit and its keys (killed, its connection
    lost) leaves the batch held: lookups see only the versions before it, the recheck the
    rest, and the next batch of any writer writes the keys."""
    corpus = [str(p) for p in write_story_corpus(tmp_path / "corpus")]
    reference = open_archive(f"sqlite:///{tmp_path / 'reference.db'}")
    ingest(corpus, reference, workers=1, batch_size=1)
    stopped = _Stopped(1, 2, 4)
    monkeypatch.setattr(store, "write_held_keys", stopped)
    left_behind = []
    write_left_behind = store.write_keys_left_behind

    def counted(connection: object, **options: bool) -> int:
        written = write_left_behind(connection, **options)  # type: ignore[arg-type]
        left_behind.append(written)
        return written

    monkeypatch.setattr(store, "write_keys_left_behind", counted)
    report = ingest(corpus, deferring, workers=2, batch_size=3)
    assert report.failed == 0 and stopped.batches > 4
    assert sum(left_behind) == 3
    assert decisions(deferring) == decisions(reference)
    assert _index(deferring) == _index(reference)
    assert _held_batches(deferring) == 0
    assert _without_search_rows(deferring) == set()
    reference.dispose()


def _without_search_rows(engine: Engine) -> set[int]:
    """The versions without a full-text row, on PostgreSQL, where those are written with the
    held keys (SQLite's triggers write them with the versions)."""
    if engine.dialect.name != "postgresql":
        return set()
    with engine.connect() as connection:
        return set(
            connection.scalars(
                text(
                    "SELECT id FROM versions WHERE id NOT IN (SELECT version_id FROM versions_fts)"
                )
            )
        )


@pytest.mark.postgres
def test_a_postgresql_batch_is_searchable_once_its_held_rows_are_written(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The full-text vectors are computed with the held keys, after the commit, out of the
    writer lock: a batch whose writer stopped in between is found once the next writer writes
    what it left."""
    engine = open_archive(postgres_url)
    try:
        monkeypatch.setattr(store, "write_held_keys", _Stopped(1))
        assert ingest([str(SAMPLES / "harbour-barrier.txt")], engine).versions_stored == 1
        assert search_versions(engine, "councillors") == []
        with engine.begin() as connection:
            assert store.write_keys_left_behind(connection) == 1
        assert len(search_versions(engine, "councillors")) == 1
    finally:
        engine.dispose()


def test_a_lookup_sees_the_versions_before_a_held_batch_and_the_recheck_finds_a_copy_in_it(
    deferring: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer's batch whose keys are held: a worker's lookup does not see it (its
    versions are not all in the index), the writer's recheck reads its keys from the held
    row and finds the copy in it, as a lookup once the keys are written does."""
    monkeypatch.setattr(store, "write_held_keys", _Stopped(1))
    ingest([str(SEED_COPY)], deferring)
    assert _held_batches(deferring) == 1
    original = _version_id(deferring, str(SEED_COPY))
    # an edited copy (one paragraph cut), found by its index keys, not by its body
    lines = SEED_COPY.read_text(encoding="utf-8").splitlines()
    paragraph = max(range(len(lines)), key=lambda n: len(lines[n]))
    copy = tmp_path / "copy.txt"
    copy.write_text("\n".join(lines[:paragraph] + lines[paragraph + 1 :]), encoding="utf-8")
    record = prepare_file(str(copy), deferring).records[0]
    assert record.lookup is not None and record.fingerprint is not None
    assert record.lookup.snapshot == original - 1 and not record.lookup.verdicts
    with deferring.connect() as connection:
        recent = candidates.Recent()  # another writer's: the batch is not its own
        recent.catch_up(connection, [record.lookup])
        rechecked = recent.decide(record.fingerprint, record.lookup)
    assert [(v.version_id, v.method) for v in rechecked] == [(original, Method.NEAR)]
    with deferring.begin() as connection:
        assert store.write_keys_left_behind(connection) == 1
    with deferring.connect() as connection:
        fresh = candidates.look_up(connection, record.fingerprint)
    assert fresh.snapshot == original
    assert rechecked == list(fresh.verdicts)


def test_a_version_removed_before_its_held_keys_are_written_is_left_out_of_the_index(
    deferring: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "write_held_keys", _Stopped(1))
    seeds = [str(p) for p in sorted(SAMPLES.glob("*.txt"))[:3]]
    ingest(seeds, deferring, batch_size=10)
    removed = _version_id(deferring, seeds[1])
    remove_version(deferring, removed)
    with deferring.begin() as connection:
        assert store.write_keys_left_behind(connection) == 1
    indexed_paths = {path for _, path in _index(deferring)}
    assert indexed_paths == {seeds[0], seeds[2]}
    assert _held_batches(deferring) == 0
    assert _without_search_rows(deferring) == set()  # the removed one left out, no error


def test_a_relink_writes_held_keys_first_and_links_as_before(
    deferring: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = [str(p) for p in write_story_corpus(tmp_path / "corpus")]
    stopped = _Stopped(*range(1, 100))  # no batch writes its keys
    monkeypatch.setattr(store, "write_held_keys", stopped)
    monkeypatch.setattr(store, "write_keys_left_behind", lambda connection, **options: 0)
    ingest(corpus, deferring, workers=1, batch_size=4)
    assert _held_batches(deferring) == stopped.batches > 1
    before = decisions(deferring)
    monkeypatch.undo()
    monkeypatch.setattr(store, "defers_index_keys", lambda connection: True)
    report = relink(deferring, chunk=5)
    assert _held_batches(deferring) == 0
    assert report.versions_moved == 0
    assert decisions(deferring) == before


@given(
    st.lists(
        st.tuples(
            st.integers(1, 2**31 - 1),
            st.lists(st.integers(0, 2**63 - 1), max_size=5, unique=True),
        ),
        max_size=6,
        unique_by=lambda version: version[0],
    )
)
def test_held_keys_read_back_as_the_index_rows_they_hold(
    versions: list[tuple[int, list[int]]],
) -> None:
    base = match.fingerprint(Article(title="t", body="b"))
    indexed = [(version_id, replace(base, keys=tuple(keys))) for version_id, keys in versions]
    rows = [(key, version_id) for version_id, keys in versions for key in keys]
    assert store.decode_keys(store.encode_keys(indexed)) == rows
