"""Ingest end to end on SQLite and PostgreSQL: stories, links, idempotency and failures."""

from __future__ import annotations

import gc
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from archive.commands import ingest as ingest_module
from archive.commands.ingest import ingest
from archive.linking import store
from archive.storage.models import IngestError, IngestRun, Story, Version, VersionLink

from .conftest import SAMPLES, SEEDS
from .rows import index_postings

SEED_COPY = next(p for p in SEEDS if p.name.startswith("002_"))


def story_of(engine: Engine, source_path: str) -> int:
    with Session(engine) as session:
        return session.scalars(
            select(Version.story_id).where(Version.source_path == source_path)
        ).one()


def version(engine: Engine, source_path: str) -> Version:
    with Session(engine) as session:
        return session.scalars(select(Version).where(Version.source_path == source_path)).one()


def count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def rechromed(seed_text: str) -> str:
    """The seed's article with another site's page chrome around it."""
    lines = seed_text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("SEOUL"))
    end = next(i for i, line in enumerate(lines) if line.startswith("___"))
    header = [
        "Skip to content",
        "The Northern Ledger | World | Asia | Markets | Opinion",
        "World › Asia",
        lines[1],
        "By Associated Press",
        "Published 22 September 2023",
    ]
    footer = [
        "Share on Facebook | Share on X | Email",
        "More from World",
        "- Floods close mountain pass for third day",
        "- Parliament returns after summer recess",
        "© The Northern Ledger 2023",
    ]
    return "\n".join([*header, "", *lines[start:end], "", *footer]) + "\n"


def test_samples_ingest_into_linked_stories(engine: Engine) -> None:
    report = ingest([str(SAMPLES)], engine)
    assert report.failed == 0, report.failures
    assert report.versions_stored == count(engine, Version) >= 9
    seed_story = story_of(engine, str(SEED_COPY))
    assert story_of(engine, str(SAMPLES / "meridian-kim-russia.html")) == seed_story
    ferry_feed = story_of(engine, str(SAMPLES / "regional-feed.jsonl") + "#1")
    assert story_of(engine, str(SAMPLES / "island-times-crawl.warc.gz") + "#2") == ferry_feed
    # stories that merely share a place and an event are not linked
    barrier = story_of(engine, str(SAMPLES / "harbour-barrier.txt"))
    assert story_of(engine, str(SAMPLES / "regional-feed.jsonl") + "#2") != barrier
    assert report.new_stories == count(engine, Story)


def test_parallel_workers_give_the_same_stories_as_one_process(tmp_path: Path) -> None:
    from archive.storage.db import open_archive

    assignments = []
    for workers, name in ((1, "one.db"), (2, "two.db")):
        engine = open_archive(f"sqlite:///{tmp_path / name}")
        report = ingest([str(SAMPLES)], engine, workers=workers, batch_size=3)
        assert report.failed == 0
        with Session(engine) as session:
            rows = session.execute(select(Version.source_path, Version.story_id, Version.simhash))
            assignments.append(sorted(tuple(row) for row in rows))
        engine.dispose()
    assert assignments[0] == assignments[1]


def test_ingest_records_the_run(engine: Engine) -> None:
    report = ingest([str(SAMPLES)], engine)
    with Session(engine) as session:
        run = session.get_one(IngestRun, report.run_id)
        assert run.status == "finished"
        assert run.finished_at is not None
        assert run.versions_stored == report.versions_stored
        assert run.files_seen == report.files_seen == len(list(SAMPLES.iterdir()))


def test_reingesting_the_same_files_adds_nothing(engine: Engine) -> None:
    first = ingest([str(SAMPLES)], engine)
    versions, stories = count(engine, Version), count(engine, Story)
    keys = len(index_postings(engine))
    second = ingest([str(SAMPLES)], engine)
    assert second.versions_stored == 0
    assert second.duplicates_skipped == first.versions_stored
    assert (count(engine, Version), count(engine, Story), len(index_postings(engine))) == (
        versions,
        stories,
        keys,
    )


def test_changed_content_at_the_same_source_is_a_new_version(
    engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "story.txt"
    text = SEED_COPY.read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    ingest([str(path)], engine)
    path.write_text(text.replace("veryGood! (96)", "veryGood! (97)"), encoding="utf-8")
    report = ingest([str(path)], engine)
    assert report.versions_stored == 1
    with Session(engine) as session:
        rows = session.execute(select(Version.story_id).where(Version.source_path == str(path)))
        assert len(rows.all()) == 2


def test_identical_content_at_another_source_is_an_exact_version_of_the_story(
    engine: Engine, tmp_path: Path
) -> None:
    copy = tmp_path / "mirror" / SEED_COPY.name
    copy.parent.mkdir()
    shutil.copy(SEED_COPY, copy)
    ingest([str(SEED_COPY)], engine)
    report = ingest([str(copy)], engine)
    assert report.linked == 1
    stored = version(engine, str(copy))
    original = version(engine, str(SEED_COPY))
    assert stored.story_id == original.story_id
    assert stored.matched_version_id == original.id
    assert stored.match_method == "exact"
    assert stored.match_distance == 0
    assert stored.match_similarity == 1.0
    with Session(engine) as session:
        link = session.scalars(select(VersionLink).where(VersionLink.version_id == stored.id)).one()
    assert (link.linked_version_id, link.method, link.distance) == (original.id, "exact", 0)


def test_seed_copy_in_other_page_chrome_joins_the_seed_story(
    engine: Engine, tmp_path: Path
) -> None:
    other_site = tmp_path / "ledger.txt"
    other_site.write_text(rechromed(SEED_COPY.read_text(encoding="utf-8")), encoding="utf-8")
    ingest([str(SEED_COPY)], engine)
    report = ingest([str(other_site)], engine)
    assert report.linked == 1
    stored = version(engine, str(other_site))
    assert stored.story_id == story_of(engine, str(SEED_COPY))
    assert stored.match_method in ("exact", "near")
    assert stored.match_distance is not None and stored.match_distance <= 3


def test_canonical_version_is_the_earliest_published(engine: Engine, tmp_path: Path) -> None:
    # The seed is dated 2025-04-06; the Meridian copy says 2023-09-22, so it is canonical.
    ingest([str(SEED_COPY), str(SAMPLES / "meridian-kim-russia.html")], engine)
    with Session(engine) as session:
        story = session.get_one(Story, story_of(engine, str(SEED_COPY)))
        canonical = session.get_one(Version, story.canonical_version_id)
        assert canonical.source_path == str(SAMPLES / "meridian-kim-russia.html")
        assert story.title == canonical.title
        assert story.first_seen_at < story.last_seen_at


def test_bad_files_are_logged_and_the_batch_goes_on(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(SAMPLES / "harbour-barrier.txt", folder / "a-good.txt")
    (folder / "b-empty.txt").write_bytes(b"")
    (folder / "c-binary.txt").write_bytes(bytes(range(256)) * 20)
    (folder / "d-broken.json").write_text('{"title": "Unfinished", "text": "')
    shutil.copy(SAMPLES / "library-closures.txt", folder / "e-good.txt")
    report = ingest([str(folder), str(tmp_path / "missing.txt")], engine, batch_size=2)
    assert report.versions_stored == 2
    assert report.failed == 4
    assert report.exit_code == 1
    with Session(engine) as session:
        errors = {e.source_path: e.error for e in session.scalars(select(IngestError))}
        run = session.get_one(IngestRun, report.run_id)
    assert set(errors) == {
        str(folder / "b-empty.txt"),
        str(folder / "c-binary.txt"),
        str(folder / "d-broken.json"),
        str(tmp_path / "missing.txt"),
    }
    assert "empty" in errors[str(folder / "b-empty.txt")]
    assert run.failed == 4


def test_a_record_failing_in_the_database_leaves_nothing_half_written(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_flush = store.BatchWriter.flush

    def failing(writer: store.BatchWriter) -> None:
        real_flush(writer)  # the rows are written, then the database fails
        if any("library" in row["source_path"] for row in writer._version_rows):
            from sqlalchemy.exc import OperationalError

            raise OperationalError("UPDATE stories", {}, Exception("disk I/O error"))

    monkeypatch.setattr(store.BatchWriter, "flush", failing)
    report = ingest([str(SAMPLES / "harbour-barrier.txt"), str(SAMPLES / "library-closures.txt")],
                    engine)  # fmt: skip
    assert report.versions_stored == 1
    assert report.failed == 1
    assert "database error" in report.failures[0].error
    assert count(engine, Version) == 1
    assert count(engine, Story) == 1
    keyed = {version_id for _, version_id in index_postings(engine)}
    assert keyed == {version(engine, str(SAMPLES / "harbour-barrier.txt")).id}


def test_an_ingest_collects_garbage_less_often_and_puts_the_callers_thresholds_back(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[int, ...]] = []
    real_write_batch = ingest_module.write_batch

    def watching(*args: object, **kwargs: object) -> object:
        seen.append(gc.get_threshold())
        return real_write_batch(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest_module, "write_batch", watching)
    before = gc.get_threshold()
    gc.set_threshold(1234, 5, 6)
    try:
        report = ingest([str(p) for p in SEEDS], engine)
        assert gc.get_threshold() == (1234, 5, 6)
    finally:
        gc.set_threshold(*before)
    assert report.versions_stored == len(SEEDS)
    assert seen and all(t == ingest_module.GC_THRESHOLDS for t in seen)
