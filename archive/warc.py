"""HTML response records from WARC and WARC.gz files, read as a stream with warcio."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

WARC_MAGIC = b"WARC/"


@dataclass(frozen=True)
class WarcPage:
    """One HTML response: its 0-based record number in the file, target URI and payload."""

    record_no: int
    url: str | None
    payload: bytes
    charset: str | None


class WarcError(ValueError):
    """The WARC file is damaged: records up to the damage were read."""


def iter_html_pages(stream: BinaryIO) -> Iterator[WarcPage]:
    """Yield every HTML response record; raises :class:`WarcError` where the file breaks off."""
    try:
        for record_no, record in enumerate(ArchiveIterator(stream)):
            if record.rec_type != "response" or record.http_headers is None:
                continue
            content_type = record.http_headers.get_header("Content-Type") or ""
            if "html" not in content_type.lower():
                continue
            payload = record.content_stream().read()
            # warcio hands out whatever bytes there are; bytes still owed to the record's
            # Content-Length mean the file ends inside this record.
            if getattr(record.raw_stream, "limit", 0) > 0:
                raise WarcError(f"damaged WARC file: record {record_no} is cut short")
            yield WarcPage(
                record_no=record_no,
                url=record.rec_headers.get_header("WARC-Target-URI"),
                payload=payload,
                charset=_charset(content_type),
            )
    except WarcError:
        raise
    except (ArchiveLoadFailed, EOFError, OSError, ValueError) as exc:
        raise WarcError(f"damaged WARC file: {exc}") from exc


def _charset(content_type: str) -> str | None:
    for part in content_type.split(";"):
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            return value.strip("\"' ").lower()
    return None
