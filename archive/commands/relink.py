"""Recomputing every link from the stored text, so features and thresholds can change later."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.orm import Session

from archive.linking import candidates as linking
from archive.linking import match, store
from archive.sources.article import Article, BodyStatus
from archive.storage.db import writing
from archive.storage.models import MatchKey, Story, StoryMerge, Version, VersionLink

CHUNK = 1000


@dataclass
class RelinkReport:
    """What a relink changed."""

    versions: int = 0
    links: int = 0
    stories_before: int = 0
    stories_after: int = 0
    versions_moved: int = 0

    def summary(self) -> str:
        return (
            f"{self.versions} versions relinked: {self.links} links, "
            f"{self.stories_before} stories before, {self.stories_after} after, "
            f"{self.versions_moved} versions moved to another story"
        )


@dataclass(frozen=True)
class _Meta:
    story_id: int
    published_at: datetime | None
    ingested_at: datetime
    title: str


def relink(
    engine: Engine,
    *,
    threshold: float | None = None,
    rewrites: bool = True,
    on_version: Callable[[], None] | None = None,
) -> RelinkReport:
    """Recompute fingerprints, index keys, links and stories of every stored version.

    Versions are taken in ingest order (by id) and each is matched against the ones before it,
    as ingest did, but from the text stored in the database: no file is read again. Story ids
    are kept where a story's versions stay together; a story whose versions all moved is
    recorded in ``story_merges``. ``threshold`` is the word overlap a copy needs (see
    :func:`archive.linking.match.verify`); ``rewrites=False`` links copies only. Everything happens
    in one transaction: all or nothing.
    """
    report = RelinkReport()
    now = datetime.now(UTC)
    with writing(engine) as session:
        meta = {
            row.id: _Meta(row.story_id, row.published_at, row.ingested_at, row.title)
            for row in session.execute(
                select(
                    Version.id,
                    Version.story_id,
                    Version.published_at,
                    Version.ingested_at,
                    Version.title,
                )
            )
        }
        report.stories_before = len({m.story_id for m in meta.values()})
        session.execute(delete(MatchKey))
        session.execute(delete(VersionLink))
        clusters = _UnionFind()
        for version_id, article in _stored_articles(session, sorted(meta)):
            fingerprint = match.fingerprint(article)
            # The versions before it, whose keys are back in the index by now.
            lookup = linking.look_up(
                session.connection(),
                fingerprint,
                up_to=version_id - 1,
                threshold=threshold,
                rewrites=rewrites,
            )
            verdicts = list(lookup.verdicts)
            _store_evidence(session, version_id, fingerprint, verdicts)
            clusters.add(version_id)
            for verdict in verdicts:
                clusters.union(verdict.version_id, version_id)
            report.versions += 1
            report.links += len(verdicts)
            if on_version is not None:
                on_version()
        report.versions_moved = _assign_stories(session, clusters, meta, now)
        report.stories_after = len(clusters.groups())
    return report


def count_versions(engine: Engine) -> int:
    """How many versions the archive holds (what a relink will go through)."""
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Version)) or 0


def _stored_articles(session: Session, version_ids: list[int]) -> Iterator[tuple[int, Article]]:
    for start in range(0, len(version_ids), CHUNK):
        chunk = version_ids[start : start + CHUNK]
        rows = session.execute(
            select(
                Version.id,
                Version.title,
                Version.body,
                Version.url,
                Version.site,
                Version.published_at,
                Version.body_status,
            )
            .where(Version.id.between(chunk[0], chunk[-1]))
            .order_by(Version.id)
        )
        for row in rows:
            yield (
                row.id,
                Article(
                    row.title,
                    row.body,
                    row.url,
                    row.site,
                    row.published_at,
                    body_status=BodyStatus(row.body_status),
                ),
            )


def _store_evidence(
    session: Session, version_id: int, fingerprint: match.Fingerprint, verdicts: list[match.Verdict]
) -> None:
    session.execute(
        update(Version)
        .where(Version.id == version_id)
        .values(
            simhash=fingerprint.simhash,
            body_sha256=fingerprint.body_sha256,
            **store.match_evidence(match.best_verdict(verdicts)),
        )
    )
    if fingerprint.keys:
        store.insert_keys(session.connection(), store.key_rows(version_id, fingerprint))
    if verdicts:
        session.execute(insert(VersionLink), store.link_rows(version_id, verdicts))


def _assign_stories(
    session: Session, clusters: _UnionFind, meta: dict[int, _Meta], now: datetime
) -> int:
    """Give every cluster a story: the lowest old story id among its versions that no earlier
    cluster took, else a new one. Returns how many versions changed story."""
    taken: dict[int, list[int]] = {}
    for group in sorted(clusters.groups(), key=min):
        old_ids = sorted({meta[v].story_id for v in group})
        story_id = next((s for s in old_ids if s not in taken), None)
        if story_id is None:
            first = meta[min(group)]
            story = Story(title=first.title, first_seen_at=now, last_seen_at=now)
            session.add(story)
            session.flush()
            story_id = story.id
        taken[story_id] = group
    moved = 0
    for story_id, group in taken.items():
        movers = [v for v in group if meta[v].story_id != story_id]
        moved += len(movers)
        for start in range(0, len(movers), CHUNK):
            session.execute(
                update(Version)
                .where(Version.id.in_(movers[start : start + CHUNK]))
                .values(story_id=story_id)
            )
        _refresh_story(session, story_id, group, meta)
    _retire_emptied_stories(session, taken, meta, now)
    return moved


def _refresh_story(
    session: Session, story_id: int, group: list[int], meta: dict[int, _Meta]
) -> None:
    def seen(v: int) -> datetime:
        return meta[v].published_at or meta[v].ingested_at

    canonical = min(
        group, key=lambda v: store.canonical_key(meta[v].published_at, meta[v].ingested_at, v)
    )
    story = session.get_one(Story, story_id)
    story.canonical_version_id = canonical
    story.title = meta[canonical].title
    story.first_seen_at = min(seen(v) for v in group)
    story.last_seen_at = max(seen(v) for v in group)


def _retire_emptied_stories(
    session: Session, taken: dict[int, list[int]], meta: dict[int, _Meta], now: datetime
) -> None:
    """Old stories that kept no version: record where their first version went, then delete."""
    new_story_of = {v: story_id for story_id, group in taken.items() for v in group}
    first_version: dict[int, int] = {}
    for version_id in sorted(meta):
        first_version.setdefault(meta[version_id].story_id, version_id)
    for old_story, version_id in sorted(first_version.items()):
        if old_story in taken:
            continue
        survivor = new_story_of[version_id]
        session.execute(
            update(StoryMerge).where(StoryMerge.story_id == old_story).values(story_id=survivor)
        )
        session.add(
            StoryMerge(
                merged_story_id=old_story, story_id=survivor, version_id=version_id, merged_at=now
            )
        )
        session.execute(delete(Story).where(Story.id == old_story))
    session.flush()


class _UnionFind:
    """Disjoint sets of version ids, for the connected components of the links."""

    def __init__(self) -> None:
        self._parent: dict[int, int] = {}

    def add(self, item: int) -> None:
        self._parent.setdefault(item, item)

    def find(self, item: int) -> int:
        root = item
        while self._parent[root] != root:
            root = self._parent[root]
        while self._parent[item] != root:
            self._parent[item], item = root, self._parent[item]
        return root

    def union(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self._parent[max(root_a, root_b)] = min(root_a, root_b)

    def groups(self) -> list[list[int]]:
        members: dict[int, list[int]] = {}
        for item in self._parent:
            members.setdefault(self.find(item), []).append(item)
        return [sorted(group) for group in members.values()]
