"""Writing versions and stories: the decisions of :mod:`archive.linking.candidates` as rows, links,
merges, canonical versions and seen-times."""

from __future__ import annotations

import math
import sys
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from archive.linking import match
from archive.linking.match import Fingerprint, Verdict, best_verdict
from archive.linking.method import Method
from archive.sources.article import BodyStatus
from archive.sources.records import ParsedRecord
from archive.storage import postgresql, sqlite
from archive.storage.db import insert_rows, insert_tuples
from archive.storage.models import (
    MatchKey,
    RecentMatchKey,
    Story,
    StoryMerge,
    UnindexedBatch,
    Version,
    VersionLink,
    VersionWords,
)

# The story rules the relinker (archive/relink.py) finds here, beside the writer's.
from archive.storage.schema import CanonicalKey, Seen, as_utc, canonical_key, path_sha256

NEW_STORY = Method.NEW_STORY

# The mapped classes' tables, for Core statements (typed as tables: bulk inserts and updates).
# Statements here run on the session's connection, not through the ORM: its result machinery
# costs more than the small lookups it would wrap.
_versions = cast(Table, Version.__table__)
_stories = cast(Table, Story.__table__)
_match_keys = cast(Table, MatchKey.__table__)
_recent_keys = cast(Table, RecentMatchKey.__table__)
_version_words = cast(Table, VersionWords.__table__)
_unindexed = cast(Table, UnindexedBatch.__table__)
_links = cast(Table, VersionLink.__table__)
_merges = cast(Table, StoryMerge.__table__)


@dataclass(frozen=True)
class StoredVersion:
    """What happened to one record: the version and story it became and how it matched."""

    version_id: int
    story_id: int
    method: Method
    verdict: Verdict | None
    merged_stories: int = 0  # how many other stories this version's links merged into its own
    body_status: BodyStatus = BodyStatus.ARTICLE  # how its body was told apart from the page


def archived_sources(
    session: Session | Connection, source_paths: list[str]
) -> set[tuple[str, str]]:
    """The (source path, content hash) pairs already archived for these source paths: one
    query for a whole batch (the writer's) or a worker's share of one."""
    found: set[tuple[str, str]] = set()
    for start in range(0, len(source_paths), 500):
        chunk = source_paths[start : start + 500]
        # through the unique index on the path's hash: paths of any length
        rows = session.execute(
            select(Version.source_path, Version.content_sha256).where(
                Version.source_path_sha256.in_([path_sha256(p) for p in chunk])
            )
        )
        found.update((path, content) for path, content in rows)
    return found


def match_evidence(verdict: Verdict | None) -> dict[str, Any]:
    """The ``versions`` columns that record how a version matched: its best verdict, or none."""
    return {
        "matched_version_id": verdict.version_id if verdict else None,
        "match_distance": verdict.distance if verdict else None,
        "match_similarity": verdict.similarity if verdict else None,
        "match_method": verdict.method if verdict else NEW_STORY,
        "match_sentences": verdict.sentences if verdict else None,
    }


KEY_COLUMNS = ("key", "version_id")
WORD_COLUMNS = ("version_id", "words")


def insert_keys(connection: Connection, indexed: list[tuple[int, Fingerprint]]) -> None:
    """Write these versions' index keys: :func:`insert_key_rows`."""
    insert_key_rows(connection, [(key, v) for v, fp in indexed for key in fp.keys])


def insert_key_rows(connection: Connection, rows: list[tuple[int, int]]) -> None:
    """Write these (key, version id) index rows (~90 a version, the bulk of what a batch
    writes) into ``match_keys_recent``, and move that table into ``match_keys`` when it holds
    the keys of many versions (:func:`merge_recent_keys`); on PostgreSQL straight into
    ``match_keys`` (``postgresql.STAGES_INDEX_KEYS``)."""
    if connection.dialect.name == "postgresql" and not postgresql.STAGES_INDEX_KEYS:
        insert_tuples(connection, _match_keys, KEY_COLUMNS, rows)
        return
    insert_tuples(connection, _recent_keys, KEY_COLUMNS, rows)
    if rows:
        merge_recent_keys(connection)


# Keys land on random pages of the index: written one batch at a time into a large table, a
# batch of 1,000 versions dirties nearly a page per key (each written twice, log then file, on
# SQLite). So new keys go to a small table that stays in the page cache, which is moved into
# the large one in key order, each of its pages written once per move. With R versions' keys
# in the small table and N in the large, a version costs about R / batch + N / R page writes:
# least when R is sqrt(batch * N), which RECENT_KEYS_SCALE stands for (docs/performance.md).
RECENT_KEYS_SCALE = 1_000
RECENT_KEYS_MIN_VERSIONS = 2_000

_RECENT_SPAN = select(
    select(func.max(_recent_keys.c.version_id)).scalar_subquery()
    - select(func.min(_recent_keys.c.version_id)).scalar_subquery(),
    select(func.max(Version.id)).scalar_subquery(),
)
_MERGE_RECENT = insert(_match_keys).from_select(
    list(KEY_COLUMNS),
    select(_recent_keys.c.key, _recent_keys.c.version_id).order_by(
        _recent_keys.c.key, _recent_keys.c.version_id
    ),
)
_EMPTY_RECENT = delete(_recent_keys)


def recent_keys_limit(archived_versions: int) -> int:
    """How many versions' keys (counted as a span of version ids) ``match_keys_recent`` may hold
    in an archive of this many versions before it is merged."""
    return max(RECENT_KEYS_MIN_VERSIONS, math.isqrt(RECENT_KEYS_SCALE * archived_versions))


def merge_recent_keys(connection: Connection, *, force: bool = False) -> bool:
    """Move ``match_keys_recent`` into ``match_keys``, in key order, when it spans more
    versions than :func:`recent_keys_limit` allows (or ``force``); whether it did. Both reads
    of the span are index lookups (min and max), not counts."""
    span, archived = connection.execute(_RECENT_SPAN).one()
    if span is None or not (force or span >= recent_keys_limit(archived or 0)):
        return False
    connection.execute(_MERGE_RECENT)
    connection.execute(_EMPTY_RECENT)
    return True


def defers_index_keys(connection: Connection | Engine) -> bool:
    """Whether a batch's index keys are written after it commits, out of the writer lock
    (:func:`hold_keys`): on PostgreSQL (``postgresql.DEFERS_INDEX_KEYS``). On SQLite writing
    them takes the one write lock again, so they are written with the batch."""
    return connection.dialect.name == "postgresql" and postgresql.DEFERS_INDEX_KEYS


@dataclass(frozen=True)
class HeldKeys:
    """A committed batch's index keys, for :func:`write_held_keys`: its ``unindexed_batches``
    row, the (key, version id) rows, and its versions' ids, first to last (their search rows
    are written with the keys)."""

    batch_id: int
    rows: list[tuple[int, int]]
    first_version_id: int
    last_version_id: int


def hold_keys(connection: Connection, indexed: list[tuple[int, Fingerprint]]) -> HeldKeys | None:
    """In a batch's transaction, under the writer lock: record these versions' index keys in
    one ``unindexed_batches`` row instead of the index, for :func:`write_held_keys` once the
    batch has committed and the lock is free. Until then lookups see the archive up to the
    version before the batch (:func:`archive.linking.candidates.snapshot`), and other writers'
    rechecks know the batch's versions by this row. Their search rows
    (:func:`archive.storage.postgresql.write_search_rows`) are written with the keys. None
    where keys are written with their batch (:func:`defers_index_keys`), or when the batch
    stored no version."""
    if not indexed or not defers_index_keys(connection):
        return None
    rows = [(key, version_id) for version_id, fp in indexed for key in fp.keys]
    first, last = _id_span(indexed)
    batch: dict[str, Any] = {"first_version_id": first, "last_version_id": last}
    batch["held_keys"] = encode_keys(indexed)
    statement = insert(_unindexed).returning(_unindexed.c.id)
    batch_id = connection.execute(statement, batch).scalar_one()
    return HeldKeys(batch_id, rows, first, last)


def _id_span(indexed: list[tuple[int, Fingerprint]]) -> tuple[int, int]:
    """The first and last version id of a batch's ``indexed`` versions (at least one)."""
    ids = [version_id for version_id, _ in indexed]
    return min(ids), max(ids)


def write_held_keys(engine: Engine, held: HeldKeys) -> None:
    """After the batch of :func:`hold_keys` committed, with no lock held: write its keys into
    the index and its versions' search rows, and delete its row, in one transaction (so
    lookups see both or neither). Nothing when another writer did it already
    (:func:`write_keys_left_behind`)."""
    with engine.begin() as connection:
        claimed = connection.execute(
            delete(_unindexed).where(_unindexed.c.id == held.batch_id).returning(_unindexed.c.id)
        ).first()
        if claimed is not None:
            _insert_present_keys(connection, held.rows)
            write_search_rows(connection, held.first_version_id, held.last_version_id)


def write_keys_left_behind(connection: Connection, *, wait: bool = False) -> int:
    """Write the keys (and search rows) of the batches in ``unindexed_batches`` (whose writer
    stopped before it wrote them, when no other writer has the row in hand) and delete their
    rows; how many.
    A writer calls this before each batch, so that lookups' snapshots move on. ``wait``: also
    the batches other writers are writing now, once they are done (what a relink needs: every
    version indexed); otherwise those are skipped. Nothing where keys are written with their
    batch (:func:`defers_index_keys`)."""
    if not defers_index_keys(connection):
        return 0
    claimed = select(_unindexed.c.id).with_for_update(skip_locked=not wait)
    row = _unindexed.c
    held = connection.execute(
        delete(_unindexed)
        .where(row.id.in_(claimed))
        .returning(row.held_keys, row.first_version_id, row.last_version_id)
    ).all()
    for keys, first, last in held:
        _insert_present_keys(connection, decode_keys(keys))
        write_search_rows(connection, first, last)
    return len(held)


def write_search_rows(connection: Connection, first: int, last: int) -> None:
    """Write the full-text rows of the versions from ``first`` to ``last``, with their index
    keys, on PostgreSQL, where those rows live apart from the versions
    (:func:`archive.storage.postgresql.write_search_rows`). On SQLite, triggers write them
    with the versions: nothing to do."""
    if connection.dialect.name == "postgresql":
        postgresql.write_search_rows(connection, first, last)


def _insert_present_keys(connection: Connection, rows: list[tuple[int, int]]) -> None:
    """Write these index rows, but those of versions removed since the batch committed (an
    ``archive remove``) or given their keys since (a relink)."""
    if not rows:
        return
    try:
        with connection.begin_nested():
            insert_key_rows(connection, rows)
        return
    except IntegrityError:
        pass
    ids = sorted({version_id for _, version_id in rows})
    # key-share locks: not removed between this read and the insert
    present = set(
        connection.scalars(
            select(_versions.c.id)
            .where(_versions.c.id.between(ids[0], ids[-1]))
            .with_for_update(key_share=True)
        )
    )
    keyed = {
        version_id
        for table in (_match_keys, _recent_keys)
        for version_id in connection.scalars(
            select(table.c.version_id).distinct().where(table.c.version_id.between(ids[0], ids[-1]))
        )
    }
    insert_key_rows(connection, [(k, v) for k, v in rows if v in present and v not in keyed])


def encode_keys(indexed: list[tuple[int, Fingerprint]]) -> bytes:
    """These versions' keys as ``unindexed_batches.held_keys``: each version's id, key count and
    keys, little-endian int64s (keys are below 2**63, :mod:`archive.linking.match`)."""
    numbers = array("q")
    for version_id, fp in indexed:
        if fp.keys:
            numbers.extend((version_id, len(fp.keys)))
            numbers.extend(fp.keys)
    if sys.byteorder == "big":
        numbers.byteswap()
    return numbers.tobytes()


def decode_keys(encoded: bytes) -> list[tuple[int, int]]:
    """The (key, version id) rows of :func:`encode_keys`' bytes."""
    numbers = array("q")
    numbers.frombytes(bytes(encoded))
    if sys.byteorder == "big":
        numbers.byteswap()
    rows: list[tuple[int, int]] = []
    at = 0
    while at < len(numbers):
        version_id, count = numbers[at], numbers[at + 1]
        rows.extend((key, version_id) for key in numbers[at + 2 : at + 2 + count])
        at += 2 + count
    return rows


def insert_words(connection: Connection, indexed: list[tuple[int, Fingerprint]]) -> None:
    """Write these versions' distinct words into ``version_words`` (none for a body that is
    never compared)."""
    rows = [(version_id, fp.words) for version_id, fp in indexed if fp.words]
    insert_tuples(connection, _version_words, WORD_COLUMNS, rows)


def link_rows(version_id: int, verdicts: list[Verdict]) -> list[dict[str, Any]]:
    """The ``version_links`` rows of a version: one per verdict."""
    return [
        {
            "version_id": version_id,
            "linked_version_id": v.version_id,
            "distance": v.distance,
            "similarity": v.similarity,
            "method": v.method,
            "sentences": v.sentences,
        }
        for v in verdicts
    ]


def resolve_story_id(session: Session, story_id: int) -> int | None:
    """The current id of a story that may have been merged into another; None if unknown."""
    if session.get(Story, story_id) is not None:
        return story_id
    return session.scalar(select(StoryMerge.story_id).where(StoryMerge.merged_story_id == story_id))


@dataclass
class _StoryState:
    """A story as the batch leaves it; written when the batch is flushed."""

    id: int
    title: str
    seen: Seen
    canonical: CanonicalKey | None  # canonical_key of its canonical version
    stored: bool  # already a row (else inserted on flush)

    def take(self, key: CanonicalKey, title: str, seen: Seen) -> None:
        self.seen |= seen
        if self.canonical is None or key < self.canonical:
            self.canonical = key
            self.title = title


@dataclass(frozen=True)
class _BatchVersion:
    """A version added in this batch: found by later versions of the batch from memory."""

    version_id: int
    story_id: int
    fingerprint: Fingerprint


_canonical = _versions.alias("canonical")
# A stored story as a batch starts from: built once, so SQLAlchemy compiles it once.
_STORY_STATES = (
    select(
        Story.id,
        Story.title,
        Story.first_seen_at,
        Story.last_seen_at,
        Story.canonical_version_id,
        _canonical.c.published_at,
        _canonical.c.ingested_at,
    )
    .outerjoin(_canonical, _canonical.c.id == Story.canonical_version_id)
    .where(Story.id.in_(bindparam("stories", expanding=True)))
)


class BatchWriter:
    """Stores the versions of one batch, in order, with the verdicts
    :mod:`archive.linking.candidates` decided for each, as if each were written alone.

    The rows of the whole batch (stories, versions, index keys, links, merges) are written
    together by :meth:`flush`, a few bulk statements instead of a dozen round trips per
    version. Use inside the writer lock (:func:`archive.storage.db.writing`): ids are handed
    out here, so version ids grow in commit order, which is what a lookup's snapshot relies on.
    """

    def __init__(
        self,
        session: Session,
        *,
        run_id: int | None,
        now: datetime,
        expected: int = 64,
    ) -> None:
        self._session = session
        self._run_id = run_id
        self._now = now
        self._version_ids = _IdSource(session, _versions, expected)
        self._story_ids = _IdSource(session, _stories, expected)
        self._stories: dict[int, _StoryState] = {}
        self._merged_into: dict[int, int] = {}
        self._absorbed_stored: list[int] = []
        self._added: dict[int, _BatchVersion] = {}  # by version id
        self._version_rows: list[dict[str, Any]] = []
        self._indexed: list[tuple[int, Fingerprint]] = []
        self._link_rows: list[dict[str, Any]] = []
        self._merge_rows: list[dict[str, Any]] = []

    def add(
        self, record: ParsedRecord, fingerprint: Fingerprint, verdicts: list[Verdict]
    ) -> StoredVersion:
        """Add ``record`` as a version of the story its verdicts point to, or of a new story.

        The version's match evidence is its best verdict. When verdicts point to several
        stories, the new version is a version of each, so they become one: the oldest id
        survives, and each absorbed id is recorded in ``story_merges`` (re-pointing earlier
        merges into it), so an old story id always resolves with one lookup.
        """
        verdict = best_verdict(verdicts)
        article = record.article
        published_at = as_utc(article.published_at) if article.published_at else None
        seen = Seen.of(published_at, self._now)
        version_id = next(self._version_ids)
        if verdict is None:
            story = _StoryState(next(self._story_ids), article.title, seen, None, stored=False)
            self._stories[story.id] = story
        else:
            story = self._story(self._resolve(verdict.story_id))
        story.take(canonical_key(published_at, self._now, version_id), article.title, seen)
        self._version_rows.append(
            {
                "id": version_id,
                "story_id": story.id,
                "source_path": record.source_path,
                "format": record.format,
                "content_sha256": record.content_sha256,
                "body_sha256": fingerprint.body_sha256,
                "simhash": fingerprint.simhash,
                "title": article.title,
                "body": article.body,
                "body_status": article.body_status.value,
                "language": fingerprint.profile.language,
                "url": article.url,
                "site": article.site,
                "published_at": published_at,
                "ingested_at": self._now,
                "run_id": self._run_id,
                **match_evidence(verdict),
            }
        )
        self._indexed.append((version_id, fingerprint))
        self._link_rows.extend(link_rows(version_id, verdicts))
        linked = {self._resolve(v.story_id) for v in verdicts}
        merged = self._merge(linked, version_id) if len(linked) > 1 else 0
        self._added[version_id] = _BatchVersion(version_id, story.id, fingerprint)
        method = verdict.method if verdict else NEW_STORY
        return StoredVersion(
            version_id, self._resolve(story.id), method, verdict, merged, article.body_status
        )

    def flush(self) -> None:
        """Write the batch: stories, versions, their index keys and links, merges, in an order
        that keeps every foreign key satisfied at each statement."""
        session = self._session
        new_stories = [s for s in self._stories.values() if not s.stored]
        if new_stories:
            session.connection().execute(
                _stories.insert(),
                [
                    {
                        "id": s.id,
                        "title": s.title,
                        "canonical_version_id": None,
                        "first_seen_at": s.seen.first,
                        "last_seen_at": s.seen.last,
                    }
                    for s in new_stories
                ],
            )
        if self._absorbed_stored:
            for table in (_versions, _merges):
                session.connection().execute(
                    update(table)
                    .where(table.c.story_id == bindparam("absorbed"))
                    .values(story_id=bindparam("survivor")),
                    [{"absorbed": a, "survivor": self._resolve(a)} for a in self._absorbed_stored],
                )
        for row in self._version_rows:
            row["story_id"] = self._resolve(row["story_id"])
        insert_rows(session.connection(), _versions, self._version_rows)
        if not defers_index_keys(session.connection()):  # else the caller holds them: hold_keys
            insert_keys(session.connection(), self._indexed)
            if self._indexed:
                write_search_rows(session.connection(), *_id_span(self._indexed))
        insert_words(session.connection(), self._indexed)
        insert_rows(session.connection(), _links, self._link_rows)
        if self._merge_rows:
            for row in self._merge_rows:
                row["story_id"] = self._resolve(row["story_id"])
            session.connection().execute(_merges.insert(), self._merge_rows)
            session.connection().execute(
                delete(_stories).where(_stories.c.id.in_(self._absorbed_stored))
            )
        if self._stories:
            story = _stories.c
            session.connection().execute(
                update(_stories)
                .where(story.id == bindparam("story"))
                .values(
                    title=bindparam("new_title"),
                    canonical_version_id=bindparam("canonical"),
                    first_seen_at=bindparam("first"),
                    last_seen_at=bindparam("last"),
                ),
                [
                    {
                        "story": s.id,
                        "new_title": s.title,
                        "canonical": s.canonical[3] if s.canonical else None,
                        "first": s.seen.first,
                        "last": s.seen.last,
                    }
                    for s in self._stories.values()
                ],
            )
        self._version_ids.give_back_unused()
        self._story_ids.give_back_unused()
        for row, added in zip(self._version_rows, self._added.values(), strict=True):
            match.remember_profile(row["body"], added.fingerprint.profile)
        # Rows changed behind the ORM's back: objects it holds must be read again.
        session.expire_all()

    def _resolve(self, story_id: int) -> int:
        while story_id in self._merged_into:
            story_id = self._merged_into[story_id]
        return story_id

    def load_stories(self, story_ids: Iterable[int]) -> None:
        """Read the stored stories ``story_ids`` (those the batch's verdicts point to) in a few
        statements, rather than one round trip per story as versions join them."""
        wanted = sorted(set(story_ids) - self._stories.keys())
        for start in range(0, len(wanted), 500):
            rows = self._session.connection().execute(
                _STORY_STATES, {"stories": wanted[start : start + 500]}
            )
            for row in rows:
                story_key = None if row[4] is None else canonical_key(row[5], row[6], row[4])
                # The canonical version is the earliest published, undated ones last: the story
                # has a dated version, and its last seen time is a publication date, when that
                # one has a date.
                seen = Seen(row[2], row[3], dated=row[5] is not None)
                self._stories[row[0]] = _StoryState(row[0], row[1], seen, story_key, stored=True)

    def _story(self, story_id: int) -> _StoryState:
        if story_id not in self._stories:
            self.load_stories([story_id])
        return self._stories[story_id]

    def _merge(self, story_ids: set[int], version_id: int) -> int:
        survivor_id, *absorbed = sorted(story_ids)
        survivor = self._story(survivor_id)
        for story_id in absorbed:
            gone = self._story(story_id)
            survivor.seen |= gone.seen
            if gone.canonical is not None and (
                survivor.canonical is None or gone.canonical < survivor.canonical
            ):
                survivor.canonical, survivor.title = gone.canonical, gone.title
            self._merged_into[story_id] = survivor_id
            del self._stories[story_id]
            if gone.stored:
                self._absorbed_stored.append(story_id)
            self._merge_rows.append(
                {
                    "merged_story_id": story_id,
                    "story_id": survivor_id,
                    "version_id": version_id,
                    "merged_at": self._now,
                }
            )
        return len(absorbed)


class _IdSource:
    """New primary keys for one table, handed out by the batch before its rows are written.

    SQLite: one past the highest id ever used (AUTOINCREMENT's ``sqlite_sequence``: a removed
    id never comes back; for stories, also past every id merged away). PostgreSQL: the
    column's sequence, in blocks of ``block``; unused ids go back to the sequence when the
    batch is written. Both are safe because only writers, one at a time, add stories and
    versions.
    """

    def __init__(self, session: Session, table: Table, block: int) -> None:
        self._session = session
        self._table = table
        self._block = max(block, 1)
        self._postgres = session.get_bind().dialect.name == "postgresql"
        self._free: list[int] = []
        self._next: int | None = None
        self._last: int | None = None

    def __next__(self) -> int:
        if self._postgres:
            if not self._free:
                self._free = postgresql.reserve_ids(self._session, self._table, self._block)
            self._last = self._free.pop()
            return self._last
        if self._next is None:
            # a story id merged away is never handed out again
            retired = [StoryMerge.merged_story_id] if self._table is _stories else []
            self._next = sqlite.first_free_id(self._session, self._table, *retired)
        self._last, self._next = self._next, self._next + 1
        return self._last

    def give_back_unused(self) -> None:
        if self._postgres and self._free:
            postgresql.give_back_ids(self._session, self._table, min(self._free))
            self._free = []
