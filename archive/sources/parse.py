"""From a file on disk to article records: format detection and dispatch to the extractors.

Nothing a file contains makes the parser raise: every problem is a :class:`ParseFailure` with a
reason. Memory stays bounded whatever the file: a single-article file (text, HTML, a JSON
document) larger than :func:`archive.config.max_article_bytes` is refused before it is read,
gzip content is decompressed only up to that limit, and container files (JSONL, WARC, either
gzipped) are streamed record by record, each record under the same limit.
"""

from __future__ import annotations

import codecs
import errno
import gzip
import hashlib
import io
import json
import os
import re
import stat
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, AnyStr, BinaryIO

from archive.config import MAX_ARTICLE_MB_ENV, MEGABYTE, max_article_bytes
from archive.sources.article import Article
from archive.sources.decode import UndecodableError, decode_text, sniff_text_encoding
from archive.sources.htmlpage import extract_html
from archive.sources.jsonrecords import RecordError, article_from_record
from archive.sources.textdump import extract_text
from archive.sources.warc import (
    WARC_MAGIC,
    ByteStream,
    MisfitRecord,
    OversizedRecord,
    WarcError,
    iter_html_pages,
)

FORMATS = ("text", "html", "json", "jsonl", "warc")

_GZIP_MAGIC = b"\x1f\x8b"
_HTML_SUFFIXES = {".html", ".htm", ".xhtml", ".shtml"}
_JSON_SUFFIXES = {".json"}
_JSONL_SUFFIXES = {".jsonl", ".ndjson", ".jsonlines"}
_HTML_SNIFF = (b"<!doctype html", b"<html", b"<head", b"<body")
_SNIFF_BYTES = 4096
_CHUNK = 1 << 20
# A streamed gzip file may expand to this many times its size (and to this much in any case).
GZIP_MAX_RATIO = 100
GZIP_MIN_OUTPUT = MEGABYTE
_LONE_CR = re.compile(rb"\r(?!\n)")
_JSON_ARRAY_START = re.compile(r'\[\s*(?:[{\["\]\d-]|true|false|null|$)')
_CR_CHUNK = 1 << 16
# PostgreSQL text cannot hold NUL, and no database driver can encode a lone surrogate (JSON's
# "\ud800" escapes make them): both are dropped from extracted text, on every backend alike.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_FILE_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


@dataclass(frozen=True)
class ParsedRecord:
    """One article found in a file: where it came from, its format, raw-content hash and text."""

    source_path: str
    format: str
    content_sha256: str
    article: Article


@dataclass(frozen=True)
class ParseFailure:
    """A file or record that gave no article, with a message saying why."""

    source_path: str
    error: str


ParseResult = ParsedRecord | ParseFailure


@dataclass(frozen=True)
class RawRecord:
    """One record of a container file (a JSONL line, a JSON array's element, a WARC page),
    read but not parsed yet: what :func:`read_records` hands out and :func:`parse_raw` parses,
    so that the reading of a big file and the parsing of its records can be apart."""

    source_path: str  # FILE#N
    format: str  # "jsonl", "json" or "warc"
    record_no: int
    data: str | bytes  # JSON text (jsonl, json) or the page's bytes (warc)
    url: str | None = None  # warc: the target URI
    charset: str | None = None  # warc: the charset its HTTP headers named
    parsed: tuple[object] | None = field(default=None, compare=False, repr=False)

    @property
    def size(self) -> int:
        return len(self.data)


def parse_raw(record: RawRecord) -> ParseResult:
    """The article in ``record``, or why there is none (never raises)."""
    if isinstance(record.data, bytes):  # a WARC page
        try:
            html = _decode_payload(record.data, record.charset)
        except UndecodableError as exc:
            return ParseFailure(record.source_path, str(exc))
        article = extract_html(html, url=record.url)
        return _checked(record.source_path, "warc", _sha256(record.data), article)
    if record.parsed is not None:
        value = record.parsed[0]
    else:
        try:
            value = _json_loads(record.data)
        except ValueError as exc:
            where = f" on line {record.record_no + 1}" if record.format == "jsonl" else ""
            return ParseFailure(record.source_path, f"invalid JSON{where}: {exc}")
    raw_text = record.data.rstrip("\r\n") if record.format == "jsonl" else record.data
    return _record(value, record.source_path, record.format, raw_text)


def _parsed(items: Iterable[RawRecord | ParseFailure]) -> Iterator[ParseResult]:
    for item in items:
        yield item if isinstance(item, ParseFailure) else parse_raw(item)


def read_records(path: str | os.PathLike[str]) -> Iterator[RawRecord | ParseFailure] | None:
    """The records of the file at ``path``, read one at a time and not parsed, when it is a
    container of many (JSONL or WARC, gzipped or not, and a JSON array or a .json file of
    objects on lines); None for any other file, and for one that cannot be read:
    :func:`parse_file` reads and reports those whole. ``_parsed(read_records(p))`` gives what
    ``parse_file(p)`` gives."""
    if isinstance(path, RefusedPath):
        return None
    try:
        limit = max_article_bytes()
        stream, size = _open_regular_file(os.fspath(path))
    except (_Refused, ValueError):
        return None
    try:
        records = _container_records(stream, size, display_path(path), limit)
    except (OSError, ValueError):
        records = None
    if records is None:
        stream.close()
        return None
    return _closing(stream, records, display_path(path))


def _closing(
    stream: BinaryIO, records: Iterator[RawRecord | ParseFailure], source: str
) -> Iterator[RawRecord | ParseFailure]:
    with stream:
        try:
            yield from records
        except OSError as exc:
            yield ParseFailure(source, f"cannot read file: {exc.strerror or exc}")


def _container_records(
    stream: BinaryIO, size: int, source: str, limit: int
) -> Iterator[RawRecord | ParseFailure] | None:
    head = stream.read(_SNIFF_BYTES)
    stream.seek(0)
    name = source.lower()
    if head.startswith(_GZIP_MAGIC):
        inner = name.removesuffix(".gz").removesuffix(".gzip")
        try:
            prefix = gzip.GzipFile(fileobj=stream, mode="rb").read(len(WARC_MAGIC))
        except (EOFError, OSError, zlib.error):
            return None
        stream.seek(0)
        if prefix.startswith(WARC_MAGIC):
            return _warc_records(_GzipStream(stream, size), source, limit)
        if Path(inner).suffix in _JSONL_SUFFIXES:
            return _jsonl_records(_GzipStream(stream, size), source, limit)
        if Path(inner).suffix not in _JSON_SUFFIXES or size > limit:
            return None
        try:
            data = gzip.GzipFile(fileobj=stream, mode="rb").read(limit + 1)
        except (EOFError, OSError, zlib.error):
            return None
        return _json_array_records(data, limit, source)
    if head.startswith(WARC_MAGIC):
        return _warc_records(stream, source, limit)
    if Path(name).suffix in _JSONL_SUFFIXES:
        return _jsonl_records(stream, source, limit)
    try:
        wide = sniff_text_encoding(head)
    except UndecodableError:
        return None
    # the first character, past white space and a byte-order mark (UTF-8's as Latin-1 too)
    text = head.decode(wide, errors="ignore") if wide else head.decode("latin-1")
    # "[" and then what a JSON value starts with: "[Review] ..." is a text, read by a worker
    array = _JSON_ARRAY_START.match(text.lstrip(" \t\r\n\ufeff\xef\xbb\xbf")) is not None
    several_lines = Path(name).suffix in _JSON_SUFFIXES and ("\n{" in text or "\r{" in text)
    if size <= limit and (array or several_lines):
        return _json_array_records(stream.read(limit + 1), limit, source)
    return None


def _json_array_records(
    data: bytes, limit: int, source: str
) -> Iterator[RawRecord | ParseFailure] | None:
    """The records of a JSON document that holds several (an array, objects on lines); None
    for any other document."""
    if len(data) > limit or Path(source.lower()).suffix in _HTML_SUFFIXES:
        return None
    try:
        text = decode_text(data)
    except UndecodableError:
        return None
    try:
        value = _json_loads(text)
    except ValueError:
        stripped = text.strip()
        on_lines = "\n{" in stripped or "\r{" in stripped
        if on_lines and Path(source.lower()).suffix in _JSON_SUFFIXES:
            return _json_records(text, source)
        return None
    if not isinstance(value, list) or len(value) < 2:
        return None
    return _array_records(value, source)


def _array_records(value: list[object], source: str) -> Iterator[RawRecord]:
    for record_no, record in enumerate(value):
        canonical = json.dumps(record, sort_keys=True, ensure_ascii=False)
        yield RawRecord(record_path(source, record_no), "json", record_no, canonical)


class RefusedPath(str):
    """A path that the file walk found but will not have read (a symbolic link out of the given
    folders, a folder it cannot list), carrying the reason.

    It is a ``str`` so that it travels through the ingest pipeline (and to worker processes)
    like any other path; :func:`parse_file` turns it into a :class:`ParseFailure`.
    """

    reason: str

    def __new__(cls, path: str, reason: str) -> RefusedPath:
        refused = super().__new__(cls, path)
        refused.reason = reason
        return refused

    def __reduce__(self) -> tuple[type[RefusedPath], tuple[str, str]]:
        return (RefusedPath, (str(self), self.reason))


class _Refused(Exception):
    """A file that is not read at all; the message is the reason."""


def record_path(path: str, record_no: int) -> str:
    """The ``source_path`` of record ``record_no`` (0-based) inside a container file."""
    return f"{path}#{record_no}"


def display_path(path: str | os.PathLike[str]) -> str:
    """``path`` as stored in ``source_path`` (an ingest first writes it the one way of
    :func:`archive.sources.paths.source_name`), except that bytes of a file name that are not UTF-8
    (which no database text column can hold) are written as ``\\xNN``."""
    text = str(os.fspath(path))  # a plain str, also for a RefusedPath
    if _UNSTORABLE.search(text) is None:
        return text
    return os.fsencode(text).decode("utf-8", "backslashreplace").replace("\x00", "\\x00")


def parse_file(path: str | os.PathLike[str]) -> Iterator[ParseResult]:
    """Every article record in the file at ``path``; failures are yielded, never raised.

    A container file (JSONL, a JSON array, WARC) yields one result per record, so one bad record
    does not hide the good ones around it. Only regular files are read: a named pipe, device or
    folder is refused without being opened for long (a pipe would block the ingest forever).
    """
    source = display_path(path)
    if isinstance(path, RefusedPath):
        yield ParseFailure(source, path.reason)
        return
    try:
        limit = max_article_bytes()
        stream, size = _open_regular_file(os.fspath(path))
    except (_Refused, ValueError) as exc:
        yield ParseFailure(source, str(exc))
        return
    with stream:
        try:
            yield from _parse_stream(stream, size, source, limit)
        except OSError as exc:
            yield ParseFailure(source, f"cannot read file: {exc.strerror or exc}")


def parse_bytes(raw: bytes, source_path: str) -> Iterator[ParseResult]:
    """Every article record in ``raw``, the content of the file named ``source_path``."""
    try:
        limit = max_article_bytes()
    except ValueError as exc:
        yield ParseFailure(source_path, str(exc))
        return
    yield from _parse_stream(io.BytesIO(raw), len(raw), display_path(source_path), limit)


def _open_regular_file(path: str) -> tuple[BinaryIO, int]:
    # O_NONBLOCK: opening a named pipe would otherwise wait for a writer that may never come.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _Refused(_open_error(path, exc)) from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _Refused(f"not a regular file: {_kind(info.st_mode)}, not read")
        return os.fdopen(fd, "rb"), info.st_size
    except BaseException:
        os.close(fd)
        raise


def _open_error(path: str, exc: OSError) -> str:
    kind = _special_kind(path)
    if kind is not None:  # a socket cannot be opened at all (ENXIO)
        return f"not a regular file: {kind}, not read"
    if exc.errno == errno.ELOOP:
        return "symbolic link loop (too many levels of symbolic links), not read"
    if exc.errno == errno.ENOENT and os.path.islink(path):
        return f"broken symbolic link: its target {os.readlink(path)!r} does not exist"
    return f"cannot read file: {exc.strerror or exc}"


def _special_kind(path: str) -> str | None:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return None if stat.S_ISREG(mode) else _kind(mode)


def _kind(mode: int) -> str:
    return next((name for test, name in _FILE_KINDS if test(mode)), "a special file")


def _parse_stream(stream: BinaryIO, size: int, source: str, limit: int) -> Iterator[ParseResult]:
    head = stream.read(_SNIFF_BYTES)
    stream.seek(0)
    name = source.lower()
    if head.startswith(_GZIP_MAGIC):
        yield from _parse_gzip(stream, size, source, name, limit)
    elif head.startswith(WARC_MAGIC):
        yield from _parse_warc(stream, source, limit)
    elif Path(name).suffix in _JSONL_SUFFIXES:
        yield from _parse_jsonl(stream, source, limit)
    elif size > limit:
        yield ParseFailure(source, _too_large("file", size, limit))
    else:
        raw = stream.read(limit + 1)
        if len(raw) > limit:  # the file grew since it was measured
            yield ParseFailure(source, _too_large("file", len(raw), limit))
        else:
            yield from _parse_document(raw, raw, name, source)


def _parse_gzip(
    stream: BinaryIO, size: int, source: str, name: str, limit: int
) -> Iterator[ParseResult]:
    inner_name = name.removesuffix(".gz").removesuffix(".gzip")
    try:
        prefix = gzip.GzipFile(fileobj=stream, mode="rb").read(len(WARC_MAGIC))
    except (EOFError, OSError, zlib.error) as exc:
        yield ParseFailure(source, _gzip_error(exc))
        return
    stream.seek(0)
    if prefix.startswith(WARC_MAGIC):
        # Unbuffered: a buffered read of n bytes drops what it had when the damage stops it.
        yield from _parse_warc(_GzipStream(stream, size), source, limit)
        return
    if Path(inner_name).suffix in _JSONL_SUFFIXES:
        yield from _parse_jsonl(_GzipStream(stream, size), source, limit)
        return
    if size > limit:
        yield ParseFailure(source, _too_large("file", size, limit))
        return
    raw = stream.read()
    try:
        # Capped: a small gzip file can hold gigabytes (a "gzip bomb").
        data = gzip.GzipFile(fileobj=io.BytesIO(raw), mode="rb").read(limit + 1)
    except (EOFError, OSError, zlib.error) as exc:
        yield ParseFailure(source, _gzip_error(exc))
        return
    if len(data) > limit:
        yield ParseFailure(source, _too_large("file", len(data), limit, decompressed=True))
        return
    yield from _parse_document(data, raw, inner_name, source)


class _GzipStream(io.RawIOBase):
    """The decompressed content of a gzip stream, read as it goes; damage raises
    :class:`GzipDamaged` from the read that reaches it, after the intact part was read, and so
    does content past :func:`gzip_output_limit` of the compressed ``size`` (a gzip bomb)."""

    def __init__(self, stream: BinaryIO, size: int) -> None:
        self._gzip = gzip.GzipFile(fileobj=stream, mode="rb")
        self._size = size
        self._limit = gzip_output_limit(size)
        self._out = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            # read1: what one step decompresses, so every byte before the damage is handed out
            # before the error (read(n) would drop the part of n it had when it hit the end).
            data = self._gzip.read1(len(buffer))
        except (EOFError, OSError, zlib.error) as exc:
            raise GzipDamaged(_gzip_error(exc)) from exc
        self._out += len(data)
        if self._out > self._limit:
            raise GzipDamaged(
                f"gzip file expands to over {self._limit / MEGABYTE:g} MB, more than "
                f"{GZIP_MAX_RATIO} times its {self._size:,} bytes: not read further "
                "(a decompression bomb?); the records before were read"
            )
        buffer[: len(data)] = data
        return len(data)


def gzip_output_limit(compressed_size: int) -> int:
    """How much a streamed gzip file (JSONL, WARC) may decompress to: :data:`GZIP_MAX_RATIO`
    times its size, and at least :data:`GZIP_MIN_OUTPUT`. Real collections of text and HTML
    expand 3 to 15 times; a file that expands hundreds of times is made to (a "gzip bomb")."""
    return max(GZIP_MIN_OUTPUT, GZIP_MAX_RATIO * compressed_size)


class GzipDamaged(ValueError):
    """A gzip stream that is truncated or corrupt; the message says which."""


def _gzip_error(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "damaged gzip file: truncated (it ends before the end of its compressed data)"
    return f"damaged gzip file: {exc}"


def _too_large(what: str, size: int, limit: int, *, decompressed: bool = False) -> str:
    megabytes = f"{limit / MEGABYTE:g} MB"
    if decompressed:
        message = f"{what} too large: over {megabytes} once decompressed, the limit"
    else:
        message = f"{what} too large: {size / MEGABYTE:.1f} MB > {megabytes} limit"
    message += f" for one article (${MAX_ARTICLE_MB_ENV})"
    if what == "file":
        message += "; a collection of articles can be a JSONL or WARC file of any size"
    return message


def _parse_document(data: bytes, raw: bytes, name: str, source: str) -> Iterator[ParseResult]:
    """One whole file's content: a text, HTML or JSON document (a JSON array of records too)."""
    if not data.strip():
        yield ParseFailure(source, "empty file")
        return
    try:
        text = decode_text(data)
    except UndecodableError as exc:
        yield ParseFailure(source, str(exc))
        return
    suffix = Path(name).suffix
    if suffix in _JSON_SUFFIXES:
        yield from _parse_json(text, source)
    elif suffix not in _HTML_SUFFIXES and _is_json_document(text):
        # A file named otherwise is JSON only when it parses; "[Review] ..." is plain text.
        yield from _parse_json(text, source)
    elif suffix in _HTML_SUFFIXES or _looks_like_html(data):
        yield _single(source, "html", raw, lambda: extract_html(text))
    else:
        yield _single(source, "text", raw, lambda: extract_text(text))


def _single(source_path: str, fmt: str, raw: bytes, extract: Callable[[], Article]) -> ParseResult:
    return _checked(source_path, fmt, _sha256(raw), extract())


def _checked(source_path: str, fmt: str, content_sha256: str, article: Article) -> ParseResult:
    article = _storable(article)
    if not article.body.strip():
        return ParseFailure(source_path, f"no article text found in this {fmt} file")
    return ParsedRecord(source_path, fmt, content_sha256, article)


def checked_record(
    source_path: str, fmt: str, content_sha256: str, article: Article
) -> ParseResult:
    """An article extracted from something other than a file (:mod:`archive.api`) as the record
    a file would give: without the characters no database stores, and a failure when it has no
    article text."""
    return _checked(source_path, fmt, content_sha256, article)


def _storable(article: Article) -> Article:
    def clean(value: str) -> str:
        return _UNSTORABLE.sub("", value)

    if not any(
        _UNSTORABLE.search(value or "")
        for value in (article.title, article.body, article.url, article.site)
    ):
        return article
    return replace(
        article,
        title=clean(article.title),
        body=clean(article.body),
        url=clean(article.url) if article.url else article.url,
        site=clean(article.site) if article.site else article.site,
    )


def _parse_json(text: str, source_path: str) -> Iterator[ParseResult]:
    yield from _parsed(_json_records(text, source_path))


def _json_records(text: str, source_path: str) -> Iterator[RawRecord | ParseFailure]:
    """A JSON document's records: the document, or each element of an array."""
    try:
        value = _json_loads(text)
    except ValueError as exc:
        stripped = text.strip()
        if "\n{" in stripped or "\r{" in stripped:  # several objects a line, named .json
            lines = io.BytesIO(text.encode("utf-8", "surrogatepass"))
            yield from _jsonl_records(lines, source_path, len(text) * 4)
        else:
            yield ParseFailure(source_path, f"invalid JSON: {exc}")
        return
    if value == []:
        yield ParseFailure(source_path, "empty JSON array: no records")
    elif isinstance(value, list):
        yield from _array_records(value, source_path)
    else:
        yield RawRecord(source_path, "json", 0, text, parsed=(value,))


def _json_loads(text: str) -> object:
    """``json.loads`` whose every failure is a ValueError with a reason."""
    try:
        return json.loads(text)
    except RecursionError as exc:
        # json recurses once per level: "[[[[..." thousands deep exhausts the stack.
        raise ValueError("nested too deeply") from exc


def _parse_jsonl(stream: ByteStream, source: str, limit: int) -> Iterator[ParseResult]:
    yield from _parsed(_jsonl_records(stream, source, limit))


def _jsonl_records(
    stream: ByteStream, source: str, limit: int
) -> Iterator[RawRecord | ParseFailure]:
    """One record per line, read line by line; a line longer than ``limit`` bytes fails alone,
    skipped without being held in memory."""
    found = False
    try:
        for line_no, line, size in _jsonl_lines(stream, limit):
            path = record_path(source, line_no)
            if line is None:
                yield ParseFailure(path, _too_large(f"line {line_no + 1}", size, limit))
                found = True
                continue
            if not line.strip():
                continue
            found = True
            yield RawRecord(path, "jsonl", line_no, line)
    except (GzipDamaged, UndecodableError) as exc:
        yield ParseFailure(source, str(exc))
        return
    if not found:
        yield ParseFailure(source, "empty file")


def _jsonl_lines(stream: ByteStream, limit: int) -> Iterator[tuple[int, str | None, int]]:
    """(line number, text, size in bytes) of each line; the text is None for a line over
    ``limit`` bytes."""
    reader = _peekable(stream)
    head = reader.peek(_SNIFF_BYTES)[:_SNIFF_BYTES]
    wide = sniff_text_encoding(head)
    if wide is not None:
        # UTF-16/32: a newline is several bytes with NULs, so lines are split after decoding;
        # a file whose first line ends in a lone CR (old Mac line ends) is split at CRs.
        first = head.decode(wide, errors="replace")
        newline = "\r" if "\r" in first and "\n" not in first else "\n"
        text_stream = io.TextIOWrapper(reader, encoding=wide, errors="replace", newline=newline)
        for line_no, (line, size) in enumerate(_capped_lines(text_stream.readline, limit, "\n")):
            yield line_no, None if line is None else line.lstrip("\ufeff"), size
        return
    if b"\r" in head:
        reader = io.BufferedReader(_LoneCrAsLf(reader))
    for line_no, (data, size) in enumerate(_capped_lines(reader.readline, limit, b"\n")):
        yield line_no, None if data is None else _decode_line(data, line_no), size


class _LoneCrAsLf(io.RawIOBase):
    """A byte stream with each lone CR (an old Mac line end) read as LF; CRLF stays as it is.

    JSON text has no raw CR inside its strings, so a lone CR can only end a line (or be
    whitespace between tokens, which no JSONL writer puts there)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._out = b""
        self._at = 0
        self._cr_pending = False  # the last byte read was a CR: lone or not, the next one says

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while self._at == len(self._out):
            data = self._stream.read(_CR_CHUNK)
            if not data:
                self._out, self._at = (b"\n" if self._cr_pending else b""), 0
                self._cr_pending = False
                break
            if self._cr_pending:
                data = b"\r" + data
            self._cr_pending = data.endswith(b"\r")
            self._out, self._at = _LONE_CR.sub(b"\n", data[:-1] if self._cr_pending else data), 0
        n = min(len(buffer), len(self._out) - self._at)
        buffer[:n] = self._out[self._at : self._at + n]
        self._at += n
        return n


def _peekable(stream: ByteStream) -> io.BufferedReader:
    if isinstance(stream, io.BufferedReader):
        return stream
    if isinstance(stream, io.RawIOBase):
        return io.BufferedReader(stream)
    # Any other binary stream (BytesIO): BufferedReader needs a raw stream to wrap.
    return io.BufferedReader(_RawAdapter(stream))


class _RawAdapter(io.RawIOBase):
    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _capped_lines(
    readline: Callable[[int], AnyStr], limit: int, newline: AnyStr
) -> Iterator[tuple[AnyStr | None, int]]:
    """Each line with its length, or None and its length for one over ``limit``."""
    while piece := readline(limit + 1):
        if len(piece) <= limit or piece.endswith(newline):
            yield piece, len(piece)
            continue
        size = len(piece)
        while piece and not piece.endswith(newline):
            piece = readline(_CHUNK)
            size += len(piece)
        yield None, size


def _decode_line(data: bytes, line_no: int) -> str:
    if line_no == 0 and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return decode_text(data)
    except UndecodableError:
        # Not text: the JSON parser then fails this line alone, with its own message.
        return data.decode("utf-8", errors="replace")


def _record(record: object, source_path: str, fmt: str, raw_text: str) -> ParseResult:
    try:
        article = article_from_record(record)
    except RecordError as exc:
        return ParseFailure(source_path, str(exc))
    return _checked(source_path, fmt, _sha256(raw_text.encode("utf-8", "surrogatepass")), article)


def _parse_warc(stream: ByteStream, source_path: str, limit: int) -> Iterator[ParseResult]:
    yield from _parsed(_warc_records(stream, source_path, limit))


def _warc_records(
    stream: ByteStream, source_path: str, limit: int
) -> Iterator[RawRecord | ParseFailure]:
    found = 0
    try:
        for page in iter_html_pages(stream, max_payload=limit):
            found += 1
            path = record_path(source_path, page.record_no)
            if isinstance(page, OversizedRecord):
                yield ParseFailure(path, _too_large("WARC record", page.size, limit))
                continue
            if isinstance(page, MisfitRecord):
                yield ParseFailure(path, page.reason)
                continue
            yield RawRecord(path, "warc", page.record_no, page.payload, page.url, page.charset)
    except (WarcError, GzipDamaged) as exc:
        yield ParseFailure(source_path, str(exc))
        return
    if not found:
        yield ParseFailure(source_path, "WARC file has no HTML response records")


def _decode_payload(payload: bytes, charset: str | None) -> str:
    if charset:
        try:
            return payload.decode(charset)
        except (LookupError, UnicodeDecodeError, ValueError):
            pass
    return decode_text(payload)


def _is_json_document(text: str) -> bool:
    if text.lstrip()[:1] not in ("{", "["):
        return False
    try:
        _json_loads(text)
    except ValueError:
        return False
    return True


def _looks_like_html(data: bytes) -> bool:
    head = data[:2048].lstrip().lower()
    return any(marker in head for marker in _HTML_SNIFF)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
