"""Storing a batch: the batch writer links as one-at-a-time would, the index lookup stays
bounded, and ids stay dense."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from archive import align, linking
from archive.db import open_archive
from archive.ingest import ingest
from archive.match import Fingerprint
from archive.models import MatchKey, Story, Version, VersionLink

from .story_corpus import stored_stories, write_story_corpus

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def evidence(engine: Engine) -> tuple[set[frozenset[str]], set[tuple[str, str, str, float]]]:
    """The archive's stories (as sets of source paths) and links (paths, method, similarity)."""
    with Session(engine) as session:
        path_of, stories = stored_stories(session)
        links = {
            (path_of[new], path_of[old], method, round(similarity, 6))
            for new, old, method, similarity in session.execute(
                select(
                    VersionLink.version_id,
                    VersionLink.linked_version_id,
                    VersionLink.method,
                    VersionLink.similarity,
                )
            )
        }
    return stories, links


def test_a_whole_batch_links_exactly_as_one_file_per_batch(engine: Engine, tmp_path: Path) -> None:
    parts = write_story_corpus(tmp_path / "corpus")
    ingest([str(p) for p in parts], engine, batch_size=1000)  # every file in one batch
    one_by_one = open_archive(f"sqlite:///{tmp_path / 'one-by-one.db'}")
    ingest([str(p) for p in parts], one_by_one, batch_size=1)
    stories, links = evidence(engine)
    assert (stories, links) == evidence(one_by_one)
    assert any(len(story) >= 4 for story in stories)  # the corpus has stories in many versions
    one_by_one.dispose()


def test_new_version_and_story_ids_follow_on_without_gaps(engine: Engine, tmp_path: Path) -> None:
    parts = write_story_corpus(tmp_path / "corpus")
    ingest([str(parts[0]), str(parts[1])], engine, batch_size=3)
    ingest([str(parts[2]), str(parts[3])], engine, batch_size=3)
    with Session(engine) as session:
        version_ids = session.scalars(select(Version.id).order_by(Version.id)).all()
        story_ids = session.scalars(select(Story.id).order_by(Story.id)).all()
    assert version_ids == list(range(1, len(version_ids) + 1))
    # no merges happen in this corpus, so every story id handed out is still there
    assert story_ids == list(range(1, len(story_ids) + 1))


def test_a_crowded_key_counts_only_its_most_recent_holders(engine: Engine) -> None:
    crowded, rare = [1001, 1002], [2001, 2002]
    holders = linking.POSTINGS_PER_KEY + 50
    with Session(engine) as session, session.begin():
        session.add(Story(id=1, title="t", first_seen_at=NOW, last_seen_at=NOW))
        session.flush()
        session.execute(
            insert(Version),
            [
                {
                    "id": n,
                    "story_id": 1,
                    "source_path": f"{n}.txt",
                    "format": "text",
                    "content_sha256": f"{n:064x}",
                    "body_sha256": f"{n:064x}",
                    "simhash": n,
                    "title": "t",
                    "body": "b",
                    "ingested_at": NOW,
                    "match_method": "new story",
                }
                for n in range(1, holders + 1)
            ],
        )
        postings = [(key, n) for key in crowded for n in range(1, holders + 1)]
        postings += [(key, 1) for key in rare]  # the oldest version also holds two rare keys
        session.execute(insert(MatchKey), [{"key": k, "version_id": v} for k, v in postings])
    new = Fingerprint(0, "f" * 64, tuple(crowded + rare), align.profile("x"))
    with engine.connect() as connection:
        found = [hit.version_id for hit in linking.index_hits(connection, new, holders)]
    oldest_counted = holders - linking.POSTINGS_PER_KEY + 1
    assert len(found) == linking.MAX_CANDIDATES
    # version 1 shares its two rare keys (counted) and two crowded keys (too old to count)
    assert found[0] == 1
    assert all(v >= oldest_counted for v in found[1:])
