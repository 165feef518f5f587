"""WARC: the HTML response records of a WARC (or WARC.gz) file, read as a stream with warcio,
each page an article as :mod:`archive.sources.htmlpage` extracts it."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from dataclasses import dataclass

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecord

from archive.sources.decode import UndecodableError, decode_text
from archive.sources.htmlpage import extract_html
from archive.sources.records import (
    ByteStream,
    DamagedStream,
    ParseFailure,
    ParseResult,
    RawRecord,
    checked_record,
    content_hash,
    record_path,
    too_large,
)

WARC_MAGIC = b"WARC/"
_DRAIN_CHUNK = 1 << 16


def read(stream: ByteStream, source_path: str, limit: int) -> Iterator[RawRecord | ParseFailure]:
    """The HTML pages of a WARC file, one record each, read as they come; a page over ``limit``
    bytes fails alone, and damage fails the file after the pages before it."""
    found = 0
    try:
        for page in iter_html_pages(stream, max_payload=limit):
            found += 1
            path = record_path(source_path, page.record_no)
            if isinstance(page, OversizedRecord):
                yield ParseFailure(path, too_large("WARC record", page.size, limit))
                continue
            if isinstance(page, MisfitRecord):
                yield ParseFailure(path, page.reason)
                continue
            yield RawRecord(
                path,
                "warc",
                page.record_no,
                page.payload,
                page.url,
                page.charset,
                parser=parse_record,
            )
    except (WarcError, DamagedStream) as exc:
        yield ParseFailure(source_path, str(exc))
        return
    if not found:
        yield ParseFailure(source_path, "WARC file has no HTML response records")


def parse_record(record: RawRecord) -> ParseResult:
    """The article of a WARC record's page, or why there is none (never raises)."""
    assert isinstance(record.data, bytes)
    try:
        html = _decode_payload(record.data, record.charset)
    except UndecodableError as exc:
        return ParseFailure(record.source_path, str(exc))
    article = extract_html(html, url=record.url)
    return checked_record(record.source_path, "warc", content_hash(record.data), article)


def _decode_payload(payload: bytes, charset: str | None) -> str:
    if charset:
        try:
            return payload.decode(charset)
        except (LookupError, UnicodeDecodeError, ValueError):
            pass
    return decode_text(payload)


@dataclass(frozen=True)
class WarcPage:
    """One HTML response: its 0-based record number in the file, target URI and payload."""

    record_no: int
    url: str | None
    payload: bytes
    charset: str | None


@dataclass(frozen=True)
class OversizedRecord:
    """An HTML response whose payload is over the size limit: skipped, never held whole."""

    record_no: int
    size: int  # bytes of the record (its Content-Length), at least the limit plus one


class WarcError(ValueError):
    """The WARC file is damaged: records up to the damage were read."""


@dataclass(frozen=True)
class MisfitRecord:
    """An HTML response that does not end where its Content-Length says (more bytes follow it
    before the next record): its page is cut short or runs into what follows, so it is not
    taken."""

    record_no: int
    reason: str


def iter_html_pages(
    stream: ByteStream, max_payload: int | None = None
) -> Iterator[WarcPage | OversizedRecord | MisfitRecord]:
    """Yield every HTML response record, reading one record at a time; a payload over
    ``max_payload`` bytes is an :class:`OversizedRecord`, a record that does not end where its
    Content-Length says a :class:`MisfitRecord`. Raises :class:`WarcError` where the file
    breaks off or stops being a WARC file."""
    archive = ArchiveIterator(stream)
    # A record is known to end where it says only once the next one is found right after it
    # (warcio counts the bytes it has to skip instead in err_count): each page waits for that.
    held: WarcPage | OversizedRecord | None = None
    errors = 0

    def release() -> Iterator[WarcPage | OversizedRecord | MisfitRecord]:
        nonlocal held, errors
        misfit = archive.err_count > errors
        errors = archive.err_count
        if held is not None:
            yield MisfitRecord(held.record_no, _MISFIT) if misfit else held
        held = None

    try:
        for page in _record_pages(archive, max_payload):
            yield from release()
            held = page
    except WarcError:
        yield from release()
        raise
    yield from release()


_MISFIT = (
    "WARC record does not end where its Content-Length says: more bytes follow it before the "
    "next record, so its page would be cut short; not ingested"
)


def _record_pages(
    archive: ArchiveIterator, max_payload: int | None
) -> Iterator[WarcPage | OversizedRecord | None]:
    """One item per record, right after warcio found it: its HTML page, or None."""
    record_no = -1
    try:
        records = iter(archive)
        while True:
            with _quiet():
                record = next(records, None)
            if record is None:
                _check_complete(archive, record_no)
                return
            record_no += 1
            length = record.rec_headers.get_header("Content-Length") or ""
            if record.format == "warc" and not length.strip().isdigit():
                # Required in every WARC record; without it the headers were cut off.
                raise WarcError(
                    f"damaged WARC file: record {record_no} has no Content-Length "
                    "(truncated or corrupt headers)"
                )
            with _quiet():
                page = _html_page(record, record_no, max_payload)
                # warcio hands out whatever bytes there are; bytes still owed to the record's
                # Content-Length mean the file ends inside this record.
                _drain(record)
            if getattr(record.raw_stream, "limit", 0) > 0:
                raise WarcError(f"truncated WARC file: record {record_no} is cut short")
            yield page
    except WarcError:
        raise
    except Exception as exc:
        # warcio meets a damaged file with whatever its parsing hits first (ArchiveLoadFailed,
        # EOFError, ValueError, AttributeError on a missing header...): all mean damage here.
        where = f"after record {record_no}" if record_no >= 0 else "at its start"
        detail = str(exc) if isinstance(exc, ArchiveLoadFailed | ValueError) else ""
        raise WarcError(
            f"damaged WARC file (truncated or corrupt) {where}: "
            f"{detail or 'unreadable record headers'}"
        ) from exc


def _html_page(
    record: ArcWarcRecord, record_no: int, max_payload: int | None
) -> WarcPage | OversizedRecord | None:
    if record.rec_type != "response" or record.http_headers is None:
        return None
    content_type = record.http_headers.get_header("Content-Type") or ""
    if "html" not in content_type.lower():
        return None
    content = record.content_stream()
    payload = content.read() if max_payload is None else content.read(max_payload + 1)
    if max_payload is not None and len(payload) > max_payload:
        length = record.rec_headers.get_header("Content-Length") or ""
        size = int(length) if length.isdigit() else len(payload)
        return OversizedRecord(record_no, max(size, len(payload)))
    return WarcPage(
        record_no=record_no,
        url=record.rec_headers.get_header("WARC-Target-URI"),
        payload=payload,
        charset=_charset(content_type),
    )


def _check_complete(archive: ArchiveIterator, record_no: int) -> None:
    """warcio ends quietly when the file stops inside a record's headers: the bytes it read
    past the end of the last whole record say so."""
    end_of_records = getattr(archive, "offset", None)
    read = archive.fh.tell() if hasattr(archive.fh, "tell") else None
    if isinstance(end_of_records, int) and isinstance(read, int) and read > end_of_records:
        where = f"after record {record_no}" if record_no >= 0 else "at its start"
        raise WarcError(f"truncated WARC file: it ends inside the headers of a record {where}")


def _drain(record: ArcWarcRecord) -> None:
    while record.raw_stream.read(_DRAIN_CHUNK):
        pass


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    # warcio writes its complaints about damaged records straight to stderr, in the middle of
    # the ingest's progress display; the damage is reported as a WarcError instead.
    with contextlib.redirect_stderr(io.StringIO()):
        yield


def _charset(content_type: str) -> str | None:
    for part in content_type.split(";"):
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            return value.strip("\"' ").lower()
    return None
