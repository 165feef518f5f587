"""The input formats, one row each in :data:`FORMATS`: what a file is read as, and by what.

A file's format is told, in this order, by

1. the first bytes of its content that a streamed format starts with (``WARC/``),
2. its name: a format whose suffixes hold its suffix (``.jsonl``, ``.json``, ``.html``),
3. its whole content, read and decoded: the first document format whose sniff takes it (text
   takes anything).

A streamed format reads the file as it goes, record by record, at any size; a document format
reads it whole, under the size limit of one article. Gzip wraps any of them
(:mod:`archive.sources.gzipped`): its content is told by its own first bytes and by the name
without ``.gz``. Adding a format is adding its module and its row here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from archive.sources import htmlpage, jsonrecords, textdump, warc
from archive.sources.records import ByteStream, Document, Found


@dataclass(frozen=True)
class StreamFormat:
    """A container read as a stream: ``read(stream, source_path, limit)`` yields its records
    (:class:`~archive.sources.records.RawRecord`, parsed apart) and failures, one record of
    over ``limit`` bytes failing alone."""

    name: str
    suffixes: tuple[str, ...]  # lower-case, with the dot
    sniff: bytes | None  # the bytes its content starts with; None: told by its name alone
    read: Callable[[ByteStream, str, int], Iterator[Found]]


@dataclass(frozen=True)
class DocumentFormat:
    """A document read whole: ``sniff(document)`` says whether a file not named as this format
    is one; ``read(document)`` yields its results (or records). ``several(head, named)``, when
    given, says by a file's first bytes that it may hold several records, which the ingest then
    reads apart (:func:`archive.sources.parse.read_records`)."""

    name: str
    suffixes: tuple[str, ...]  # lower-case, with the dot
    sniff: Callable[[Document], bool]
    read: Callable[[Document], Iterator[Found]]
    several: Callable[[bytes, bool], bool] | None = None


Format = StreamFormat | DocumentFormat

# In the order they are told apart (see the module's docstring).
FORMATS: tuple[Format, ...] = (
    # name, suffixes, sniff, read (and several)
    StreamFormat("warc", (), warc.WARC_MAGIC, warc.read),
    StreamFormat("jsonl", (".jsonl", ".ndjson", ".jsonlines"), None, jsonrecords.read_lines),
    DocumentFormat(
        "json", (".json",), jsonrecords.sniff, jsonrecords.read_document, jsonrecords.several
    ),
    DocumentFormat("html", (".html", ".htm", ".xhtml", ".shtml"), htmlpage.sniff, htmlpage.read),
    DocumentFormat("text", (), textdump.sniff, textdump.read),
)

# How many of a gzip file's first bytes are decompressed to tell its format: no more, so that
# a damaged file keeps the records before the damage.
MAGIC_BYTES = max(len(f.sniff or b"") for f in FORMATS if isinstance(f, StreamFormat))


def by_start(head: bytes, name: str) -> Format | None:
    """The format a file's first bytes ``head`` (steps 1) or its lower-cased ``name`` (2) say,
    if any."""
    for fmt in FORMATS:
        if isinstance(fmt, StreamFormat) and fmt.sniff and head.startswith(fmt.sniff):
            return fmt
    suffix = Path(name).suffix
    return next((fmt for fmt in FORMATS if suffix in fmt.suffixes), None)


def by_content(document: Document) -> DocumentFormat:
    """The format a document's content says (step 3)."""
    for fmt in FORMATS:
        if isinstance(fmt, DocumentFormat) and fmt.sniff(document):
            return fmt
    raise AssertionError("the text format takes any document")
