"""From a file on disk to article records: format detection and dispatch to the extractors."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from archive.article import Article
from archive.decode import UndecodableError, decode_text
from archive.htmlpage import extract_html
from archive.records import RecordError, article_from_record
from archive.textdump import extract_text
from archive.warc import WARC_MAGIC, WarcError, iter_html_pages

FORMATS = ("text", "html", "json", "jsonl", "warc")

_GZIP_MAGIC = b"\x1f\x8b"
_HTML_SUFFIXES = {".html", ".htm", ".xhtml", ".shtml"}
_JSON_SUFFIXES = {".json"}
_JSONL_SUFFIXES = {".jsonl", ".ndjson", ".jsonlines"}
_HTML_SNIFF = (b"<!doctype html", b"<html", b"<head", b"<body")


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


def record_path(path: str, record_no: int) -> str:
    """The ``source_path`` of record ``record_no`` (0-based) inside a container file."""
    return f"{path}#{record_no}"


def parse_file(path: str | Path) -> Iterator[ParseResult]:
    """Every article record in the file at ``path``; failures are yielded, never raised.

    A container file (JSONL, a JSON array, WARC) yields one result per record, so one bad record
    does not hide the good ones around it.
    """
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        yield ParseFailure(source, f"cannot read file: {exc.strerror or exc}")
        return
    yield from parse_bytes(raw, source)


def parse_bytes(raw: bytes, source_path: str) -> Iterator[ParseResult]:
    """Every article record in ``raw``, the content of the file named ``source_path``."""
    name = source_path.lower()
    data = raw
    if raw.startswith(_GZIP_MAGIC):
        if _decompressed_prefix(raw).startswith(WARC_MAGIC):
            yield from _parse_warc(raw, source_path)
            return
        try:
            data = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            yield ParseFailure(source_path, f"damaged gzip file: {exc}")
            return
        name = name.removesuffix(".gz").removesuffix(".gzip")
    if data.startswith(WARC_MAGIC):
        yield from _parse_warc(data, source_path)
        return
    if not data.strip():
        yield ParseFailure(source_path, "empty file")
        return
    try:
        text = decode_text(data)
    except UndecodableError as exc:
        yield ParseFailure(source_path, str(exc))
        return
    suffix = Path(name).suffix
    if suffix in _JSONL_SUFFIXES:
        yield from _parse_jsonl(text, source_path)
    elif suffix in _JSON_SUFFIXES:
        yield from _parse_json(text, source_path)
    elif suffix not in _HTML_SUFFIXES and _is_json_document(text):
        # A file named otherwise is JSON only when it parses; "[Review] ..." is plain text.
        yield from _parse_json(text, source_path)
    elif suffix in _HTML_SUFFIXES or _looks_like_html(data):
        yield _single(source_path, "html", raw, lambda: extract_html(text))
    else:
        yield _single(source_path, "text", raw, lambda: extract_text(text))


def _single(source_path: str, fmt: str, raw: bytes, extract: Callable[[], Article]) -> ParseResult:
    return _checked(source_path, fmt, _sha256(raw), extract())


def _checked(source_path: str, fmt: str, content_sha256: str, article: Article) -> ParseResult:
    if not article.body.strip():
        return ParseFailure(source_path, f"no article text found in this {fmt} file")
    return ParsedRecord(source_path, fmt, content_sha256, article)


def _parse_json(text: str, source_path: str) -> Iterator[ParseResult]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        if "\n{" in text.strip():  # several objects, one per line, in a file named .json
            yield from _parse_jsonl(text, source_path)
        else:
            yield ParseFailure(source_path, f"invalid JSON: {exc}")
        return
    if isinstance(value, list):
        for record_no, record in enumerate(value):
            canonical = json.dumps(record, sort_keys=True, ensure_ascii=False)
            yield _record(record, record_path(source_path, record_no), "json", canonical)
    else:
        yield _record(value, source_path, "json", text)


def _parse_jsonl(text: str, source_path: str) -> Iterator[ParseResult]:
    for line_no, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        path = record_path(source_path, line_no)
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield ParseFailure(path, f"invalid JSON on line {line_no + 1}: {exc}")
            continue
        yield _record(record, path, "jsonl", line)


def _record(record: object, source_path: str, fmt: str, raw_text: str) -> ParseResult:
    try:
        article = article_from_record(record)
    except RecordError as exc:
        return ParseFailure(source_path, str(exc))
    return _checked(source_path, fmt, _sha256(raw_text.encode("utf-8")), article)


def _parse_warc(data: bytes, source_path: str) -> Iterator[ParseResult]:
    found = 0
    try:
        for page in iter_html_pages(io.BytesIO(data)):
            found += 1
            path = record_path(source_path, page.record_no)
            try:
                html = _decode_payload(page.payload, page.charset)
            except UndecodableError as exc:
                yield ParseFailure(path, str(exc))
                continue
            article = extract_html(html, url=page.url)
            yield _checked(path, "warc", _sha256(page.payload), article)
    except WarcError as exc:
        yield ParseFailure(source_path, str(exc))
        return
    if not found:
        yield ParseFailure(source_path, "WARC file has no HTML response records")


def _decode_payload(payload: bytes, charset: str | None) -> str:
    if charset:
        try:
            return payload.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_text(payload)


def _decompressed_prefix(raw: bytes, size: int = 64) -> bytes:
    try:
        return zlib.decompressobj(wbits=zlib.MAX_WBITS | 16).decompress(raw, size)
    except zlib.error:
        return b""


def _is_json_document(text: str) -> bool:
    if text.lstrip()[:1] not in ("{", "["):
        return False
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def _looks_like_html(data: bytes) -> bool:
    head = data[:2048].lstrip().lower()
    return any(marker in head for marker in _HTML_SNIFF)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
