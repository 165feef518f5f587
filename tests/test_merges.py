"""A version that matches two stories merges them, and old story ids still resolve."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from archive.linking import match, store
from archive.sources.article import Article
from archive.sources.records import ParsedRecord
from archive.storage.models import Story, StoryMerge, Version

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class Linker:
    """Stores articles with the links a test chooses, each in its own batch or all in one
    (``one_batch``): merges work on stored stories and on stories of the same batch alike."""

    def __init__(self, session: Session, *, one_batch: bool) -> None:
        self.session = session
        self.writer = store.BatchWriter(session, run_id=None, now=NOW) if one_batch else None
        self.story_of: dict[int, int] = {}

    def add(self, name: str, published: datetime | None, links: list[int]) -> int:
        """Store an article that the linker matched to the versions ``links``; its version id."""
        article = Article(title=f"Title {name}", body=f"Body of {name}.", published_at=published)
        record = ParsedRecord(
            f"{name}.txt", "text", hashlib.sha256(name.encode()).hexdigest(), article
        )
        verdicts = [
            match.Verdict(version_id, self.story(version_id), 2, 0.9, "near", 1.0)
            for version_id in links
        ]
        writer = self.writer or store.BatchWriter(self.session, run_id=None, now=NOW)
        stored = writer.add(record, match.fingerprint(article), verdicts)
        if self.writer is None:
            writer.flush()
        self.story_of[stored.version_id] = stored.story_id
        return stored.version_id

    def story(self, version_id: int) -> int:
        """The story of a version as a lookup would find it: in the batch, the id the writer
        gave (it resolves merges itself); in the archive, the stored story's current id."""
        story_id = self.story_of[version_id]
        if self.writer is not None:
            return story_id
        current = store.resolve_story_id(self.session, story_id)
        assert current is not None
        return current

    def done(self) -> None:
        if self.writer is not None:
            self.writer.flush()


@pytest.mark.parametrize("one_batch", [False, True], ids=["separate-batches", "one-batch"])
def test_version_matching_two_stories_merges_them_into_the_oldest(
    engine: Engine, one_batch: bool
) -> None:
    with Session(engine) as session, session.begin():
        linker = Linker(session, one_batch=one_batch)
        a = linker.add("a", datetime(2024, 5, 2, tzinfo=UTC), [])
        b = linker.add("b", datetime(2024, 5, 1, tzinfo=UTC), [])
        story_a, story_b = linker.story(a), linker.story(b)
        c = linker.add("c", datetime(2024, 5, 3, tzinfo=UTC), [a, b])
        linker.done()
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Story)) == 1
        story = session.scalars(select(Story)).one()
        assert story.id == min(story_a, story_b)
        assert {v.story_id for v in session.scalars(select(Version))} == {story.id}
        # the canonical version is the earliest published of all, from the absorbed story
        assert story.canonical_version_id == b
        assert story.title == "Title b"
        assert story.first_seen_at == datetime(2024, 5, 1, tzinfo=UTC)
        assert story.last_seen_at == datetime(2024, 5, 3, tzinfo=UTC)
        merge = session.scalars(select(StoryMerge)).one()
        assert merge.merged_story_id == max(story_a, story_b)
        assert merge.story_id == story.id
        assert merge.version_id == c
        assert store.resolve_story_id(session, max(story_a, story_b)) == story.id
        assert store.resolve_story_id(session, story.id) == story.id
        assert store.resolve_story_id(session, 10_000) is None


@pytest.mark.parametrize("one_batch", [False, True], ids=["separate-batches", "one-batch"])
def test_chained_merges_resolve_in_one_step(engine: Engine, one_batch: bool) -> None:
    with Session(engine) as session, session.begin():
        linker = Linker(session, one_batch=one_batch)
        x = linker.add("x", None, [])
        y = linker.add("y", None, [])
        z = linker.add("z", None, [])
        stories = [linker.story(v) for v in (x, y, z)]
        linker.add("yz", None, [y, z])  # z's story goes into y's
        linker.add("xy", None, [x, y])  # then y's (with z's) into x's
        linker.done()
    with Session(engine) as session:
        survivor = session.scalars(select(Story.id)).one()
        assert survivor == stories[0]
        rows = session.execute(select(StoryMerge.merged_story_id, StoryMerge.story_id))
        merges = {merged: into for merged, into in rows}
        assert merges == {stories[1]: survivor, stories[2]: survivor}
        assert store.resolve_story_id(session, stories[2]) == survivor


@pytest.mark.parametrize("one_batch", [False, True], ids=["separate-batches", "one-batch"])
def test_version_matching_one_story_twice_merges_nothing(engine: Engine, one_batch: bool) -> None:
    with Session(engine) as session, session.begin():
        linker = Linker(session, one_batch=one_batch)
        a = linker.add("a", None, [])
        b = linker.add("b", None, [a])
        linker.add("c", None, [a, b])
        linker.done()
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Story)) == 1
        assert session.scalar(select(func.count()).select_from(StoryMerge)) == 0
