"""The ingest's work in bounded pieces: a file of one article goes to a worker whole; a file of
many records (JSONL, WARC, a JSON array) is read here one record at a time and goes to the
workers as chunks of records, so that no file, however many records it holds, makes the ingest
hold more than a few chunks at once. Failures are recorded up to :data:`MAX_ERRORS_PER_FILE`
per file, then counted.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from archive.config import MEGABYTE
from archive.sources.parse import parse_file, parse_raw, read_records
from archive.sources.paths import display_path
from archive.sources.records import Found, ParseFailure, ParseResult, RawRecord
from archive.sources.walk import Refused

# A chunk of a container file: at most this many records, or this many bytes of them.
CHUNK_RECORDS = 100
CHUNK_BYTES = 4 * MEGABYTE
# A batch closes at this many bytes of records even when it has fewer than its size.
BATCH_BYTES = 16 * MEGABYTE
# Failures of one file recorded in ingest_errors; the rest are one row with their count.
MAX_ERRORS_PER_FILE = 100


@dataclass(frozen=True)
class RecordChunk:
    """Some records of a container file, in file order; ``last`` for the file's last chunk."""

    file_path: str
    records: list[Found]
    last: bool

    @property
    def size(self) -> int:
        return sum(r.size for r in self.records if isinstance(r, RawRecord))


# A file, read by a worker; a path the walk refused, failed by a worker; or a chunk of records.
WorkItem = str | Refused | RecordChunk


def work_items(
    files: Iterable[str | Refused], chunk_records: int = CHUNK_RECORDS
) -> Iterator[WorkItem]:
    """Each file as it is, or, for a container, its records in chunks of ``chunk_records``
    (or :data:`CHUNK_BYTES`), read as they are asked for."""
    for path in files:
        records = None if isinstance(path, Refused) else read_records(path)
        if records is None:
            yield path
        else:
            yield from _chunks(os.fspath(path), records, max(1, chunk_records))


def _chunks(path: str, records: Iterator[Found], size: int) -> Iterator[RecordChunk]:
    # A chunk closes at ``size`` records or CHUNK_BYTES; an empty last chunk only says the
    # file is done.
    chunk: list[Found] = []
    held = 0
    for record in records:
        chunk.append(record)
        held += record.size if isinstance(record, RawRecord) else 0
        if len(chunk) >= size or held >= CHUNK_BYTES:
            yield RecordChunk(path, chunk, last=False)
            chunk, held = [], 0
    yield RecordChunk(path, chunk, last=True)


def batches(items: Iterable[WorkItem], size: int) -> Iterator[list[WorkItem]]:
    """Work items in batches of at most ``size`` records (a whole file counts as one; a chunk
    is never bigger than ``size``) and about :data:`BATCH_BYTES` of container records."""
    batch: list[WorkItem] = []
    records = held = 0
    for item in items:
        count, size_of = (
            (max(1, len(item.records)), item.size) if isinstance(item, RecordChunk) else (1, 0)
        )
        if batch and (records + count > size or held + size_of > BATCH_BYTES):
            yield batch
            batch, records, held = [], 0, 0
        batch.append(item)
        records += count
        held += size_of
    if batch:
        yield batch


def file_of(item: WorkItem) -> tuple[str, bool]:
    """The file a work item comes from, and whether it is the file's last piece."""
    if isinstance(item, RecordChunk):
        return item.file_path, item.last
    return os.fspath(item), True


def parse_item(item: WorkItem) -> list[ParseResult]:
    """What the parser makes of a work item: a whole file's records, or a chunk's."""
    if isinstance(item, RecordChunk):
        return [parse_raw(r) if isinstance(r, RawRecord) else r for r in item.records]
    return list(parse_file(item))


class ErrorCap:
    """Admits the first :data:`MAX_ERRORS_PER_FILE` failures of each file; :meth:`close`
    gives one failure that counts the rest, when there were more."""

    def __init__(self, limit: int = MAX_ERRORS_PER_FILE) -> None:
        self._limit = limit
        self._seen: dict[str, int] = {}

    @staticmethod
    def of_a_record(file_path: str, failure: ParseFailure) -> bool:
        """Whether ``failure`` is one record's (``FILE#N``), not the file's own (damage that
        ends it, which is always recorded)."""
        return "#" in failure.source_path[len(display_path(os.fspath(file_path))) :]

    def admit(self, file_path: str, failure: ParseFailure) -> bool:
        """Whether to record ``failure`` of ``file_path`` one by one."""
        if not self.of_a_record(file_path, failure):
            return True
        count = self._seen.get(file_path, 0) + 1
        self._seen[file_path] = count
        return count <= self._limit

    def full(self, file_path: str) -> bool:
        """Whether ``file_path`` had all the failures recorded that it may have."""
        return self._seen.get(file_path, 0) >= self._limit

    def close(self, file_path: str) -> ParseFailure | None:
        count = self._seen.pop(file_path, 0)
        if count <= self._limit:
            return None
        return ParseFailure(
            display_path(os.fspath(file_path)),
            f"{count - self._limit:,} more records of this file failed ({count:,} in all); "
            f"only the first {self._limit} are recorded one by one",
        )
