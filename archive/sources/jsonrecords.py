"""JSON and JSONL: a document, an array of records or one record a line, each record an article
by the field names feeds, scrapers and datasets commonly use.

JSONL is streamed line by line (a line over the size limit fails alone, skipped unread); a JSON
document is read whole, and an array's elements or a ``.json`` file's objects on lines are its
records.
"""

from __future__ import annotations

import codecs
import io
import json
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import IO, AnyStr
from urllib.parse import urlsplit

from archive.sources.article import Article, BodyStatus
from archive.sources.compilation import as_compilation
from archive.sources.dates import parse_date
from archive.sources.decode import UndecodableError, decode_text, sniff_text_encoding
from archive.sources.htmlpage import extract_html
from archive.sources.records import (
    ByteStream,
    DamagedStream,
    Document,
    ParseFailure,
    ParseResult,
    RawRecord,
    checked_record,
    content_hash,
    record_path,
    too_large,
)

# Checked in order; the first present, non-empty field wins. Matching ignores case and "_"/"-".
TITLE_FIELDS = ("title", "headline", "name", "subject")
BODY_FIELDS = ("text", "body", "content", "articlebody", "article", "maintext", "fulltext")
URL_FIELDS = ("url", "link", "uri", "canonicalurl", "permalink", "href")
DATE_FIELDS = (
    "published", "datepublished", "publishedat", "published_at", "pubdate", "date",
    "datepublish", "created", "createdat", "timestamp", "time", "updated", "datemodified",
)  # fmt: skip
SITE_FIELDS = ("site", "sitename", "source", "publisher", "domain", "outlet", "provider")

_HTML_TAG = re.compile(r"<(p|div|br|span|a|article|h[1-6]|ul|li|html|body)\b", re.IGNORECASE)


# Text nested deeper than this in lists and objects is not article text; the bound keeps
# recursion far from Python's limit on hostile JSON ("[[[[...]]]]" hundreds deep).
_MAX_DEPTH = 20


class RecordError(ValueError):
    """A JSON value that is not an article record."""


def article_from_record(record: object) -> Article:
    """The article in one JSON record; raises :class:`RecordError` when it has no text."""
    if not isinstance(record, Mapping):
        raise RecordError(f"expected a JSON object, found {type(record).__name__}")
    fields = {_normalise_key(key): value for key, value in record.items()}
    body = _text_of(_first(fields, BODY_FIELDS))
    url = _text_of(_first(fields, URL_FIELDS)) or None
    title = _text_of(_first(fields, TITLE_FIELDS))
    status = BodyStatus.ARTICLE
    if _HTML_TAG.search(body):
        from_html = extract_html(body, url=url)
        body, status = from_html.body, from_html.body_status
        title = title or from_html.title
    if not body.strip():
        raise RecordError("record has no article text (looked for: " + ", ".join(BODY_FIELDS) + ")")
    site = _text_of(_first(fields, SITE_FIELDS)) or _host(url)
    article = Article(
        title=title.strip(),
        body=body.strip(),
        url=url,
        site=site or None,
        published_at=_date_of(_first(fields, DATE_FIELDS)),
        body_status=status,
    )
    return as_compilation(article, article.body.splitlines())


def _date_of(value: object) -> datetime | None:
    try:
        return parse_date(value)
    except (OverflowError, ValueError):
        # A JSON integer too large for a float (1e400 written out): no date, not a bad record.
        return None


def _normalise_key(key: object) -> str:
    return str(key).lower().replace("_", "").replace("-", "")


def _first(fields: Mapping[str, object], names: tuple[str, ...]) -> object:
    for name in names:
        value = fields.get(name.replace("_", ""))
        if value not in (None, "", [], {}):
            return value
    return None


def _text_of(value: object, depth: int = 0) -> str:
    """Strings as they are; lists of paragraphs joined; objects by their name or text."""
    if value is None or depth > _MAX_DEPTH:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = (_text_of(item, depth + 1).strip() for item in value)
        return "\n\n".join(part for part in parts if part)
    if isinstance(value, Mapping):
        for key in ("name", "text", "value", "url", "@id"):
            if key in value:
                return _text_of(value[key], depth + 1)
        return ""
    return str(value)


def _host(url: str | None) -> str:
    if not url:
        return ""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:  # "http://[::1": a malformed IPv6 host
        return ""
    return host.removeprefix("www.")


# --- reading: documents, arrays and lines ------------------------------------------------------

_SNIFF_BYTES = 4096
_CHUNK = 1 << 20
_LONE_CR = re.compile(rb"\r(?!\n)")
_CR_CHUNK = 1 << 16
_JSON_ARRAY_START = re.compile(r'\[\s*(?:[{\["\]\d-]|true|false|null|$)')


def sniff(document: Document) -> bool:
    """Whether a document not named ``.json`` is JSON: an object or array that parses (a text
    such as "[Review] ..." is not)."""
    text = document.text
    if text.lstrip()[:1] not in ("{", "["):
        return False
    try:
        _json_loads(text)
    except ValueError:
        return False
    return True


def several(head: bytes, named: bool) -> bool:
    """Whether a document starting with ``head`` may hold several records, by a look at its
    first bytes: an array, or (in a file ``named`` .json) objects on lines."""
    try:
        wide = sniff_text_encoding(head)
    except UndecodableError:
        return False
    # the first character, past white space and a byte-order mark (UTF-8's as Latin-1 too)
    text = head.decode(wide, errors="ignore") if wide else head.decode("latin-1")
    # "[" and then what a JSON value starts with: "[Review] ..." is a text, read by a worker
    array = _JSON_ARRAY_START.match(text.lstrip(" \t\r\n\ufeff\xef\xbb\xbf")) is not None
    return array or (named and ("\n{" in text or "\r{" in text))


def read_document(document: Document) -> Iterator[RawRecord | ParseFailure]:
    """A JSON document's records: the document, or each element of an array."""
    yield from _json_records(document.text, document.source)


def parse_record(record: RawRecord) -> ParseResult:
    """The article in a JSON or JSONL record, or why there is none (never raises)."""
    assert isinstance(record.data, str)
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


def _json_records(text: str, source_path: str) -> Iterator[RawRecord | ParseFailure]:
    try:
        value = _json_loads(text)
    except ValueError as exc:
        stripped = text.strip()
        if "\n{" in stripped or "\r{" in stripped:  # several objects a line, named .json
            lines = io.BytesIO(text.encode("utf-8", "surrogatepass"))
            yield from read_lines(lines, source_path, len(text) * 4)
        else:
            yield ParseFailure(source_path, f"invalid JSON: {exc}")
        return
    if value == []:
        yield ParseFailure(source_path, "empty JSON array: no records")
    elif isinstance(value, list):
        yield from _array_records(value, source_path)
    else:
        yield RawRecord(source_path, "json", 0, text, parsed=(value,), parser=parse_record)


def _array_records(value: list[object], source: str) -> Iterator[RawRecord]:
    for record_no, record in enumerate(value):
        canonical = json.dumps(record, sort_keys=True, ensure_ascii=False)
        yield RawRecord(
            record_path(source, record_no), "json", record_no, canonical, parser=parse_record
        )


def _json_loads(text: str) -> object:
    """``json.loads`` whose every failure is a ValueError with a reason."""
    try:
        return json.loads(text)
    except RecursionError as exc:
        # json recurses once per level: "[[[[..." thousands deep exhausts the stack.
        raise ValueError("nested too deeply") from exc


def read_lines(stream: ByteStream, source: str, limit: int) -> Iterator[RawRecord | ParseFailure]:
    """JSONL: one record per line, read line by line; a line longer than ``limit`` bytes fails
    alone, skipped without being held in memory."""
    found = False
    try:
        for line_no, line, size in _jsonl_lines(stream, limit):
            path = record_path(source, line_no)
            if line is None:
                yield ParseFailure(path, too_large(f"line {line_no + 1}", size, limit))
                found = True
                continue
            if not line.strip():
                continue
            found = True
            yield RawRecord(path, "jsonl", line_no, line, parser=parse_record)
    except (DamagedStream, UndecodableError) as exc:
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
    return checked_record(
        source_path, fmt, content_hash(raw_text.encode("utf-8", "surrogatepass")), article
    )
