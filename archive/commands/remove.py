"""Removing a version: its links go, its story is re-derived and split if it falls apart."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, delete, or_, select, update
from sqlalchemy.orm import Session

from archive.commands.queries import NotFoundError
from archive.linking import store, stories
from archive.linking.match import Verdict, best_verdict
from archive.linking.method import Method
from archive.storage import schema
from archive.storage.db import writing
from archive.storage.models import (
    INDEX_TABLES,
    Story,
    StoryMerge,
    Version,
    VersionLink,
    VersionRemoval,
    VersionWords,
)

CHUNK = 1000


@dataclass(frozen=True)
class Removal:
    """What removing a version did (also logged in ``version_removals``)."""

    removal_id: int
    version_id: int
    source_path: str
    story_id: int
    story_removed: bool  # the version was its story's last one
    remaining_versions: int  # in story_id
    canonical_version_id: int | None  # of story_id, after the removal
    new_story_ids: tuple[int, ...]  # stories split off story_id


def remove_version(engine: Engine, version_id: int, *, now: datetime | None = None) -> Removal:
    """Delete version ``version_id`` with its links and index keys, in one transaction.

    Versions that named it as their best match take their best remaining link. Its story's
    versions are the connected components of the remaining links: the largest component (on a
    tie, the one whose first version in canonical order comes first) keeps the story id, each
    other one becomes a new story. Every story touched gets its canonical version, title and
    seen-times again. Raises :class:`archive.commands.queries.NotFoundError` for an unknown id.
    """
    now = now or datetime.now(UTC)
    with writing(engine) as session:
        version = session.get(Version, version_id)
        if version is None:
            raise NotFoundError(f"no version {version_id} in the archive")
        story_id, source_path = version.story_id, version.source_path
        removal = VersionRemoval(
            version_id=version.id,
            source_path=source_path,
            content_sha256=version.content_sha256,
            title=version.title,
            story_id=story_id,
            remaining_versions=0,
            removed_at=now,
        )
        _detach(session, version_id)
        session.delete(version)
        session.flush()

        remaining = session.scalars(select(Version).where(Version.story_id == story_id)).all()
        story = session.get_one(Story, story_id)
        new_story_ids: list[int] = []
        if not remaining:
            # Merged ids that pointed here now name nothing, like the removed story itself.
            session.execute(delete(StoryMerge).where(StoryMerge.story_id == story_id))
            session.delete(story)
        else:
            parts = _components(session, remaining)
            parts.sort(key=lambda part: schema.canonical_order(_first(part)))
            # max() returns the first of equals: among the largest parts the earliest one wins
            keeper = max(parts, key=len)
            _refresh(story, keeper)
            for part in (p for p in parts if p is not keeper):
                first = _first(part)
                split = Story(title=first.title, first_seen_at=now, last_seen_at=now)
                session.add(split)
                session.flush()
                _move(session, [v.id for v in part], split.id)
                _refresh(split, part)
                new_story_ids.append(split.id)
            removal.remaining_versions = len(keeper)
        removal.new_story_ids = ",".join(map(str, new_story_ids)) or None
        session.add(removal)
        session.flush()
        return Removal(
            removal_id=removal.id,
            version_id=version_id,
            source_path=source_path,
            story_id=story_id,
            story_removed=not remaining,
            remaining_versions=removal.remaining_versions,
            canonical_version_id=story.canonical_version_id if remaining else None,
            new_story_ids=tuple(new_story_ids),
        )


def _detach(session: Session, version_id: int) -> None:
    """Remove every reference to the version, so no foreign key depends on the database's
    ON DELETE actions (SQLite ignores them on a connection without foreign_keys=ON)."""
    dependants = session.scalars(
        select(Version.id).where(Version.matched_version_id == version_id)
    ).all()
    session.execute(
        delete(VersionLink).where(
            or_(VersionLink.version_id == version_id, VersionLink.linked_version_id == version_id)
        )
    )
    for keys in INDEX_TABLES:
        session.execute(delete(keys).where(keys.c.version_id == version_id))
    session.execute(delete(VersionWords).where(VersionWords.version_id == version_id))
    session.execute(
        update(StoryMerge).where(StoryMerge.version_id == version_id).values(version_id=None)
    )
    session.execute(
        update(Story)
        .where(Story.canonical_version_id == version_id)
        .values(canonical_version_id=None)
    )
    for dependant in dependants:
        _rederive_evidence(session, dependant)


def _rederive_evidence(session: Session, version_id: int) -> None:
    """Give a version the evidence of its best remaining link to an older version, as ingest
    would have chosen it; with none left it stands as the first of its story."""
    links = session.scalars(select(VersionLink).where(VersionLink.version_id == version_id)).all()
    by_linked = {link.linked_version_id: link for link in links}
    # best_verdict ranks on method, similarity and version id only; the rest is filler
    best = best_verdict(
        [
            Verdict(
                link.linked_version_id, 0, link.distance, link.similarity, Method(link.method), 0.0
            )
            for link in links
        ]
    )
    link = by_linked[best.version_id] if best else None
    session.execute(
        update(Version)
        .where(Version.id == version_id)
        .values(
            matched_version_id=link.linked_version_id if link else None,
            match_distance=link.distance if link else None,
            match_similarity=link.similarity if link else None,
            match_method=link.method if link else store.NEW_STORY,
            match_sentences=link.sentences if link else None,
        )
    )


def _components(session: Session, versions: Iterable[Version]) -> list[list[Version]]:
    """The versions grouped into stories by the links among them
    (:func:`archive.linking.stories.connected`)."""
    by_id = {v.id: v for v in versions}
    ids = list(by_id)
    links: list[tuple[int, int]] = []
    for start in range(0, len(ids), CHUNK):
        rows = session.execute(
            select(VersionLink.version_id, VersionLink.linked_version_id).where(
                VersionLink.version_id.in_(ids[start : start + CHUNK])
            )
        )
        links += [(a, b) for a, b in rows]
    return [[by_id[v] for v in group] for group in stories.connected(ids, links)]


def _first(part: list[Version]) -> Version:
    return min(part, key=schema.canonical_order)


def _refresh(story: Story, part: list[Version]) -> None:
    fields = stories.story_fields(
        stories.Member(v.id, v.title, v.published_at, v.ingested_at) for v in part
    )
    story.canonical_version_id = fields.canonical_version_id
    story.title = fields.title
    story.first_seen_at, story.last_seen_at = fields.first_seen_at, fields.last_seen_at


def _move(session: Session, version_ids: list[int], story_id: int) -> None:
    for start in range(0, len(version_ids), CHUNK):
        session.execute(
            update(Version)
            .where(Version.id.in_(version_ids[start : start + CHUNK]))
            .values(story_id=story_id)
        )
