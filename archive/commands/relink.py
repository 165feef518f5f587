"""Recomputing every link from the stored text, so features and thresholds can change later.

A relink holds the archive's writer lock only for short transactions, so other writers (an
ingest, a remove) go on while it runs; what readers see changes at once, at its end:

1. The versions are gone through in id order, ``chunk`` at a time. A chunk's texts are read
   and fingerprinted with no lock held. The candidate-index rows that differ from the new
   fingerprints (``match_keys``, the versions' SimHash and body hash) are rewritten in one
   short transaction under the writer lock: none at all when the fingerprint did not change,
   the usual case. Then each version of the chunk is looked up, on a read connection and with
   no lock held, among the versions before it (:func:`archive.linking.candidates.look_up`
   with ``up_to``),
   whose index rows are rebuilt by then: the decisions of one pass over the archive in one
   transaction. The decisions are kept in memory.
2. One last transaction, under the writer lock, relinks the versions other writers committed
   meanwhile (first in more chunks when there are more than a chunk of them), then writes the
   links and match evidence that differ from the stored ones and gives the stories out again.

An interruption (Ctrl-C, SIGTERM, a kill, a lock timeout) before the last transaction commits
leaves the links, the evidence and the stories as they were; only index rows of relinked
versions may have been rewritten, each to what its version's text gives (which ingest reads as
it reads any other). A new relink starts over, and the index rows rewritten already are found
equal and not written again. See docs/reliability.md, "Relink".
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from archive.linking import candidates, match, store, stories
from archive.sources.article import Article, BodyStatus
from archive.storage.db import checkpoint, insert_rows, writing
from archive.storage.models import (
    INDEX_TABLES,
    Story,
    StoryMerge,
    Version,
    VersionLink,
    VersionWords,
)

# Versions a relink reads, fingerprints and looks up at a time, with one transaction under the
# writer lock per chunk for the index rows that changed (none when none did). About a second
# of work on the scale corpus of docs/performance.md, and rows for a few MB of texts: another
# writer waits at most one chunk's index rewrite for the lock.
CHUNK = 500
# Rows per statement when a list of ids is written out in SQL.
_IDS_PER_STATEMENT = 500

_versions = cast(Table, Version.__table__)
_stories = cast(Table, Story.__table__)
_version_words = cast(Table, VersionWords.__table__)
_links = cast(Table, VersionLink.__table__)


@dataclass
class RelinkReport:
    """What a relink changed."""

    versions: int = 0
    links: int = 0
    stories_before: int = 0
    stories_after: int = 0
    versions_moved: int = 0
    # how long the relink held the writer lock, in seconds (docs/reliability.md)
    lock_held_seconds: float = 0.0

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


@dataclass(frozen=True)
class _Stored:
    """A stored version as a relink reads it: its text and its candidate-index rows."""

    version_id: int
    article: Article
    simhash: int
    body_sha256: str
    keys: frozenset[int]
    words: str | None  # its version_words row; None for a version archived before them

    def stale(self, fingerprint: match.Fingerprint) -> _Stale:
        """Which of its stored index rows are not those of ``fingerprint``."""
        keys = (
            self.simhash != fingerprint.simhash
            or self.body_sha256 != fingerprint.body_sha256
            or self.keys != frozenset(fingerprint.keys)
        )
        # no row where the fingerprint has no words ("" stands for none)
        words = (self.words or "") != fingerprint.words
        return _Stale(keys, words)


@dataclass(frozen=True)
class _Stale:
    """Which index rows of a stored version a relink rewrites: its keys (with its SimHash and
    body hash), its words (missing in an archive from before ``version_words``), or both."""

    keys: bool
    words: bool

    def __bool__(self) -> bool:
        return self.keys or self.words


def relink(
    engine: Engine,
    *,
    threshold: float | None = None,
    rewrites: bool = True,
    on_version: Callable[[], None] | None = None,
    chunk: int | None = CHUNK,
) -> RelinkReport:
    """Recompute fingerprints, index keys, links and stories of every stored version.

    Versions are taken in ingest order (by id) and each is matched against the ones before it,
    as ingest did, but from the text stored in the database: no file is read again. Story ids
    are kept where a story's versions stay together; a story whose versions all moved is
    recorded in ``story_merges``. ``threshold`` is the word overlap a copy needs (see
    :func:`archive.linking.match.verify`); ``rewrites=False`` links copies only. ``on_version`` is
    called after each version, never under the writer lock.

    The work goes ``chunk`` versions at a time with short transactions, the links, evidence
    and stories change in one last transaction (see the module's documentation); versions
    committed by other writers while it runs are relinked too. ``chunk=None`` does all of it in
    that one transaction, under the writer lock throughout.
    """
    if chunk is not None and chunk < 1:
        raise ValueError(f"chunk must be at least 1, not {chunk}")
    run = _Relink(engine, threshold, rewrites, on_version)
    late = 0  # versions relinked in the last transaction
    while True:
        if chunk is not None:
            run.relink_unlocked(chunk)
        with writing(engine) as session:
            locked_at = time.perf_counter()
            after = run.done_up_to
            waiting = session.scalar(select(func.count()).where(Version.id > after)) or 0
            finishing = chunk is None or waiting <= chunk
            if finishing:
                late = run.relink_locked(session, chunk or CHUNK)
                run.finish(session, datetime.now(UTC))
        run.report.lock_held_seconds += time.perf_counter() - locked_at
        if finishing:
            break
        # more versions came in meanwhile than one chunk: relinked like the others first
    checkpoint(engine)
    if on_version is not None:  # counted now that the lock is free
        for _ in range(late):
            on_version()
    return run.report


def count_versions(engine: Engine) -> int:
    """How many versions the archive holds (what a relink will go through)."""
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Version)) or 0


class _Relink:
    """One relink's progress: the verdicts of the versions relinked so far, in memory."""

    def __init__(
        self,
        engine: Engine,
        threshold: float | None,
        rewrites: bool,
        on_version: Callable[[], None] | None,
    ) -> None:
        self.engine = engine
        self.threshold = threshold
        self.rewrites = rewrites
        self.on_version = on_version
        self.verdicts: dict[int, tuple[match.Verdict, ...]] = {}
        self.done_up_to = 0  # every version id up to this one is relinked
        self.report = RelinkReport()

    def relink_unlocked(self, chunk: int) -> None:
        """Relink the versions after ``done_up_to``, ``chunk`` at a time, holding the writer
        lock only to rewrite a chunk's index rows that changed."""
        while True:
            self._index_held_keys()
            with self.engine.connect() as connection:
                # versions whose keys another writer holds yet come in a later round
                indexed_up_to = candidates.snapshot(connection)
                stored = _stored_after(connection, self.done_up_to, chunk, indexed_up_to)
            if not stored:
                return
            prepared = _fingerprinted(stored)
            stale = [(v, fp, found) for v, fp, found in prepared if found]
            if stale:
                with writing(self.engine) as session:
                    locked_at = time.perf_counter()
                    _rewrite_index(session.connection(), stale)
                self.report.lock_held_seconds += time.perf_counter() - locked_at
                checkpoint(self.engine)
            with self.engine.connect() as connection:
                for version_id, fingerprint, _ in prepared:
                    self._look_up(connection, version_id, fingerprint)
                    # a short read transaction per version: a reader that stays keeps SQLite
                    # from starting its write-ahead log afresh (see archive.db.checkpoint)
                    connection.rollback()
                    if self.on_version is not None:
                        self.on_version()
            self.done_up_to = stored[-1].version_id

    def relink_locked(self, session: Session, chunk: int) -> int:
        """Relink the versions after ``done_up_to`` in ``session``'s transaction, under the
        writer lock; how many there were."""
        connection = session.connection()
        store.write_keys_left_behind(connection, wait=True)
        relinked = 0
        while stored := _stored_after(connection, self.done_up_to, chunk):
            prepared = _fingerprinted(stored)
            _rewrite_index(connection, [(v, fp, found) for v, fp, found in prepared if found])
            for version_id, fingerprint, _ in prepared:
                self._look_up(connection, version_id, fingerprint)
            relinked += len(prepared)
            self.done_up_to = stored[-1].version_id
        return relinked

    def _index_held_keys(self) -> None:
        """Write the index keys other writers hold (those being written now, once written):
        a version is looked up among the versions before it, all in the index."""
        with self.engine.begin() as connection:
            store.write_keys_left_behind(connection, wait=True)

    def _look_up(
        self, connection: Connection, version_id: int, fingerprint: match.Fingerprint
    ) -> None:
        # The versions before it, whose index rows are rebuilt by now.
        lookup = candidates.look_up(
            connection,
            fingerprint,
            up_to=version_id - 1,
            threshold=self.threshold,
            rewrites=self.rewrites,
        )
        self.verdicts[version_id] = lookup.verdicts

    def finish(self, session: Session, now: datetime) -> None:
        """Write the links, evidence and stories of every version, in the last transaction."""
        connection = session.connection()
        meta, evidence = _versions_now(connection)
        report = self.report
        report.stories_before = len({m.story_id for m in meta.values()})
        # A version removed while the relink ran is gone, with the links to it.
        verdicts = {
            version_id: [v for v in found if v.version_id in meta]
            for version_id, found in self.verdicts.items()
            if version_id in meta
        }
        unseen = meta.keys() - verdicts.keys()
        if unseen:  # version ids grow in commit order, under the writer lock
            raise RuntimeError(f"relink missed {len(unseen)} versions, such as {min(unseen)}")
        _write_links(connection, verdicts)
        _write_evidence(connection, verdicts, evidence)
        groups = stories.connected(
            verdicts,
            ((v.version_id, version_id) for version_id in verdicts for v in verdicts[version_id]),
        )
        report.versions = len(verdicts)
        report.links = sum(len(found) for found in verdicts.values())
        report.versions_moved = _assign_stories(session, groups, meta, now)
        report.stories_after = len(groups)


def _stored_after(
    connection: Connection, after: int, limit: int, up_to: int | None = None
) -> list[_Stored]:
    """The first ``limit`` versions after id ``after`` (up to id ``up_to``), with their index
    keys, read in one go (the read transaction ends with the caller's connection)."""
    bounds = [Version.id > after] + ([Version.id <= up_to] if up_to is not None else [])
    rows = connection.execute(
        select(
            Version.id,
            Version.title,
            Version.body,
            Version.url,
            Version.site,
            Version.published_at,
            Version.body_status,
            Version.simhash,
            Version.body_sha256,
        )
        .where(*bounds)
        .order_by(Version.id)
        .limit(limit)
    ).all()
    if not rows:
        return []
    keys: defaultdict[int, set[int]] = defaultdict(set)
    for table in INDEX_TABLES:
        for version_id, key in connection.execute(
            select(table.c.version_id, table.c.key).where(
                table.c.version_id.between(rows[0].id, rows[-1].id)
            )
        ):
            keys[version_id].add(key)
    words = {
        version_id: packed
        for version_id, packed in connection.execute(
            select(VersionWords.version_id, VersionWords.words).where(
                VersionWords.version_id.between(rows[0].id, rows[-1].id)
            )
        )
    }
    return [
        _Stored(
            row.id,
            Article(
                row.title,
                row.body,
                row.url,
                row.site,
                row.published_at,
                body_status=BodyStatus(row.body_status),
            ),
            row.simhash,
            row.body_sha256,
            frozenset(keys.get(row.id, ())),
            words.get(row.id),
        )
        for row in rows
    ]


def _fingerprinted(stored: list[_Stored]) -> list[tuple[int, match.Fingerprint, _Stale]]:
    """Each version's id, new fingerprint, and which of its stored index rows are not that
    fingerprint's."""
    prepared = []
    for version in stored:
        fingerprint = match.fingerprint(version.article)
        prepared.append((version.version_id, fingerprint, version.stale(fingerprint)))
    return prepared


def _rewrite_index(
    connection: Connection, stale: list[tuple[int, match.Fingerprint, _Stale]]
) -> None:
    """Give these versions the index rows of their new fingerprints where they are stale (under
    the writer lock); a version removed since it was read is left out."""
    if not stale:
        return
    present = set(
        connection.scalars(
            select(Version.id).where(Version.id.in_([version_id for version_id, _, _ in stale]))
        )
    )
    keyed = [(v, fp) for v, fp, found in stale if v in present and found.keys]
    worded = [(v, fp) for v, fp, found in stale if v in present and found.words]
    rewrites = [(table, keyed) for table in INDEX_TABLES] + [(_version_words, worded)]
    for table, rewritten in rewrites:
        if rewritten:
            ids = [version_id for version_id, _ in rewritten]
            connection.execute(delete(table).where(table.c.version_id.in_(ids)))
    fingerprints = {v: (fp.simhash, fp.body_sha256) for v, fp in keyed}
    _update_changed(connection, _versions, ("simhash", "body_sha256"), fingerprints, {})
    store.insert_keys(connection, keyed)
    store.insert_words(connection, worded)


_EVIDENCE = ("matched_version_id", "match_distance", "match_similarity", "match_method",
             "match_sentences")  # fmt: skip


def _versions_now(
    connection: Connection,
) -> tuple[dict[int, _Meta], dict[int, tuple[Any, ...]]]:
    """Every version's story, seen-times and title, and its stored match evidence."""
    meta: dict[int, _Meta] = {}
    evidence: dict[int, tuple[Any, ...]] = {}
    rows = connection.execute(
        select(
            Version.id,
            Version.story_id,
            Version.published_at,
            Version.ingested_at,
            Version.title,
            *(getattr(Version, name) for name in _EVIDENCE),
        )
    )
    for version_id, story_id, published_at, ingested_at, title, *stored in rows:
        meta[version_id] = _Meta(story_id, published_at, ingested_at, title)
        evidence[version_id] = tuple(stored)
    return meta, evidence


def _write_links(connection: Connection, verdicts: dict[int, list[match.Verdict]]) -> None:
    """Rewrite the links of the versions whose verdicts differ from their stored links."""
    stored: defaultdict[int, set[tuple[Any, ...]]] = defaultdict(set)
    for version_id, *link in connection.execute(
        select(
            VersionLink.version_id,
            VersionLink.linked_version_id,
            VersionLink.distance,
            VersionLink.similarity,
            VersionLink.method,
            VersionLink.sentences,
        )
    ):
        stored[version_id].add(tuple(link))
    changed = [
        version_id
        for version_id, found in sorted(verdicts.items())
        if stored.get(version_id, set())
        != {(v.version_id, v.distance, v.similarity, str(v.method), v.sentences) for v in found}
    ]
    for start in range(0, len(changed), _IDS_PER_STATEMENT):
        ids = changed[start : start + _IDS_PER_STATEMENT]
        connection.execute(delete(_links).where(_links.c.version_id.in_(ids)))
        insert_rows(
            connection, _links, [row for v in ids for row in store.link_rows(v, verdicts[v])]
        )


def _write_evidence(
    connection: Connection,
    verdicts: dict[int, list[match.Verdict]],
    stored: dict[int, tuple[Any, ...]],
) -> None:
    """Rewrite the match evidence (the best verdict) of the versions where it changed."""
    wanted = {}
    for version_id, found in verdicts.items():
        evidence = store.match_evidence(match.best_verdict(found))
        wanted[version_id] = tuple(evidence[name] for name in _EVIDENCE)
    _update_changed(connection, _versions, _EVIDENCE, wanted, stored)


def _update_changed(
    connection: Connection,
    table: Table,
    fields: tuple[str, ...],
    wanted: dict[int, tuple[Any, ...]],
    stored: dict[int, tuple[Any, ...]],
) -> None:
    """Set ``fields`` of the rows of ``table`` (by id) whose ``wanted`` values are not the
    ``stored`` ones, in one statement."""
    changed = [
        {"row": row_id, **{f"new_{name}": v for name, v in zip(fields, values, strict=True)}}
        for row_id, values in sorted(wanted.items())
        if stored.get(row_id) != values
    ]
    if changed:
        connection.execute(
            update(table)
            .where(table.c.id == bindparam("row"))
            .values({name: bindparam(f"new_{name}") for name in fields}),
            changed,
        )


def _assign_stories(
    session: Session, groups: list[list[int]], meta: dict[int, _Meta], now: datetime
) -> int:
    """Give every group of versions (:func:`archive.linking.stories.connected`) a story: the
    lowest old story id among its versions that no earlier group took, else a new one. Returns
    how many versions changed story."""
    taken: dict[int, list[int]] = {}
    for group in groups:
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
        for start in range(0, len(movers), _IDS_PER_STATEMENT):
            session.execute(
                update(Version)
                .where(Version.id.in_(movers[start : start + _IDS_PER_STATEMENT]))
                .values(story_id=story_id)
            )
    _refresh_stories(session.connection(), taken, meta)
    _retire_emptied_stories(session, taken, meta, now)
    return moved


def _story_fields(group: list[int], meta: dict[int, _Meta]) -> tuple[Any, ...]:
    """A story's canonical version, title, first and last seen time, from its versions."""
    fields = stories.story_fields(
        stories.Member(v, meta[v].title, meta[v].published_at, meta[v].ingested_at) for v in group
    )
    return (fields.canonical_version_id, fields.title, fields.first_seen_at, fields.last_seen_at)


def _refresh_stories(
    connection: Connection, taken: dict[int, list[int]], meta: dict[int, _Meta]
) -> None:
    """Write the fields of the stories whose versions give other ones than they have."""
    fields = ("canonical_version_id", "title", "first_seen_at", "last_seen_at")
    stored = {
        story_id: tuple(rest)
        for story_id, *rest in connection.execute(
            select(_stories.c.id, *(_stories.c[name] for name in fields))
        )
    }
    wanted = {story_id: _story_fields(group, meta) for story_id, group in taken.items()}
    _update_changed(connection, _stories, fields, wanted, stored)


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
