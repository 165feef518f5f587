"""The stored schema's rules in plain Python, for the writers and the readers alike: the schema
revision this program works with, how times and source paths are stored, which version of a
story is canonical and when a story was seen (docs/schema.md).

Nothing here imports a database library: the read queries (:mod:`archive.commands.queries`)
run on the standard library's sqlite3 too, so that a query on a SQLite archive starts at once.
"""

from __future__ import annotations

import functools
import hashlib
import operator
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

# The head of the Alembic migrations (alembic/versions): a database at this revision has the
# tables, views and rules this program reads and writes. Named here, so that the current schema
# is recognised without loading Alembic; tests/test_cli_startup.py checks it against Alembic's.
HEAD_REVISION = "0015_story_summary_per_story"

_END_OF_TIME = datetime.max.replace(tzinfo=UTC)


def as_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime; a naive value is taken to be UTC already."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def sqlite_time(value: datetime) -> str:
    """``value`` as SQLite stores a time (SQLAlchemy's format, archive.models.UTCDateTime): text
    in UTC without a zone, always with microseconds, so that times sort and compare as text."""
    t = as_utc(value)
    return (
        f"{t.year:04d}-{t.month:02d}-{t.day:02d} "
        f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}.{t.microsecond:06d}"
    )


def read_time(value: datetime | str | None) -> datetime | None:
    """A stored time as the driver returns it (text from SQLite, a datetime from PostgreSQL)
    as an aware UTC datetime."""
    if value is None:
        return None
    return as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


def path_sha256(source_path: str) -> str:
    """``versions.source_path_sha256`` of a path: the hex SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(source_path.encode("utf-8", "surrogatepass")).hexdigest()


CanonicalKey = tuple[bool, datetime, datetime, int]


def canonical_key(
    published_at: datetime | None, ingested_at: datetime, version_id: int
) -> CanonicalKey:
    """The canonical version of a story is the first by this key: the earliest published
    (versions without a date last), then the earliest ingested, then the lowest id."""
    return (published_at is None, published_at or _END_OF_TIME, ingested_at, version_id)


class _Timed(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def published_at(self) -> datetime | None: ...
    @property
    def ingested_at(self) -> datetime: ...


def canonical_order(version: _Timed) -> CanonicalKey:
    """:func:`canonical_key` of a version (a stored one, or a row read with these fields)."""
    return canonical_key(version.published_at, version.ingested_at, version.id)


@dataclass(frozen=True)
class Seen:
    """When a story was seen, from its versions' publication and ingest times: the rule of
    ``stories.first_seen_at`` and ``stories.last_seen_at``.

    A version is seen at its publication time, else (no date) at its ingest time; a story is
    first seen when its first version was. It is last seen at the latest publication date of
    its versions where any has one (``dated``), else at their latest ingest time: an undated
    version says when the archive got the file, not when the story ran, and must not make a
    2024 story "last seen" today. ``a | b`` is the story of both sets of versions.
    """

    first: datetime
    last: datetime
    dated: bool  # whether ``last`` is a publication date

    @classmethod
    def of(cls, published_at: datetime | None, ingested_at: datetime) -> Seen:
        """The seen-times of one version."""
        seen = published_at or ingested_at
        return cls(seen, seen, published_at is not None)

    def __or__(self, other: Seen) -> Seen:
        if self.dated == other.dated:
            last = max(self.last, other.last)
        else:
            last = self.last if self.dated else other.last
        return Seen(min(self.first, other.first), last, self.dated or other.dated)


def seen_of(versions: Iterable[tuple[datetime | None, datetime]]) -> Seen:
    """:class:`Seen` of a story's versions, given as (``published_at``, ``ingested_at``)."""
    return functools.reduce(operator.or_, (Seen.of(*times) for times in versions))
