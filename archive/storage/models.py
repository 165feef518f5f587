"""The archive's tables: the schema users query with SQL, as typed SQLAlchemy models."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import (
    BigInteger,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from archive.storage.schema import as_utc, path_sha256

# Stable constraint names, so that migrations can refer to them on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

UINT64_RANGE = 1 << 64
INT64_MAX = (1 << 63) - 1


def to_signed64(value: int) -> int:
    """Map an unsigned 64-bit value (0 .. 2**64-1) onto the signed BIGINT range, bit for bit."""
    if not 0 <= value < UINT64_RANGE:
        raise ValueError(f"not an unsigned 64-bit value: {value}")
    return value - UINT64_RANGE if value > INT64_MAX else value


def to_unsigned64(value: int) -> int:
    """Inverse of :func:`to_signed64`: the ``simhash`` package's value of a stored BIGINT."""
    return value + UINT64_RANGE if value < 0 else value


class UnsignedBigInt(TypeDecorator[int]):
    """An unsigned 64-bit integer (a SimHash) kept in a signed BIGINT column.

    SQLite and PostgreSQL only have signed 64-bit integers, so values of 2**63 and above are
    stored as ``value - 2**64`` (the same 64 bits read as two's complement). Python code always
    sees the unsigned value; in SQL, ``unsigned = stored + 2**64`` when ``stored < 0``.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: int | None, dialect: Dialect) -> int | None:
        return None if value is None else to_signed64(value)

    def process_result_value(self, value: int | None, dialect: Dialect) -> int | None:
        return None if value is None else to_unsigned64(value)


class UTCDateTime(TypeDecorator[datetime]):
    """A point in time stored in UTC; naive values are taken to be UTC already.

    PostgreSQL keeps the zone (``timestamptz``); SQLite stores text without one, so values read
    back from SQLite are given the UTC zone again.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class IngestRun(Base):
    """One invocation of ``archive ingest``: what it was asked to do and what it did."""

    __tablename__ = "ingest_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # running, finished, interrupted (Ctrl-C), failed (the run itself broke off)
    status: Mapped[str] = mapped_column(String(16), default="running")
    paths: Mapped[str] = mapped_column(Text, doc="the paths given, one per line")
    files_seen: Mapped[int] = mapped_column(Integer, default=0)
    versions_stored: Mapped[int] = mapped_column(Integer, default=0)
    new_stories: Mapped[int] = mapped_column(Integer, default=0)
    linked: Mapped[int] = mapped_column(Integer, default=0)
    duplicates_skipped: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)


class IngestError(Base):
    """A file or record that could not be ingested, and why."""

    __tablename__ = "ingest_errors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("ingest_runs.id", ondelete="CASCADE"), index=True
    )
    source_path: Mapped[str] = mapped_column(Text)
    error: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Story(Base):
    """One news story: every version of it (copies, edits, rewrites) points here."""

    __tablename__ = "stories"
    # An id is never handed out again, also after its story was merged away or removed.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text, doc="the canonical version's title")
    canonical_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("versions.id", use_alter=True, ondelete="SET NULL")
    )
    # A version is "seen" at its publication time, or at its ingest time when it has no date;
    # a story is last seen at its latest publication date where a version has one, else at its
    # latest ingest time (archive.store.Seen, migration 0009).
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StoryMerge(Base):
    """A story that was merged into another: its old id, and the story that has its versions."""

    __tablename__ = "story_merges"

    merged_story_id: Mapped[int] = mapped_column(
        Integer, primary_key=True, autoincrement=False, doc="the id that no longer exists"
    )
    story_id: Mapped[int] = mapped_column(
        ForeignKey("stories.id", ondelete="CASCADE"), index=True, doc="where its versions are now"
    )
    version_id: Mapped[int | None] = mapped_column(
        ForeignKey("versions.id", ondelete="SET NULL"), doc="the version that matched both"
    )
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Version(Base):
    """One ingested file or record: the text as extracted and how it was matched."""

    __tablename__ = "versions"
    # A path of any length is unique through its hash (PostgreSQL cannot index text over about
    # 2,700 bytes); ids are never handed out again, also after `archive remove`.
    # The index that finds a story's versions also holds the columns its counts read (sites,
    # match methods: story_summary, archive stats), so that those never read the rows, whose
    # bodies make them large (migration 0014).
    __table_args__ = (
        UniqueConstraint("source_path_sha256", "content_sha256"),
        Index("ix_versions_story_id_site_method", "story_id", "site", "match_method"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"))
    source_path: Mapped[str] = mapped_column(
        Text, doc="path, relative to the working directory when inside it; FILE#N for record N"
    )
    source_path_sha256: Mapped[str] = mapped_column(
        String(64),
        default=lambda context: path_sha256(context.get_current_parameters()["source_path"]),
        doc="SHA-256 of source_path (UTF-8); with content_sha256 unique",
    )
    format: Mapped[str] = mapped_column(String(16), doc="text, html, json, jsonl or warc")
    content_sha256: Mapped[str] = mapped_column(String(64), doc="SHA-256 of the raw record bytes")
    body_sha256: Mapped[str] = mapped_column(
        String(64), index=True, doc="SHA-256 of the whitespace-normalised body"
    )
    simhash: Mapped[int] = mapped_column(UnsignedBigInt, doc="64-bit SimHash, stored signed")
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    body_status: Mapped[str] = mapped_column(
        String(16),
        default="article",
        server_default="article",
        doc="article, page-text or boilerplate-only: how the body was extracted (only article "
        "bodies are linked)",
    )
    language: Mapped[str | None] = mapped_column(
        String(8), doc="ISO 639 code of the body's language as detected; word rarity's table"
    )
    url: Mapped[str | None] = mapped_column(Text)
    site: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("ingest_runs.id", ondelete="SET NULL"), index=True
    )
    # Match evidence: the existing version this one was linked to, and how closely.
    matched_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("versions.id", ondelete="SET NULL")
    )
    match_distance: Mapped[int | None] = mapped_column(Integer, doc="Hamming distance of SimHashes")
    match_similarity: Mapped[float | None] = mapped_column(
        Float, doc="0..1, rarity-weighted word overlap of the two bodies"
    )
    match_method: Mapped[str] = mapped_column(String(16), doc="exact, near, rewrite or new story")
    match_sentences: Mapped[float | None] = mapped_column(
        Float, doc="0..1, share of the shorter body's sentences found reworded in the other"
    )


class VersionLink(Base):
    """Every verified match of a version to an older one: the edges that hold a story together.

    ``versions.matched_version_id`` names the best of these; a story's versions are the
    connected component of its links (merges happen when a version links two stories).
    """

    __tablename__ = "version_links"
    __table_args__ = (Index("ix_version_links_linked_version_id", "linked_version_id"),)

    version_id: Mapped[int] = mapped_column(
        ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True, doc="the newer version"
    )
    linked_version_id: Mapped[int] = mapped_column(
        ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True, doc="the older version"
    )
    distance: Mapped[int] = mapped_column(Integer, doc="Hamming distance of the SimHashes")
    similarity: Mapped[float] = mapped_column(
        Float, doc="0..1, rarity-weighted word overlap of the two bodies"
    )
    method: Mapped[str] = mapped_column(String(16), doc="exact, near or rewrite")
    sentences: Mapped[float | None] = mapped_column(
        Float, doc="0..1, share of the shorter body's sentences found reworded in the other"
    )


class _IndexRow:
    """A row of the candidate index: a version holds a key. SQLite keeps the rows in the
    primary key's b-tree alone (``WITHOUT ROWID``, migration 0008)."""

    key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True
    )


class MatchKey(_IndexRow, Base):
    """Candidate index: versions sharing a key are compared; the matcher decides the keys."""

    __tablename__ = "match_keys"
    __table_args__ = (
        Index("ix_match_keys_version_id", "version_id"),
        {"sqlite_with_rowid": False},
    )


class RecentMatchKey(_IndexRow, Base):
    """The candidate index's newest rows, which ingest writes; merged into ``match_keys`` in key
    order when they grow many (:func:`archive.linking.store.insert_keys`). A lookup reads
    both: together they are the index."""

    __tablename__ = "match_keys_recent"
    __table_args__ = (
        Index("ix_match_keys_recent_version_id", "version_id"),
        {"sqlite_with_rowid": False},
    )


# The candidate index is these two tables together; a version's keys are in one of them.
INDEX_TABLES = (cast(Table, MatchKey.__table__), cast(Table, RecentMatchKey.__table__))


class UnindexedBatch(Base):
    """A committed batch of versions whose index keys are not in the index yet (PostgreSQL
    writes them after the batch commits, out of the writer lock:
    :func:`archive.linking.store.hold_keys`). Lookups see the archive up to the version before
    the oldest such batch; the writer knows the versions after it by these keys. Not a foreign
    key: a version may be removed before its keys are written."""

    __tablename__ = "unindexed_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_version_id: Mapped[int] = mapped_column(Integer, doc="the batch's first version id")
    last_version_id: Mapped[int] = mapped_column(Integer, doc="the batch's last version id")
    held_keys: Mapped[bytes] = mapped_column(
        LargeBinary, doc="each version's id, key count and keys, as little-endian int64s"
    )


class VersionWords(Base):
    """What comparing a stored version needs before its body: its distinct words. A lookup
    rules most candidates out by them and reads only the others' bodies."""

    __tablename__ = "version_words"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    words: Mapped[str] = mapped_column(Text, doc="the body's distinct words, sorted, one per line")


class VersionRemoval(Base):
    """A version taken out with ``archive remove``: what it was and what became of its story.

    The removed version and its links are gone, so nothing here is a foreign key: the log must
    outlive the rows it describes.
    """

    __tablename__ = "version_removals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(Integer, doc="the removed version's id")
    source_path: Mapped[str] = mapped_column(Text, doc="the removed version's source path")
    content_sha256: Mapped[str] = mapped_column(String(64), doc="SHA-256 of its raw bytes")
    title: Mapped[str] = mapped_column(Text, doc="the removed version's title")
    story_id: Mapped[int] = mapped_column(
        Integer, index=True, doc="the story it was a version of (keeps its id if any remain)"
    )
    remaining_versions: Mapped[int] = mapped_column(
        Integer, doc="versions left in story_id; 0 when the story went with its last version"
    )
    new_story_ids: Mapped[str | None] = mapped_column(
        Text, doc="comma-separated ids of the stories split off story_id; NULL when none"
    )
    removed_at: Mapped[datetime] = mapped_column(UTCDateTime)
