"""The read queries: what ``archive stories``, ``show``, ``stats`` and ``diff`` and the ingest
report ask of an archive (through :class:`archive.api.Archive`), as plain SQL over the
documented schema (docs/schema.md: its tables and views are a public interface).

Each query is written once for SQLite and PostgreSQL and runs on a :class:`Reader`: a
SQLAlchemy connection (:class:`archive.storage.db.ConnectionReader`), or the standard library's
sqlite3 on a SQLite archive at the current schema (:mod:`archive.storage.sqlite_read`), so that
a query starts without loading SQLAlchemy. The functions take a Reader or an engine. Parameters
are written ``:name``, which both take; times are bound with :meth:`Reader.time` and read with
:func:`archive.storage.schema.read_time` (SQLite has them as text).

Nothing here imports SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from archive.storage.reader import Reader, Row, reading
from archive.storage.schema import canonical_key, path_sha256, read_time

if TYPE_CHECKING:
    from sqlalchemy import Engine


class NotFoundError(LookupError):
    """An id the user gave names nothing in the archive; ``str()`` is the message to show."""


# Every story's number of versions: a story is listed with its versions, never without.
_VERSION_COUNTS = "SELECT story_id, count(*) AS versions FROM versions GROUP BY story_id"
# The current id of a story that may have been merged into another (NULL when unknown).
_CURRENT_ID = """COALESCE(
    (SELECT id FROM stories WHERE id = :story),
    (SELECT story_id FROM story_merges WHERE merged_story_id = :story)
)"""
# Case-insensitive "contains": the pattern is lower-cased like the column, and the user's
# text inside it is matched literally (_contains escapes % and _).
_LIKE = "lower({column}) LIKE lower(:{param}) ESCAPE '\\'"


def _contains(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(given: Mapping[str, str]) -> str:
    """The conditions of the filters given, each as ``AND condition``, to follow a WHERE."""
    return "".join(f"\n    AND {condition}" for condition in given.values())


def _limit(params: dict[str, object], limit: int | None) -> str:
    """A LIMIT clause, its value put in ``params``; none when ``limit`` is None."""
    if limit is None:
        return ""
    params["limit"] = limit
    return "\nLIMIT :limit"


# --- the stories an ingest linked -----------------------------------------------------------


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


_LINKED_STORIES = f"""
SELECT s.id, s.title, n.versions
FROM stories s
JOIN ({_VERSION_COUNTS}) n ON n.story_id = s.id
WHERE n.versions >= :min_versions{{run}}
ORDER BY n.versions DESC, s.id
LIMIT :limit
"""
_OF_RUN = "s.id IN (SELECT story_id FROM versions WHERE run_id = :run_id)"
_SOURCES = """
SELECT source_path, match_method, match_similarity FROM versions
WHERE story_id = :story
ORDER BY id
"""


def stories_with_versions(
    db: Reader | Engine, *, min_versions: int = 2, run_id: int | None = None, limit: int = 20
) -> list[StorySummary]:
    """Stories with at least ``min_versions`` versions, biggest first; with ``run_id``, only
    stories that run added a version to."""
    params: dict[str, object] = {"min_versions": min_versions, "limit": limit}
    run = {}
    if run_id is not None:
        run, params["run_id"] = {"run_id": _OF_RUN}, run_id
    sql = _LINKED_STORIES.format(run=_conditions(run))
    with reading(db) as reader:
        return [
            StorySummary(
                story_id,
                title,
                versions,
                tuple(VersionSummary(*row) for row in reader.rows(_SOURCES, {"story": story_id})),
            )
            for story_id, title, versions in reader.rows(sql, params)
        ]


# --- stories ---------------------------------------------------------------------------------


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


# A page of stories, then each with its sites (one row per story and site, NULL for none).
_STORIES = f"""
WITH page AS (
    SELECT s.id, s.title, n.versions, s.first_seen_at, s.last_seen_at, s.canonical_version_id
    FROM stories s
    JOIN ({_VERSION_COUNTS}) n ON n.story_id = s.id
    WHERE n.versions >= :min_versions{{filters}}
    ORDER BY s.first_seen_at DESC, s.id DESC{{limit}}
)
SELECT DISTINCT p.id, p.title, p.versions, p.first_seen_at, p.last_seen_at,
       p.canonical_version_id, v.site
FROM page p
LEFT JOIN versions v ON v.story_id = p.id AND v.site IS NOT NULL
ORDER BY p.first_seen_at DESC, p.id DESC, v.site
"""
_STORY_FILTERS = {
    "site": "s.id IN (SELECT story_id FROM versions WHERE "
    + _LIKE.format(column="site", param="site")
    + ")",
    "title": _LIKE.format(column="s.title", param="title"),
    "since": "s.first_seen_at >= :since",
    "until": "s.first_seen_at < :until",
}


def list_stories(
    db: Reader | Engine,
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
    with reading(db) as reader:
        params: dict[str, object] = {"min_versions": min_versions}
        given = {"site": site or None, "title": title or None, "since": since, "until": until}
        for name, value in given.items():
            if isinstance(value, datetime):
                params[name] = reader.time(value)
            elif value is not None:
                params[name] = _contains(value)
        filters = {name: _STORY_FILTERS[name] for name in given if name in params}
        sql = _STORIES.format(filters=_conditions(filters), limit=_limit(params, limit))
        rows = reader.rows(sql, params)
    stories: dict[int, tuple[Row, list[str]]] = {}
    for *story, site in rows:
        _, sites = stories.setdefault(story[0], (tuple(story), []))
        if site is not None:
            sites.append(site)
    return [
        StoryListing(
            story_id=story_id,
            title=title,
            versions=versions,
            sites=tuple(sites),
            first_seen_at=_time(first),
            last_seen_at=_time(last),
            canonical_version_id=canonical,
        )
        for (story_id, title, versions, first, last, canonical), sites in stories.values()
    ]


# --- a story and its versions ---------------------------------------------------------------


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


@dataclass(frozen=True)
class VersionListing(VersionDetail):
    """A version, as in a story's details, and the story it is a version of."""

    story_id: int


_STORY = f"""
SELECT id, title, canonical_version_id, first_seen_at, last_seen_at
FROM stories
WHERE id = {_CURRENT_ID}
"""
# Versions with their story's canonical version: the fields of a VersionListing.
_VERSIONS = """
SELECT v.id, v.source_path, v.format, v.site, v.url, v.title, v.published_at, v.ingested_at,
       v.match_method, v.matched_version_id, v.match_distance, v.match_similarity,
       v.match_sentences, v.story_id, s.canonical_version_id
FROM versions v
JOIN stories s ON s.id = v.story_id
WHERE 1 = 1{filters}
ORDER BY v.id DESC{limit}
"""
_VERSION_FILTERS = {
    "story": "v.story_id = :story",
    "site": _LIKE.format(column="v.site", param="site"),
    # the path's hash finds it through the unique index, the path itself confirms it
    "source": "v.source_path_sha256 = :source_sha256 AND v.source_path = :source",
}
_LINKS = """
SELECT l.version_id, l.linked_version_id, l.method, l.distance, l.similarity, l.sentences
FROM version_links l
JOIN versions v ON v.id = l.version_id
WHERE v.story_id = :story
ORDER BY l.version_id, l.linked_version_id
"""


def show_story(db: Reader | Engine, story_id: int) -> StoryDetail:
    """The story ``story_id`` (or the story it was merged into), its versions in canonical
    order and its links. Raises :class:`NotFoundError` for an id the archive never had."""
    with reading(db) as reader:
        found = reader.rows(_STORY, {"story": story_id})
        if not found:
            raise NotFoundError(f"no story {story_id} in the archive")
        current, title, canonical, first, last = found[0]
        versions = _versions(reader, {"story": current}, limit=None)
        links = reader.rows(_LINKS, {"story": current})
    ordered = sorted(
        versions,
        key=lambda v: (
            v.version_id != canonical,
            canonical_key(v.published_at, v.ingested_at, v.version_id),
        ),
    )
    return StoryDetail(
        story_id=current,
        requested_id=story_id,
        title=title,
        canonical_version_id=canonical,
        first_seen_at=_time(first),
        last_seen_at=_time(last),
        versions=tuple(_detail(v) for v in ordered),
        links=tuple(LinkDetail(*row) for row in links),
    )


def list_versions(
    db: Reader | Engine,
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
    params: dict[str, object] = {}
    if site:
        params["site"] = _contains(site)
    if source is not None:
        params.update(source=source, source_sha256=path_sha256(source))
    with reading(db) as reader:
        if story_id is not None:
            current = reader.value(f"SELECT {_CURRENT_ID}", {"story": story_id})
            if current is None:
                raise NotFoundError(f"no story {story_id} in the archive")
            params["story"] = current
        return _versions(reader, params, limit)


def _versions(
    reader: Reader, params: Mapping[str, object], limit: int | None
) -> list[VersionListing]:
    filters = {name: f for name, f in _VERSION_FILTERS.items() if name in params}
    bound = dict(params)
    sql = _VERSIONS.format(filters=_conditions(filters), limit=_limit(bound, limit))
    return [
        VersionListing(
            version_id=row[0],
            is_canonical=row[0] == row[14],
            source_path=row[1],
            format=row[2],
            site=row[3],
            url=row[4],
            title=row[5],
            published_at=read_time(row[6]),
            ingested_at=_time(row[7]),
            method=row[8],
            matched_version_id=row[9],
            distance=row[10],
            similarity=row[11],
            sentences=row[12],
            story_id=row[13],
        )
        for row in reader.rows(sql, bound)
    ]


def _detail(version: VersionListing) -> VersionDetail:
    shown = {f.name: getattr(version, f.name) for f in fields(VersionDetail)}
    return VersionDetail(**shown)


# --- one version's text ---------------------------------------------------------------------


@dataclass(frozen=True)
class VersionText:
    """A version's title and body, and where it came from."""

    version_id: int
    story_id: int
    source_path: str
    site: str | None
    title: str
    body: str


_VERSION_TEXT = """
SELECT id, story_id, source_path, site, title, body FROM versions WHERE id = :version
"""


def version_text(db: Reader | Engine, version_id: int) -> VersionText:
    """The text of version ``version_id``; :class:`NotFoundError` when there is none."""
    with reading(db) as reader:
        found = reader.rows(_VERSION_TEXT, {"version": version_id})
    if not found:
        raise NotFoundError(f"no version {version_id} in the archive")
    return VersionText(*found[0])


# --- totals ---------------------------------------------------------------------------------


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


_TOTALS = f"""
SELECT
    (SELECT count(*) FROM stories),
    (SELECT count(*) FROM versions),
    (SELECT count(*) FROM version_links),
    (SELECT count(DISTINCT site) FROM versions),
    (SELECT count(*) FROM ({_VERSION_COUNTS}) n WHERE n.versions > 1),
    (SELECT count(*) FROM story_merges),
    (SELECT count(*) FROM version_removals),
    (SELECT count(*) FROM ingest_runs),
    (SELECT count(*) FROM ingest_errors),
    (SELECT min(first_seen_at) FROM stories),
    (SELECT max(last_seen_at) FROM stories)
"""
_BY_METHOD = "SELECT match_method, count(*) FROM versions GROUP BY match_method"
_MOST_VERSIONS = """
SELECT s.id, s.title, n.versions, n.sites
FROM stories s
JOIN (
    SELECT story_id, count(*) AS versions, count(DISTINCT site) AS sites
    FROM versions
    GROUP BY story_id
) n ON n.story_id = s.id
ORDER BY n.versions DESC, n.sites DESC, s.id
LIMIT :top
"""


def archive_stats(db: Reader | Engine, *, top: int = 10) -> ArchiveStats:
    """Counts of everything in the archive, and the ``top`` stories with the most versions."""
    with reading(db) as reader:
        totals = reader.rows(_TOTALS)[0]
        methods = reader.rows(_BY_METHOD)
        biggest = reader.rows(_MOST_VERSIONS, {"top": top})
    *counts, first, last = totals
    stories, versions, links, sites, with_copies, merged, removed, runs, errors = counts
    return ArchiveStats(
        stories=stories,
        versions=versions,
        links=links,
        sites=sites,
        stories_with_copies=with_copies,
        versions_by_method=dict(sorted((method, n) for method, n in methods)),
        merged_story_ids=merged,
        removed_versions=removed,
        ingest_runs=runs,
        ingest_errors=errors,
        first_seen_at=read_time(first),
        last_seen_at=read_time(last),
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


def _time(value: datetime | str) -> datetime:
    """A stored time that is never NULL."""
    found = read_time(value)
    assert found is not None
    return found
