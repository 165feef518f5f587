"""A version that matches two stories merges them, and old story ids still resolve."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from archive import match, store
from archive.article import Article
from archive.models import Story, StoryMerge, Version
from archive.parse import ParsedRecord

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def add(session: Session, name: str, published: datetime | None, links: list[int]) -> int:
    """Store an article that the linker matched to the versions ``links``; its version id."""
    article = Article(title=f"Title {name}", body=f"Body of {name}.", published_at=published)
    record = ParsedRecord(f"{name}.txt", "text", hashlib.sha256(name.encode()).hexdigest(), article)
    fingerprint = match.fingerprint(article)
    verdicts = []
    for version_id in links:
        story_id = session.get_one(Version, version_id).story_id
        verdicts.append(match.Verdict(version_id, story_id, 2, 0.9, "near", 1.0))
    return store.add_version(
        session, record, fingerprint, verdicts, run_id=None, now=NOW
    ).version_id


def test_version_matching_two_stories_merges_them_into_the_oldest(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        a = add(session, "a", datetime(2024, 5, 2, tzinfo=UTC), [])
        b = add(session, "b", datetime(2024, 5, 1, tzinfo=UTC), [])
        story_a = session.get_one(Version, a).story_id
        story_b = session.get_one(Version, b).story_id
        c = add(session, "c", datetime(2024, 5, 3, tzinfo=UTC), [a, b])
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


def test_chained_merges_resolve_in_one_step(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        x = add(session, "x", None, [])
        y = add(session, "y", None, [])
        z = add(session, "z", None, [])
        stories = [session.get_one(Version, v).story_id for v in (x, y, z)]
        add(session, "yz", None, [y, z])  # z's story goes into y's
        add(session, "xy", None, [x, y])  # then y's (with z's) into x's
    with Session(engine) as session:
        survivor = session.scalars(select(Story.id)).one()
        assert survivor == stories[0]
        rows = session.execute(select(StoryMerge.merged_story_id, StoryMerge.story_id))
        merges = {merged: into for merged, into in rows}
        assert merges == {stories[1]: survivor, stories[2]: survivor}
        assert store.resolve_story_id(session, stories[2]) == survivor


def test_version_matching_one_story_twice_merges_nothing(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        a = add(session, "a", None, [])
        b = add(session, "b", None, [a])
        add(session, "c", None, [a, b])
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Story)) == 1
        assert session.scalar(select(func.count()).select_from(StoryMerge)) == 0
