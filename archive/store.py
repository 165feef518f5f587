"""Writing versions and stories: candidate lookup, links, canonical versions and seen-times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from archive.match import Candidate, Fingerprint, Verdict, best_verdict, worth_comparing
from archive.models import MatchKey, Story, StoryMerge, Version, VersionLink, as_utc
from archive.parse import ParsedRecord

NEW_STORY = "new story"
# One shared key is chance (a common pair of words, one equal SimHash band); copies and rewrites
# of a story share many. The count is symmetric, so candidates do not depend on ingest order.
MIN_SHARED_KEYS = 2
# Versions of one story share most of their keys; a version that shares a few with hundreds of
# others (a boilerplate sentence, two names of one beat) needs only its closest candidates
# verified. This bounds the work per new version however large the archive grows.
MAX_CANDIDATES = 20
_END_OF_TIME = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class StoredVersion:
    """What happened to one record: the version and story it became and how it matched."""

    version_id: int
    story_id: int
    method: str  # "exact", "near", "rewrite" or "new story"
    verdict: Verdict | None
    merged_stories: int = 0  # how many other stories this version's links merged into its own


def archived_sources(session: Session, source_paths: list[str]) -> set[tuple[str, str]]:
    """The (source path, content hash) pairs already archived for these source paths: one
    query for a whole batch."""
    found: set[tuple[str, str]] = set()
    for start in range(0, len(source_paths), 500):
        chunk = source_paths[start : start + 500]
        rows = session.execute(
            select(Version.source_path, Version.content_sha256).where(
                Version.source_path.in_(chunk)
            )
        )
        found.update((path, content) for path, content in rows)
    return found


def find_candidates(session: Session, fingerprint: Fingerprint) -> list[Candidate]:
    """Stored versions with the same body, and of the ``MAX_CANDIDATES`` that share the most
    index keys (at least ``MIN_SHARED_KEYS``) those whose SimHash is near enough to be worth
    comparing (:func:`archive.match.worth_comparing`), found through indexes only; bodies are
    read for those alone."""
    ranked = (
        select(MatchKey.version_id)
        .where(MatchKey.key.in_(fingerprint.keys))
        .group_by(MatchKey.version_id)
        .having(func.count() >= MIN_SHARED_KEYS)
        .order_by(func.count().desc(), MatchKey.version_id)
        .limit(MAX_CANDIDATES)
        .subquery()
    )
    fingerprints = select(Version.id, Version.simhash, Version.body_sha256)
    # Two lookups, each on its own index; one query with "body_sha256 = x OR id IN (...)"
    # makes PostgreSQL scan every version.
    found = {
        (version_id, simhash, body_hash)
        for query in (
            fingerprints.join(ranked, Version.id == ranked.c.version_id),
            fingerprints.where(Version.body_sha256 == fingerprint.body_sha256),
        )
        for version_id, simhash, body_hash in session.execute(query)
    }
    wanted = sorted(
        v for v, simhash, body_hash in found if worth_comparing(fingerprint, simhash, body_hash)
    )
    if not wanted:
        return []
    rows = session.execute(
        select(
            Version.id,
            Version.story_id,
            Version.simhash,
            Version.body_sha256,
            Version.title,
            Version.body,
        )
        .where(Version.id.in_(wanted))
        .order_by(Version.id)
    )
    return [Candidate(*row) for row in rows]


def add_version(
    session: Session,
    record: ParsedRecord,
    fingerprint: Fingerprint,
    verdicts: list[Verdict],
    *,
    run_id: int | None,
    now: datetime,
) -> StoredVersion:
    """Store ``record`` as a version of the story its verdicts point to, or of a new story.

    The version's match evidence is its best verdict. When verdicts point to several stories,
    the new version is a version of each, so they become one (see :func:`merge_stories`).
    """
    verdict = best_verdict(verdicts)
    article = record.article
    published_at = as_utc(article.published_at) if article.published_at else None
    seen_at = published_at or now
    if verdict is None:
        story = Story(title=article.title, first_seen_at=seen_at, last_seen_at=seen_at)
        session.add(story)
        session.flush()
    else:
        story = session.get_one(Story, verdict.story_id)
    version = Version(
        story_id=story.id,
        source_path=record.source_path,
        format=record.format,
        content_sha256=record.content_sha256,
        body_sha256=fingerprint.body_sha256,
        simhash=fingerprint.simhash,
        title=article.title,
        body=article.body,
        url=article.url,
        site=article.site,
        published_at=published_at,
        ingested_at=now,
        run_id=run_id,
        matched_version_id=verdict.version_id if verdict else None,
        match_distance=verdict.distance if verdict else None,
        match_similarity=verdict.similarity if verdict else None,
        match_method=verdict.method if verdict else NEW_STORY,
        match_sentences=verdict.sentences if verdict else None,
    )
    session.add(version)
    session.flush()
    if fingerprint.keys:
        session.execute(
            # the table, not the mapped class: a plain executemany, no ORM bulk machinery
            insert(MatchKey.__table__),
            [{"key": key, "version_id": version.id} for key in fingerprint.keys],
        )
    _take_into_story(session, story, version)
    if verdicts:
        session.execute(
            insert(VersionLink.__table__),
            [
                {
                    "version_id": version.id,
                    "linked_version_id": v.version_id,
                    "distance": v.distance,
                    "similarity": v.similarity,
                    "method": v.method,
                    "sentences": v.sentences,
                }
                for v in verdicts
            ],
        )
    linked_stories = {v.story_id for v in verdicts}
    survivor = merge_stories(session, linked_stories, version.id, now)
    if survivor is None:
        return StoredVersion(version.id, story.id, version.match_method, verdict)
    return StoredVersion(
        version.id, survivor.id, version.match_method, verdict, len(linked_stories) - 1
    )


def merge_stories(
    session: Session, story_ids: set[int], version_id: int, now: datetime
) -> Story | None:
    """Make one story of ``story_ids``: the oldest id survives and takes every version.

    Each absorbed id is recorded in ``story_merges`` (re-pointing earlier merges into it), so an
    old story id always resolves with one lookup. Returns the survivor, or None when there was
    nothing to merge.
    """
    if len(story_ids) < 2:
        return None
    survivor_id, *absorbed = sorted(story_ids)
    survivor = session.get_one(Story, survivor_id)
    session.execute(
        update(Version).where(Version.story_id.in_(absorbed)).values(story_id=survivor_id)
    )
    session.execute(
        update(StoryMerge).where(StoryMerge.story_id.in_(absorbed)).values(story_id=survivor_id)
    )
    for story_id in absorbed:
        absorbed_story = session.get_one(Story, story_id)
        survivor.first_seen_at = min(survivor.first_seen_at, absorbed_story.first_seen_at)
        survivor.last_seen_at = max(survivor.last_seen_at, absorbed_story.last_seen_at)
        if absorbed_story.canonical_version_id is not None:
            canonical = session.get_one(Version, absorbed_story.canonical_version_id)
            _consider_canonical(session, survivor, canonical)
        session.add(
            StoryMerge(
                merged_story_id=story_id, story_id=survivor_id, version_id=version_id, merged_at=now
            )
        )
        session.delete(absorbed_story)
    session.flush()
    return survivor


def resolve_story_id(session: Session, story_id: int) -> int | None:
    """The current id of a story that may have been merged into another; None if unknown."""
    if session.get(Story, story_id) is not None:
        return story_id
    return session.scalar(select(StoryMerge.story_id).where(StoryMerge.merged_story_id == story_id))


def canonical_key(
    published_at: datetime | None, ingested_at: datetime, version_id: int
) -> tuple[bool, datetime, datetime, int]:
    """The canonical version of a story is the first by this key: the earliest published
    (versions without a date last), then the earliest ingested, then the lowest id."""
    return (published_at is None, published_at or _END_OF_TIME, ingested_at, version_id)


def canonical_order(version: Version) -> tuple[bool, datetime, datetime, int]:
    """:func:`canonical_key` of a stored version."""
    return canonical_key(version.published_at, version.ingested_at, version.id)


def _take_into_story(session: Session, story: Story, version: Version) -> None:
    seen_at = version.published_at or version.ingested_at
    story.first_seen_at = min(story.first_seen_at, seen_at)
    story.last_seen_at = max(story.last_seen_at, seen_at)
    _consider_canonical(session, story, version)
    session.flush()


def _consider_canonical(session: Session, story: Story, version: Version) -> None:
    current = (
        session.get(Version, story.canonical_version_id) if story.canonical_version_id else None
    )
    if current is None or canonical_order(version) < canonical_order(current):
        story.canonical_version_id = version.id
        story.title = version.title
