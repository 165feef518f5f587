"""Gzip as a wrapper around any format: the content is told by its own first bytes and by the
name without ``.gz``; a streamed format reads it as it is decompressed, up to
:func:`gzip_output_limit`, and a document is decompressed only up to the size of one article.
"""

from __future__ import annotations

import gzip
import io
import zlib
from typing import BinaryIO

from archive.config import MEGABYTE
from archive.sources.records import DamagedStream

MAGIC = b"\x1f\x8b"
# A streamed gzip file may expand to this many times its size (and to this much in any case).
GZIP_MAX_RATIO = 100
GZIP_MIN_OUTPUT = MEGABYTE
_ERRORS = (EOFError, OSError, zlib.error)


class GzipDamaged(DamagedStream):
    """A gzip stream that is truncated or corrupt; the message says which."""


def inner_name(name: str) -> str:
    """The name of what a gzip file called ``name`` holds: ``a.jsonl`` for ``a.jsonl.gz``."""
    return name.removesuffix(".gz").removesuffix(".gzip")


def head(stream: BinaryIO, size: int) -> bytes:
    """The first ``size`` bytes of the content of the gzip file ``stream``; raises
    :class:`GzipDamaged`. Only that much is decompressed: a damaged file keeps its records
    before the damage."""
    try:
        return gzip.GzipFile(fileobj=stream, mode="rb").read(size)
    except _ERRORS as exc:
        raise GzipDamaged(_damage(exc)) from exc


def decompress(raw: bytes, limit: int) -> bytes:
    """The content of the gzip file ``raw``, up to ``limit`` bytes and one more (a small gzip
    file can hold gigabytes: a "gzip bomb"); raises :class:`GzipDamaged`."""
    try:
        return gzip.GzipFile(fileobj=io.BytesIO(raw), mode="rb").read(limit + 1)
    except _ERRORS as exc:
        raise GzipDamaged(_damage(exc)) from exc


class GzipStream(io.RawIOBase):
    """The decompressed content of a gzip stream, read as it goes; damage raises
    :class:`GzipDamaged` from the read that reaches it, after the intact part was read, and so
    does content past :func:`gzip_output_limit` of the compressed ``size`` (a gzip bomb).
    Unbuffered: a buffered read of n bytes drops what it had when the damage stops it."""

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
        except _ERRORS as exc:
            raise GzipDamaged(_damage(exc)) from exc
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


def _damage(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "damaged gzip file: truncated (it ends before the end of its compressed data)"
    return f"damaged gzip file: {exc}"
