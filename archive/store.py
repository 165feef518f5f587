"""Writing versions and stories: candidate lookup, links, canonical versions and seen-times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import exists, insert, or_, select
from sqlalchemy.orm import Session

from archive.match import Candidate, Fingerprint, Verdict
from archive.models import MatchKey, Story, Version, as_utc
from archive.parse import ParsedRecord

NEW_STORY = "new story"
_END_OF_TIME = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class StoredVersion:
    """What happened to one record: the version and story it became and how it matched."""

    version_id: int
    story_id: int
    method: str  # "exact", "near" or "new story"
    verdict: Verdict | None


def is_archived(session: Session, record: ParsedRecord) -> bool:
    """True when this source with this exact content is in the archive already."""
    query = select(
        exists().where(
            Version.source_path == record.source_path,
            Version.content_sha256 == record.content_sha256,
        )
    )
    return bool(session.scalar(query))


def find_candidates(session: Session, fingerprint: Fingerprint) -> list[Candidate]:
    """Stored versions with the same body or sharing an index key, found through indexes only."""
    keyed = select(MatchKey.version_id).where(MatchKey.key.in_(fingerprint.keys))
    rows = session.execute(
        select(
            Version.id,
            Version.story_id,
            Version.simhash,
            Version.body_sha256,
            Version.title,
            Version.body,
        )
        .where(or_(Version.body_sha256 == fingerprint.body_sha256, Version.id.in_(keyed)))
        .order_by(Version.id)
    )
    return [Candidate(*row) for row in rows]


def add_version(
    session: Session,
    record: ParsedRecord,
    fingerprint: Fingerprint,
    verdict: Verdict | None,
    *,
    run_id: int | None,
    now: datetime,
) -> StoredVersion:
    """Store ``record`` as a version of the verdict's story, or of a new story without one."""
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
    )
    session.add(version)
    session.flush()
    if fingerprint.keys:
        session.execute(
            insert(MatchKey), [{"key": key, "version_id": version.id} for key in fingerprint.keys]
        )
    _take_into_story(session, story, version)
    return StoredVersion(version.id, story.id, version.match_method, verdict)


def canonical_order(version: Version) -> tuple[bool, datetime, datetime, int]:
    """The canonical version of a story is the first by this key: the earliest published
    (versions without a date last), then the earliest ingested, then the lowest id."""
    published = version.published_at or _END_OF_TIME
    return (version.published_at is None, published, version.ingested_at, version.id)


def _take_into_story(session: Session, story: Story, version: Version) -> None:
    seen_at = version.published_at or version.ingested_at
    story.first_seen_at = min(story.first_seen_at, seen_at)
    story.last_seen_at = max(story.last_seen_at, seen_at)
    current = (
        session.get(Version, story.canonical_version_id) if story.canonical_version_id else None
    )
    if current is None or canonical_order(version) < canonical_order(current):
        story.canonical_version_id = version.id
        story.title = version.title
    session.flush()
