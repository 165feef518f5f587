"""From a file on disk to article records: the file opened safely, its format told by the table
of formats (:mod:`archive.sources.formats`) and read by the format's module.

Nothing a file contains makes the parser raise: every problem is a :class:`ParseFailure` with a
reason. Memory stays bounded whatever the file: a single-article file (text, HTML, a JSON
document) larger than :func:`archive.config.max_article_bytes` is refused before it is read,
gzip content is decompressed only up to that limit, and container files (JSONL, WARC, either
gzipped) are streamed record by record, each record under the same limit.
"""

from __future__ import annotations

import io
import itertools
import os
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from archive.config import max_article_bytes
from archive.sources import gzipped
from archive.sources.decode import UndecodableError, decode_text
from archive.sources.formats import (
    FORMATS,
    MAGIC_BYTES,
    DocumentFormat,
    Format,
    StreamFormat,
    by_content,
    by_start,
)
from archive.sources.opening import NotRead, open_regular_file
from archive.sources.paths import display_path
from archive.sources.records import (
    Document,
    Found,
    ParseFailure,
    ParseResult,
    RawRecord,
    too_large,
)
from archive.sources.walk import Refused

_SNIFF_BYTES = 4096


def parse_file(path: str | os.PathLike[str]) -> Iterator[ParseResult]:
    """Every article record in the file at ``path``; failures are yielded, never raised.

    A container file (JSONL, a JSON array, WARC) yields one result per record, so one bad record
    does not hide the good ones around it. Only regular files are read: a named pipe, device or
    folder is refused without being opened for long (a pipe would block the ingest forever),
    and so is a path the walk refused (:class:`~archive.sources.walk.Refused`).
    """
    source = display_path(path)
    if isinstance(path, Refused):
        yield path.failure()
        return
    try:
        limit = max_article_bytes()
        stream, size = open_regular_file(os.fspath(path))
    except (NotRead, ValueError) as exc:
        yield ParseFailure(source, str(exc))
        return
    with stream:
        try:
            yield from _parsed(_read(stream, size, source, limit))
        except OSError as exc:
            yield ParseFailure(source, f"cannot read file: {exc.strerror or exc}")


def parse_bytes(raw: bytes, source_path: str) -> Iterator[ParseResult]:
    """Every article record in ``raw``, the content of the file named ``source_path``."""
    try:
        limit = max_article_bytes()
    except ValueError as exc:
        yield ParseFailure(source_path, str(exc))
        return
    yield from _parsed(_read(io.BytesIO(raw), len(raw), display_path(source_path), limit))


def parse_raw(record: RawRecord) -> ParseResult:
    """The article in ``record``, or why there is none (never raises)."""
    return record.parser(record)


def read_records(path: str | os.PathLike[str]) -> Iterator[Found] | None:
    """The records of the file at ``path``, read one at a time and not parsed, when it is a
    container of many (a streamed format, gzipped or not, or a document that holds several
    records: a JSON array, a .json file of objects on lines); None for any other file, and for
    one that cannot be read: :func:`parse_file` reads and reports those whole.
    ``_parsed(read_records(p))`` gives what ``parse_file(p)`` gives."""
    if isinstance(path, Refused):
        return None
    try:
        limit = max_article_bytes()
        stream, size = open_regular_file(os.fspath(path))
    except (NotRead, ValueError):
        return None
    try:
        records = _container_records(stream, size, display_path(path), limit)
    except (OSError, ValueError):
        records = None
    if records is None:
        stream.close()
        return None
    return _closing(stream, records, display_path(path))


def _parsed(items: Iterable[Found]) -> Iterator[ParseResult]:
    for item in items:
        yield parse_raw(item) if isinstance(item, RawRecord) else item


def _closing(stream: BinaryIO, records: Iterator[Found], source: str) -> Iterator[Found]:
    with stream:
        try:
            yield from records
        except OSError as exc:
            yield ParseFailure(source, f"cannot read file: {exc.strerror or exc}")


class _Content:
    """A file's content as its format is told: its first bytes and name (both of what a gzip
    file holds, for one), and its format when they tell it."""

    def __init__(self, stream: BinaryIO, size: int, source: str) -> None:
        self.stream, self.size, self.source = stream, size, source
        head = stream.read(_SNIFF_BYTES)
        stream.seek(0)
        self.gzipped = head.startswith(gzipped.MAGIC)
        self.name = source.lower()
        if self.gzipped:
            self.name = gzipped.inner_name(self.name)
            head = gzipped.head(stream, MAGIC_BYTES)  # raises GzipDamaged
            stream.seek(0)
        self.head = head
        self.format: Format | None = by_start(head, self.name)

    def stream_records(self, fmt: StreamFormat, limit: int) -> Iterator[Found]:
        stream = gzipped.GzipStream(self.stream, self.size) if self.gzipped else self.stream
        return fmt.read(stream, self.source, limit)

    def document(self, limit: int) -> Document | ParseFailure:
        """The whole content, read and decoded, or why it is not read."""
        if self.size > limit:
            return ParseFailure(self.source, too_large("file", self.size, limit))
        if self.gzipped:
            raw = self.stream.read()
            try:
                data = gzipped.decompress(raw, limit)
            except gzipped.GzipDamaged as exc:
                return ParseFailure(self.source, str(exc))
            if len(data) > limit:
                message = too_large("file", len(data), limit, decompressed=True)
                return ParseFailure(self.source, message)
        else:
            raw = data = self.stream.read(limit + 1)
            if len(raw) > limit:  # the file grew since it was measured
                return ParseFailure(self.source, too_large("file", len(raw), limit))
        if not data.strip():
            return ParseFailure(self.source, "empty file")
        try:
            text = decode_text(data)
        except UndecodableError as exc:
            return ParseFailure(self.source, str(exc))
        return Document(self.source, data, raw, text)


def _read(stream: BinaryIO, size: int, source: str, limit: int) -> Iterator[Found]:
    """What the file's format reads in it (see :mod:`archive.sources.formats`)."""
    try:
        content = _Content(stream, size, source)
    except gzipped.GzipDamaged as exc:
        yield ParseFailure(source, str(exc))
        return
    if isinstance(content.format, StreamFormat):
        yield from content.stream_records(content.format, limit)
        return
    document = content.document(limit)
    if isinstance(document, ParseFailure):
        yield document
        return
    yield from (content.format or by_content(document)).read(document)


def _container_records(
    stream: BinaryIO, size: int, source: str, limit: int
) -> Iterator[Found] | None:
    """The file's records when it is a container (see :func:`read_records`), else None. A
    document is read here only when its first bytes say it may hold several records. Raises
    OSError and ValueError (a damaged gzip file) for a file to read whole."""
    content = _Content(stream, size, source)
    fmt = content.format
    if isinstance(fmt, StreamFormat):
        return content.stream_records(fmt, limit)
    named = fmt is not None
    documents = [f for f in FORMATS if isinstance(f, DocumentFormat)]
    candidates = [fmt] if fmt is not None else documents
    container = next(
        (f for f in candidates if f.several is not None and f.several(content.head, named)), None
    )
    if container is None:
        return None
    document = content.document(limit)
    if isinstance(document, ParseFailure):
        return None
    if not named and by_content(document) is not container:
        return None
    records = container.read(document)
    first = list(itertools.islice(records, 2))
    if len(first) < 2:  # one record (or one failure): the file is read whole, by a worker
        return None
    return itertools.chain(first, records)
