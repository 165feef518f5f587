"""What reading an input gives (an article record, a failure with its reason, or a container's
record read but not parsed yet) and what a format reads (a whole :class:`Document`, or a stream).
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import IO

from archive.config import MAX_ARTICLE_MB_ENV, MEGABYTE
from archive.sources.article import Article

# PostgreSQL text cannot hold NUL, and no database driver can encode a lone surrogate (JSON's
# "\ud800" escapes make them): both are dropped from extracted text, on every backend alike.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

# A file read as it goes: an open file, or a gzip file's content as it is decompressed.
ByteStream = IO[bytes] | io.RawIOBase


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
    read but not parsed yet: what :func:`archive.sources.parse.read_records` hands out and
    ``parser``, its format's function, parses (:func:`archive.sources.parse.parse_raw`), so that
    the reading of a big file and the parsing of its records can be apart (in another process:
    ``parser`` is a module's function, which pickles as its name)."""

    source_path: str  # FILE#N
    format: str  # "jsonl", "json" or "warc"
    record_no: int
    data: str | bytes  # JSON text (jsonl, json) or the page's bytes (warc)
    url: str | None = None  # warc: the target URI
    charset: str | None = None  # warc: the charset its HTTP headers named
    parsed: tuple[object] | None = field(default=None, compare=False, repr=False)
    parser: Callable[[RawRecord], ParseResult] = field(kw_only=True, compare=False, repr=False)

    @property
    def size(self) -> int:
        return len(self.data)


# What a format's reader yields: results, and the records of a container, parsed later.
Found = ParseResult | RawRecord


@dataclass(frozen=True)
class Document:
    """A file of one document (text, HTML, JSON) read whole, under the size limit of one
    article, and decoded: what a document format reads."""

    source: str  # the file's source_path
    data: bytes  # its content (decompressed, for a gzip file)
    raw: bytes  # its bytes as they are on disk (a text's or page's content hash is of these)
    text: str  # ``data`` decoded


class DamagedStream(ValueError):
    """A stream that breaks off or is corrupt where it is read (a damaged gzip file's content);
    the message says how. A streamed format fails the file with it, after the records before."""


def record_path(path: str, record_no: int) -> str:
    """The ``source_path`` of record ``record_no`` (0-based) inside a container file."""
    return f"{path}#{record_no}"


def content_hash(data: bytes) -> str:
    """A record's ``content_sha256``: the SHA-256 of its raw content, in hex."""
    return hashlib.sha256(data).hexdigest()


def checked_record(
    source_path: str, fmt: str, content_sha256: str, article: Article
) -> ParseResult:
    """An extracted article as its record: without the characters no database stores, and a
    failure when it has no article text (also for articles from elsewhere: :mod:`archive.api`)."""
    article = _storable(article)
    if not article.body.strip():
        return ParseFailure(source_path, f"no article text found in this {fmt} file")
    return ParsedRecord(source_path, fmt, content_sha256, article)


def _storable(article: Article) -> Article:
    def clean(value: str) -> str:
        return UNSTORABLE.sub("", value)

    if not any(
        UNSTORABLE.search(value or "")
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


def too_large(what: str, size: int, limit: int, *, decompressed: bool = False) -> str:
    """Why ``what`` (a file, a line, a record) of ``size`` bytes is not read: over ``limit``."""
    megabytes = f"{limit / MEGABYTE:g} MB"
    if decompressed:
        message = f"{what} too large: over {megabytes} once decompressed, the limit"
    else:
        message = f"{what} too large: {size / MEGABYTE:.1f} MB > {megabytes} limit"
    message += f" for one article (${MAX_ARTICLE_MB_ENV})"
    if what == "file":
        message += "; a collection of articles can be a JSONL or WARC file of any size"
    return message
