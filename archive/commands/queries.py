"""Read-side questions the CLI asks of the archive, as plain functions over an engine."""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, distinct, func, select
from sqlalchemy.orm import Session

from archive.storage.models import (
    Base,
    IngestError,
    IngestRun,
    Story,
    StoryMerge,
    Version,
    VersionLink,
    VersionRemoval,
    path_sha256,
)

# archive.linking.store (and through it the fingerprinting and language modules, numpy,
# wordfreq...) is imported by the one query that needs it, show_story: listing stories stays
# quick to start.


@dataclass(frozen=True)
class VersionSummary:
    """Where a version came from and how it was matched."""

    source_path: str
    method: str
    similarity: float | None


@dataclass(frozen=True)
class StorySummary:
    """A story with the number of its versions and where they came from."""

    story_id: int
    title: str
    versions: int
    sources: tuple[VersionSummary, ...]


def stories_with_versions(
    engine: Engine, *, min_versions: int = 2, run_id: int | None = None, limit: int = 20
) -> list[StorySummary]:
    """Stories with at least ``min_versions`` versions, biggest first; with ``run_id``, only
    stories that run added a version to."""
    with Session(engine) as session:
        counts = (
            select(Version.story_id, func.count().label("n"))
            .group_by(Version.story_id)
            .having(func.count() >= min_versions)
            .subquery()
        )
        query = select(Story.id, Story.title, counts.c.n).join(
            counts, counts.c.story_id == Story.id
        )
        if run_id is not None:
            touched = select(Version.story_id).where(Version.run_id == run_id)
            query = query.where(Story.id.in_(touched))
        rows = session.execute(query.order_by(counts.c.n.desc(), Story.id).limit(limit)).all()
        summaries = []
        for story_id, title, n in rows:
            sources = session.execute(
                select(Version.source_path, Version.match_method, Version.match_similarity)
                .where(Version.story_id == story_id)
                .order_by(Version.id)
            ).all()
            summaries.append(
                StorySummary(story_id, title, n, tuple(VersionSummary(*row) for row in sources))
            )
        return summaries


class NotFoundError(LookupError):
    """An id the user gave names nothing in the archive; ``str()`` is the message to show."""


def last_seen(published_at: Any, ingested_at: Any) -> Any:
    """When a story was last seen, as an aggregate over its versions' columns: the latest
    publication date where any version has one, else the latest ingest time.

    A version without a date is seen when it was ingested; that time says when the archive got
    the file, not when the story ran, so it must not make a 2024 story "last seen" today while
    another version carries a date. (``stories.last_seen_at`` keeps the rule it is written
    with, every version's publication or ingest time; the commands show this one.)"""
    return func.coalesce(func.max(published_at), func.max(ingested_at))


def last_seen_of(versions: Any) -> datetime:
    """:func:`last_seen` of loaded versions (objects with ``published_at`` and
    ``ingested_at``)."""
    published: list[datetime] = [v.published_at for v in versions if v.published_at is not None]
    ingested: list[datetime] = [v.ingested_at for v in versions]
    return max(published) if published else max(ingested)


@dataclass(frozen=True)
class StoryListing:
    """One line of ``archive stories``."""

    story_id: int
    title: str
    versions: int
    sites: tuple[str, ...]
    first_seen_at: datetime
    last_seen_at: datetime
    canonical_version_id: int | None


def list_stories(
    engine: Engine,
    *,
    min_versions: int = 1,
    site: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    title: str | None = None,
    limit: int | None = 50,
) -> list[StoryListing]:
    """Stories, newest first (by first seen), with their version counts and sites.

    ``site`` and ``title`` match case-insensitively anywhere in a version's site or the story's
    title; a story is listed when it was first seen at or after ``since`` and before ``until``.
    ``limit=None`` lists them all.
    """
    counts = (
        select(
            Version.story_id,
            func.count().label("n"),
            last_seen(Version.published_at, Version.ingested_at).label("last_seen_at"),
        )
        .group_by(Version.story_id)
        .having(func.count() >= min_versions)
        .subquery()
    )
    query = select(
        Story.id,
        Story.title,
        counts.c.n,
        Story.first_seen_at,
        counts.c.last_seen_at,
        Story.canonical_version_id,
    ).join(counts, counts.c.story_id == Story.id)
    if site:
        query = query.where(
            Story.id.in_(
                select(Version.story_id).where(
                    Version.site.ilike(f"%{_escape_like(site)}%", escape="\\")
                )
            )
        )
    if title:
        query = query.where(Story.title.ilike(f"%{_escape_like(title)}%", escape="\\"))
    if since is not None:
        query = query.where(Story.first_seen_at >= since)
    if until is not None:
        query = query.where(Story.first_seen_at < until)
    query = query.order_by(Story.first_seen_at.desc(), Story.id.desc()).limit(limit)
    with Session(engine) as session:
        rows = session.execute(query).all()
        sites = _sites_of(session, [row.id for row in rows])
    return [
        StoryListing(
            story_id=row.id,
            title=row.title,
            versions=row.n,
            sites=sites.get(row.id, ()),
            first_seen_at=row.first_seen_at,
            last_seen_at=row.last_seen_at,
            canonical_version_id=row.canonical_version_id,
        )
        for row in rows
    ]


@dataclass(frozen=True)
class VersionDetail:
    """A version of a story and the evidence that made it one."""

    version_id: int
    is_canonical: bool
    source_path: str
    format: str
    site: str | None
    url: str | None
    title: str
    published_at: datetime | None
    ingested_at: datetime
    method: str
    matched_version_id: int | None
    distance: int | None
    similarity: float | None
    sentences: float | None


@dataclass(frozen=True)
class LinkDetail:
    """A verified link between two versions of the story (a row of ``version_links``)."""

    version_id: int
    linked_version_id: int
    method: str
    distance: int
    similarity: float
    sentences: float | None


@dataclass(frozen=True)
class StoryDetail:
    """A story with every version, canonical first, and the links between them."""

    story_id: int
    requested_id: int  # differs from story_id when the requested story was merged into it
    title: str
    canonical_version_id: int | None
    first_seen_at: datetime
    last_seen_at: datetime
    versions: tuple[VersionDetail, ...]
    links: tuple[LinkDetail, ...]


def show_story(engine: Engine, story_id: int) -> StoryDetail:
    """The story ``story_id`` (or the story it was merged into), its versions in canonical
    order and its links. Raises :class:`NotFoundError` for an id the archive never had."""
    from archive.linking.store import canonical_order, resolve_story_id

    with Session(engine) as session:
        current = resolve_story_id(session, story_id)
        story = session.get(Story, current) if current is not None else None
        if story is None:
            raise NotFoundError(f"no story {story_id} in the archive")
        versions = session.scalars(select(Version).where(Version.story_id == story.id)).all()
        ordered = sorted(
            versions, key=lambda v: (v.id != story.canonical_version_id, *canonical_order(v))
        )
        ids = [v.id for v in ordered]
        links = session.scalars(
            select(VersionLink)
            .where(VersionLink.version_id.in_(ids))
            .order_by(VersionLink.version_id, VersionLink.linked_version_id)
        ).all()
        return StoryDetail(
            story_id=story.id,
            requested_id=story_id,
            title=story.title,
            canonical_version_id=story.canonical_version_id,
            first_seen_at=story.first_seen_at,
            last_seen_at=last_seen_of(ordered),
            versions=tuple(_version_detail(v, story.canonical_version_id) for v in ordered),
            links=tuple(
                LinkDetail(
                    link.version_id,
                    link.linked_version_id,
                    link.method,
                    link.distance,
                    link.similarity,
                    link.sentences,
                )
                for link in links
            ),
        )


@dataclass(frozen=True)
class VersionListing(VersionDetail):
    """A version, as in a story's details, and the story it is a version of."""

    story_id: int


def list_versions(
    engine: Engine,
    *,
    story_id: int | None = None,
    site: str | None = None,
    source: str | None = None,
    limit: int | None = 50,
) -> list[VersionListing]:
    """Versions, newest first (by id), with the evidence that made each a version of its story.

    ``story_id`` (or a story merged into it) keeps that story's; ``site`` matches
    case-insensitively anywhere in the site; ``source`` is a whole source path (the versions of
    one file, record or URL). ``limit=None`` lists them all. Raises :class:`NotFoundError` for a
    story id the archive never had.
    """
    from archive.linking.store import resolve_story_id

    query = (
        select(Version, Story.canonical_version_id)
        .join(Story, Story.id == Version.story_id)
        .order_by(Version.id.desc())
        .limit(limit)
    )
    with Session(engine) as session:
        if story_id is not None:
            current = resolve_story_id(session, story_id)
            if current is None:
                raise NotFoundError(f"no story {story_id} in the archive")
            query = query.where(Version.story_id == current)
        if site:
            query = query.where(Version.site.ilike(f"%{_escape_like(site)}%", escape="\\"))
        if source is not None:
            # the path's hash finds it through the unique index, the path itself confirms it
            query = query.where(
                Version.source_path_sha256 == path_sha256(source), Version.source_path == source
            )
        listed = []
        for version, canonical in session.execute(query):
            detail = _version_detail(version, canonical)
            shown = {f.name: getattr(detail, f.name) for f in fields(detail)}
            listed.append(VersionListing(**shown, story_id=version.story_id))
        return listed


def get_version(session: Session, version_id: int) -> Version:
    """The stored version ``version_id``; :class:`NotFoundError` when there is none."""
    version = session.get(Version, version_id)
    if version is None:
        raise NotFoundError(f"no version {version_id} in the archive")
    return version


@dataclass(frozen=True)
class BiggestStory:
    """A story ranked by how many versions it has."""

    story_id: int
    title: str
    versions: int
    sites: int


@dataclass(frozen=True)
class ArchiveStats:
    """Totals of the archive and its biggest stories."""

    stories: int
    versions: int
    links: int
    sites: int
    stories_with_copies: int  # stories with more than one version
    versions_by_method: dict[str, int]
    merged_story_ids: int
    removed_versions: int
    ingest_runs: int
    ingest_errors: int
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    biggest_stories: tuple[BiggestStory, ...]


def archive_stats(engine: Engine, *, top: int = 10) -> ArchiveStats:
    """Counts of everything in the archive, and the ``top`` stories with the most versions."""

    def count(table: type[Base]) -> int:
        return session.scalar(select(func.count()).select_from(table)) or 0

    with Session(engine) as session:
        per_story = (
            select(
                Version.story_id,
                func.count().label("n"),
                func.count(distinct(Version.site)).label("sites"),
                last_seen(Version.published_at, Version.ingested_at).label("last_seen_at"),
            )
            .group_by(Version.story_id)
            .subquery()
        )
        biggest = session.execute(
            select(Story.id, Story.title, per_story.c.n, per_story.c.sites)
            .join(per_story, per_story.c.story_id == Story.id)
            .order_by(per_story.c.n.desc(), per_story.c.sites.desc(), Story.id)
            .limit(top)
        ).all()
        seen = (
            session.scalar(select(func.min(Story.first_seen_at))),
            session.scalar(select(func.max(per_story.c.last_seen_at))),
        )
        methods = session.execute(
            select(Version.match_method, func.count()).group_by(Version.match_method)
        ).all()
        return ArchiveStats(
            stories=count(Story),
            versions=count(Version),
            links=count(VersionLink),
            sites=session.scalar(select(func.count(distinct(Version.site)))) or 0,
            stories_with_copies=session.scalar(
                select(func.count()).select_from(per_story).where(per_story.c.n > 1)
            )
            or 0,
            versions_by_method=dict(sorted((method, n) for method, n in methods)),
            merged_story_ids=count(StoryMerge),
            removed_versions=count(VersionRemoval),
            ingest_runs=count(IngestRun),
            ingest_errors=count(IngestError),
            first_seen_at=seen[0],
            last_seen_at=seen[1],
            biggest_stories=tuple(BiggestStory(*row) for row in biggest),
        )


def to_jsonable(value: Any) -> Any:
    """``value`` (dataclasses, tuples, datetimes) as plain JSON data; times in ISO 8601."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _sites_of(session: Session, story_ids: list[int]) -> dict[int, tuple[str, ...]]:
    sites: dict[int, list[str]] = {}
    if story_ids:
        rows = session.execute(
            select(Version.story_id, Version.site)
            .where(Version.story_id.in_(story_ids), Version.site.is_not(None))
            .distinct()
            .order_by(Version.story_id, Version.site)
        )
        for story_id, site in rows:
            if site is not None:
                sites.setdefault(story_id, []).append(site)
    return {story_id: tuple(names) for story_id, names in sites.items()}


def _version_detail(version: Version, canonical_id: int | None) -> VersionDetail:
    return VersionDetail(
        version_id=version.id,
        is_canonical=version.id == canonical_id,
        source_path=version.source_path,
        format=version.format,
        site=version.site,
        url=version.url,
        title=version.title,
        published_at=version.published_at,
        ingested_at=version.ingested_at,
        method=version.match_method,
        matched_version_id=version.matched_version_id,
        distance=version.match_distance,
        similarity=version.match_similarity,
        sentences=version.match_sentences,
    )


def _escape_like(text: str) -> str:
    # the user's text is matched literally: % and _ are not wildcards in a title
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
