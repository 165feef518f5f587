"""Deciding which stored versions a new one is a version of: candidate lookup in the index,
ranking and cut-offs, verification, and the recheck against what was written since.

The decision is made in two steps, so that the expensive one runs in parallel:

1. :func:`look_up`, on any read connection (an ingest worker's own), against a *snapshot*: the
   versions committed up to a version id. It finds the index hits, chooses the ones worth
   comparing and verifies them (:func:`archive.linking.match.verify`).
2. :meth:`Recent.decide`, in the writer, under its lock: the same ranking and choice over the
   snapshot's hits together with the versions written after the snapshot (committed since, or
   earlier in the writer's own batch), verifying only those the snapshot did not hold.

The result is the decision a lookup of everything written before the new version would give
(the insert-recheck pattern). Version ids are handed out by writers under the writer lock and
committed before it is released; on PostgreSQL a batch's index keys follow after the commit
(:func:`archive.linking.store.hold_keys`), so the snapshot is the versions before the oldest
batch whose keys are still being written (:func:`snapshot`), all of them in the index.
The design and its measurements are in ``docs/linking.md`` and ``docs/performance.md``.
"""

from __future__ import annotations

import functools
import itertools
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

from sqlalchemy import (
    BigInteger,
    Connection,
    Integer,
    Row,
    String,
    bindparam,
    column,
    func,
    select,
    text,
)
from sqlalchemy.sql.selectable import Select, TextualSelect

from archive.linking import match
from archive.linking.match import Candidate, Fingerprint, Verdict
from archive.linking.store import decode_keys
from archive.storage.db import fetch_rows
from archive.storage.models import (
    INDEX_TABLES,
    UnindexedBatch,
    UnsignedBigInt,
    Version,
    VersionRemoval,
    VersionWords,
)
from archive.text import align
from archive.text.fingerprint import hamming

_Key = TypeVar("_Key")

# One shared key is chance (a common pair of words, one equal SimHash band); copies and rewrites
# of a story share many. The count is symmetric, so candidates do not depend on ingest order.
MIN_SHARED_KEYS = 2
# Versions of one story share most of their keys; a version that shares a few with hundreds of
# others (a boilerplate sentence, two names of one beat) needs only its closest candidates
# verified. This bounds the work per new version however large the archive grows.
MAX_CANDIDATES = 20
# A lookup brings this many ranked hits past the cut (not compared): when versions written
# since it push some of its hits out of a key's cut, the writer can still tell the first
# MAX_CANDIDATES without looking the version up again (Recent._recounted). With four processes
# writing, those second lookups were most of the ones left (docs/performance.md).
RANKED_MARGIN = 20
# Of those, the ones whose bodies are compared: the most promising first (most shared keys,
# nearest SimHash). Comparing bodies costs far more than a step in the index.
MAX_COMPARED = 8
# A key that hundreds of versions hold (two names of one beat, a crowded SimHash band) tells
# little; only its most recent holders are counted, so a lookup reads at most 80 x 100 index
# entries however large the archive grows. The versions of one big story are the most recent
# holders of that story's own keys, so they are still found.
POSTINGS_PER_KEY = 100
# A lookup reports the holder counts of the keys this many versions hold (and fewer of the
# others): only those can be pushed past POSTINGS_PER_KEY by a few versions written since.
HOLDERS_REPORTED = POSTINGS_PER_KEY // 2
# SimHashes further apart than this are not compared further: no copy or rewrite measured on
# the dev corpus was more than 28 bits apart, two unrelated bodies are 32 on average...
MAX_DISTANCE = 30
# ...unless the versions share this many index keys (five distinctive words): a short version
# inside a long one is far from it in SimHash.
NEAR_IN_KEYS = 10


@dataclass(frozen=True)
class IndexHit:
    """A stored version the index offers for a new one, with its fingerprint (not its body)."""

    version_id: int
    story_id: int
    simhash: int
    body_sha256: str
    shared_keys: int  # index keys shared with the new version; 0 when found by its body hash


@dataclass(frozen=True)
class Lookup:
    """What :func:`look_up` found for a new version in a snapshot of the archive."""

    snapshot: int  # the highest version id it saw: every version up to it was committed
    # the ranked hits (cut at MAX_CANDIDATES + RANKED_MARGIN) and the same-body ones
    hits: tuple[IndexHit, ...]
    compared: frozenset[int]  # the hits it verified
    verdicts: tuple[Verdict, ...]  # those that passed, with their story ids as of the snapshot
    # How many versions of the snapshot hold each key that at least HOLDERS_REPORTED hold
    # (counted up to POSTINGS_PER_KEY): so the writer tells whether newer versions moved a
    # key's cut without asking the database.
    holders: Mapping[int, int] = field(default_factory=dict)
    # The newest removal (``version_removals.id``) seen before the index was read: a version
    # removed since may have moved a key's cut, which only a new lookup tells.
    removals: int = 0
    cut: bool = True  # whether the ranked hits were cut (at MAX_CANDIDATES + RANKED_MARGIN)


def worth_comparing(new: Fingerprint, simhash: int, body_sha256: str, shared_keys: int = 0) -> bool:
    """Whether a stored version could pass :func:`archive.linking.match.verify`, judged by its
    fingerprint alone: so the bodies of most chance candidates are never read."""
    return (
        body_sha256 == new.body_sha256
        or shared_keys >= NEAR_IN_KEYS
        or hamming(new.simhash, simhash) <= MAX_DISTANCE
    )


_SNAPSHOT = select(
    func.coalesce(
        select(func.min(UnindexedBatch.first_version_id) - 1).scalar_subquery(),
        select(func.max(Version.id)).scalar_subquery(),
        0,
    )
)
_REMOVALS = select(func.coalesce(func.max(VersionRemoval.id), 0))


def snapshot(connection: Connection) -> int:
    """What a lookup made now sees: the versions up to this id, which are all in the index.
    That is every committed version, but while a batch's keys are being written after its
    commit (:func:`archive.linking.store.hold_keys`): then the versions before the oldest such
    batch. The writer's recheck (:class:`Recent`) knows those after it."""
    return int(connection.execute(_SNAPSHOT).scalar_one())


def removals_seen(connection: Connection) -> int:
    """The newest removal committed (``version_removals.id``; 0 for none): read before a
    lookup, so that the writer can tell whether a version was removed since."""
    return int(connection.execute(_REMOVALS).scalar_one())


def look_up(
    connection: Connection,
    fingerprint: Fingerprint,
    *,
    up_to: int | None = None,
    threshold: float | None = None,
    rewrites: bool = True,
    removals: int | None = None,
    cut: bool = True,
) -> Lookup:
    """Look ``fingerprint`` up among the versions committed up to ``up_to`` (default: what
    :func:`snapshot` sees now), and verify the hits worth comparing (:func:`choose`).
    ``removals``: :func:`removals_seen` before ``up_to`` was read (default: read now, before
    the index). The lookup's hits hold ``RANKED_MARGIN`` ranked hits past the first
    ``MAX_CANDIDATES`` (``cut=False``: every ranked hit); those are not compared."""
    if removals is None:
        removals = removals_seen(connection)
    if up_to is None:
        up_to = snapshot(connection)
    if not fingerprint.linkable:
        return Lookup(up_to, (), frozenset(), (), removals=removals)
    hits, holders = _index_lookup(connection, fingerprint, up_to, cut)
    chosen = choose(fingerprint, ranked(fingerprint, hits))
    candidates = candidates_of(connection, chosen, new=fingerprint, threshold=threshold)
    verdicts = _verified(fingerprint, candidates, threshold=threshold, rewrites=rewrites)
    return Lookup(
        up_to,
        tuple(hits),
        frozenset(h.version_id for h in chosen),
        tuple(verdicts),
        holders,
        removals,
        cut,
    )


def _verified(
    fingerprint: Fingerprint,
    candidates: list[Candidate],
    *,
    threshold: float | None,
    rewrites: bool,
) -> list[Verdict]:
    """The verdicts of the candidates that pass :func:`archive.linking.match.verify`. A candidate
    whose body is gone (removed since it was found) is no candidate."""
    verdicts = []
    for candidate in candidates:
        if candidate.body is None and candidate.profile is None:
            continue
        verdict = match.verify(fingerprint, candidate, threshold=threshold, rewrites=rewrites)
        if verdict is not None:
            verdicts.append(verdict)
    return verdicts


@functools.cache
def _ranked_lookup(key_count: int, dialect: str, cut: bool = True) -> TextualSelect:
    """The ranked key lookup of :func:`index_hits` for ``key_count`` keys, bound as ``key0``,
    ``key1``... and ``up_to``: one statement per count and database, written as SQL because
    SQLAlchemy compiles a VALUES construct anew on every execution (5 ms here, more than the
    lookup).

    For each wanted key, ``postings`` are its ``POSTINGS_PER_KEY`` most recent holders, and
    ``reach`` says in one number what the walk down the key's index entries found: the oldest
    of them when there are that many (the key's *floor*, a version id > 0), else minus how many
    there are. The statement returns the ranked versions, then one row (version columns NULL)
    with the reach of each key that at least ``HOLDERS_REPORTED`` versions hold: the writer
    needs the holder counts of crowded keys to tell whether versions written since moved a
    key's floor (:meth:`Recent.decide`). Most keys are held by a few versions; their rows would
    cost more to read than the rest of the lookup. ``cut=False``: every ranked version.
    """
    postings_and_reach = (
        _lateral_postings(key_count) if dialect == "postgresql" else _floor_postings(key_count)
    )
    sql = f"""
        WITH {postings_and_reach},
        ranked AS (
            SELECT version_id, count(*) AS shared
            FROM postings
            GROUP BY version_id
            HAVING count(*) >= {MIN_SHARED_KEYS:d}
            ORDER BY count(*) DESC, version_id
            {f"LIMIT {MAX_CANDIDATES + RANKED_MARGIN:d}" if cut else ""}
        )
        SELECT versions.id, versions.story_id, versions.simhash, versions.body_sha256,
            ranked.shared, NULL AS "key", NULL AS reach
        FROM versions JOIN ranked ON versions.id = ranked.version_id
        UNION ALL
        SELECT NULL, NULL, NULL, NULL, NULL, reach."key", reach.reach
        FROM reach WHERE reach.reach > 0 OR reach.reach <= -{HOLDERS_REPORTED:d}
    """
    return text(sql).columns(
        column("id", Integer),
        column("story_id", Integer),
        column("simhash", UnsignedBigInt),
        column("body_sha256", String),
        column("shared", Integer),
        column("key", BigInteger),
        column("reach", Integer),
    )


def _floor_postings(key_count: int) -> str:
    """The ``postings`` and ``reach`` of :func:`_ranked_lookup` on SQLite, which has no
    LATERAL join: ``reach`` walks each key's most recent holders once, to its floor, and the
    join then reads the postings from each floor on."""
    from_floors = " UNION ALL ".join(
        f"""
            SELECT held.version_id AS version_id
            FROM floors JOIN {index.name} AS held
                ON held."key" = floors."key" AND held.version_id >= floors.floor
            WHERE held.version_id <= :up_to"""
        for index in INDEX_TABLES
    )
    return f"""
        wanted ("key") AS (VALUES {_values(key_count)}),
        reach AS (
            SELECT wanted."key" AS "key", (
                SELECT CASE WHEN count(*) = {POSTINGS_PER_KEY:d} THEN min(recent.version_id)
                    ELSE -count(*) END
                FROM ({_newest_holders('wanted."key"', POSTINGS_PER_KEY)}) AS recent
            ) AS reach
            FROM wanted
        ),
        floors AS (
            SELECT "key", CASE WHEN reach > 0 THEN reach ELSE 0 END AS floor FROM reach
        ),
        postings AS ({from_floors}
        )"""


def _lateral_postings(key_count: int) -> str:
    """The ``postings`` and ``reach`` of :func:`_ranked_lookup` on PostgreSQL: each key's most
    recent holders, read once through a LATERAL join, which walks each key's index entries.
    With the join to each floor that SQLite needs, PostgreSQL's planner, once its statistics
    said a key has hundreds of holders, hashed the whole of ``match_keys`` for every lookup:
    4 processes ingesting into one archive ran at 102-159 documents/s, against 180-191 with
    this form (docs/performance.md)."""
    return f"""
        wanted ("key") AS (VALUES {_values(key_count)}),
        postings AS (
            SELECT wanted."key" AS "key", recent.version_id AS version_id
            FROM wanted CROSS JOIN LATERAL (
                {_newest_holders('wanted."key"', POSTINGS_PER_KEY, limit_each=True)}
            ) AS recent
        ),
        reach AS (
            SELECT "key", CASE WHEN count(*) = {POSTINGS_PER_KEY:d} THEN min(version_id)
                ELSE -count(*) END AS reach
            FROM postings GROUP BY "key"
        )"""


def _newest_holders(key: str, limit: int, *, limit_each: bool = False) -> str:
    """SQL for the ``limit`` newest versions up to ``:up_to`` that hold ``key``, newest first,
    wherever their index row is (``match_keys`` or ``match_keys_recent``). Written as one
    compound statement, ordered and cut as a whole, so that SQLite merges the two index walks
    as it goes (each already newest first) and stops at ``limit`` rows: no sort. PostgreSQL
    sorts the whole compound unless each walk is cut to ``limit`` too (``limit_each``); then it
    merges them. (On SQLite that form is slower: 1.86 against 1.69 ms a lookup, on average, at
    244,000 versions.)"""
    walks = [
        f'SELECT version_id FROM {table} WHERE "key" = {key} AND version_id <= :up_to'
        for table in (index.name for index in INDEX_TABLES)
    ]
    if limit_each:
        walks = [
            f"SELECT version_id FROM ({walk} ORDER BY version_id DESC LIMIT {limit:d}) AS walk"
            for walk in walks
        ]
    return f"{' UNION ALL '.join(walks)} ORDER BY version_id DESC LIMIT {limit:d}"


def _values(count: int) -> str:
    return ", ".join(f"(CAST(:key{n} AS BIGINT))" for n in range(count))


def _key_parameters(keys: list[int], up_to: int) -> dict[str, int]:
    return {"up_to": up_to, **{f"key{n}": key for n, key in enumerate(keys)}}


# Statements run for every new version, built once: building one costs more than running it.
# Only bodies of the new version's kind link (articles to articles, compilations to
# compilations): two identical registration walls say nothing of their stories.
_SAME_BODY = select(Version.id, Version.story_id, Version.simhash, Version.body_sha256).where(
    Version.body_sha256 == bindparam("body"),
    Version.body_status == bindparam("status"),
    Version.id <= bindparam("up_to"),
)


@functools.cache
def _bodies(count: int) -> Select[int, str, str | None]:
    """The bodies of ``count`` versions, bound as ``id0``, ``id1``...: one statement per count
    (an expanding IN list is rewritten on every execution)."""
    ids = [bindparam(f"id{n}", type_=Integer) for n in range(count)]
    return select(Version.id, Version.body, Version.language).where(Version.id.in_(ids))


@functools.cache
def _words(count: int) -> Select[int, str]:
    """The stored words of ``count`` versions, bound as :func:`_bodies` binds them."""
    ids = [bindparam(f"id{n}", type_=Integer) for n in range(count)]
    return select(VersionWords.version_id, VersionWords.words).where(
        VersionWords.version_id.in_(ids)
    )


def index_hits(connection: Connection, fingerprint: Fingerprint, up_to: int) -> list[IndexHit]:
    """Versions up to ``up_to`` with the same body, and the ``MAX_CANDIDATES`` that share the
    most index keys (at least ``MIN_SHARED_KEYS``, counting each key's ``POSTINGS_PER_KEY``
    most recent holders): through indexes only. None for a body that is not linked."""
    return ranked(fingerprint, _index_lookup(connection, fingerprint, up_to)[0])


def _index_lookup(
    connection: Connection, fingerprint: Fingerprint, up_to: int, cut: bool = True
) -> tuple[list[IndexHit], dict[int, int]]:
    """:func:`index_hits` (with ``cut=False`` every ranked hit), and how many versions up to
    ``up_to`` hold each of the fingerprint's keys that at least ``HOLDERS_REPORTED`` hold
    (counted up to ``POSTINGS_PER_KEY``)."""
    if not fingerprint.linkable:
        return [], {}
    keys = sorted(set(fingerprint.keys))
    hits: dict[int, IndexHit] = {}
    holders: dict[int, int] = {}
    if keys:
        statement = _ranked_lookup(len(keys), connection.dialect.name, cut)
        rows = fetch_rows(connection, statement, _key_parameters(keys, up_to))
        for version_id, story_id, simhash, body_hash, shared, key, reach in rows:
            if version_id is not None:
                hits[version_id] = IndexHit(version_id, story_id, simhash, body_hash, shared)
            else:
                holders[key] = POSTINGS_PER_KEY if reach > 0 else -reach
    # A separate statement on its own index: one query with "body_sha256 = x OR id IN (...)"
    # makes PostgreSQL scan every version.
    same_body = fetch_rows(
        connection,
        _SAME_BODY,
        {"body": fingerprint.body_sha256, "status": fingerprint.body_status.value, "up_to": up_to},
    )
    for version_id, story_id, simhash, body_hash in same_body:
        hits.setdefault(version_id, IndexHit(version_id, story_id, simhash, body_hash, 0))
    return sorted(hits.values(), key=lambda hit: hit.version_id), holders


def choose(fingerprint: Fingerprint, hits: Iterable[IndexHit]) -> list[IndexHit]:
    """The hits to compare with the new version: every one with the same body (told apart
    without reading it), and of those whose SimHash is near enough to be worth comparing
    (:func:`worth_comparing`) the ``MAX_COMPARED`` that share the most keys, the nearest
    SimHash first. In version id order."""
    hits = list(hits)
    same_body = [h for h in hits if h.body_sha256 == fingerprint.body_sha256]
    others = [
        (-h.shared_keys, hamming(fingerprint.simhash, h.simhash), h.version_id, h)
        for h in hits
        if h.body_sha256 != fingerprint.body_sha256
        and worth_comparing(fingerprint, h.simhash, h.body_sha256, h.shared_keys)
    ]
    others.sort(key=lambda entry: entry[:3])
    chosen = same_body + [entry[3] for entry in others[:MAX_COMPARED]]
    return sorted(chosen, key=lambda h: h.version_id)


def ranked(fingerprint: Fingerprint, hits: Iterable[IndexHit]) -> list[IndexHit]:
    """The index's cut over hits from anywhere (a snapshot and what was written since): the
    ``MAX_CANDIDATES`` sharing the most keys, older first among equals as the index ranks
    them, and every one with the new version's body."""
    hits = list(hits)
    by_keys = sorted((h for h in hits if h.shared_keys), key=_rank)
    kept = {h.version_id: h for h in by_keys[:MAX_CANDIDATES]}
    kept.update((h.version_id, h) for h in hits if h.body_sha256 == fingerprint.body_sha256)
    return sorted(kept.values(), key=lambda h: h.version_id)


def candidates_of(
    connection: Connection,
    hits: list[IndexHit],
    profiles: Mapping[int, align.Profile] | None = None,
    *,
    new: Fingerprint | None = None,
    threshold: float | None = None,
) -> list[Candidate]:
    """``hits`` as candidates to verify; the bodies of those whose comparison profile is
    neither given in ``profiles`` nor cached are read in one statement. With the ``new``
    version's fingerprint, the stored words of those hits are read first, and the hits they
    rule out (:func:`archive.linking.match.ruled_out`, ``threshold`` as for verifying) are left
    out: most chance candidates, whose bodies are then neither read nor tokenised."""
    profiles = profiles or {}
    words: dict[int, list[str]] = {}
    if new is not None:
        # A hit with the new version's body is told apart by its hash: it needs no words.
        asked = [
            h.version_id
            for h in hits
            if h.version_id not in profiles and h.body_sha256 != new.body_sha256
        ]
        if asked:
            rows = fetch_rows(connection, _words(len(asked)), _id_parameters(asked))
            words = {version_id: align.unpacked_words(packed) for version_id, packed in rows}
            least = match.least_overlap(threshold)
            ruled_out = {v for v, found in words.items() if match.ruled_out(new, found, least)}
            hits = [h for h in hits if h.version_id not in ruled_out]
    # Bodies are read even when their profile is cached (by its text): reading a few is cheap,
    # working out a profile is not.
    unread = [h.version_id for h in hits if h.version_id not in profiles]
    bodies: dict[int, tuple[str | None, str | None]] = {}
    if unread:
        rows = fetch_rows(connection, _bodies(len(unread)), _id_parameters(unread))
        bodies = {version_id: (body, language) for version_id, body, language in rows}
    candidates = []
    for h in hits:
        body, language = bodies.get(h.version_id, (None, None))
        candidates.append(
            Candidate(
                h.version_id,
                h.story_id,
                h.simhash,
                h.body_sha256,
                body=body,
                profile=profiles.get(h.version_id),
                language=language,
                words=words.get(h.version_id),
            )
        )
    return candidates


def _id_parameters(version_ids: list[int]) -> dict[str, int]:
    return {f"id{n}": version_id for n, version_id in enumerate(version_ids)}


@dataclass
class _Written:
    """A version written after some snapshot: what a recheck needs of it, kept in memory."""

    hit: IndexHit  # shared_keys unused
    fingerprint: Fingerprint | None  # None for a version another process wrote


class Recent:
    """The writer's view of the versions written after its lookups' snapshots: those of its
    own batches (held in memory as it writes them) and those other processes committed (read
    from the database when a batch starts, :meth:`catch_up`).

    :meth:`decide` completes a :class:`Lookup` with them. One ``Recent`` serves a whole
    ingest run: :meth:`add` each version as the batch writes it, then :meth:`commit` or
    :meth:`rollback_to` with the batch's transaction.
    """

    def __init__(self) -> None:
        self._written: dict[int, _Written] = {}
        # The known versions by key and by body, in one generation per batch: forgetting the
        # versions up to an id drops the generations that hold none newer, where taking each
        # version out of the lists of its ~90 keys had been a third of catch_up with four
        # processes (docs/performance.md). The lists of a generation kept may still hold
        # forgotten versions: every reader asks for versions newer than what it forgot.
        self._generations = [_Generation()]
        self._forgotten_up_to = 0
        self._ahead: _Generation | None = None  # the generation take_in began, if any
        self._pending: dict[int, None] = {}  # added in the open batch, in order
        # what each known version was filed under, to take it out
        self._filed: dict[int, tuple[tuple[str, str], Iterable[int]]] = {}
        self._stories: dict[int, int] = {}  # version id -> story id, for the lookups' verdicts
        self._connection: Connection | None = None
        # What a lookup in the writer sees (snapshot() when the batch began): the writer holds
        # the lock, so nothing else commits until the batch does, and the batch's own rows,
        # written record by record when a batch is redone, do not count.
        self._committed = 0
        self._removals = 0  # the newest removal committed when the batch began
        # The newest version committed when the batch began: after _committed while writers
        # write the keys of their batches (archive.linking.store.hold_keys).
        self._newest_committed = 0
        # Holders of crowded keys read for :meth:`_recounted` in this batch, newest first, by
        # (up to which version, key): the keys that crowd are common word pairs, moved for
        # many versions of one batch, and what is committed does not change under the lock.
        # The next batch extends them from memory (:meth:`_carried`).
        self._holders_read: dict[tuple[int, int], list[int]] = {}
        self._holders_used: set[tuple[int, int]] = set()  # asked for in this batch

    def catch_up(self, connection: Connection, lookups: Iterable[Lookup]) -> None:
        """Before a batch: take in the versions other processes committed after the oldest of
        ``lookups``' snapshots, forget those older than it, bring the holder lists of crowded
        keys up to date (:meth:`_carried`), and read the current story of every version the
        lookups verified (stories merge, versions are removed)."""
        self._connection = connection
        lookups = list(lookups)
        removals = removals_seen(connection)
        committed = snapshot(connection)
        oldest = min((lookup.snapshot for lookup in lookups), default=committed)
        self._forget_up_to(oldest)
        if not self._generations or self._generations[-1] is not self._ahead:
            self._generations.append(_Generation())
        self._ahead = None
        rows = connection.execute(_WRITTEN_SINCE, {"after": max(oldest, 0)}).all()
        # Since the versions known here were written, other writers may have moved them to
        # another story (a merge, a relink, a removal's split) or removed them.
        story_now = {row[0]: row[1] for row in rows}
        vanished = {v for v in self._written if v not in story_now}
        self._forget(vanished)
        for written in self._written.values():
            written.hit = replace(written.hit, story_id=story_now[written.hit.version_id])
        self._file_foreign(connection, rows)
        carry = removals == self._removals and not vanished
        self._holders_read = self._carried(committed) if carry else {}
        self._holders_used = set()
        self._removals, self._committed = removals, committed
        self._newest_committed = max((row[0] for row in rows), default=committed)
        self._stories = {}
        verified = sorted({v.version_id for lookup in lookups for v in lookup.verdicts})
        for start in range(0, len(verified), 500):
            chunk = verified[start : start + 500]
            current = connection.execute(
                select(Version.id, Version.story_id).where(Version.id.in_(chunk))
            )
            self._stories.update((version_id, story_id) for version_id, story_id in current)

    def take_in(self, connection: Connection, lookups: Iterable[Lookup]) -> None:
        """Ahead of a batch, with no lock held: take in the versions other writers committed
        after the oldest of ``lookups``' snapshots, with their index keys, so that
        :meth:`catch_up`, under the lock, reads only those committed since. With four
        processes writing, those keys were a few hundred thousand rows a batch, read under the
        lock (docs/performance.md)."""
        oldest = min((lookup.snapshot for lookup in lookups), default=None)
        if oldest is None:
            return
        # what was forgotten is taken in again by catch_up, which files it anew
        after = max(oldest, self._forgotten_up_to, 0)
        self._ahead = _Generation()  # catch_up files into it too: one generation a batch
        self._generations.append(self._ahead)
        self._file_foreign(connection, connection.execute(_WRITTEN_SINCE, {"after": after}).all())

    def _file_foreign(
        self, connection: Connection, rows: Sequence[Row[int, int, int, str, str]]
    ) -> None:
        """Know the versions of ``rows`` (of ``_WRITTEN_SINCE``) not known here: those other
        writers committed, with their index keys."""
        foreign = [row for row in rows if row[0] not in self._written]
        if not foreign:
            return
        first = min(row[0] for row in foreign)
        keys_of: dict[int, set[int]] = {row[0]: set() for row in foreign}
        # ~90 rows a version, thousands of versions with several processes: read in one go by
        # the driver, not row by row through a result (a third of catch_up's time). The keys
        # of batches still held in their rows first: a batch's keys move into the index with
        # its row's deletion, in one transaction, so read in this order each key is in one
        # read or both.
        held = connection.execute(_HELD_SINCE, {"after": first - 1}).scalars().all()
        postings = fetch_rows(connection, _POSTINGS_SINCE, {"after": first - 1})
        for key, version_id in itertools.chain(*map(decode_keys, held), postings):
            if version_id in keys_of:
                keys_of[version_id].add(key)
        for version_id, story_id, simhash, body_hash, status in foreign:
            hit = IndexHit(version_id, story_id, simhash, body_hash, 0)
            self._file(version_id, _Written(hit, None), status, keys_of[version_id])

    def verified_stories(self) -> set[int]:
        """The current stories of the versions the lookups of :meth:`catch_up` verified."""
        return set(self._stories.values())

    def _forget_up_to(self, version_id: int) -> None:
        if version_id < self._forgotten_up_to:
            # A lookup older than the last batch's oldest: the versions forgotten since are
            # read again, and must not count twice. File the versions known anew.
            anew = _Generation()
            for kept, (body, keys) in self._filed.items():
                if kept > version_id:
                    anew.file(kept, body, keys)
            self._generations = [anew]
        self._forgotten_up_to = version_id
        self._unfiled([v for v in self._written if v <= version_id])
        self._generations = [g for g in self._generations if g.newest > version_id]

    def add(self, version_id: int, story_id: int, fingerprint: Fingerprint) -> None:
        """A version the writer adds to its open batch (story as the batch leaves it)."""
        hit = IndexHit(version_id, story_id, fingerprint.simhash, fingerprint.body_sha256, 0)
        self._pending[version_id] = None
        written = _Written(hit, fingerprint)
        if fingerprint.linkable:
            self._file(version_id, written, fingerprint.body_status.value, fingerprint.keys)
        else:
            self._written[version_id] = written

    def _file(self, version_id: int, written: _Written, status: str, keys: Iterable[int]) -> None:
        """Know ``version_id``, filed under its body and ``keys`` (kept as given: not changed
        after)."""
        self._written[version_id] = written
        body = (written.hit.body_sha256, status)
        self._generations[-1].file(version_id, body, keys)
        self._filed[version_id] = (body, keys)

    def commit(self) -> None:
        """The open batch is committed: its versions stay known."""
        self._pending = {}

    def mark(self) -> int:
        """A point of the open batch to go back to (:meth:`rollback_to`), as a savepoint."""
        return len(self._pending)

    def rollback_to(self, mark: int = 0) -> None:
        """The versions added since ``mark`` (by default: the whole open batch) were rolled
        back: they were never written."""
        added = list(self._pending)
        gone, self._pending = added[mark:], dict.fromkeys(added[:mark])
        self._forget(set(gone))
        self._holders_read.clear()
        self._holders_used.clear()

    def _forget(self, gone: set[int]) -> None:
        if not gone:
            return
        bodies, keys = self._unfiled(gone)
        for generation in self._generations:
            _prune(generation.holders, keys, gone)
            _prune(generation.by_body, bodies, gone)

    def _unfiled(self, gone: Iterable[int]) -> tuple[set[tuple[str, str]], set[int]]:
        """Forget the versions ``gone`` here; the bodies and keys they were filed under, whose
        lists still hold them."""
        bodies: set[tuple[str, str]] = set()
        keys: set[int] = set()
        for v in gone:
            self._written.pop(v, None)
            filed = self._filed.pop(v, None)
            if filed is not None:
                bodies.add(filed[0])
                keys.update(filed[1])
        return bodies, keys

    def decide(
        self,
        fingerprint: Fingerprint,
        lookup: Lookup | None,
        *,
        threshold: float | None = None,
        rewrites: bool = True,
    ) -> list[Verdict]:
        """The verdicts of a new version: ``lookup``'s, rechecked against the versions written
        after its snapshot (looked up here when ``lookup`` is None, or when a version was
        removed since it was made). Story ids in them are the stored versions' current ones,
        or the batch's for batch versions."""
        connection = self._connection
        if connection is None:
            raise RuntimeError("Recent.catch_up must be called before decide")
        if not fingerprint.linkable:
            return []
        held = self._held_since(fingerprint)
        recounted = None
        if lookup is not None and lookup.removals == self._removals:
            recounted = self._recounted(connection, lookup, self._moved_keys(held, lookup))
        if recounted is None:
            # The snapshot's cut no longer holds (or a version was removed since, which may
            # have moved one): look up what the index holds now. When versions were committed
            # after it (their keys held while their writers write them), its ranking comes
            # uncut, so that their recount cannot make it unsure.
            lookup = look_up(
                connection,
                fingerprint,
                up_to=self._committed,
                threshold=threshold,
                rewrites=rewrites,
                removals=self._removals,
                cut=self._newest_committed <= self._committed,
            )
            recounted = self._recounted(connection, lookup, self._moved_keys(held, lookup))
            if recounted is None:
                raise AssertionError("an uncut ranking is always recounted")
            stories = {v.version_id: v.story_id for v in lookup.verdicts}
        else:
            stories = self._stories
        lookup, overflowed = recounted
        newer = self._newer_hits(fingerprint, held, lookup.snapshot, overflowed)
        chosen = choose(fingerprint, ranked(fingerprint, [*lookup.hits, *newer]))
        chosen_ids = {h.version_id for h in chosen}
        # A verified version since removed has no story any more: it is no candidate.
        verdicts = [
            replace(v, story_id=stories[v.version_id])
            for v in lookup.verdicts
            if v.version_id in chosen_ids and v.version_id in stories
        ]
        unverified = [h for h in chosen if h.version_id not in lookup.compared]
        profiles = {
            h.version_id: written.fingerprint.profile
            for h in unverified
            if (written := self._written.get(h.version_id)) is not None
            and written.fingerprint is not None
        }
        candidates = candidates_of(
            connection, unverified, profiles, new=fingerprint, threshold=threshold
        )
        verdicts += _verified(fingerprint, candidates, threshold=threshold, rewrites=rewrites)
        return sorted(verdicts, key=lambda v: v.version_id)

    def _held_since(self, fingerprint: Fingerprint) -> dict[int, list[list[int]]]:
        """The new version's keys that versions known here hold: :meth:`_known_holders`."""
        return self._known_holders(set(fingerprint.keys))

    def _known_holders(self, keys: Collection[int]) -> dict[int, list[list[int]]]:
        """Those of ``keys`` that versions known here hold: each with its lists of holders, one
        a generation (forgotten versions among them)."""
        held: defaultdict[int, list[list[int]]] = defaultdict(list)
        for generation in self._generations:
            holders = generation.holders
            for key in keys:
                if ids := holders.get(key):  # most keys: none written since
                    held[key].append(ids)
        return held

    def _newer_hits(
        self,
        fingerprint: Fingerprint,
        held: dict[int, list[list[int]]],
        after: int,
        overflowed: frozenset[int] = frozenset(),
    ) -> list[IndexHit]:
        """The versions after ``after`` that share ``MIN_SHARED_KEYS`` of the new version's keys
        (``held``: :meth:`_held_since`) or its body, as hits. Of the ``overflowed`` keys, which
        more versions than a cut holds were committed since ``after``, only the newest
        ``POSTINGS_PER_KEY`` of those count, as in a lookup made now (the batch's own all
        count, as in a serial run)."""
        shared: defaultdict[int, int] = defaultdict(int)
        for key, lists in held.items():
            newer = [v for ids in lists for v in ids if v > after]
            if key in overflowed:
                committed = sorted((v for v in newer if v not in self._pending), reverse=True)
                newer = committed[:POSTINGS_PER_KEY] + [v for v in newer if v in self._pending]
            for version_id in newer:
                shared[version_id] += 1
        body = (fingerprint.body_sha256, fingerprint.body_status.value)
        same_body = {v for g in self._generations for v in g.by_body.get(body, ()) if v > after}
        hits = []
        for version_id in shared.keys() | same_body:
            count = shared.get(version_id, 0)
            if count >= MIN_SHARED_KEYS or version_id in same_body:
                hit = self._written[version_id].hit
                hits.append(replace(hit, shared_keys=count if count >= MIN_SHARED_KEYS else 0))
        return hits

    def _moved_keys(self, held: dict[int, list[list[int]]], lookup: Lookup) -> dict[int, int]:
        """The new version's keys that versions committed after the snapshot may have pushed
        past ``POSTINGS_PER_KEY`` holders, so that their oldest holders in the snapshot no
        longer count (a key that crowded is a common pair of words), each with how many
        versions holding it were committed since: all are known here. A key the lookup did not
        report holds fewer than ``HOLDERS_REPORTED``: it may move only when more versions than
        the rest were written since. The batch's own versions do not count: a lookup made in
        the writer does not see them in the index either. ``held``: :meth:`_held_since`."""
        moved = {}
        for key, newer in held.items():
            reported = lookup.holders.get(key)
            room = POSTINGS_PER_KEY - (HOLDERS_REPORTED - 1 if reported is None else reported)
            if sum(map(len, newer)) <= room:
                continue
            committed_since = sum(
                1 for ids in newer for v in ids if v > lookup.snapshot and v not in self._pending
            )
            if committed_since > room:
                moved[key] = committed_since
        return moved

    def _recounted(
        self, connection: Connection, lookup: Lookup, moved: dict[int, int]
    ) -> tuple[Lookup, frozenset[int]] | None:
        """``lookup`` with its ranked hits' shared keys counted as a lookup now would count
        them, after the versions committed since its snapshot crowded the ``moved`` keys (with
        how many: :meth:`_moved_keys`), and
        the keys that more versions than a cut holds were committed since (overflowed: of
        those only the newest count, :meth:`_newer_hits`); None when only a new lookup can
        tell (then the writer looks the version up again, which is exact).

        For each moved key the holders up to what is committed now are read (one short walk
        of its index entries, :meth:`_holders_up_to`): a hit pushed out of the key's most
        recent holders shares one key less. When a key overflowed, every holder the snapshot
        counted is pushed out: those are read from the snapshot's own walk of the key. Versions
        of the snapshot can only lose keys, so the first ``MAX_CANDIDATES`` are known unless,
        in a ranking that was cut, fewer than that still rank up to its last hit (versions
        below the cut, which the lookup did not bring, might then pass them; the lookup brings
        ``RANKED_MARGIN`` hits past the first ``MAX_CANDIDATES`` for this). As an archive
        grows, the keys of common word pairs move for most versions: at 244,000 versions,
        looking them up again had become a third of the writer's time; with four processes
        writing, keys overflowed for most of the versions still looked up again
        (docs/performance.md)."""
        if not moved:
            return lookup, frozenset()  # most versions: nothing crowded since the lookup
        overflowed = frozenset(key for key, newer in moved.items() if newer > POSTINGS_PER_KEY)
        ranked_hits = [h for h in lookup.hits if h.shared_keys]
        if not ranked_hits:
            return lookup, overflowed
        ranked_ids = {h.version_id for h in ranked_hits}
        crowded = [key for key in moved if key not in overflowed]
        holders_now = self._holders_up_to(connection, crowded, self._committed)
        # The index holds what is committed up to the batch's snapshot; the versions committed
        # after it (whose keys were being written when it began) are known here.
        known = self._known_holders(crowded)
        holders_then = self._holders_up_to(connection, sorted(overflowed), lookup.snapshot)
        lost: Counter[int] = Counter()
        for key, newer in moved.items():
            if key in overflowed:
                pushed_out = holders_then[key][:POSTINGS_PER_KEY]
            else:
                # most recent first: the snapshot's cut was the POSTINGS_PER_KEY after the
                # newer ones, the cut now is the first POSTINGS_PER_KEY
                after = {
                    v
                    for ids in known.get(key, ())
                    for v in ids
                    if v > self._committed and v not in self._pending
                }
                now = [*sorted(after, reverse=True), *holders_now[key]]
                pushed_out = now[POSTINGS_PER_KEY : newer + POSTINGS_PER_KEY]
            lost.update(v for v in pushed_out if v in ranked_ids)
        if not lost:
            return lookup, overflowed
        hits = []
        for hit in lookup.hits:
            if hit.version_id in lost:
                shared = hit.shared_keys - lost[hit.version_id]
                hit = replace(hit, shared_keys=shared if shared >= MIN_SHARED_KEYS else 0)
            hits.append(hit)
        if lookup.cut and len(ranked_hits) >= MAX_CANDIDATES + RANKED_MARGIN:
            # Versions below the lookup's last hit, which it did not bring, rank behind it and
            # can only lose keys: the first MAX_CANDIDATES are known while that many hits still
            # rank up to the last.
            last = _rank(max(ranked_hits, key=_rank))
            if sum(1 for h in hits if h.shared_keys and _rank(h) <= last) < MAX_CANDIDATES:
                return None
        return replace(lookup, hits=tuple(hits)), overflowed

    def _holders_up_to(
        self, connection: Connection, keys: list[int], up_to: int
    ) -> dict[int, list[int]]:
        """The ``HOLDERS_READ`` newest holders of each of ``keys`` among the versions up to
        ``up_to``, newest first; those not read before in this batch in one statement per
        ``HOLDERS_KEYS_PER_STATEMENT`` keys (on PostgreSQL, one statement per key had become
        a third of the writer's time at 250,000 versions, most of it round trips). What is
        committed does not change under the lock."""
        read = self._holders_read
        self._holders_used.update((up_to, key) for key in keys)
        missing = [key for key in keys if (up_to, key) not in read]
        for start in range(0, len(missing), HOLDERS_KEYS_PER_STATEMENT):
            chunk = missing[start : start + HOLDERS_KEYS_PER_STATEMENT]
            parameters = _key_parameters(chunk, up_to)
            found: dict[int, list[int]] = {key: [] for key in chunk}
            statement = _holders_of(len(chunk), connection.dialect.name)
            for key, version_id in fetch_rows(connection, statement, parameters):
                found[key].append(version_id)
            for key, holders in found.items():
                read[up_to, key] = sorted(holders, reverse=True)
        return {key: read[up_to, key] for key in keys}

    def _carried(self, committed: int) -> dict[tuple[int, int], list[int]]:
        """The holder lists the last batch used that it read up to what was committed when it
        began, brought up to ``committed`` from memory, for the next batch: every version
        committed in between is known here (the writer's own and those taken in), unless
        forgotten, and then nothing is carried. The keys that crowd are common word pairs,
        asked for again batch after batch: at 250,000-400,000 versions on PostgreSQL, reading
        them anew each batch was 17-26% of the writer's time (docs/performance.md). Not
        called after a removal, which may have taken a holder out of a list."""
        before = self._committed
        if self._forgotten_up_to > before:
            return {}
        # lists read up to a lookup's snapshot (for an overflowed key) are not carried
        lists = {
            key: self._holders_read[up_to, key]
            for up_to, key in self._holders_used
            if up_to == before and (up_to, key) in self._holders_read
        }
        known = self._known_holders(lists)
        carried = {}
        for key, read in lists.items():
            newer = {v for ids in known.get(key, ()) for v in ids if before < v <= committed}
            carried[committed, key] = [*sorted(newer, reverse=True), *read][:HOLDERS_READ]
        return carried


def _rank(hit: IndexHit) -> tuple[int, int]:
    """Where the ranked key lookup puts a hit: more shared keys first, then older."""
    return (-hit.shared_keys, hit.version_id)


class _Generation:
    """The versions :class:`Recent` filed from one :meth:`Recent.catch_up` on, by key and by
    body."""

    def __init__(self) -> None:
        self.holders: defaultdict[int, list[int]] = defaultdict(list)
        self.by_body: defaultdict[tuple[str, str], list[int]] = defaultdict(list)
        self.newest = 0

    def file(self, version_id: int, body: tuple[str, str], keys: Iterable[int]) -> None:
        self.by_body[body].append(version_id)
        holders = self.holders
        for key in keys:
            holders[key].append(version_id)
        self.newest = max(self.newest, version_id)


def _prune(index: dict[_Key, list[int]], filed_under: set[_Key], gone: set[int]) -> None:
    """Take the versions ``gone``, filed under ``filed_under``, out of an index of version ids."""
    for key in filed_under:
        kept = [v for v in index.get(key, ()) if v not in gone]
        if kept:
            index[key] = kept
        else:
            index.pop(key, None)


_WRITTEN_SINCE = select(
    Version.id, Version.story_id, Version.simhash, Version.body_sha256, Version.body_status
).where(Version.id > bindparam("after"))
# How many of a key's most recent holders the writer reads when versions committed since a
# lookup crowded it: enough to tell which of the snapshot's holders were pushed out when at
# most a cut's worth were committed since, and one more to tell that more were.
HOLDERS_READ = 2 * POSTINGS_PER_KEY + 1
# Keys whose holders :meth:`Recent._holders_up_to` reads in one statement (a compound of
# one walk per key; SQLite allows 500 terms).
HOLDERS_KEYS_PER_STATEMENT = 32


@functools.cache
def _holders_of(key_count: int, dialect: str) -> TextualSelect:
    """The ``HOLDERS_READ`` newest holders up to ``:up_to`` of each of ``key_count`` keys, bound
    as ``key0``, ``key1``...: (key, version id) rows, in no order."""
    limit_each = dialect == "postgresql"
    walks = " UNION ALL ".join(
        f"SELECT CAST(:key{n:d} AS BIGINT) AS held_key, version_id FROM "
        f"({_newest_holders(f':key{n:d}', HOLDERS_READ, limit_each=limit_each)}) AS holders{n:d}"
        for n in range(key_count)
    )
    return text(walks).columns(column("held_key", BigInteger), column("version_id", Integer))


_HELD_SINCE = select(UnindexedBatch.held_keys).where(
    UnindexedBatch.last_version_id > bindparam("after")
)
_POSTINGS_SINCE = text(
    'SELECT "key", version_id FROM match_keys WHERE version_id > :after '
    'UNION ALL SELECT "key", version_id FROM match_keys_recent WHERE version_id > :after'
).columns(column("key", BigInteger), column("version_id", Integer))
